"""9 batched rays (issue 13): the Embree backend against the mathutils backend and a
``Scene.ray_cast`` loop.

* ``embree-S1``: 100,000 rays into S1 (20 × 5,120 triangles): a ``Scene.ray_cast`` loop, the
  mathutils ``ray_cast_many`` and the Embree backend (its scene built once, as ``SceneBVH`` keeps
  it; plus the scene build itself), interleaved, best of N; the two backends' answers compared
  ray by ray.  1,000,000 rays: throughput and peak RSS of each backend.  A 1920×1080 camera map
  of S1 (``cast_camera``): cold build + cast on each backend.
* ``crossover-S1`` … ``crossover-S4``: the batch size from which ``backend="auto"`` should build
  an Embree scene: the measured cost of the mathutils cast and of an Embree build + cast at
  batch sizes around the prediction, the crossing found by interpolation, next to the crossover
  the model in ``core/backends.py`` predicts (what "auto" uses).
"""
import gc
import statistics
import time

from .. import common
from ..figures import faster, mb, ms, row
from ..measurement import Measurement

EMBREE_FULL = {
    "scene": "S1",
    "rays": 100_000,
    "reps": {"loop": 2, "embree": 5},
    "million": 1_000_000,
    "million_mathutils": True,
    "camera": (1920, 1080),
    "crossover_scenes": ("S1", "S2", "S3", "S4"),
    "crossover_factors": (0.25, 0.5, 1.0, 2.0, 4.0),
    "crossover_reps": 3,
}
EMBREE_TINY = dict(EMBREE_FULL, **{
    "rays": 300,
    "reps": {"loop": 1, "embree": 1},
    "million": 5_000,
    "million_mathutils": True,
    "camera": (64, 36),
    "crossover_factors": (0.5, 2.0),
    "crossover_reps": 1,
})

#: targets of issue 13 (100,000 rays into S1, the Embree scene kept with the SceneBVH)
TARGET_VS_LOOP = 20.0
TARGET_VS_MATHUTILS = 10.0


def plan(cfg_all):
    """Jobs of the ``embree`` measurement: (job id, kind, args)."""
    cfg = cfg_all["embree"]
    jobs = [(f"embree-{cfg['scene']}", "embree", [cfg["scene"]])]
    jobs += [(f"crossover-{name}", "crossover", [name]) for name in cfg["crossover_scenes"]]
    return jobs


def _setup(cfg_all, name):
    objects, half = common.scene_of(cfg_all, name)
    return common.api(), objects, half


def _camera_for(objects, half):
    """A camera 4 half-extents away from the scene's centre, looking at it from above."""
    import bpy

    import numpy as np
    from mathutils import Vector
    center = Vector(np.array([tuple(o.matrix_world.translation) for o in objects]).mean(axis=0))
    data = bpy.data.cameras.new("bench_cam")
    cam = bpy.data.objects.new("bench_cam", data)
    bpy.context.scene.collection.objects.link(cam)
    cam.location = center + Vector((0.4, -1.0, 0.7)).normalized() * (4.0 * half + 2.0)
    cam.rotation_euler = (center - cam.location).to_track_quat('-Z', 'Y').to_euler()
    bpy.context.view_layer.update()
    return cam


def _agreement(ref, got, size):
    """Ray-by-ray comparison of two ``ray_cast_many`` results."""
    import numpy as np
    both = ref["hit"] & got["hit"]
    same_obj = both & (ref["object_index"] == got["object_index"])
    same_poly = same_obj & (ref["polygon_index"] == got["polygon_index"])
    dloc = np.linalg.norm(ref["location"][same_poly] - got["location"][same_poly], axis=1)
    dnor = np.linalg.norm(ref["normal"][same_poly] - got["normal"][same_poly], axis=1)
    return {"rays": int(len(ref["hit"])), "hits": int(ref["hit"].sum()),
            "hit_differs": int((ref["hit"] != got["hit"]).sum()),
            "object_differs": int((both & ~same_obj).sum()),
            "polygon_differs": int((same_obj & ~same_poly).sum()),
            "max_location_diff": float(dloc.max(initial=0.0)),
            "location_tolerance": 1e-4 * size,
            "location_over_tolerance": int((dloc > 1e-4 * size).sum()),
            "max_normal_diff": float(dnor.max(initial=0.0))}


