"""3b rebuild after moving all (issue 12): move every object, evaluate (untimed), rebuild —
``api.build`` (which then reads matrices only) against copy_fixed and the drop-in at the same
poses, in one process, on S1–S4.  glibc's allocator is pinned (``common.pin_malloc``)."""
import gc
import time

from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"moved_scenes": ("S1", "S2", "S3", "S4"),
        "moved_iterations": {"S1": 30, "S2": 30, "S3": 12, "S4": 30},
        "moved_ref_iterations": {"S1": 10, "S2": 10, "S3": 3, "S4": 10}}
TINY = {"moved_scenes": ("S1", "S2"), "moved_iterations": {"S1": 3, "S2": 3, "S3": 2, "S4": 2},
        "moved_ref_iterations": {"S1": 1, "S2": 1, "S3": 1, "S4": 1}}
TARGET = 50.0                # × faster than copy_fixed


def plan(cfg):
    return [(f"moved-{s}", "moved", [s]) for s in cfg["moved_scenes"]]


def job(ctx, name):
    """Move every object, evaluate (untimed), rebuild: ours, the drop-in and copy_fixed."""
    import bpy
    cfg = ctx.cfg
    pinned = common.pin_malloc()
    count, sub = cfg["scenes"][name]
    objects, half = common.ico_scene(count, sub)
    core = common.api()
    move = common.mover(objects, half, 17)
    core.build(objects)
    times = {"ours": [], "dropin": [], "copy_fixed": []}
    paths = []
    gc.collect()
    for k in range(cfg["moved_iterations"][name]):
        move()
        bpy.context.evaluated_depsgraph_get()
        with common.no_gc():
            start = time.perf_counter()
            bvh = core.build(objects)
            times["ours"].append(time.perf_counter() - start)
        paths.append(bool(bvh.stats.transforms_only))
        if k < cfg["moved_ref_iterations"][name]:
            for label, fn in (("dropin", core.create_bvh_tree_multi_objects),
                              ("copy_fixed", common.ref_copy_fixed)):
                with common.no_gc():
                    start = time.perf_counter()
                    tree = fn(objects)
                    times[label].append(time.perf_counter() - start)
                del tree
                common.settle()
            core.build(objects)      # the references evaluated the depsgraph: up to date again
    core.clear_cache()
    return {"scene": name, "objects": count, "pinned_malloc": pinned,
            "transforms_only": sum(paths), "builds": len(paths),
            **{k: common.summary(v) for k, v in times.items()}}


def rows(jobs, cfg):
    out = []
    for name in cfg["moved_scenes"]:
        job = jobs.get(f"moved-{name}")
        if not job:
            continue
        ours, ref = job["ours"]["median"], job["copy_fixed"]["median"]
        words, ratio = faster(ours, ref, "copy_fixed")
        dropin, _ = faster(job["dropin"]["median"], ref, "copy_fixed", subject="drop-in")
        words += (f" ({job['transforms_only']}/{job['builds']} rebuilds read matrices only; "
                  f"{dropin})")
        out.append(row("3b rebuild after moving all (issue 12)",
                            common.scene_label(name, cfg["scenes"]), ms(ours),
                            f"copy_fixed {ms(ref)}", words,
                            f"≥ {TARGET:g}× faster", ratio >= TARGET,
                            key=f"moved_all.{name}", ratio=ratio, target_value=TARGET))
    return out


MEASUREMENT = Measurement("moved", rows, FULL, TINY, plan=plan, jobs={"moved": job})
