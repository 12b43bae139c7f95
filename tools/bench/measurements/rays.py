"""5 rays: ``ray_cast_many`` (the mathutils backend) against a Python loop over
``Scene.ray_cast``, which is also the correctness oracle: the hits must be identical.  A part of
the jobs of the scenes in ``ray_scenes``."""
from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"ray_scenes": ("S1",), "rays": 100_000, "ray_reps": 2}
TINY = {"rays": 200, "ray_reps": 1}
TARGET = 5.0


def part(ctx, _name, objects, half):
    import numpy as np
    from mathutils import Vector
    cfg = ctx.cfg
    bpy = common.bpy()
    origins, directions = common.random_rays(cfg["rays"], common.scene_center(objects), half,
                                             objects, 3)
    vectors = [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=False)]
    scene = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    bvh = common.api().build(objects)
    oracle = []

    def reference():
        oracle.clear()
        for o, d in vectors:
            oracle.append(scene.ray_cast(depsgraph, o, d))
        return None

    result = {}

    def ours():   # the mathutils backend ("auto" would pick Embree here: the embree measurement)
        result["r"] = bvh.ray_cast_many(origins, directions, backend="mathutils")

    times = common.interleaved({"scene_ray_cast": reference, "ours": ours}, cfg["ray_reps"],
                               warmup=0)
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
    return {"rays": cfg["rays"], "hits": int(sum(1 for row_ in oracle if row_[0])),
            "scene_ray_cast": common.summary(times["scene_ray_cast"]),
            "ours": common.summary(times["ours"]),
            "mismatches": mism, "edge_ties": edge_ties, "max_location_error": max_loc,
            "max_normal_error": max_nor,
            "location_tolerance": tol_loc}


def rows(jobs, cfg):
    out = []
    scenes = cfg["scenes"]
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
        out.append(row("5 rays (ray_cast_many)", f"{common.scene_label(name, scenes)}, "
                       f"{rays['rays']:,} rays", ms(o), f"scene_ray_cast {ms(r)}", words,
                       f"≥ {TARGET:g}× faster, identical hits",
                       ratio >= TARGET and not bad, key=f"rays.{name}", ratio=ratio,
                       agreement=agree, target_value=TARGET))
    return out


MEASUREMENT = Measurement("rays", rows, FULL, TINY, scene_part=part,
                          scenes=lambda cfg: cfg["ray_scenes"])
