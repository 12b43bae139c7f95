"""3 sampler loop: a BlenderProc-style loop (move every object, rebuild, cast N rays), per
iteration, against copy_fixed at the same poses, interleaved; also its rebuild alone.  A part of
the jobs of the scenes in ``loop_scenes``."""
import gc
import time

from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"loop_scenes": ("S1", "S2"), "loop_iterations": 100, "loop_rays": 100}
TINY = {"loop_iterations": 3, "loop_rays": 5}
TARGET = 50.0      # × faster than copy_fixed


def part(ctx, _name, objects, half):
    from mathutils import Vector
    cfg = ctx.cfg
    core = common.api()
    bpy = common.bpy()
    origins, directions = common.random_rays(cfg["loop_rays"], common.scene_center(objects),
                                             half, objects, 7)
    ray_vectors = [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=False)]
    move_ref, move_ours = common.mover(objects, half, 11), common.mover(objects, half, 11)

    def reference():
        t0 = time.perf_counter()
        move_ref()
        bpy.context.evaluated_depsgraph_get()
        t1 = time.perf_counter()
        tree = common.ref_copy_fixed(objects)
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
            with common.no_gc():
                parts = fn()
            common.settle()     # see interleaved(): each side starts from an up-to-date depsgraph
            if i:
                samples[name].append(parts)
    out = {"iterations": cfg["loop_iterations"], "rays": cfg["loop_rays"],
           "meshes_rebuilt_per_iteration": max(rebuilt[1:], default=0)}
    for name, rows_ in samples.items():
        out[name] = {
            "iteration": common.summary([sum(r) for r in rows_]),
            "move_eval": common.summary([r[0] for r in rows_]),
            "build": common.summary([r[1] for r in rows_]),
            "cast": common.summary([r[2] for r in rows_]),
        }
    return out


def rows(jobs, cfg):
    out = []
    scenes = cfg["scenes"]
    for name in scenes:
        loop = jobs.get(f"scene-{name}", {}).get("loop")
        if not loop:
            continue
        label = f"{common.scene_label(name, scenes)}, {loop['rays']} rays"
        o, r = loop["ours"]["iteration"]["median"], loop["copy_fixed"]["iteration"]["median"]
        words, ratio = faster(o, r, "copy_fixed")
        out.append(row("3 sampler loop, per iteration", label, ms(o), f"copy_fixed {ms(r)}",
                       words, f"≥ {TARGET:g}× faster", ratio >= TARGET,
                       key=f"loop.{name}", ratio=ratio, target_value=TARGET))
        o, r = loop["ours"]["build"]["median"], loop["copy_fixed"]["build"]["median"]
        words, ratio = faster(o, r, "copy_fixed")
        out.append(row("3 rebuild after moving all", common.scene_label(name, scenes), ms(o),
                       f"copy_fixed {ms(r)}", words, f"≥ {TARGET:g}× faster (issue 3)",
                       ratio >= TARGET, key=f"moved.{name}", ratio=ratio,
                       target_value=TARGET))
    return out


MEASUREMENT = Measurement("loop", rows, FULL, TINY, scene_part=part,
                          scenes=lambda cfg: cfg["loop_scenes"])
