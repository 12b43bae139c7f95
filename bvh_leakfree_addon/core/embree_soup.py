# SPDX-License-Identifier: GPL-3.0-or-later
"""Embree scenes over one triangle soup given as arrays, and the distance of each ray to it (the
visibility maps' per-object scenes and the BlenderProc compat layer's; the ``SceneBVH`` backend
is ``embree``).  Vertices are given as they are: float32, like the world-space trees they stand
in for."""
import math
import threading
import time

import numpy as np

from .embree import CHUNK, _load, _shared_device, _threads

__all__ = ("SoupScene", "soup_scene", "soup_distances")


class SoupScene:
    """A committed Embree scene over one triangle soup given as arrays (``soup_scene``)."""

    __slots__ = ("scene", "triangles", "build_seconds", "__weakref__")

    def __init__(self, scene, triangles, seconds):
        self.scene = scene
        self.triangles = triangles
        self.build_seconds = seconds


def soup_scene(vertices, triangles):
    """An Embree scene over ``vertices`` (V, 3) and ``triangles`` (T, 3) vertex indices (world
    space, as they are: Embree stores float32).  ``RuntimeError`` when the backend is not
    available."""
    modules, reason, _missing = _load()
    if modules is None:
        raise RuntimeError(f"the Embree backend is not available: {reason}")
    rtcore, rtcore_scene, mesh_construction = modules
    start = time.perf_counter()
    scene = rtcore_scene.EmbreeScene(_shared_device(rtcore))
    if len(triangles):
        mesh_construction.TriangleMesh(scene, np.asarray(vertices, dtype=np.float64),
                                       np.asarray(triangles, dtype=np.int32))
    scene.run(np.zeros((1, 3), dtype=np.float32), np.array([[0.0, 0.0, 1.0]], dtype=np.float32),
              dists=np.zeros(1, dtype=np.float32), output=1)      # commits (builds its BVH)
    return SoupScene(scene, len(triangles), time.perf_counter() - start)


def soup_distances(soup, origins, directions, limit=math.inf):
    """Distance to the nearest hit of each ray (float64 (N,); ``inf`` on a miss) in the
    :class:`SoupScene` ``soup``: float32 (N, 3) ``origins`` and unit ``directions``, one
    ``limit``.  Rays with a zero direction miss."""
    n = len(origins)
    out = np.full(n, np.inf)
    if n == 0 or soup.triangles == 0:
        return out
    limit32 = np.float32(limit) if math.isfinite(limit) and limit < 3.0e38 else np.float32(np.inf)
    o = np.ascontiguousarray(origins, dtype=np.float32)
    d = np.ascontiguousarray(directions, dtype=np.float32)
    bounds = [(a, min(a + CHUNK, n)) for a in range(0, n, CHUNK)]

    def run(a, b):
        tfar = np.full(b - a, limit32, dtype=np.float32)
        res = soup.scene.run(o[a:b], d[a:b], dists=tfar, output=1)
        hit = (res["geomID"] >= 0) & (np.abs(d[a:b]).sum(axis=1) > 0.0)
        out[a:b][hit] = tfar[hit]

    threads = min(_threads(n), len(bounds))
    if threads <= 1:
        for a, b in bounds:
            run(a, b)
        return out
    todo = iter(bounds)
    take = threading.Lock()
    errors = []

    def work():
        while True:
            with take:
                chunk = None if errors else next(todo, None)
            if chunk is None:
                return
            try:
                run(*chunk)
            except BaseException as ex:  # noqa: BLE001 - re-raised in the calling thread
                with take:
                    errors.append(ex)
                return

    workers = [threading.Thread(target=work, name=f"bvh-embree-soup-{k}", daemon=True)
               for k in range(threads - 1)]
    for worker in workers:
        worker.start()
    try:
        work()
    finally:
        for worker in workers:
            worker.join()
    if errors:
        raise errors[0]
    return out
