"""1 cold build vs the C floor (issue 12): on S2 and S3, a cold ``api.build`` against the floor
(Σ ``BVHTree.FromObject``) and against the floor plus only the per-object reads a safe build
needs (no bookkeeping): what separates the two is named when a target is missed.  Timed with the
process CPU clock (every build here is single-threaded; the CPU clock is less disturbed by other
processes on a shared machine), glibc's allocator pinned (``common.pin_malloc``)."""
import gc
import time

from .. import common
from ..figures import faster, fmt_ratio, ms, row
from ..measurement import Measurement

FULL = {"floor_scenes": ("S2", "S3"), "floor_reps": {"S2": 15, "S3": 9}}
TINY = {"floor_scenes": ("S2", "S3"), "floor_reps": {"S2": 2, "S3": 2}}
TARGETS = {"S2": 1.3, "S3": 1.5}   # cold build at most this × the floor


def plan(cfg):
    return [(f"floor-{s}", "floor", [s]) for s in cfg["floor_scenes"]]


def reads_floor(objects):
    """The floor plus the per-object reads a safe cold build makes (``gather``'s walk for an
    evaluated mesh: checks, the cache key), with no bookkeeping at all."""
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
                _key = ("evaluated", data.as_pointer(), stamps.get(obj.as_pointer(), base),
                        len(data.vertices), npoly, nloop, 0.0)
        out.append(from_object(ev, depsgraph))
    return out


def job(ctx, name):
    """Cold ``api.build`` against the floor and the floor plus reads (process CPU time)."""
    cfg = ctx.cfg
    pinned = common.pin_malloc()
    count, sub = cfg["scenes"][name]
    objects, _half = common.ico_scene(count, sub)
    setups = common.cold_setups(objects)
    functions = {"floor": lambda: common.ref_floor(objects),
                 "reads": lambda: reads_floor(objects),
                 "ours": lambda: common.ours_cold_timed(objects)}
    times = {k: [] for k in functions}
    gc.collect()
    for round_ in range(cfg["floor_reps"][name] + 1):     # round 0: warm-up
        for label, fn in functions.items():
            setups["ours" if label == "ours" else "floor"]()
            with common.no_gc():
                start = time.process_time()
                result = fn()
                elapsed = time.process_time() - start
            del result
            common.settle()
            if round_:
                times[label].append(elapsed)
    common.api().clear_cache()
    return {"scene": name, "objects": count, "pinned_malloc": pinned, "clock": "process CPU",
            **{k: common.summary(v) for k, v in times.items()}}


def rows(jobs, cfg):
    out = []
    for name in cfg["floor_scenes"]:
        job = jobs.get(f"floor-{name}")
        if not job:
            continue
        n = job["objects"]
        floor, reads, ours = (job[k]["best"] for k in ("floor", "reads", "ours"))
        ratio, target = ours / floor, TARGETS[name]
        words, speed = faster(ours, floor, "the floor")
        words += f" (Σ FromObject {ms(floor)}, {floor * 1e6 / n:.1f} µs/object)"
        if ratio > target:
            words += (f"; cause (measured): the per-object reads a safe build needs (evaluated "
                      f"object, instancer, modifiers, type, edit mode, cache key and proof) "
                      f"alone make the floor {fmt_ratio(reads / floor)}× "
                      f"(+{(reads - floor) * 1e6 / n:.1f} µs/object); the cache entries, bounds "
                      f"and top level add {(ours - reads) * 1e6 / n:.1f} µs/object")
        out.append(row("1 cold build vs the C floor", common.scene_label(name, cfg["scenes"]),
                            ms(ours), f"floor {ms(floor)}", words,
                            f"≤ {target:g}× the floor", ratio <= target, key=f"floor_target.{name}",
                            ratio=speed, floor_ratio=ratio, target_value=target))
    return out


MEASUREMENT = Measurement("floor", rows, FULL, TINY, plan=plan, jobs={"floor": job})
