"""Benchmark suite (issue 6): the add-on's core against the copy–transform–bmesh pattern and
Blender's built-ins, inside the real ``bpy`` module of the interpreter that runs it.

    .venv/bpy-5.0/bin/python tools/bench.py [--tiny] [--only cold,loop,...] [--out FILE.json]
                                            [--zip dist/bvh_leakfree_addon-<version>.zip]

``make bench`` runs it once per Blender version (``BENCH_VERSIONS="5.0"`` to pick) and then draws
``docs/bench.png`` with ``tools/bench_chart.py``.

Every figure is a ratio against a reference measured in the same run (absolute times are printed for
context only): this machine is shared and noisy.  Times are best-of-N (builds) or medians (loops of
many iterations), with one untimed warm-up, references and ours interleaved so that load from other
processes hits both.  Each ratio is printed in words ("ours 3.2× faster than copy_fixed"); a target
that is not reached is printed as MISSED.

References, reimplemented here from their description (not BlenderProc's code):

* ``copy_leaky``      for each object ``obj.data.copy()``, ``mesh.transform(matrix_world)``,
                      ``bm.from_mesh``, then ``BVHTree.FromBMesh``; the copies are never removed
                      (BlenderProc's ``create_bvh_tree_multi_objects`` before the fix);
* ``copy_fixed``      the same plus ``bpy.data.meshes.remove(mesh)`` (BlenderProc v2.8.0);
* ``scene_ray_cast``  Blender's ``Scene.ray_cast`` in a Python loop: ray throughput and the
                      correctness oracle (the hits must be identical);
* ``floor``           Σ per-object ``BVHTree.FromObject`` (Blender's C build, object space, no
                      merging): the near-physical limit we quote our distance from.

Measurements (``--only`` names): ``cold`` (1), ``scaling`` (2), ``loop`` (3), ``recast`` (4),
``rays`` (5), ``memory`` and ``trend`` (6), ``monitor`` (7); ``soak``, ``moved`` and ``floor``
(issue 12: tools/bench_pipeline.py).

Isolation: every job (one scene, one memory figure, one trend pattern, the monitor) runs in a fresh
subprocess of this script, so leaked meshes and allocator state never carry over.  ``--in-process``
runs the jobs one after the other in this process instead (each after a factory reset); the smoke
test (tests/test_bench_smoke.py) uses that with ``--tiny``.
"""
import argparse
import atexit
import datetime
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# -- issue 13: the batched-ray (Embree) measurements live in tools/bench_rays.py ------------------
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_rays  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ADDON_MODULE = "bl_ext.user_default.bvh_leakfree_addon"
MEASUREMENTS = ("cold", "scaling", "loop", "recast", "rays", "memory", "trend", "monitor",
                "reeval", "leaks",
                "soak", "moved", "floor",   # issue 12: tools/bench_pipeline.py
                "embree")                   # issue 13: tools/bench_rays.py
# --- issue 14: leak_guard's overhead and the monitor's lists/graph live in bench_leaks.py ---------
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))
import bench_leaks  # noqa: E402


def _this():
    """This module's functions for bench_leaks (loaded by path in the smoke test, so not
    necessarily in sys.modules)."""
    import types
    return types.SimpleNamespace(**globals())
# --- end issue 14 --------------------------------------------------------------------------------

# Triangles of a bmesh icosphere: 20 * 4 ** (subdivisions - 1).
SCENES = {"S1": (20, 5), "S2": (200, 3), "S3": (2000, 1), "S4": (1, 8)}
TINY_SCENES = {"S1": (3, 2), "S2": (8, 1), "S3": (20, 1), "S4": (1, 3)}

FULL = {
    "scenes": SCENES,
    "cold_reps": {"S1": 7, "S2": 7, "S3": 3, "S4": 5},
    "recast_reps": 100,
    "loop_scenes": ("S1", "S2"),
    "loop_iterations": 100,
    "loop_rays": 100,
    "ray_scenes": ("S1",),
    "rays": 100_000,
    "ray_reps": 2,
    "scaling_counts": (200, 2000, 20000),
    "scaling_reps": {200: 5, 2000: 2, 20000: 2},
    "scaling_ref_full_limit": 2000,     # copy_fixed above this many objects is timed on a sample
    "scaling_ref_sample": 200,
    "peak_scenes": ("S1", "S4"),
    "trend_cycles": 1000,
    "trend_scene": (50, 2),             # 50 objects × 80 triangles
    "trend_rays": 10,
    "monitor_meshes": 10_000,
    "monitor_ticks": 2000,
    "monitor_blocks": 10,
    "reeval_segments": 708,             # a grid of 2 × 708² ≈ 1.0 M triangles
    "reeval_times": 10,
    "embree": bench_rays.FULL,          # issue 13
}

TINY = dict(FULL, **{
    "scenes": TINY_SCENES,
    "cold_reps": {"S1": 2, "S2": 2, "S3": 2, "S4": 2},
    "recast_reps": 5,
    "loop_iterations": 3,
    "loop_rays": 5,
    "rays": 200,
    "ray_reps": 1,
    "scaling_counts": (10, 40),
    "scaling_reps": {10: 1, 40: 1},
    "scaling_ref_full_limit": 10,
    "scaling_ref_sample": 5,
    "trend_cycles": 4,
    "trend_scene": (4, 1),
    "trend_rays": 3,
    "monitor_meshes": 200,
    "monitor_ticks": 20,
    "monitor_blocks": 2,
    "reeval_segments": 40,
    "reeval_times": 3,
    "embree": bench_rays.TINY,          # issue 13
})
FULL.update(bench_leaks.FULL)     # issue 14
TINY.update(bench_leaks.TINY)

# Targets (issue 6): speedup factors vs copy_fixed unless noted.
COLD_TARGETS = {"S1": 3.0, "S2": 5.0, "S3": 100.0, "S4": 2.5}
LOOP_TARGET = 50.0
RECAST_TARGET_S = 1e-3
RAYS_TARGET = 5.0
SCALING_FLAT = 1.5       # ours per object at the largest N at most this × its cost at the smallest
MONITOR_TARGET_S = 1e-3  # "well under 1 ms" on average


# ================================================================================================
# Process measurements (Linux /proc; None elsewhere)
# ================================================================================================