def job_embree(ctx, name):
    """100k rays (three ways), 1M rays (throughput, peak RSS), a 1920×1080 camera map."""
    import bpy

    from mathutils import Vector
    cfg_all = ctx.cfg
    cfg = cfg_all["embree"]
    core, objects, half = _setup(cfg_all, name)
    if "embree" not in core.ray_backends():
        return {"skipped": "no Embree backend here (embreex not importable)"}
    from bvh_leakfree_addon.core import embree as core_embree
    out = {"scene": name, "objects": len(objects),
           "triangles": common.triangles(*cfg_all["scenes"][name]),
           "embreex": core_embree.version()}
    center = common.scene_center(objects)
    origins, directions = common.random_rays(cfg["rays"], center, half, objects, 3)
    vectors = [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=False)]
    scene = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    bvh = core.build(objects)
    start = time.perf_counter()
    bvh.ray_cast_many(origins[:1], directions[:1], backend="embree")    # builds the scene
    out["embree_scene_first_build"] = time.perf_counter() - start      # + device, reading tris
    rebuilds = []
    for _ in range(3):
        start = time.perf_counter()
        core_embree._build(bvh._top, lambda: bvh._merged_arrays("bench"))
        rebuilds.append(time.perf_counter() - start)
    out["embree_scene_build"] = min(rebuilds)
    emb = core_embree.existing_scene(bvh._top)
    out["embree_scene_triangles"] = emb.triangles
    results = {}

    def loop():
        for o, d in vectors:
            scene.ray_cast(depsgraph, o, d)

    def mathutils():
        results["mathutils"] = bvh.ray_cast_many(origins, directions, backend="mathutils")

    def embree():
        results["embree"] = bvh.ray_cast_many(origins, directions, backend="embree")

    reps = cfg["reps"]
    times = common.interleaved({"scene_ray_cast": loop, "mathutils": mathutils, "embree": embree},
                          reps["loop"], warmup=0)
    times["embree"] += common.interleaved({"embree": embree}, reps["embree"])["embree"]
    out["times"] = {k: common.summary(v) for k, v in times.items()}
    out["agreement"] = _agreement(results["mathutils"], results["embree"], 2.0 * half)
    out["million"] = _million(bvh, objects, half, cfg)
    out["camera"] = _camera_map(core, objects, half, cfg)
    return out


def _million(bvh, objects, half, cfg):
    """Throughput and peak RSS increase of one batch of ``cfg['million']`` rays per backend."""
    n = cfg["million"]
    origins, directions = common.random_rays(n, common.scene_center(objects), half, objects, 4)
    out = {"rays": n}
    backends = ["embree"] + (["mathutils"] if cfg["million_mathutils"] else [])
    for backend in backends:
        gc.collect()
        common.trim_heap()
        can_reset = common.reset_peak_rss()
        before = common.rss_bytes()
        start = time.perf_counter()
        res = bvh.ray_cast_many(origins, directions, backend=backend)
        seconds = time.perf_counter() - start
        peak = common.peak_rss_bytes()
        hits = int(res["hit"].sum())
        del res
        out[backend] = {"seconds": seconds, "rays_per_second": n / seconds, "hits": hits,
                        "peak_increase": None if peak is None or before is None else peak - before,
                        "peak_was_reset": can_reset}
    out["input_bytes"] = int(origins.nbytes + directions.nbytes)
    return out


def _camera_map(core, objects, half, cfg):
    """A camera map of the scene on each backend: cold ``api.build`` + ``cast_camera``."""
    import numpy as np
    cam = _camera_for(objects, half)
    width, height = cfg["camera"]
    out = {"resolution": [width, height]}
    depth = {}
    for backend in ("embree", "mathutils"):
        common.settle()
        core.clear_cache()
        start = time.perf_counter()
        bvh = core.build(objects)
        built = time.perf_counter()
        res = bvh.cast_camera(cam, (width, height), backend=backend)
        done = time.perf_counter()
        depth[backend] = res.depth
        out[backend] = {"build": built - start, "cast": done - built, "total": done - start,
                        "hits": int(res.hit.sum())}
        del bvh, res
    both = np.isfinite(depth["embree"]) & np.isfinite(depth["mathutils"])
    out["hit_differs"] = int((np.isfinite(depth["embree"]) != np.isfinite(depth["mathutils"]))
                             .sum())
    out["max_depth_diff"] = float(np.abs(depth["embree"][both] - depth["mathutils"][both])
                                  .max(initial=0.0))
    core.clear_cache()
    return out


