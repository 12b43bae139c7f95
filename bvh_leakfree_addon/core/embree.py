# SPDX-License-Identifier: GPL-3.0-or-later
"""The Embree ray backend: Intel Embree through the optional ``embreex`` package.

``embreex`` is imported on first use, never at import time of the core, and anything going wrong
there (not installed, a library that fails to load) only makes the backend unavailable
(:func:`unavailable_reason` says why).  The environment variable ``BVH_LEAKFREE_EMBREE=0``
hides it (read on each probe; :func:`forget` re-probes).

One Embree scene per ``TopLevel`` (:func:`scene_for`), built on demand from the same cached
object-space geometry as the BVH trees: ``merge.merged_arrays`` (the rows' triangles in world
space, mirrored rows re-wound so that the geometric normal faces the way ``ray_cast`` reports it),
as one indexed triangle geometry.  ``embreex`` exposes neither instancing nor transforms, so a
moved object means a new scene, as a new ``TopLevel`` does.  The scene is kept in a weak
dictionary keyed on the ``TopLevel``: it lives exactly as long as that top level (which holds the
cache entries it was built from) and goes with it.  Every scene shares one Embree device (a device
per scene would cost ~15–20 MB of memory for its thread pool).

Embree works in float32.  So that it keeps its precision wherever the scene is (a survey-size
scene millions of units from the world origin), the scene's vertices and the rays are given to it
relative to the centre of the scene (``TopLevel.float32_frame``), and rays starting far outside the
scene are first moved (in float64) to where they enter its box; distances and locations come back
in float64.  A scene float32 cannot hold well enough (coordinates beyond Embree's range, objects
too small for it, or too small next to their distance from the centre) is cast by the mathutils
backend instead (``SceneBVH`` decides; ``BuildStats.embree_fallback`` says why).

Casting (:func:`cast`): float32 rays in chunks (bounded temporaries) run by a few threads at once
(``EmbreeScene.run`` releases the GIL); the results are the ``ray_cast_many`` arrays.
"""
import math
import os
import sys
import threading
import time
import weakref
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

import numpy as np

from .linalg import FLOAT32_MAX_COORDINATE
from .rays import empty_results
from .results import alive

__all__ = ("ENV_SWITCH", "available", "unavailable_reason", "missing", "forget", "version",
           "EmbreeScene", "scene_for", "existing_scene", "cast", "release", "modules",
           "shared_device", "in_chunks", "relative_rays")

#: environment variable: "0", "off", "false" or "no" hides the Embree backend
ENV_SWITCH = "BVH_LEAKFREE_EMBREE"
#: rays per chunk of a cast (each chunk's float32 copies and Embree outputs are ~60 bytes a ray)
CHUNK = 1 << 15
#: at most this many threads cast at once
MAX_THREADS = 8

_lock = threading.Lock()
_probe = None        # (modules or None, reason or None, not installed?) once probed
_device = None       # the one shared embreex.rtcore.EmbreeDevice
_scenes = weakref.WeakKeyDictionary()   # TopLevel -> EmbreeScene


def _hidden():
    return os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "off", "false", "no")


def _load():
    """``(modules, None, False)`` or ``(None, reason, missing)``: the embreex modules this backend
    uses, or why not (``missing``: the package is not installed at all)."""
    global _probe
    if _hidden():
        return None, f"hidden by the environment ({ENV_SWITCH}={os.environ[ENV_SWITCH]})", False
    if _probe is None:
        try:
            from embreex import mesh_construction, rtcore, rtcore_scene
        except ModuleNotFoundError as ex:
            if ex.name != "embreex":
                _probe = (None, f"embreex failed to load: {type(ex).__name__}: {ex}", False)
            else:
                python = "{}.{}".format(*sys.version_info[:2])
                _probe = (None, f"the embreex package is not installed for this Python {python}",
                          True)
        except Exception as ex:  # noqa: BLE001 - a library that fails to load: no backend
            _probe = (None, f"embreex failed to load: {type(ex).__name__}: {ex}", False)
        else:
            _probe = ((rtcore, rtcore_scene, mesh_construction), None, False)
    return _probe


def available():
    """True when the Embree backend can be used."""
    return _load()[0] is not None


def unavailable_reason():
    """Why the Embree backend cannot be used, or None when it can."""
    return _load()[1]


def missing():
    """True when the embreex package is not installed (rather than hidden or failing to load)."""
    return _load()[2]


def version():
    """The installed embreex version, or None."""
    if not available():
        return None
    try:
        return dist_version("embreex")
    except PackageNotFoundError:
        return None