def rss_bytes():
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_bytes():
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def trim_heap():
    """Give freed heap memory back to the kernel (glibc ``malloc_trim``), so that a later peak-RSS
    increase counts new memory, not memory that scene creation freed and the allocator kept."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


# ================================================================================================
# Scenes
# ================================================================================================

def _bpy():
    import bpy  # imported lazily: the monitor job sets BLENDER_USER_RESOURCES first
    return bpy


def factory_reset():
    _bpy().ops.wm.read_factory_settings(use_empty=True)


def ico_mesh(name, subdivisions):
    import bmesh
    bpy = _bpy()
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_icosphere(bm, subdivisions=subdivisions, radius=1.0)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    return mesh


def ico_scene(count, subdivisions, spacing=3.0):
    """``count`` icospheres (radius 1), each with its own mesh, on a 3D grid, rotated.
    Returns (objects, half extent of the scene)."""
    bpy = _bpy()
    factory_reset()
    base = ico_mesh("ico", subdivisions)
    side = max(1, math.ceil(count ** (1 / 3) - 1e-9))
    collection = bpy.context.scene.collection
    objects = []
    for i in range(count):
        obj = bpy.data.objects.new(f"ico{i}", base if i == 0 else base.copy())
        obj.location = (i % side * spacing, i // side % side * spacing,
                        i // (side * side) * spacing)
        obj.rotation_euler = (0.1 * i, 0.2, 0.05 * i)
        collection.objects.link(obj)
        objects.append(obj)
    bpy.context.evaluated_depsgraph_get()
    return objects, 0.5 * side * spacing + 1.0


def triangles(count, subdivisions):
    return count * 20 * 4 ** (subdivisions - 1)


def scene_label(name, scenes):
    count, sub = scenes[name]
    return f"{name} {count:,} × {triangles(1, sub):,} tris"


# ================================================================================================
# References (reimplemented from their description) and ours
# ================================================================================================

def ref_copy_leaky(objects):
    """copy_leaky: copy, transform, append to one bmesh, FromBMesh; the copies are never removed."""
    import bmesh
    from mathutils.bvhtree import BVHTree
    bm = bmesh.new()
    try:
        for obj in objects:
            mesh = obj.data.copy()
            mesh.transform(obj.matrix_world)
            bm.from_mesh(mesh)
        return BVHTree.FromBMesh(bm)
    finally:
        bm.free()


def ref_copy_fixed(objects, sample=None):
    """copy_fixed: copy_leaky plus ``bpy.data.meshes.remove`` of each copy (BlenderProc v2.8.0).
    ``sample``: only the first that many objects (per-object timing of huge scenes)."""
    import bmesh
    from mathutils.bvhtree import BVHTree
    bpy = _bpy()
    bm = bmesh.new()
    try:
        for obj in objects[:sample] if sample else objects:
            mesh = obj.data.copy()
            try:
                mesh.transform(obj.matrix_world)
                bm.from_mesh(mesh)
            finally:
                bpy.data.meshes.remove(mesh)
        return BVHTree.FromBMesh(bm)
    finally:
        bm.free()


def ref_floor(objects):
    """floor: Σ per-object BVHTree.FromObject (object space, no merging, no hit → object map)."""
    from mathutils.bvhtree import BVHTree
    depsgraph = _bpy().context.evaluated_depsgraph_get()
    return [BVHTree.FromObject(obj.evaluated_get(depsgraph), depsgraph) for obj in objects]


def api():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bvh_leakfree_addon import api as module
    return module


def ours_cold(objects):
    """ours, cold: empty cache, then ``api.build`` (a queryable SceneBVH).  Timed runs empty the
    cache untimed first (``cold_setups``): freeing the previous run's trees is not build work, as
    the references' results are also freed outside the timed region."""
    core = api()
    core.clear_cache()
    return core.build(objects)


def ours_cold_timed(objects):
    return api().build(objects)


def clear_cache():
    api().clear_cache()


def cold_setups(objects):
    """Untimed setup before each cold run: the evaluated meshes are re-evaluated (so no runtime
    cache of Blender's, e.g. triangulation, survives from the previous run) for the two that read
    them, and our cache is emptied for ours."""
    meshes = list({obj.data.as_pointer(): obj.data for obj in objects}.values())

    def re_evaluate():
        for mesh in meshes:
            mesh.update_tag()
        settle()

    def ours():
        re_evaluate()
        clear_cache()

    return {"floor": re_evaluate, "ours": ours}


REFERENCES = {
    "copy_leaky": ref_copy_leaky,
    "copy_fixed": ref_copy_fixed,
    "floor": ref_floor,
    "ours": ours_cold,
}


# ================================================================================================
# Timing helpers
# ================================================================================================

def interleaved(functions, reps, warmup=1, aftermath=None, setups=None):
    """Times of each ``functions[name]()`` over ``reps`` rounds, run in turn within each round (so
    load from other processes hits all of them).  Results are dropped outside the timed region.

    After each call the depsgraph is brought up to date, untimed (``settle``): removing meshes (the
    copy patterns) leaves a relations rebuild behind that would otherwise be charged to whichever
    function runs next.  Not charging it to the copy patterns is conservative (in our disfavour);
    ``aftermath`` (a dict) receives those untimed seconds per function, for the record.
    ``setups[name]()`` runs untimed before each call of ``functions[name]``."""
    times = {name: [] for name in functions}
    setups = setups or {}
    gc.collect()     # ~40 ms in a bpy process: once, then the collector is off while timing
    for round_ in range(warmup + reps):
        for name, fn in functions.items():
            if name in setups:
                setups[name]()
            with no_gc():
                start = time.perf_counter()
                result = fn()
                elapsed = time.perf_counter() - start
            del result
            settled = settle()
            if round_ >= warmup:
                times[name].append(elapsed)
                if aftermath is not None:
                    aftermath.setdefault(name, []).append(settled)
    return times


def settle():
    """Bring the depsgraph up to date (untimed by callers); returns the seconds it took."""
    start = time.perf_counter()
    _bpy().context.evaluated_depsgraph_get()
    return time.perf_counter() - start


class no_gc:
    """The cyclic garbage collector off inside the block (as ``timeit`` does)."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


def summary(times):
    return {"best": min(times), "median": statistics.median(times), "n": len(times),
            "times": [round(t, 7) for t in times]}


def random_rays(n, center, half, objects, seed):
    """Rays from a box around the scene towards points near random objects (most of them hit)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    c = np.asarray(center, dtype=np.float64)
    origins = c + rng.uniform(-1.5 * half, 1.5 * half, (n, 3))
    centers = np.array([tuple(o.matrix_world.translation) for o in objects])
    targets = centers[rng.integers(0, len(centers), n)] + rng.normal(0.0, 0.6, (n, 3))
    directions = targets - origins
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    return origins, directions


def scene_center(objects):
    import numpy as np
    return np.array([tuple(o.matrix_world.translation) for o in objects]).mean(axis=0)


# ================================================================================================
# Jobs.  Each returns plain JSON data; rows and ratios are made from it in the parent.
# ================================================================================================