def job_crossover(ctx, name):
    """The batch size where an Embree build + cast starts to beat the mathutils cast."""
    cfg_all = ctx.cfg
    cfg = cfg_all["embree"]
    core, objects, half = _setup(cfg_all, name)
    from bvh_leakfree_addon.core import backends
    from bvh_leakfree_addon.core import embree as core_embree
    if "embree" not in core.ray_backends():
        return {"skipped": "no Embree backend here (embreex not importable)"}
    bvh = core.build(objects)
    top = bvh._top
    predicted = backends.crossover(top)
    core_embree._shared_device(core_embree._load()[0][0])   # the process's device, untimed

    def read():
        return bvh._merged_arrays("bench")
    first_start = time.perf_counter()
    core_embree._build(top, read)        # reads the triangles: first build
    first = time.perf_counter() - first_start
    builds = []
    for _ in range(cfg["crossover_reps"]):
        start = time.perf_counter()
        scene = core_embree._build(top, read)
        builds.append(time.perf_counter() - start)
    scene = core_embree.scene_for(top, read)   # kept: casts below use it
    sizes = sorted({max(1, int(predicted * f)) for f in cfg["crossover_factors"]})
    points = []
    for n in sizes:
        origins, directions = common.random_rays(n, common.scene_center(objects), half, objects, 7)

        def mathutils(o=origins, d=directions):
            bvh.ray_cast_many(o, d, backend="mathutils")

        def embree(o=origins, d=directions):
            bvh.ray_cast_many(o, d, backend="embree")

        times = common.interleaved({"mathutils": mathutils, "embree": embree},
                                   cfg["crossover_reps"])
        points.append({"rays": n, "mathutils": min(times["mathutils"]),
                       "embree_cast": min(times["embree"])})
    build = min(builds)
    measured = _crossing([p["rays"] for p in points],
                         [p["mathutils"] - p["embree_cast"] - build for p in points])
    return {"scene": name, "rows": len(top), "triangles": scene.triangles,
            "vertices": scene.vertices, "predicted": predicted, "measured": measured,
            "embree_build": build, "embree_first_build": first,
            "embree_build_median": statistics.median(builds), "points": points}


def _crossing(sizes, gain):
    """Smallest batch size where ``gain`` (time saved by Embree, build included) turns
    positive, interpolated linearly between measured sizes; None when it never does, 0 when it
    already has at the smallest size."""
    for i, (n, g) in enumerate(zip(sizes, gain, strict=True)):
        if g > 0:
            if i == 0:
                return 0
            n0, g0 = sizes[i - 1], gain[i - 1]
            return int(round(n0 + (n - n0) * (-g0) / (g - g0)))
    return None


# --- Rows ----------------------------------------------------------------------------------------
def rows(jobs, cfg_all):
    cfg = cfg_all["embree"]
    out = []
    job = jobs.get(f"embree-{cfg['scene']}")
    if job and job.get("skipped"):
        out.append(row("9 Embree backend", cfg["scene"], "n/a", "", job["skipped"],
                         key="embree.skipped"))
    elif job:
        out += _embree_rows(job, cfg_all)
    for name in cfg["crossover_scenes"]:
        cross = jobs.get(f"crossover-{name}")
        if not cross or cross.get("skipped"):
            continue
        label = common.scene_label(name, cfg_all["scenes"])
        measured = cross["measured"]
        if measured is None:
            words = (f"Embree build + cast never beat mathutils up to "
                     f"{cross['points'][-1]['rays']:,} rays; 'auto' predicts "
                     f"{cross['predicted']:,}")
            ratio = None
        else:
            ratio = cross["predicted"] / measured if measured else None
            words = (f"'auto' switches at {cross['predicted']:,} rays (model), measured crossing "
                     f"{measured:,} (Embree build {ms(cross['embree_build'])}, first "
                     f"{ms(cross['embree_first_build'])}; mathutils "
                     f"{cross['points'][-1]['mathutils'] / cross['points'][-1]['rays'] * 1e6:.1f}"
                     f" µs/ray)")
        out.append(row("9 auto crossover (rays)", label, f"{cross['predicted']:,}",
                         f"measured {measured if measured is not None else 'n/a'}", words,
                         key=f"embree.crossover.{name}", model_over_measured=ratio))
    return out