def forget():
    """Probe again on next use (after the switch changed) and drop the shared device.  Scenes
    already built keep working: each holds the device it was built with."""
    global _probe, _device
    with _lock:
        _probe = None
        _device = None


def release():
    """Drop the shared device (``api.shutdown``).  Scenes still alive keep theirs."""
    global _device
    with _lock:
        _device = None


def modules():
    """``(rtcore, rtcore_scene, mesh_construction)``; ``RuntimeError`` when not available."""
    found, reason, _missing = _load()
    if found is None:
        raise RuntimeError(f"the Embree backend is not available: {reason}")
    return found


def shared_device(rtcore):
    """The one Embree device every scene shares."""
    return _shared_device(rtcore)


def _shared_device(rtcore):
    global _device
    with _lock:
        if _device is None:
            _device = rtcore.EmbreeDevice()
        return _device


class EmbreeScene:
    """A committed Embree scene over a ``TopLevel``'s triangles, and how to map hits back.

    Embree's primitive index is the merged triangle index: ``tri_obj`` maps it to the
    ``object_index`` of its row, ``polys`` to its polygon in its mesh (a lookup per triangle is
    5× faster than searching the rows' first triangles).
    """

    __slots__ = ("scene", "tri_obj", "polys", "triangles", "vertices", "rows", "nbytes",
                 "build_seconds", "origin", "box", "__weakref__")

    def __init__(self, scene, tri_obj, polys, vertices, rows, seconds, origin, box):
        self.origin = origin      #: (3,) float64: Embree's coordinates are relative to it
        self.box = box            #: (lo (3,), hi (3,)) of the geometry, relative to ``origin``
        self.scene = scene
        self.tri_obj = tri_obj
        self.polys = polys
        self.triangles = len(polys)
        self.vertices = vertices
        self.rows = rows
        self.build_seconds = seconds
        #: the arrays kept here (Embree's own copy of the geometry and its BVH are not counted)
        self.nbytes = int(tri_obj.nbytes + polys.nbytes)


def existing_scene(top):
    """The Embree scene already built for ``top``, or None."""
    return _scenes.get(top)


def scene_for(top, read_arrays):
    """The Embree scene of ``top`` (built now when there is none): ``read_arrays()`` gives the
    build's world triangles (``merge.merged_arrays``; its errors propagate)."""
    scene = _scenes.get(top)
    if scene is None:
        scene = _build(top, read_arrays)
        _scenes[top] = scene
    return scene


def _build(top, read_arrays):
    modules, reason, _missing = _load()
    if modules is None:
        raise RuntimeError(f"the Embree backend is not available: {reason}")
    rtcore, rtcore_scene, mesh_construction = modules
    start = time.perf_counter()
    co, tris, polys, starts = read_arrays()
    if len(co) >= 2 ** 31 or len(tris) >= 2 ** 31:
        raise ValueError(f"too many triangles for the Embree backend ({len(tris):,})")
    origin = top.float32_frame.origin
    co -= origin                    # float64: Embree's float32 is precise near the origin
    box = (co.min(axis=0), co.max(axis=0)) if len(co) else (np.zeros(3), np.zeros(3))
    pad = 1e-3 * max(float(np.abs(np.concatenate(box)).max()), 1e-30)
    box = (box[0] - pad, box[1] + pad)
    scene = rtcore_scene.EmbreeScene(_shared_device(rtcore))
    if len(tris):
        # embreex copies element by element: float64 vertices and int32 indices are its fastest
        mesh_construction.TriangleMesh(scene, co, tris.astype(np.int32))
    nverts = len(co)
    del co
    # run() commits (builds Embree's BVH) on its first call: do it now, once, in this thread
    scene.run(np.zeros((1, 3), dtype=np.float32), np.array([[0.0, 0.0, 1.0]], dtype=np.float32),
              dists=np.zeros(1, dtype=np.float32), output=1)
    counts = np.diff(np.append(starts, len(tris)))
    tri_obj = np.repeat(top.obj_index.astype(np.int32), counts)
    polys = np.ascontiguousarray(polys, dtype=np.int32)
    for array in (tri_obj, polys):
        array.flags.writeable = False
    return EmbreeScene(scene, tri_obj, polys, nverts, len(top), time.perf_counter() - start,
                       origin, box)


