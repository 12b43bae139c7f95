"""10 soak: a synthetic-data loop, ``soak_iterations`` times (1,000): each iteration adds ~20
objects (a third of them linked duplicates, a third with modifiers whose parameters are random),
builds, casts ``soak_rays`` rays, then deletes the objects and their meshes.  Three patterns, each
in a fresh process: ``ours`` (``api.build`` + ``ray_cast_many``), ``dropin``
(``api.create_bvh_tree_multi_objects`` + a ``BVHTree.ray_cast`` loop, as BlenderProc code uses
it) and ``copy_fixed`` (BlenderProc v2.8's fixed function, the same ray loop).  Per iteration:
time, RSS, Blender's own memory (``api.memory_figure``: what its status bar shows, which follows
datablocks where the RSS wobbles with the C allocator), the size of every ``bpy.data`` collection
and of the cache.
``tests/core/test_soak.py`` runs the same loop (:class:`SoakScene`, :func:`soak_step`) a few
dozen times.
"""
import math
import statistics
import time

from .. import common
from ..figures import ms, row
from ..measurement import Measurement

FULL = {"soak_iterations": 1000, "soak_objects": 20, "soak_rays": 2000, "soak_trim_every": 10}
TINY = {"soak_iterations": 6, "soak_objects": 6, "soak_rays": 50, "soak_trim_every": 2}
PATTERNS = ("ours", "dropin", "copy_fixed")
RSS_TARGET_MB = 20.0          # RSS growth after warm-up over the whole loop
BLENDER_TARGET_MB = 1.0       # Blender's own memory growth after warm-up (the cache's trees come
                              # and go with it: a shrink is no leak)
FLAT = 1.25                   # last 10 % of iterations at most this × the first 10 %


def plan(_cfg):
    return [(f"soak-{p}", "soak", [p]) for p in PATTERNS]


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


def job(ctx, pattern):
    """The loop; RSS is read every iteration (``rss_mb``) and, every ``soak_trim_every``
    iterations, again after ``common.trim_heap`` (``held_mb``): glibc keeps freed memory for
    reuse and the raw figure wanders by tens of MB with it (the floor alone, Σ ``FromObject``
    freed at once, does that too), while memory held only grows with a leak."""
    import bpy

    import numpy as np
    cfg = ctx.cfg
    core = common.api()
    rng = np.random.default_rng(12)
    n = cfg["soak_iterations"]
    out = {"pattern": pattern, "iterations": n, "objects": cfg["soak_objects"],
           "rays": cfg["soak_rays"], "seconds": [], "work_seconds": [], "rss_mb": [], "ids": [],
           "cache_trees": [], "cache_mb": [], "hits": [], "held_mb": [], "held_at": [],
           "blender_mb": [], "blender_resolution_mb": None}
    every = cfg["soak_trim_every"]
    ids_before = common.id_sizes()
    for i in range(n):
        start = time.perf_counter()
        scene = SoakScene(rng, cfg["soak_objects"])
        try:
            origins, directions = scene.rays(cfg["soak_rays"])
            bpy.context.evaluated_depsgraph_get()
            work = time.perf_counter()
            out["hits"].append(soak_step(core, pattern, scene.objects, origins, directions,
                                         common.ref_copy_fixed))
            work = time.perf_counter() - work
        finally:
            scene.delete()
        bpy.context.evaluated_depsgraph_get()
        out["seconds"].append(round(time.perf_counter() - start, 6))
        out["work_seconds"].append(round(work, 6))
        rss = common.rss_bytes()
        out["rss_mb"].append(None if rss is None else round(rss / 2**20, 3))
        figure = core.memory_figure()
        blender = figure is not None and figure.source == "blender"
        out["blender_mb"].append(round(figure.bytes / 2**20, 3) if blender else None)
        if blender:
            out["blender_resolution_mb"] = max(out["blender_resolution_mb"] or 0.0,
                                               figure.resolution / 2**20)
        out["ids"].append(sum(common.id_sizes().values()))
        info = core.cache_info()
        out["cache_trees"].append(info.trees)
        out["cache_mb"].append(round(info.bytes / 2**20, 3))
        due = i % every == every - 1 or i == n - 1
        if rss is not None and due and common.trim_heap() is not None:
            out["held_mb"].append(round(common.rss_bytes() / 2**20, 3))
            out["held_at"].append(i)
    ids_after = common.id_sizes()
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
    blender = job.get("blender_mb") or [None]
    summary = {
        "id_growth": sum(job["ids_grown"].values()),
        "blender_growth_mb": (blender[-1] - blender[k - 1]
                              if blender[-1] is not None and blender[k - 1] is not None
                              else None),
        "blender_resolution_mb": job.get("blender_resolution_mb"),
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


def rows(jobs, _cfg):
    out = []
    got = {p: jobs.get(f"soak-{p}") for p in PATTERNS}
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
        blender = s["blender_growth_mb"]
        words = (f"{pattern}: bpy.data {s['id_growth']:+,} IDs; Blender memory "
                 f"{_mib(blender, s['blender_resolution_mb'])} and RSS held {_mb(held)} after "
                 f"{s['warmup']} warm-up iterations (raw RSS {_mb(rss)}); per iteration first "
                 f"10% {ms(s['first'])}, last 10% {ms(s['last'])} ({flat:.2f}×; build "
                 f"+ rays {ms(s['work_first'])} → {ms(s['work_last'])}); cache at most "
                 f"{s['cache_trees_max']} trees / {s['cache_mb_max']:.1f} MB")
        judged = pattern != "copy_fixed"
        met = (s["id_growth"] == 0 and held is not None and held < RSS_TARGET_MB
               and flat <= FLAT and (blender is None or blender < BLENDER_TARGET_MB))
        if judged and not met and flat > FLAT and got.get("copy_fixed"):
            ref = soak_summary(got["copy_fixed"])
            words += (f"; copy_fixed in the same loop: {ref['last'] / ref['first']:.2f}× "
                      f"(the machine's load changes during a run)")
        out.append(row("10 soak: a synthetic-data loop", f"{case}: {pattern}",
                            f"{s['id_growth']:+,} IDs", f"RSS held {_mb(held)}", words,
                            f"0 IDs, Blender memory < +{BLENDER_TARGET_MB:g} MiB, RSS held < "
                            f"{RSS_TARGET_MB:g} MB, flat (≤ {FLAT:g}×)"
                            if judged else "", met if judged else None, key=f"soak.{pattern}",
                            flat=flat))
    return out


def _mb(value):
    return "n/a" if value is None else f"{value:+.1f} MB"


def _mib(value, resolution):
    """Blender's figure: in MiB, to its resolution (0.1 MiB below a GiB)."""
    if value is None:
        return "n/a"
    if resolution and abs(value) < resolution:
        value = 0.0
    return f"{round(value, 1) + 0.0:+.1f} MiB"


MEASUREMENT = Measurement("soak", rows, FULL, TINY, plan=plan, jobs={"soak": job})
