# SPDX-License-Identifier: GPL-3.0-or-later
"""Embree scenes over plain triangle arrays (``embree`` builds them over a build's rows): the
drop-in's world triangles for ``blenderproc_compat`` and one row's triangles for
``visibility``; and the two lean queries they use: the distance of each ray's nearest hit, and
the object each ray hits first (no normals, no barycentrics: a third faster than the full hit
record of ``embree.cast``)."""
import math
import time

import numpy as np

from . import embree

__all__ = ("SoupScene", "soup_scene", "soup_distances", "first_objects")


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
    rtcore, rtcore_scene, mesh_construction = embree.modules()
    start = time.perf_counter()
    scene = rtcore_scene.EmbreeScene(embree.shared_device(rtcore))
    if len(triangles):
        mesh_construction.TriangleMesh(scene, np.asarray(vertices, dtype=np.float64),
                                       np.asarray(triangles, dtype=np.int32))
    scene.run(np.zeros((1, 3), dtype=np.float32), np.array([[0.0, 0.0, 1.0]], dtype=np.float32),
              dists=np.zeros(1, dtype=np.float32), output=1)      # commits (builds its BVH)
    return SoupScene(scene, len(triangles), time.perf_counter() - start)


def soup_distances(soup, origins, directions, limit=math.inf):
    """Distance to the nearest hit of each ray (float64 (N,); ``inf`` on a miss) in the
    :class:`SoupScene` ``soup``: float32 (N, 3) ``origins`` and unit ``directions`` (never
    zero), one ``limit``."""
    n = len(origins)
    out = np.full(n, np.inf)
    if n == 0 or soup.triangles == 0:
        return out
    limit32 = np.float32(limit) if math.isfinite(limit) and limit < 3.0e38 else np.float32(np.inf)
    o = np.ascontiguousarray(origins, dtype=np.float32)
    d = np.ascontiguousarray(directions, dtype=np.float32)

    def run(a, b):
        # the DISTANCE query returns only tfar (a third faster than the full hit record): the
        # limit where nothing is hit, or 1e37 (Embree's "far") without a limit
        if np.isfinite(limit32):
            tfar = soup.scene.run(o[a:b], d[a:b], dists=np.full(b - a, limit32, np.float32),
                                  query="DISTANCE")
            hit = tfar < limit32
        else:
            tfar = soup.scene.run(o[a:b], d[a:b], query="DISTANCE")
            hit = tfar < np.float32(1e36)
        out[a:b][hit] = tfar[hit]

    embree.in_chunks(n, run)
    return out


def first_objects(emb, origins, directions):
    """``object_index`` (int64 (N,), -1 on a miss) of the nearest hit of each ray in the
    :class:`EmbreeScene` ``emb``: float64 (N, 3) ``origins``, unit ``directions``, no limit (only
    the primitive is asked for: faster than :func:`cast`)."""
    n = len(origins)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or emb.triangles == 0:
        return out

    def run(a, b):
        d = directions[a:b]
        o32, _shift, tfar = embree.relative_rays(emb, origins[a:b], d)
        prim = emb.scene.run(o32, d.astype(np.float32), dists=tfar)
        hit = prim >= 0
        out[a:b][hit] = emb.tri_obj[prim[hit]]

    embree.in_chunks(n, run)
    return out