def _cpus():
    try:
        return len(os.sched_getaffinity(0))     # the CPUs this process may use
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threads(n):
    chunks = -(-n // CHUNK)
    return max(1, min(MAX_THREADS, _cpus(), chunks))


def cast(emb, top, origins, directions, limit):
    """Nearest hits of rays in the :class:`EmbreeScene` ``emb`` of ``top``: validated float64
    (N, 3) ``origins``, unit ``directions``, one world ``limit``.  Returns the ``ray_cast_many``
    dict of arrays."""
    n = len(origins)
    out = empty_results(n)
    if n == 0 or emb.triangles == 0:
        return out
    limit32 = np.float32(limit) if math.isfinite(limit) and limit < 3.0e38 else np.float32(np.inf)
    in_chunks(n, lambda a, b: _cast_chunk(emb, origins, directions, limit32, out, a, b))
    hit_objects = np.unique(out["object_index"][out["hit"]])
    for j in hit_objects.tolist():
        alive(top.objects[j], top.uids[j])
    return out


def in_chunks(n, run):
    """``run(a, b)`` over chunks of ``n`` rays, on a few threads (Embree's queries release the
    GIL), equal shares for each; the first error is raised once every thread has stopped."""
    threads = _threads(n)
    chunks = -(-n // CHUNK)
    chunks = -(-chunks // threads) * threads           # equal shares for the threads
    size = -(-n // chunks)
    bounds = [(a, min(a + size, n)) for a in range(0, n, size)]
    if threads <= 1:
        for a, b in bounds:
            run(a, b)
        return
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

    workers = [threading.Thread(target=work, name=f"bvh-embree-{k}", daemon=True)
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


def relative_rays(emb, origins, d, limit32=None):
    """Where the rays from world ``origins`` (float64) along unit ``d`` start in the Embree
    scene ``emb``: ``(origins relative to emb.origin (float32), how far each was moved along its
    ray (None: none was), tfar (float32))``.

    A ray starting outside the scene's box is moved (in float64) to where it enters it, so that
    Embree's float32 origin is as precise as the geometry (a camera 1,000 km away from a 1 m
    object would otherwise be rounded by ~6 cm)."""
    if limit32 is None:
        limit32 = np.float32(np.inf)
    rel = origins - emb.origin
    lo, hi = emb.box
    outside = ((rel < lo) | (rel > hi)).any(axis=1)
    if not outside.any():
        return rel.astype(np.float32), None, np.full(len(rel), limit32, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        safe = np.where(np.abs(d) < 1e-300, np.copysign(1e-300, d), d)
        inv = 1.0 / safe
        t1 = (lo - rel) * inv
        t2 = (hi - rel) * inv
        tnear = np.minimum(t1, t2).max(axis=1)
    # (a ray that passes the box is moved too, so that float32 cannot round it onto the box; one
    # that would have to go beyond float32's range first misses everything anyway)
    near = outside & (tnear > 0.0) & (tnear < FLOAT32_MAX_COORDINATE)
    shift = np.where(near, tnear, 0.0)
    moved = rel + d * shift[:, None]
    tfar = np.maximum(np.float64(limit32) - shift, 0.0).astype(np.float32)
    return moved.astype(np.float32), shift, tfar


def _cast_chunk(emb, origins, directions, limit32, out, a, b):
    """Cast rays ``a:b`` and write their results into ``out`` (whole-chunk array operations:
    most rays hit, so masking beats gathering the hits)."""
    o = origins[a:b]
    d = directions[a:b]
    o32, shift, tfar = relative_rays(emb, o, d, limit32)
    res = emb.scene.run(o32, d.astype(np.float32), dists=tfar, output=1)
    miss = res["geomID"] < 0
    if miss.all():
        return
    prim = res["primID"]
    prim[miss] = 0
    t = tfar.astype(np.float64)
    if shift is not None:
        t += shift
    t[miss] = np.inf
    loc = out["location"][a:b]
    with np.errstate(invalid="ignore"):     # misses: 0 × inf, overwritten below
        np.multiply(d, t[:, None], out=loc)
    loc += o
    nor = out["normal"][a:b]
    nor[...] = res["Ng"]
    with np.errstate(divide="ignore", invalid="ignore"):   # misses: 0 / 0, overwritten below
        nor *= (1.0 / np.sqrt(np.einsum("ij,ij->i", nor, nor)))[:, None]
    out["hit"][a:b] = ~miss
    out["distance"][a:b] = t
    out["object_index"][a:b] = emb.tri_obj[prim]
    out["polygon_index"][a:b] = emb.polys[prim]
    if miss.any():
        loc[miss] = np.nan
        nor[miss] = np.nan
        out["object_index"][a:b][miss] = -1
        out["polygon_index"][a:b][miss] = -1