def job_scene(cfg, name, parts):
    """One scene: cold build (1), unchanged re-cast (4), sampler loop (3), rays (5)."""
    bpy = _bpy()
    count, sub = cfg["scenes"][name]
    objects, half = ico_scene(count, sub)
    core = api()
    out = {"scene": name, "objects": count, "triangles": triangles(count, sub)}
    meshes_before = len(bpy.data.meshes)
    if "cold" in parts or "recast" in parts:
        after = {}
        times = interleaved({"copy_fixed": lambda: ref_copy_fixed(objects),
                             "floor": lambda: ref_floor(objects),
                             "ours": lambda: ours_cold_timed(objects)}, cfg["cold_reps"][name],
                            aftermath=after, setups=cold_setups(objects))
        out["cold"] = {k: summary(v) for k, v in times.items()}
        out["cold"]["aftermath"] = {k: statistics.median(v) for k, v in after.items()}
        out["cold"]["meshes_grown"] = len(bpy.data.meshes) - meshes_before
    if "recast" in parts:
        out["recast"] = _recast(cfg, objects, half, core)
    if "loop" in parts and name in cfg["loop_scenes"]:
        out["loop"] = _loop(cfg, objects, half, core)
    if "rays" in parts and name in cfg["ray_scenes"]:
        out["rays"] = _rays(cfg, objects, half, core)
    core.clear_cache()
    return out


def _recast(cfg, objects, half, core):
    """Nothing changed since the last build: build again (or update) and cast one ray."""
    import numpy as np
    center = scene_center(objects)
    origin = center + np.array([0.3, 0.2, 2.0 * half + 1.0])
    direction = np.array([0.0, 0.0, -1.0])
    bvh = core.build(objects)
    bvh.ray_cast(origin, direction)

    def via_build():
        return core.build(objects).ray_cast(origin, direction)

    def via_update():
        return bvh.update().ray_cast(origin, direction)

    times = interleaved({"build": via_build, "update": via_update}, cfg["recast_reps"])
    reused = core.build(objects).stats.reused
    bvh.update()
    return {"build": summary(times["build"]), "update": summary(times["update"]),
            "reused": bool(reused and bvh.stats.reused)}


