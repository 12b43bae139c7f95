"""1 cold build: ``api.build`` on an empty cache against copy_fixed (the copy–transform–bmesh
pattern of BlenderProc v2.8.0) and the floor (Σ ``BVHTree.FromObject``), on each scene, interleaved,
best of N.  A part of each scene's job."""
import statistics

from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"cold_reps": {"S1": 7, "S2": 7, "S3": 3, "S4": 5}}
TINY = {"cold_reps": {"S1": 2, "S2": 2, "S3": 2, "S4": 2}}
#: speedup factors vs copy_fixed
TARGETS = {"S1": 3.0, "S2": 5.0, "S3": 100.0, "S4": 2.5}


def part(ctx, name, objects, _half):
    meshes_before = len(common.bpy().data.meshes)
    after = {}
    times = common.interleaved({"copy_fixed": lambda: common.ref_copy_fixed(objects),
                                "floor": lambda: common.ref_floor(objects),
                                "ours": lambda: common.ours_cold_timed(objects)},
                               ctx.cfg["cold_reps"][name], aftermath=after,
                               setups=common.cold_setups(objects))
    out = {k: common.summary(v) for k, v in times.items()}
    out["aftermath"] = {k: statistics.median(v) for k, v in after.items()}
    out["meshes_grown"] = len(common.bpy().data.meshes) - meshes_before
    return out


def rows(jobs, cfg):
    out = []
    scenes = cfg["scenes"]
    for name in scenes:
        cold = jobs.get(f"scene-{name}", {}).get("cold")
        if not cold:
            continue
        o, f, r = cold["ours"]["best"], cold["floor"]["best"], cold["copy_fixed"]["best"]
        label = common.scene_label(name, scenes)
        words, ratio = faster(o, r, "copy_fixed")
        target = TARGETS[name]
        out.append(row("1 cold build", label, ms(o), f"copy_fixed {ms(r)}", words,
                       f"≥ {target:g}× faster", ratio >= target, key=f"cold.{name}",
                       ratio=ratio, target_value=target))
        words, ratio = faster(o, f, "floor")
        out.append(row("1 cold build", label, ms(o), f"floor {ms(f)}", words,
                       "(distance from the C floor)", key=f"floor.{name}", ratio=ratio))
    return out


MEASUREMENT = Measurement("cold", rows, FULL, TINY, scene_part=part)