def _embree_rows(job, cfg_all):
    cfg = cfg_all["embree"]
    label = f"{common.scene_label(job['scene'], cfg_all['scenes'])}, {cfg['rays']:,} rays"
    t = job["times"]
    e, m, loop = t["embree"]["best"], t["mathutils"]["best"], t["scene_ray_cast"]["best"]
    agree = job["agreement"]
    bad = agree["hit_differs"] + agree["object_differs"]
    agreement = (f"vs mathutils: {agree['hit_differs']} hit/miss, {agree['object_differs']} "
                 f"object, {agree['polygon_differs']} polygon difference(s) in "
                 f"{agree['hits']:,} hits; location ≤ {agree['max_location_diff']:.1e} "
                 f"(tolerance {agree['location_tolerance']:.1e})")
    ok = bad <= 0.001 * agree["rays"] and agree["location_over_tolerance"] == 0
    out = []
    words, ratio = faster(e, loop, "Scene.ray_cast loop", "Embree")
    out.append(row("9 rays, Embree backend", label, ms(e), f"Scene.ray_cast loop {ms(loop)}",
                     words, f"≥ {TARGET_VS_LOOP:g}× faster", ratio >= TARGET_VS_LOOP and ok,
                     key="embree.vs_loop", ratio=ratio, agreement=agreement,
                     target_value=TARGET_VS_LOOP))
    words, ratio = faster(e, m, "mathutils ray_cast_many", "Embree")
    out.append(row("9 rays, Embree backend", label, ms(e), f"mathutils {ms(m)}", words,
                     f"≥ {TARGET_VS_MATHUTILS:g}× faster", ratio >= TARGET_VS_MATHUTILS and ok,
                     key="embree.vs_mathutils", ratio=ratio, target_value=TARGET_VS_MATHUTILS))
    build = job["embree_scene_build"]
    words, ratio = faster(e + build, m, "mathutils ray_cast_many", "Embree incl. its scene build")
    out.append(row("9 rays, Embree backend", label + ", scene built for the call",
                     ms(e + build), f"mathutils {ms(m)}",
                     words + f" (scene build {ms(build)}; the process's first, with the "
                     f"Embree device and reading the triangles: "
                     f"{ms(job['embree_scene_first_build'])})", key="embree.with_build",
                     ratio=ratio))
    mil = job["million"]
    for backend in ("embree", "mathutils"):
        r = mil.get(backend)
        if not r:
            continue
        peak = r["peak_increase"]
        out.append(row("9 1M rays, throughput", f"{mil['rays']:,} rays, {backend}",
                         f"{r['rays_per_second'] / 1e6:.2f} M rays/s",
                         f"peak RSS +{mb(peak)}" if peak is not None else "",
                         f"{ms(r['seconds'])} for {mil['rays']:,} rays ({r['hits']:,} hits); "
                         f"peak RSS increase {mb(peak)} (the rays themselves: "
                         f"{mb(mil['input_bytes'])})", key=f"embree.million.{backend}",
                         seconds=r["seconds"]))
    cam = job["camera"]
    e, m = cam["embree"]["total"], cam["mathutils"]["total"]
    words, ratio = faster(e, m, "mathutils", "Embree")
    w, h = cam["resolution"]
    out.append(row("9 camera map (build + cast)", f"{job['scene']} {w}×{h}", ms(e),
                     f"mathutils {ms(m)}",
                     f"{words}: build {ms(cam['embree']['build'])} + cast "
                     f"{ms(cam['embree']['cast'])} vs {ms(cam['mathutils']['build'])} + "
                     f"{ms(cam['mathutils']['cast'])}; {cam['hit_differs']} pixel(s) hit on one "
                     f"backend only, depth ≤ {cam['max_depth_diff']:.1e} apart",
                     key="embree.camera", ratio=ratio))
    return out


MEASUREMENT = Measurement("embree", rows, {"embree": EMBREE_FULL}, {"embree": EMBREE_TINY},
                          plan=plan, jobs={"embree": job_embree, "crossover": job_crossover})