def _mover(objects, half, seed):
    """Moves every object to a random place in the scene's box (a pose sampler's step)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    center = scene_center(objects)

    def move():
        positions = center + rng.uniform(-half, half, (len(objects), 3))
        for obj, p in zip(objects, positions, strict=False):
            obj.location = p
    return move


def _loop(cfg, objects, half, core):
    """BlenderProc-style sampler loop: move every object, rebuild, cast N rays; per iteration."""
    from mathutils import Vector
    bpy = _bpy()
    origins, directions = random_rays(cfg["loop_rays"], scene_center(objects), half, objects, 7)
    ray_vectors = [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=False)]
    move_ref, move_ours = _mover(objects, half, 11), _mover(objects, half, 11)

    def reference():
        t0 = time.perf_counter()
        move_ref()
        bpy.context.evaluated_depsgraph_get()
        t1 = time.perf_counter()
        tree = ref_copy_fixed(objects)
        t2 = time.perf_counter()
        for o, d in ray_vectors:
            tree.ray_cast(o, d)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    rebuilt = []

    def ours():
        t0 = time.perf_counter()
        move_ours()
        bpy.context.evaluated_depsgraph_get()
        t1 = time.perf_counter()
        bvh = core.build(objects)
        t2 = time.perf_counter()
        bvh.ray_cast_many(origins, directions)
        t3 = time.perf_counter()
        rebuilt.append(bvh.stats.meshes_rebuilt)
        return t1 - t0, t2 - t1, t3 - t2

    core.build(objects)
    samples = {"copy_fixed": [], "ours": []}
    gc.collect()
    for i in range(cfg["loop_iterations"] + 1):      # iteration 0 is the warm-up
        for name, fn in (("copy_fixed", reference), ("ours", ours)):
            with no_gc():
                parts = fn()
            settle()     # see interleaved(): each side starts from an up-to-date depsgraph
            if i:
                samples[name].append(parts)
    out = {"iterations": cfg["loop_iterations"], "rays": cfg["loop_rays"],
           "meshes_rebuilt_per_iteration": max(rebuilt[1:], default=0)}
    for name, rows in samples.items():
        out[name] = {
            "iteration": summary([sum(r) for r in rows]),
            "move_eval": summary([r[0] for r in rows]),
            "build": summary([r[1] for r in rows]),
            "cast": summary([r[2] for r in rows]),
        }
    return out


def _rays(cfg, objects, half, core):
    """ray_cast_many vs a Python loop over Scene.ray_cast; the hits must be identical."""
    import numpy as np
    from mathutils import Vector
    bpy = _bpy()
    origins, directions = random_rays(cfg["rays"], scene_center(objects), half, objects, 3)
    vectors = [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=False)]
    scene = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    bvh = core.build(objects)
    oracle = []

    def reference():
        oracle.clear()
        for o, d in vectors:
            oracle.append(scene.ray_cast(depsgraph, o, d))
        return None

    result = {}

    def ours():   # the mathutils backend (issue 13: "auto" would pick Embree here, see row 9)
        result["r"] = bvh.ray_cast_many(origins, directions, backend="mathutils")

    times = interleaved({"scene_ray_cast": reference, "ours": ours}, cfg["ray_reps"], warmup=0)
    r = result["r"]
    names = [o.name for o in bvh.objects]
    mism = {"hit": 0, "object": 0, "polygon": 0, "location": 0, "normal": 0}
    edge_ties = 0   # same point, other polygon: the ray met the edge between two polygons
    max_loc = max_nor = 0.0
    tol_loc = 1e-4 * 2.0 * half
    for k, (ok, loc, nor, index, obj, _m) in enumerate(oracle):
        if bool(ok) != bool(r["hit"][k]):
            mism["hit"] += 1
            continue
        if not ok:
            continue
        if obj.name != names[r["object_index"][k]]:
            mism["object"] += 1
            continue
        dl = float(np.linalg.norm(np.asarray(loc) - r["location"][k]))
        max_loc = max(max_loc, dl)
        if dl > tol_loc:
            mism["location"] += 1
        if index != r["polygon_index"][k]:
            if dl <= tol_loc:
                edge_ties += 1      # its normal is the other polygon's: not compared
            else:
                mism["polygon"] += 1
            continue
        dn = float(np.linalg.norm(np.asarray(nor) - r["normal"][k]))
        max_nor = max(max_nor, dn)
        mism["normal"] += dn > 1e-3
    return {"rays": cfg["rays"], "hits": int(sum(1 for row in oracle if row[0])),
            "scene_ray_cast": summary(times["scene_ray_cast"]), "ours": summary(times["ours"]),
            "mismatches": mism, "edge_ties": edge_ties, "max_location_error": max_loc,
            "max_normal_error": max_nor,
            "location_tolerance": tol_loc}


def job_scaling(cfg, count):
    """Per-object cost at ``count`` objects × 20 triangles: ours, copy_fixed, floor."""
    objects, _half = ico_scene(count, 1)
    reps = cfg["scaling_reps"].get(count, 1)
    sample = None if count <= cfg["scaling_ref_full_limit"] else cfg["scaling_ref_sample"]
    times = interleaved({"copy_fixed": lambda: ref_copy_fixed(objects, sample=sample),
                         "floor": lambda: ref_floor(objects),
                         "ours": lambda: ours_cold_timed(objects)}, reps,
                        setups=cold_setups(objects))
    api().clear_cache()
    per = {name: min(t) / (sample if name == "copy_fixed" and sample else count)
           for name, t in times.items()}
    return {"objects": count, "copy_fixed_sample": sample, "per_object": per,
            "times": {k: summary(v) for k, v in times.items()}}


def job_peak(cfg, name, method):
    """Peak RSS increase of one build in this (fresh) process."""
    bpy = _bpy()
    count, sub = cfg["scenes"][name]
    objects, _half = ico_scene(count, sub)
    fn = REFERENCES[method]
    api()                                   # import outside the measured region
    bpy.context.evaluated_depsgraph_get()
    gc.collect()
    trimmed = trim_heap()
    can_reset = reset_peak_rss()
    before = rss_bytes()
    peak_before = peak_rss_bytes()
    start = time.perf_counter()
    result = fn(objects)
    seconds = time.perf_counter() - start
    peak = peak_rss_bytes()
    after = rss_bytes()
    del result
    api().clear_cache()
    if before is None or peak is None:
        return {"scene": name, "method": method, "peak_increase": None}
    return {"scene": name, "method": method, "seconds": seconds,
            "peak_increase": peak - before, "retained": after - before,
            "peak_was_reset": can_reset, "heap_trimmed": trimmed, "peak_before": peak_before,
            "rss_before": before}


def job_reeval(cfg):
    """Peak RSS while one ~1 M-triangle mesh is re-evaluated ``reeval_times`` times (a Displace
    modifier's strength changes, then a build and a cast), against the peak of its first build:
    the cache must drop each replaced tree (issue 11: 1.0.0 kept all of them)."""
    import bmesh
    bpy = _bpy()
    core = api()
    n = cfg["reeval_segments"]
    mesh = bpy.data.meshes.new("grid")
    bm = bmesh.new()
    try:
        bmesh.ops.create_grid(bm, x_segments=n, y_segments=n, size=10.0)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    grid = bpy.data.objects.new("grid", mesh)
    bpy.context.scene.collection.objects.link(grid)
    mod = grid.modifiers.new("Displace", 'DISPLACE')
    mod.mid_level = 0.0
    bpy.context.evaluated_depsgraph_get()
    gc.collect()
    trim_heap()
    can_reset = reset_peak_rss()
    before = rss_bytes()
    core.build([grid]).ray_cast((0.1, 0.1, 5.0), (0, 0, -1))
    first_peak = peak_rss_bytes()
    tree_bytes = core.cache_info().bytes
    trees = []
    for i in range(cfg["reeval_times"]):
        mod.strength = 0.1 * (i + 1)
        core.build([grid]).ray_cast((0.1, 0.1, 5.0), (0, 0, -1))
        trees.append(core.cache_info().trees)
    last_peak = peak_rss_bytes()
    info = core.cache_info()
    core.clear_cache()
    if before is None or first_peak is None:
        return {"peak_first": None}
    return {"triangles": info.triangles, "tree_bytes": tree_bytes, "times": cfg["reeval_times"],
            "peak_first": first_peak - before, "peak_last": last_peak - before,
            "cache_trees": trees, "cache_bytes_end": info.bytes, "peak_was_reset": can_reset}


def job_trend(cfg, pattern):
    """``trend_cycles`` sampler cycles (move every object, build, cast a few rays) with one
    pattern: bpy.data mesh count, RSS and time per cycle."""
    from mathutils import Vector
    bpy = _bpy()
    count, sub = cfg["trend_scene"]
    objects, half = ico_scene(count, sub)
    core = api()
    origins, directions = random_rays(cfg["trend_rays"], scene_center(objects), half, objects, 5)
    ray_vectors = [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=False)]
    move = _mover(objects, half, 13)
    if pattern == "ours":
        def cycle():
            bvh = core.build(objects, reuse=False)   # full rebuild every cycle, as the references
            bvh.ray_cast_many(origins, directions)
    else:
        build = REFERENCES[pattern]

        def cycle():
            tree = build(objects)
            for o, d in ray_vectors:
                tree.ray_cast(o, d)
    ids_before = _id_sizes()
    meshes, rss, seconds = [], [], []
    for _ in range(cfg["trend_cycles"]):
        start = time.perf_counter()
        move()
        bpy.context.evaluated_depsgraph_get()
        cycle()
        seconds.append(time.perf_counter() - start)
        meshes.append(len(bpy.data.meshes))
        value = rss_bytes()
        rss.append(None if value is None else round(value / 2**20, 3))
    ids_after = _id_sizes()
    core.clear_cache()
    grown = {k: ids_after[k] - ids_before[k] for k in ids_before if ids_after[k] != ids_before[k]}
    return {"pattern": pattern, "objects": count, "triangles": triangles(count, sub),
            "meshes": meshes, "rss_mb": rss, "seconds": [round(s, 7) for s in seconds],
            "ids_grown": grown, "meshes_at_start": ids_before["meshes"]}


def _id_sizes():
    """len() of every ID type's collection of ``bpy.data`` (the add-on's list of them: never 5.3's
    ``all_ids``, which would count every ID twice)."""
    bpy = _bpy()
    api()     # puts the checkout on sys.path
    from bvh_leakfree_addon.core.idtypes import id_collection_names
    return {name: len(getattr(bpy.data, name)) for name in id_collection_names()}


def job_monitor(cfg, zip_path=None, installed=False):
    """Average cost of the monitor's tick with ``monitor_meshes`` meshes in the file (half of them
    used by objects, half orphans), the add-on installed from the zip and enabled.

    ``installed``: the zip is already installed in this Blender's user folder (the smoke test's
    fixture did it); only enable it."""
    import importlib

    import addon_utils
    bpy = _bpy()
    enable_addon(zip_path, installed)
    try:
        monitor = importlib.import_module(ADDON_MODULE + ".monitor.service")
        add_monitor_meshes(cfg["monitor_meshes"])
        tracked = monitor.tracked_types()
        monitor.tick(force=True)
        ticks, blocks = cfg["monitor_ticks"], cfg["monitor_blocks"]
        per_block = max(1, ticks // blocks)
        costs, block_means, naive, full = [], [], [], []
        gc.collect()
        # Blocks of ticks interleaved with the references, so that load from other processes
        # hits both; a block spans several throttled full refreshes of every type.
        for _ in range(blocks):
            with no_gc():
                block = []
                for _ in range(per_block):
                    start = time.perf_counter()
                    monitor.tick()
                    block.append(time.perf_counter() - start)
                start = time.perf_counter()
                _naive_tick(tracked)
                naive.append(time.perf_counter() - start)
                start = time.perf_counter()
                monitor.tick(force=True)
                full.append(time.perf_counter() - start)
            costs += block
            block_means.append(statistics.fmean(block))
        return {"meshes": len(bpy.data.meshes), "objects": len(bpy.data.objects),
                "tracked": list(tracked), "ticks": len(costs), "blocks": blocks,
                "mean": statistics.fmean(costs), "best_block_mean": min(block_means),
                "median_block_mean": statistics.median(block_means),
                "median": statistics.median(costs), "max": max(costs),
                "naive": summary(naive), "forced": summary(full),
                "mesh_period_ticks": _mesh_period(monitor)}
    finally:
        addon_utils.disable(ADDON_MODULE, default_set=True)


def enable_addon(zip_path, installed):
    """Install the add-on from the zip (unless the caller's fixture did) and enable it; the
    caller disables it."""
    import addon_utils
    if not installed:
        if not os.environ.get("BLENDER_USER_RESOURCES"):
            raise RuntimeError("bench: the monitor jobs install the add-on: set "
                               "BLENDER_USER_RESOURCES to a throwaway folder before importing bpy "
                               "(tools/bench.py does) so the user's own Blender is not touched")
        _install_addon(zip_path)
    if addon_utils.enable(ADDON_MODULE, default_set=True) is None:
        raise RuntimeError(f"bench: could not enable {ADDON_MODULE}")


def add_monitor_meshes(n):
    """``n`` meshes in the file for the monitor to count: half used by objects, half orphans."""
    bpy = _bpy()
    src = bpy.data.meshes.new("m")
    collection = bpy.context.scene.collection
    for i in range(n - 1):
        mesh = src.copy()
        if i % 2 == 0:
            collection.objects.link(bpy.data.objects.new(f"o{i}", mesh))


def _mesh_period(monitor):
    job = getattr(monitor, "_monitor", None)
    job = job.jobs.get("meshes") if job is not None else None
    return getattr(job, "period", None)


def _naive_tick(names):
    """The obvious monitor: count every tracked type and its orphans in Python, every tick."""
    bpy = _bpy()
    out = {}
    for name in names:
        collection = getattr(bpy.data, name)
        out[name] = (len(collection), sum(1 for id_ in collection if id_.users == 0))
    return out


def _install_addon(zip_path):
    bpy = _bpy()
    if zip_path is None:
        found = sorted((ROOT / "dist").glob("bvh_leakfree_addon-*.zip"))
        if not found:
            raise SystemExit("bench: no dist zip for the monitor job: run `make dist` or pass "
                             "--zip")
        zip_path = found[-1]
    result = bpy.ops.extensions.package_install_files(
        filepath=str(Path(zip_path).resolve()), repo="user_default", enable_on_install=False)
    if result != {'FINISHED'}:
        raise SystemExit(f"bench: installing {zip_path} failed: {result}")


# ================================================================================================
# Orchestration
# ================================================================================================

def plan(cfg, only):
    """The jobs for the selected measurements: list of (job id, kind, args, parts)."""
    jobs = []
    scene_parts = [m for m in ("cold", "recast", "loop", "rays") if m in only]
    for name in cfg["scenes"]:
        parts = [p for p in scene_parts
                 if p in ("cold", "recast") or (p == "loop" and name in cfg["loop_scenes"])
                 or (p == "rays" and name in cfg["ray_scenes"])]
        if parts:
            jobs.append((f"scene-{name}", "scene", [name, parts]))
    if "scaling" in only:
        jobs += [(f"scaling-{n}", "scaling", [n]) for n in cfg["scaling_counts"]]
    if "memory" in only:
        jobs += [(f"peak-{s}-{m}", "peak", [s, m]) for s in cfg["peak_scenes"]
                 for m in ("copy_fixed", "ours")]
    if "trend" in only:
        jobs += [(f"trend-{p}", "trend", [p]) for p in ("copy_leaky", "copy_fixed", "ours")]
    if "monitor" in only:
        jobs.append(("monitor", "monitor", []))
    if "reeval" in only:
        jobs.append(("reeval", "reeval", []))
    jobs += bench_leaks.plan(cfg, only)     # issue 14
    jobs += bench_pipeline.plan(cfg, only)   # issue 12: soak, moved, floor
    if "embree" in only:                # issue 13
        jobs += bench_rays.plan(cfg["embree"])
    return jobs


JOBS = {"scene": job_scene, "scaling": job_scaling, "peak": job_peak, "trend": job_trend,
        "monitor": job_monitor, "reeval": job_reeval,
        "guard": lambda cfg, n: bench_leaks.job_guard(_this(), cfg, n),   # issue 14
        **bench_rays.JOBS}   # issue 13: embree


def run_job_in_process(cfg, kind, args, zip_path=None, addon_installed=False):
    factory_reset()
    try:
        if kind == "monitor":
            return job_monitor(cfg, zip_path=zip_path, installed=addon_installed)
        if kind == "monitor_lists":     # issue 14
            return bench_leaks.job_monitor_lists(_this(), cfg, zip_path, addon_installed)
        return JOBS[kind](cfg, *args)
    finally:
        factory_reset()


def run_job_subprocess(size, kind, args, zip_path, tmp):
    """Run one job in a fresh interpreter (this script with --worker); returns its JSON."""
    out = Path(tmp) / f"{kind}-{'-'.join(map(str, args[:1] if kind == 'scene' else args))}.json"
    spec = json.dumps({"size": size, "kind": kind, "args": args,
                       "zip": str(zip_path) if zip_path else None})
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", spec,
           "--worker-out", str(out)]
    proc = subprocess.run(cmd, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"bench job {kind} {args} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-4000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def worker_main(spec_json, out_path):
    spec = json.loads(spec_json)
    cfg = TINY if spec["size"] == "tiny" else FULL
    result = run_job_in_process(cfg, spec["kind"], spec["args"], zip_path=spec.get("zip"))
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


def run_suite(size="full", only=MEASUREMENTS, in_process=False, zip_path=None,
              addon_installed=False, log=None):
    """Run the selected measurements; returns the results document (see ``rows``)."""
    cfg = TINY if size == "tiny" else FULL
    jobs = plan(cfg, set(only))
    started = time.perf_counter()
    doc = {"meta": _meta(size, only), "jobs": {}, "failures": {}}
    tmp = tempfile.mkdtemp(prefix="bvh_bench_")
    try:
        for job_id, kind, args in jobs:
            t0 = time.perf_counter()
            try:
                if in_process:
                    result = run_job_in_process(cfg, kind, args, zip_path, addon_installed)
                else:
                    result = run_job_subprocess(size, kind, args, zip_path, tmp)
            except Exception as ex:  # noqa: BLE001 - one broken job must not hide the others
                if in_process and not log:
                    raise
                doc["failures"][job_id] = f"{type(ex).__name__}: {ex}"
                if log is not None:
                    log(f"  {job_id}: FAILED after {time.perf_counter() - t0:.1f} s\n{ex}")
                continue
            doc["jobs"][job_id] = result
            if log is not None:
                log(f"  {job_id}: {time.perf_counter() - t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    doc["meta"]["seconds"] = time.perf_counter() - started
    doc["meta"]["load_average_end"] = load_average()
    doc["config"] = {k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()})
                     for k, v in cfg.items()}
    doc["rows"] = rows(doc, cfg)
    if size == "tiny":          # tiny scenes say nothing about the targets: don't judge them
        for r in doc["rows"]:
            if r["status"]:
                r["status"] = "not judged (tiny)"
    return doc


def _meta(size, only):
    bpy = _bpy_version()
    return {"bpy": bpy, "python": platform.python_version(), "machine": platform.machine(),
            "system": platform.system(), "cpus": os.cpu_count(), "size": size,
            "only": list(only), "date": datetime.datetime.now().astimezone().isoformat(
                timespec="seconds"), "load_average_start": load_average(),
            "git": _git_head(), "addon_digest": _addon_digest()}


def _addon_digest():
    """Short digest of the add-on's sources, so results can be tied to the code measured."""
    import hashlib
    digest = hashlib.sha1()
    for path in sorted((ROOT / "bvh_leakfree_addon").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _bpy_version():
    """The bpy version without importing bpy in the parent (slow): from the wheel's metadata."""
    if "bpy" in sys.modules:
        return sys.modules["bpy"].app.version_string
    try:
        from importlib.metadata import version
        return version("bpy")
    except Exception:  # noqa: BLE001 - metadata missing: ask bpy itself
        return _bpy().app.version_string


def _git_head():
    try:
        proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(ROOT),
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bvh_leakfree_addon"],
                               cwd=str(ROOT), capture_output=True, text=True, timeout=10)
        head = proc.stdout.strip()
        return head + ("+dirty" if dirty.stdout.strip() else "") if head else None
    except (OSError, subprocess.SubprocessError):
        return None


# ================================================================================================
# Rows: every figure as a ratio in words, with the target and its status
# ================================================================================================

def fmt_ratio(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def faster(ours, ref, ref_name, subject="ours"):
    """'ours 3.20× faster than copy_fixed' / 'ours 1.40× slower than floor'."""
    if ours <= 0 or ref <= 0:
        return "n/a", None
    if ours <= ref:
        return f"{subject} {fmt_ratio(ref / ours)}× faster than {ref_name}", ref / ours
    return f"{subject} {fmt_ratio(ours / ref)}× slower than {ref_name}", ref / ours


def less_memory(ours, ref, ref_name):
    if ours <= 0 and ref <= 0:
        return "neither grew measurably (0 MB)", None
    if ours <= 0:
        return f"ours uses less than {ref_name} (none measurable vs {ref / 2**20:.1f} MB)", None
    if ours <= ref:
        return f"ours uses {fmt_ratio(ref / ours)}× less than {ref_name}", ref / ours
    return f"ours uses {fmt_ratio(ours / ref)}× more than {ref_name}", ref / ours


def ms(seconds):
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def mb(nbytes):
    return "n/a" if nbytes is None else f"{nbytes / 2**20:.1f} MB"


def row(measurement, case, ours, ref, words, target="", met=None, **extra):
    status = "" if met is None else ("met" if met else "MISSED")
    return dict(measurement=measurement, case=case, ours=ours, reference=ref, comparison=words,
                target=target, status=status, **extra)


def rows(doc, cfg):
    out = []
    jobs = doc["jobs"]
    scenes = cfg["scenes"]
    for name in scenes:
        cold = jobs.get(f"scene-{name}", {}).get("cold")
        if not cold:
            continue
        o, f, r = cold["ours"]["best"], cold["floor"]["best"], cold["copy_fixed"]["best"]
        words, ratio = faster(o, r, "copy_fixed")
        target = COLD_TARGETS[name]
        out.append(row("1 cold build", scene_label(name, scenes), ms(o), f"copy_fixed {ms(r)}",
                       words, f"≥ {target:g}× faster", ratio >= target, key=f"cold.{name}",
                       ratio=ratio, target_value=target))
        words, ratio = faster(o, f, "floor")
        out.append(row("1 cold build", scene_label(name, scenes), ms(o), f"floor {ms(f)}", words,
                       "(distance from the C floor)", key=f"floor.{name}", ratio=ratio))
    out += _scaling_rows(jobs, cfg)
    out += _reeval_rows(jobs)
    for name in scenes:
        loop = jobs.get(f"scene-{name}", {}).get("loop")
        if not loop:
            continue
        label = f"{scene_label(name, scenes)}, {loop['rays']} rays"
        o, r = loop["ours"]["iteration"]["median"], loop["copy_fixed"]["iteration"]["median"]
        words, ratio = faster(o, r, "copy_fixed")
        out.append(row("3 sampler loop, per iteration", label, ms(o), f"copy_fixed {ms(r)}",
                       words, f"≥ {LOOP_TARGET:g}× faster", ratio >= LOOP_TARGET,
                       key=f"loop.{name}", ratio=ratio, target_value=LOOP_TARGET))
        o, r = loop["ours"]["build"]["median"], loop["copy_fixed"]["build"]["median"]
        words, ratio = faster(o, r, "copy_fixed")
        out.append(row("3 rebuild after moving all", scene_label(name, scenes), ms(o),
                       f"copy_fixed {ms(r)}", words, f"≥ {LOOP_TARGET:g}× faster (issue 3)",
                       ratio >= LOOP_TARGET, key=f"moved.{name}", ratio=ratio,
                       target_value=LOOP_TARGET))
    for name in scenes:
        job = jobs.get(f"scene-{name}", {})
        recast, cold = job.get("recast"), job.get("cold")
        if not recast:
            continue
        r = cold["copy_fixed"]["best"] if cold else None
        for how, text in (("build", "api.build() again + 1 ray"), ("update", "update() + 1 ray")):
            o = recast[how]["median"]
            words, _ratio = faster(o, r, "copy_fixed rebuild") if r else ("n/a", None)
            met = o < RECAST_TARGET_S and recast["reused"]
            out.append(row("4 unchanged re-cast", f"{scene_label(name, scenes)}: {text}", ms(o),
                           f"copy_fixed {ms(r)}", words, f"< {ms(RECAST_TARGET_S)}", met,
                           key=f"recast.{how}.{name}", seconds=o))
    for name in scenes:
        rays = jobs.get(f"scene-{name}", {}).get("rays")
        if not rays:
            continue
        o, r = rays["ours"]["best"], rays["scene_ray_cast"]["best"]
        words, ratio = faster(o, r, "Scene.ray_cast loop")
        bad = sum(rays["mismatches"].values())
        ties = rays.get("edge_ties", 0)
        tie_text = (f", {ties} edge tie(s): same point, the neighbouring polygon's index"
                    if ties else "")
        agree = (f"hits identical ({rays['hits']:,} of {rays['rays']:,} rays hit{tie_text})"
                 if not bad else f"MISMATCH vs Scene.ray_cast: {rays['mismatches']}{tie_text}")
        out.append(row("5 rays (ray_cast_many)", f"{scene_label(name, scenes)}, "
                       f"{rays['rays']:,} rays", ms(o), f"scene_ray_cast {ms(r)}", words,
                       f"≥ {RAYS_TARGET:g}× faster, identical hits",
                       ratio >= RAYS_TARGET and not bad, key=f"rays.{name}", ratio=ratio,
                       agreement=agree, target_value=RAYS_TARGET))
    out += _memory_rows(jobs, cfg)
    out += _trend_rows(jobs)
    out += bench_pipeline.rows(doc, cfg)     # issue 12: soak, moved, floor
    mon = jobs.get("monitor")
    if mon:
        tick = mon.get("best_block_mean", mon["mean"])
        words, ratio = faster(tick, mon["naive"]["best"], "a naive full recount per tick")
        out.append(row("7 monitor tick", f"{mon['meshes']:,} meshes, {mon['objects']:,} objects: "
                       f"mean tick, best of {mon.get('blocks', 1)} blocks of "
                       f"{mon['ticks'] // mon.get('blocks', 1):,} ticks", ms(tick),
                       f"naive recount {ms(mon['naive']['best'])}", words
                       + f" (mean over all ticks {ms(mon['mean'])})",
                       f"< {ms(MONITOR_TARGET_S)} mean", tick < MONITOR_TARGET_S,
                       key="monitor", ratio=ratio))
    out += bench_leaks.rows(_this(), jobs)     # issue 14
    out += bench_rays.rows(jobs, cfg)   # issue 13: batched rays, Embree backend
    return out


def _reeval_rows(jobs):
    job = jobs.get("reeval")
    if not job or job.get("peak_first") is None:
        return []
    growth = job["peak_last"] - job["peak_first"]
    budget = 2 * job["tree_bytes"]
    trees = growth / job["tree_bytes"] if job["tree_bytes"] else 0.0
    words = (f"peak RSS {fmt_ratio(trees)} trees' worth more than the first build's after "
             f"{job['times']} re-evaluations (one tree: {mb(job['tree_bytes'])}; the cache held "
             f"at most {max(job['cache_trees'])} tree(s))")
    return [row("8 re-evaluated mesh, peak RSS",
                f"{job['triangles']:,} tris × {job['times']} re-evaluations", mb(growth),
                f"first build's peak {mb(job['peak_first'])}", words,
                "≤ 2 trees above a single build", growth <= budget, key="reeval",
                ratio=trees)]


def _scaling_rows(jobs, cfg):
    out = []
    counts = [n for n in cfg["scaling_counts"] if f"scaling-{n}" in jobs]
    if not counts:
        return out
    first = jobs[f"scaling-{counts[0]}"]["per_object"]["ours"]
    for n in counts:
        job = jobs[f"scaling-{n}"]
        per = job["per_object"]
        sampled = (f" (timed on the first {job['copy_fixed_sample']:,} objects)"
                   if job["copy_fixed_sample"] else "")
        words, ratio = faster(per["ours"], per["copy_fixed"], "copy_fixed")
        out.append(row("2 scaling, per object", f"{n:,} × 20 tris", ms(per["ours"]),
                       f"copy_fixed {ms(per['copy_fixed'])}{sampled}", words, "",
                       key=f"scaling.{n}", ratio=ratio))
    n = counts[-1]
    growth = jobs[f"scaling-{n}"]["per_object"]["ours"] / first
    ref_growth = (jobs[f"scaling-{n}"]["per_object"]["copy_fixed"]
                  / jobs[f"scaling-{counts[0]}"]["per_object"]["copy_fixed"])
    words = (f"ours per object at {n:,} is {fmt_ratio(growth)}× its cost at {counts[0]:,} "
             f"(copy_fixed: {fmt_ratio(ref_growth)}×)")
    out.append(row("2 scaling, growth", f"{counts[0]:,} → {n:,} objects", f"{fmt_ratio(growth)}×",
                   f"copy_fixed {fmt_ratio(ref_growth)}×", words,
                   f"flat (≤ {SCALING_FLAT:g}×)", growth <= SCALING_FLAT, key="scaling.growth",
                   ratio=growth))
    return out


def _memory_rows(jobs, cfg):
    out = []
    for name in cfg["peak_scenes"]:
        ours, ref = jobs.get(f"peak-{name}-ours"), jobs.get(f"peak-{name}-copy_fixed")
        if not ours or not ref or ours["peak_increase"] is None:
            continue
        words, ratio = less_memory(ours["peak_increase"], ref["peak_increase"], "copy_fixed")
        out.append(row("6 peak RSS of one build", f"{scene_label(name, cfg['scenes'])} "
                       "(fresh process each)", mb(ours["peak_increase"]),
                       f"copy_fixed {mb(ref['peak_increase'])}", words, "ours ≤ copy_fixed",
                       ours["peak_increase"] <= ref["peak_increase"], key=f"peak.{name}",
                       ratio=ratio))
    return out


def trend_summary(job):
    """Mesh growth over all cycles, RSS growth after warm-up (first 10% of cycles), time."""
    n = len(job["meshes"])
    warm = max(1, n // 10)
    rss = job["rss_mb"]
    seconds = job["seconds"]
    k = max(1, n // 10)
    return {"mesh_growth": job["meshes"][-1] - job["meshes_at_start"],
            "rss_growth_mb": (rss[-1] - rss[warm - 1]) if rss[-1] is not None else None,
            "cycles_after_warmup": n - warm,
            "first_median": statistics.median(seconds[:k]),
            "last_median": statistics.median(seconds[-k:]),
            "median": statistics.median(seconds)}


def _trend_rows(jobs):
    out = []
    got = {p: jobs.get(f"trend-{p}") for p in ("copy_leaky", "copy_fixed", "ours")}
    if not all(got.values()):
        return out
    s = {p: trend_summary(j) for p, j in got.items()}
    cycles = len(got["ours"]["meshes"])
    objects = got['ours']['objects']
    case = f"{cycles:,} cycles, {objects} × {got['ours']['triangles'] // objects} tris"
    for p in ("copy_leaky", "copy_fixed", "ours"):
        t = s[p]
        leak_free = t["mesh_growth"] == 0 and not got[p]["ids_grown"]
        others = {k: v for k, v in got[p]["ids_grown"].items() if k != "meshes"}
        extra = f"; other ID growth {others}" if others else ""
        words = (f"{p}: bpy.data.meshes {t['mesh_growth']:+,}, RSS {t['rss_growth_mb']:+.1f} MB "
                 f"over the last {t['cycles_after_warmup']:,} cycles{extra}")
        out.append(row("6 1,000-cycle trend", f"{case}: {p}",
                       f"{t['mesh_growth']:+,} meshes", f"RSS {t['rss_growth_mb']:+.1f} MB", words,
                       "no ID growth" if p == "ours" else "", leak_free if p == "ours" else None,
                       key=f"trend.{p}"))
    # The patterns ran in separate processes, so their times are not compared with each other
    # (the interleaved loop measurement does that); copy_leaky is compared with itself.
    leaky = s["copy_leaky"]
    words, _ = faster(leaky["last_median"], leaky["first_median"], "its first 10%",
                      subject="copy_leaky's last 10% of cycles")
    out.append(row("6 1,000-cycle trend, leak cost", f"{case}: copy_leaky, same process",
                   ms(leaky["last_median"]), f"first 10% {ms(leaky['first_median'])}",
                   words + " (medians; the leak's slowdown, noisy)", "", key="trend.leaky"))
    return out


def dump_json(doc):
    """Indented JSON with lists of numbers kept on one line (the per-cycle series stay short in
    diffs)."""
    import re
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    number_list = re.compile(r"\[\s*(-?[0-9][-0-9.eE+]*(?:,\s*-?[0-9][-0-9.eE+]*)*)\s*\]")
    return number_list.sub(lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",")
                           .replace(" ,", ",") + "]", text) + "\n"


def format_table(doc):
    meta = doc["meta"]
    lines = [f"### Blender {meta['bpy']} — {meta['date'][:10]}, {meta['cpus']} cores "
             f"({meta['machine']}, Python {meta['python']}), load average "
             f"{_fmt_load(meta.get('load_average_start'))} → "
             f"{_fmt_load(meta.get('load_average_end'))}"
             f", suite {meta.get('seconds', 0):.0f} s"
             f"{' [TINY sizes]' if meta['size'] == 'tiny' else ''}",
             "",
             "| measurement | case | ours | reference | comparison | target | status |",
             "|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        comparison = r["comparison"] + (f"; {r['agreement']}" if r.get("agreement") else "")
        lines.append(f"| {r['measurement']} | {r['case']} | {r['ours']} | {r['reference']} | "
                     f"{comparison} | {r['target']} | "
                     f"{'**MISSED**' if r['status'] == 'MISSED' else r['status']} |")
    missed = [r for r in doc["rows"] if r["status"] == "MISSED"]
    lines.append("")
    for job_id, message in doc.get("failures", {}).items():
        lines.append(f"FAILED job {job_id}: {message.splitlines()[0]}")
    if meta["size"] == "tiny":
        lines.append("Tiny sizes (smoke test): targets not judged.")
    elif missed:
        lines.append(f"{len(missed)} target(s) MISSED: " + "; ".join(
            f"{r['measurement']} {r['case']}" for r in missed))
    else:
        lines.append("All targets met.")
    return "\n".join(lines)


def _fmt_load(value):
    return "n/a" if value is None else f"{value:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (smoke test, seconds)")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated subset of: {', '.join(MEASUREMENTS)}")
    parser.add_argument("--out", help="write the results (JSON) to this file")
    parser.add_argument("--zip", help="add-on zip for the monitor job (default: newest dist/*.zip)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every job in this process (no subprocess isolation)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if "bpy" not in sys.modules and not os.environ.get("BLENDER_USER_RESOURCES"):
        # Installing the add-on (monitor job) must never touch the user's own Blender: a throwaway
        # user folder, set before the first `import bpy` (Blender reads it at start-up).  Removed
        # at exit after Blender's own exit handlers (registered before bpy registers its own):
        # removing it earlier made Blender 4.2 crash on exit.
        user_dir = tempfile.mkdtemp(prefix="bvh_leakfree_bench_")
        os.environ["BLENDER_USER_RESOURCES"] = user_dir
        atexit.register(shutil.rmtree, user_dir, ignore_errors=True)
    else:
        user_dir = None
    if args.worker:
        worker_main(args.worker, args.worker_out)
        # The result is written: leave without Blender's exit handlers.  Blender 4.2's bpy module
        # segfaults at exit once a class with a get/set-callback property has been registered
        # (the add-on's state.py has one), even after unregistering it.
        if user_dir:
            shutil.rmtree(user_dir, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return _main(parser, args)


def _main(parser, args):
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(MEASUREMENTS)}")
    size = "tiny" if args.tiny else "full"
    print(f"bench: Blender {_bpy_version()} ({size} sizes): {', '.join(only)}", flush=True)
    doc = run_suite(size, only, in_process=args.in_process, zip_path=args.zip,
                    log=lambda text: print(text, flush=True))
    print()
    print(format_table(doc))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(dump_json(doc), encoding="utf-8")
        print(f"\nbench: results written to {out}")
    if doc["failures"]:
        sys.exit(f"bench: {len(doc['failures'])} job(s) failed: {', '.join(doc['failures'])}")
    return doc


# --- issue 12: the pipeline measurements (soak, moved, floor) live in tools/bench_pipeline.py ---
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_pipeline  # noqa: E402

bench_pipeline.attach(globals())   # its configuration into FULL/TINY, its jobs into JOBS
# -----------------------------------------------------------------------------------------------

if __name__ == "__main__":
    main()
