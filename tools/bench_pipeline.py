"""Pipeline measurements (issue 12) for tools/bench.py: long loops stay flat, builds of many objects
near the C floor, moves-only rebuilds.  Registered in bench.py by ``attach(globals())``; run them
with ``tools/bench.py --only soak,moved,floor``.

* ``soak``   a synthetic-data loop, ``soak_iterations`` times (1,000): each iteration adds ~20
             objects (a third of them linked duplicates, a third with modifiers whose parameters
             are random), builds, casts ``soak_rays`` rays, then deletes the objects and their
             meshes.  Three patterns, each in a fresh process: ``ours`` (``api.build`` +
             ``ray_cast_many``), ``dropin`` (``api.create_bvh_tree_multi_objects`` + a
             ``BVHTree.ray_cast`` loop, as BlenderProc code uses it) and ``copy_fixed``
             (BlenderProc v2.8's fixed function, the same ray loop).  Per iteration: time, RSS, the
             size of every ``bpy.data`` collection and of the cache.
* ``moved``  S1–S4: move every object, evaluate (untimed), rebuild: ``api.build`` against
             ``copy_fixed`` (and the drop-in) at the same poses, in one process.
* ``floor``  S2, S3: a cold ``api.build`` against the floor (Σ ``BVHTree.FromObject``), and the
             floor plus only the per-object reads a safe build needs (no bookkeeping): what
             separates the two is named when a target is missed.

The cold and moved jobs pin glibc's allocator (no heap trimming, a fixed mmap threshold): the
floor's own time otherwise swings 1.5× with the page faults of whichever build ran first after
memory went back to the system.  The floor jobs time with the process CPU clock (every build here
is single-threaded; the CPU clock is less disturbed by other processes on a shared machine).
"""
import gc
import math
import statistics
import time

HOST = None      # bench.py's namespace (attach)

MEASUREMENTS = ("soak", "moved", "floor")
FULL = {
    "soak_iterations": 1000,
    "soak_objects": 20,
    "soak_rays": 2000,
    "soak_trim_every": 10,
    "moved_scenes": ("S1", "S2", "S3", "S4"),
    "moved_iterations": {"S1": 30, "S2": 30, "S3": 12, "S4": 30},
    "moved_ref_iterations": {"S1": 10, "S2": 10, "S3": 3, "S4": 10},
    "floor_scenes": ("S2", "S3"),
    "floor_reps": {"S2": 15, "S3": 9},
}
TINY = {
    "soak_iterations": 6,
    "soak_objects": 6,
    "soak_rays": 50,
    "soak_trim_every": 2,
    "moved_scenes": ("S1", "S2"),
    "moved_iterations": {"S1": 3, "S2": 3, "S3": 2, "S4": 2},
    "moved_ref_iterations": {"S1": 1, "S2": 1, "S3": 1, "S4": 1},
    "floor_scenes": ("S2", "S3"),
    "floor_reps": {"S2": 2, "S3": 2},
}
SOAK_PATTERNS = ("ours", "dropin", "copy_fixed")
SOAK_RSS_TARGET_MB = 20.0          # RSS growth after warm-up over the whole loop
SOAK_FLAT = 1.25                   # last 10 % of iterations at most this × the first 10 %
MOVED_TARGET = 50.0                # × faster than copy_fixed
FLOOR_TARGETS = {"S2": 1.3, "S3": 1.5}   # cold build at most this × the floor


class _Host:
    """Attribute access to bench.py's namespace."""

    def __init__(self, namespace):
        self._ns = namespace

    def __getattr__(self, name):
        try:
            return self._ns[name]
        except KeyError:
            raise AttributeError(name) from None


def attach(namespace):
    """Register with bench.py (its ``globals()``): configuration and jobs."""
    global HOST
    HOST = _Host(namespace)
    namespace["FULL"].update(FULL)
    namespace["TINY"].update(TINY)
    namespace["JOBS"].update(JOBS)


def plan(cfg, only):
    jobs = []
    if "soak" in only:
        jobs += [(f"soak-{p}", "soak", [p]) for p in SOAK_PATTERNS]
    if "moved" in only:
        jobs += [(f"moved-{s}", "moved", [s]) for s in cfg["moved_scenes"]]
    if "floor" in only:
        jobs += [(f"floor-{s}", "floor", [s]) for s in cfg["floor_scenes"]]
    return jobs


