"""4 unchanged re-cast: nothing changed since the last build; ``api.build()`` again (or
``update()``) and one ray, against copy_fixed's rebuild (from the cold part).  A part of each
scene's job."""
from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"recast_reps": 100}
TINY = {"recast_reps": 5}
TARGET_S = 1e-3


def part(ctx, _name, objects, half):
    import numpy as np
    core = common.api()
    center = common.scene_center(objects)
    origin = center + np.array([0.3, 0.2, 2.0 * half + 1.0])
    direction = np.array([0.0, 0.0, -1.0])
    bvh = core.build(objects)
    bvh.ray_cast(origin, direction)

    def via_build():
        return core.build(objects).ray_cast(origin, direction)

    def via_update():
        return bvh.update().ray_cast(origin, direction)

    times = common.interleaved({"build": via_build, "update": via_update},
                               ctx.cfg["recast_reps"])
    reused = core.build(objects).stats.reused
    bvh.update()
    return {"build": common.summary(times["build"]), "update": common.summary(times["update"]),
            "reused": bool(reused and bvh.stats.reused)}


def rows(jobs, cfg):
    out = []
    scenes = cfg["scenes"]
    for name in scenes:
        job = jobs.get(f"scene-{name}", {})
        recast, cold = job.get("recast"), job.get("cold")
        if not recast:
            continue
        r = cold["copy_fixed"]["best"] if cold else None
        for how, text in (("build", "api.build() again + 1 ray"), ("update", "update() + 1 ray")):
            o = recast[how]["median"]
            words, _ratio = faster(o, r, "copy_fixed rebuild") if r else ("n/a", None)
            met = o < TARGET_S and recast["reused"]
            out.append(row("4 unchanged re-cast",
                           f"{common.scene_label(name, scenes)}: {text}", ms(o),
                           f"copy_fixed {ms(r)}", words, f"< {ms(TARGET_S)}", met,
                           key=f"recast.{how}.{name}", seconds=o))
    return out


MEASUREMENT = Measurement("recast", rows, FULL, TINY, scene_part=part, needs=("cold",))