def pin_malloc():
    """glibc: no heap trimming and a fixed mmap threshold (see the module); False elsewhere."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 64 << 20)) and bool(libc.mallopt(-1, 256 << 20))
    except (OSError, AttributeError):
        return False


# ================================================================================================
# The soak loop
# ================================================================================================

class SoakScene:
    """One iteration's objects: made, then deleted with their meshes (and nothing else is made).

    ``count`` objects: a third share a mesh with another one (linked duplicates), a third carry a
    modifier stack with random parameters (subdivision, bevel, array, solidify, displace), the
    rest are plain icospheres, cubes and grids of random sizes, all at random places, rotations
    and scales in a box of half size ``half``.
    """

    MODIFIERS = ("SUBSURF", "BEVEL", "ARRAY", "SOLIDIFY", "DISPLACE")

    def __init__(self, rng, count, half=6.0):
        import bpy
        self.rng = rng
        self.half = half
        self.meshes = []
        self.objects = []
        collection = bpy.context.scene.collection
        try:
            for i in range(count):
                if i % 3 == 1 and self.meshes:
                    mesh = self.meshes[int(rng.integers(0, len(self.meshes)))]
                else:
                    mesh = self._mesh(i)
                obj = bpy.data.objects.new(f"soak{i}", mesh)
                self.objects.append(obj)
                obj.location = rng.uniform(-half, half, 3)
                obj.rotation_euler = rng.uniform(0.0, math.tau, 3)
                obj.scale = rng.uniform(0.5, 1.5, 3) * rng.choice((-1.0, 1.0), 3)
                if i % 3 == 2:
                    self._modifiers(obj)
                collection.objects.link(obj)
        except BaseException:
            self.delete()
            raise

    def _mesh(self, i):
        import bpy

        import bmesh
        mesh = bpy.data.meshes.new(f"soak{i}")
        self.meshes.append(mesh)
        bm = bmesh.new()
        try:
            kind = int(self.rng.integers(0, 3))
            if kind == 0:
                bmesh.ops.create_icosphere(bm, subdivisions=int(self.rng.integers(1, 4)),
                                           radius=float(self.rng.uniform(0.3, 1.0)))
            elif kind == 1:
                bmesh.ops.create_cube(bm, size=float(self.rng.uniform(0.4, 1.6)))
            else:
                bmesh.ops.create_grid(bm, x_segments=int(self.rng.integers(2, 12)),
                                      y_segments=int(self.rng.integers(2, 12)),
                                      size=float(self.rng.uniform(0.5, 2.0)))
            bm.to_mesh(mesh)
        finally:
            bm.free()
        return mesh

    def _modifiers(self, obj):
        rng = self.rng
        for kind in rng.choice(self.MODIFIERS, size=int(rng.integers(1, 3)), replace=False):
            mod = obj.modifiers.new(str(kind).lower(), str(kind))
            if kind == "SUBSURF":
                mod.levels = int(rng.integers(0, 3))
            elif kind == "BEVEL":
                mod.width = float(rng.uniform(0.01, 0.1))
            elif kind == "ARRAY":
                mod.count = int(rng.integers(1, 4))
                mod.relative_offset_displace = rng.uniform(-1.5, 1.5, 3)
            elif kind == "SOLIDIFY":
                mod.thickness = float(rng.uniform(0.02, 0.3))
            else:
                mod.strength = float(rng.uniform(-0.3, 0.3))

    def rays(self, n):
        """``n`` rays from around the box towards random objects (most of them hit)."""
        import numpy as np
        rng = self.rng
        origins = rng.uniform(-1.5 * self.half, 1.5 * self.half, (n, 3))
        centres = np.array([tuple(o.location) for o in self.objects])
        targets = centres[rng.integers(0, len(centres), n)] + rng.normal(0.0, 0.4, (n, 3))
        directions = targets - origins
        return origins, directions / np.linalg.norm(directions, axis=1)[:, None]

    def delete(self):
        import bpy
        for obj in self.objects:
            bpy.data.objects.remove(obj)
        for mesh in self.meshes:
            bpy.data.meshes.remove(mesh)
        self.objects, self.meshes = [], []


def soak_step(api, pattern, objects, origins, directions, copy_fixed):
    """Build and cast once with ``pattern``; returns the number of hits."""
    if pattern == "ours":
        return int(api.build(objects).ray_cast_many(origins, directions)["hit"].sum())
    from mathutils import Vector
    tree = (api.create_bvh_tree_multi_objects(objects) if pattern == "dropin"
            else copy_fixed(objects))
    cast = tree.ray_cast
    return sum(cast(Vector(o), Vector(d))[0] is not None
               for o, d in zip(origins.tolist(), directions.tolist(), strict=True))


def trim_heap():
    """Give the allocator's free memory back to the system (glibc ``malloc_trim``), so that RSS
    read right after is memory held; False where there is no such call."""
    try:
        import ctypes
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0)) or True
    except (OSError, AttributeError):
        return False


def job_soak(cfg, pattern):
    """The loop; RSS is read every iteration (``rss_mb``) and, every ``soak_trim_every``
    iterations, again after :func:`trim_heap` (``held_mb``): glibc keeps freed memory for reuse
    and the raw figure wanders by tens of MB with it (the floor alone, Σ ``FromObject`` freed at
    once, does that too), while memory held only grows with a leak."""
    import bpy

    import numpy as np
    core = HOST.api()
    rng = np.random.default_rng(12)
    n = cfg["soak_iterations"]
    out = {"pattern": pattern, "iterations": n, "objects": cfg["soak_objects"],
           "rays": cfg["soak_rays"], "seconds": [], "work_seconds": [], "rss_mb": [], "ids": [],
           "cache_trees": [], "cache_mb": [], "hits": [], "held_mb": [], "held_at": []}
    every = cfg["soak_trim_every"]
    ids_before = HOST._id_sizes()
    for i in range(n):
        start = time.perf_counter()
        scene = SoakScene(rng, cfg["soak_objects"])
        try:
            origins, directions = scene.rays(cfg["soak_rays"])
            bpy.context.evaluated_depsgraph_get()
            work = time.perf_counter()
            out["hits"].append(soak_step(core, pattern, scene.objects, origins, directions,
                                         HOST.ref_copy_fixed))
            work = time.perf_counter() - work
        finally:
            scene.delete()
        bpy.context.evaluated_depsgraph_get()
        out["seconds"].append(round(time.perf_counter() - start, 6))
        out["work_seconds"].append(round(work, 6))
        rss = HOST.rss_bytes()
        out["rss_mb"].append(None if rss is None else round(rss / 2**20, 3))
        out["ids"].append(sum(HOST._id_sizes().values()))
        info = core.cache_info()
        out["cache_trees"].append(info.trees)
        out["cache_mb"].append(round(info.bytes / 2**20, 3))
        if rss is not None and (i % every == every - 1 or i == n - 1) and trim_heap():
            out["held_mb"].append(round(HOST.rss_bytes() / 2**20, 3))
            out["held_at"].append(i)
    ids_after = HOST._id_sizes()
    out["ids_grown"] = {k: ids_after[k] - v for k, v in ids_before.items() if ids_after[k] != v}
    core.clear_cache()
    return out


def soak_summary(job):
    """ID growth; RSS growth after warm-up (the first 10 % of iterations), raw and held (after
    trimming the heap: the judged figure); time per iteration, first vs last 10 %; cache size."""
    n = len(job["seconds"])
    k = max(1, n // 10)
    rss = job["rss_mb"]
    held = [(i, v) for i, v in zip(job["held_at"], job["held_mb"], strict=True) if i >= k - 1]
    summary = {
        "id_growth": sum(job["ids_grown"].values()),
        "rss_growth_mb": rss[-1] - rss[k - 1] if rss[-1] is not None else None,
        "held_growth_mb": held[-1][1] - held[0][1] if len(held) > 1 else None,
        "warmup": k,
        "first": statistics.median(job["seconds"][:k]),
        "last": statistics.median(job["seconds"][-k:]),
        "work_first": statistics.median(job["work_seconds"][:k]),
        "work_last": statistics.median(job["work_seconds"][-k:]),
        "cache_trees_max": max(job["cache_trees"]),
        "cache_trees_last": job["cache_trees"][-1],
        "cache_mb_max": max(job["cache_mb"]),
    }
    return summary


# ================================================================================================
# Moves-only rebuilds and the floor
# ================================================================================================

def job_moved(cfg, name):
    """Move every object, evaluate (untimed), rebuild: ours, the drop-in and copy_fixed."""
    import bpy
    pinned = pin_malloc()
    count, sub = cfg["scenes"][name]
    objects, half = HOST.ico_scene(count, sub)
    core = HOST.api()
    move = HOST._mover(objects, half, 17)
    core.build(objects)
    times = {"ours": [], "dropin": [], "copy_fixed": []}
    paths = []
    gc.collect()
    for k in range(cfg["moved_iterations"][name]):
        move()
        bpy.context.evaluated_depsgraph_get()
        with HOST.no_gc():
            start = time.perf_counter()
            bvh = core.build(objects)
            times["ours"].append(time.perf_counter() - start)
        paths.append(bool(bvh.stats.transforms_only))
        if k < cfg["moved_ref_iterations"][name]:
            for label, fn in (("dropin", core.create_bvh_tree_multi_objects),
                              ("copy_fixed", HOST.ref_copy_fixed)):
                with HOST.no_gc():
                    start = time.perf_counter()
                    tree = fn(objects)
                    times[label].append(time.perf_counter() - start)
                del tree
                HOST.settle()
            core.build(objects)      # the references evaluated the depsgraph: up to date again
    core.clear_cache()
    return {"scene": name, "objects": count, "pinned_malloc": pinned,
            "transforms_only": sum(paths), "builds": len(paths),
            **{k: HOST.summary(v) for k, v in times.items()}}


def reads_floor(objects):
    """The floor plus the per-object reads a safe cold build makes (``gather``'s walk for an
    evaluated mesh: checks, cache key and proof), with no bookkeeping at all."""
    import bpy

    from mathutils.bvhtree import BVHTree
    depsgraph = bpy.context.evaluated_depsgraph_get()
    from_object = BVHTree.FromObject
    stamps, base = {}, 0      # the cache's geometry stamps: one dict look-up per object
    out = []
    for obj in objects:
        ev = obj.evaluated_get(depsgraph)
        if ev.is_evaluated and not ev.is_instancer and not len(ev.modifiers) and \
                ev.type == 'MESH':
            data = ev.data
            if not data.is_editmode:
                npoly, nloop = len(data.polygons), len(data.loops)
                address = data.as_pointer()
                _proof = ((address, len(data.vertices), npoly, nloop),
                          ("evaluated", address, stamps.get(obj.as_pointer(), base)))
        out.append(from_object(ev, depsgraph))
    return out


def job_floor(cfg, name):
    """Cold ``api.build`` against the floor and the floor plus reads (process CPU time)."""
    pinned = pin_malloc()
    count, sub = cfg["scenes"][name]
    objects, _half = HOST.ico_scene(count, sub)
    setups = HOST.cold_setups(objects)
    functions = {"floor": lambda: HOST.ref_floor(objects),
                 "reads": lambda: reads_floor(objects),
                 "ours": lambda: HOST.ours_cold_timed(objects)}
    times = {k: [] for k in functions}
    gc.collect()
    for round_ in range(cfg["floor_reps"][name] + 1):     # round 0: warm-up
        for label, fn in functions.items():
            setups["ours" if label == "ours" else "floor"]()
            with HOST.no_gc():
                start = time.process_time()
                result = fn()
                elapsed = time.process_time() - start
            del result
            HOST.settle()
            if round_:
                times[label].append(elapsed)
    HOST.api().clear_cache()
    return {"scene": name, "objects": count, "pinned_malloc": pinned, "clock": "process CPU",
            **{k: HOST.summary(v) for k, v in times.items()}}


JOBS = {"soak": job_soak, "moved": job_moved, "floor": job_floor}


# ================================================================================================
# Rows
# ================================================================================================

def rows(doc, cfg):
    jobs = doc["jobs"]
    return _floor_rows(jobs, cfg) + _moved_rows(jobs, cfg) + _soak_rows(jobs)


def _floor_rows(jobs, cfg):
    out = []
    for name in cfg["floor_scenes"]:
        job = jobs.get(f"floor-{name}")
        if not job:
            continue
        n = job["objects"]
        floor, reads, ours = (job[k]["best"] for k in ("floor", "reads", "ours"))
        ratio, target = ours / floor, FLOOR_TARGETS[name]
        words, speed = HOST.faster(ours, floor, "the floor")
        words += f" (Σ FromObject {HOST.ms(floor)}, {floor * 1e6 / n:.1f} µs/object)"
        if ratio > target:
            words += (f"; cause (measured): the per-object reads a safe build needs (evaluated "
                      f"object, instancer, modifiers, type, edit mode, cache key and proof) "
                      f"alone make the floor {HOST.fmt_ratio(reads / floor)}× "
                      f"(+{(reads - floor) * 1e6 / n:.1f} µs/object); the cache entries, bounds "
                      f"and top level add {(ours - reads) * 1e6 / n:.1f} µs/object")
        out.append(HOST.row("1 cold build vs the C floor", HOST.scene_label(name, cfg["scenes"]),
                            HOST.ms(ours), f"floor {HOST.ms(floor)}", words,
                            f"≤ {target:g}× the floor", ratio <= target, key=f"floor_target.{name}",
                            ratio=speed, floor_ratio=ratio, target_value=target))
    return out


def _moved_rows(jobs, cfg):
    out = []
    for name in cfg["moved_scenes"]:
        job = jobs.get(f"moved-{name}")
        if not job:
            continue
        ours, ref = job["ours"]["median"], job["copy_fixed"]["median"]
        words, ratio = HOST.faster(ours, ref, "copy_fixed")
        dropin, _ = HOST.faster(job["dropin"]["median"], ref, "copy_fixed", subject="drop-in")
        words += (f" ({job['transforms_only']}/{job['builds']} rebuilds read matrices only; "
                  f"{dropin})")
        out.append(HOST.row("3b rebuild after moving all (issue 12)",
                            HOST.scene_label(name, cfg["scenes"]), HOST.ms(ours),
                            f"copy_fixed {HOST.ms(ref)}", words,
                            f"≥ {MOVED_TARGET:g}× faster", ratio >= MOVED_TARGET,
                            key=f"moved_all.{name}", ratio=ratio, target_value=MOVED_TARGET))
    return out


def _soak_rows(jobs):
    out = []
    got = {p: jobs.get(f"soak-{p}") for p in SOAK_PATTERNS}
    if not got["ours"]:
        return out
    case = (f"{got['ours']['iterations']:,} iterations × {got['ours']['objects']} new objects, "
            f"{got['ours']['rays']:,} rays")
    for pattern, job in got.items():
        if not job:
            continue
        s = soak_summary(job)
        flat = s["last"] / s["first"]
        held, rss = s["held_growth_mb"], s["rss_growth_mb"]
        words = (f"{pattern}: bpy.data {s['id_growth']:+,} IDs; RSS held {_mb(held)} after "
                 f"{s['warmup']} warm-up iterations (raw RSS {_mb(rss)}); per iteration first "
                 f"10% {HOST.ms(s['first'])}, last 10% {HOST.ms(s['last'])} ({flat:.2f}×; build "
                 f"+ rays {HOST.ms(s['work_first'])} → {HOST.ms(s['work_last'])}); cache at most "
                 f"{s['cache_trees_max']} trees / {s['cache_mb_max']:.1f} MB")
        judged = pattern != "copy_fixed"
        met = (s["id_growth"] == 0 and held is not None and held < SOAK_RSS_TARGET_MB
               and flat <= SOAK_FLAT)
        if judged and not met and flat > SOAK_FLAT and got.get("copy_fixed"):
            ref = soak_summary(got["copy_fixed"])
            words += (f"; copy_fixed in the same loop: {ref['last'] / ref['first']:.2f}× "
                      f"(the machine's load changes during a run)")
        out.append(HOST.row("10 soak: a synthetic-data loop", f"{case}: {pattern}",
                            f"{s['id_growth']:+,} IDs", f"RSS held {_mb(held)}", words,
                            f"0 IDs, RSS held < {SOAK_RSS_TARGET_MB:g} MB, flat (≤ {SOAK_FLAT:g}×)"
                            if judged else "", met if judged else None, key=f"soak.{pattern}",
                            flat=flat))
    return out


def _mb(value):
    return "n/a" if value is None else f"{value:+.1f} MB"
