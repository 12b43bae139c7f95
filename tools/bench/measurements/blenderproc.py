"""11 BlenderProc 2.8.0 itself, side by side (issue 22): its ``create_bvh_tree_multi_objects``
against the drop-in (cold: every object moved between calls, as a pose sampler does; unchanged;
first call, nothing kept) and against the tree-build floor (``BVHTree.FromBMesh`` alone on one
bmesh holding every mesh: the C work any merged mathutils tree costs) on S1–S3; its camera
functions against ``blenderproc_compat`` (visible_objects and scene_coverage_score at 128 × 128
rays, depth_via_raytracing at 320 × 240, depth at 10,000 points, the obstacle check); and
``SceneBVH.visibility`` at 1920 × 1080 over S1.  BlenderProc is imported inside the ``bpy``
module (``requirements/blenderproc.txt``); where it is missing the jobs say so and the rows are
skipped.  Times: best of N (wall clock, garbage collector off), one process per job."""
import gc
import os
import time

from .. import common
from ..figures import faster, fmt_ratio, ms, row
from ..measurement import Measurement

FULL = {"bproc_scenes": ("S1", "S2", "S3"),
        "bproc_reps": {"S1": 9, "S2": 9, "S3": 7},
        "bproc_ref_reps": {"S1": 3, "S2": 3, "S3": 1},
        "bproc_funcs_scene": "S1", "bproc_grid": 128, "bproc_depth": (320, 240),
        "bproc_points": 10_000, "bproc_funcs_reps": 7, "bproc_funcs_ref_reps": 3,
        "visibility_resolution": (1920, 1080), "visibility_reps": 3}
TINY = {"bproc_scenes": ("S1", "S3"),
        "bproc_reps": {"S1": 2, "S2": 2, "S3": 2},
        "bproc_ref_reps": {"S1": 1, "S2": 1, "S3": 1},
        "bproc_funcs_scene": "S1", "bproc_grid": 12, "bproc_depth": (32, 24),
        "bproc_points": 100, "bproc_funcs_reps": 1, "bproc_funcs_ref_reps": 1,
        "visibility_resolution": (64, 36), "visibility_reps": 1}
FLOOR_TARGET = 1.3          # cold drop-in at most this × the tree-build floor
UNCHANGED_TARGET_S = 1e-3   # an unchanged call
S3_TARGET = 100.0           # × faster than BlenderProc at 2,000 objects
FUNCTION_TARGET = 20.0      # × faster than BlenderProc (bar 10×) for the three named functions
TARGETED = ("visible_objects", "scene_coverage_score", "depth_via_raytracing")


def plan(cfg):
    return ([(f"bproc-build-{s}", "bproc_build", [s]) for s in cfg["bproc_scenes"]]
            + [("bproc-functions", "bproc_functions", []),
               ("bproc-visibility", "bproc_visibility", [])])


def _blenderproc():
    """BlenderProc's modules, or None (the reason is returned instead)."""
    os.environ.setdefault("OUTSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT_BUT_IN_RUN_SCRIPT",
                          "1")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    try:
        import blenderproc
        from blenderproc.python.camera import CameraProjection, CameraValidation
        from blenderproc.python.types import MeshObjectUtility
    except ImportError as ex:
        return None, f"BlenderProc is not installed here ({ex})"
    return (blenderproc.__version__, MeshObjectUtility, CameraValidation, CameraProjection), None


def _timed(fn, reps, before=None, after=None):
    """Seconds of ``fn()`` ``reps`` times (``before``/``after`` untimed around each)."""
    out = []
    gc.collect()
    for _ in range(reps):
        if before is not None:
            before()
        with common.no_gc():
            start = time.perf_counter()
            result = fn()
            out.append(time.perf_counter() - start)
        del result
        if after is not None:
            after()
    return out


def _floor(objects):
    """The tree-build floor: ``FromBMesh`` alone, on one bmesh holding every (moved) mesh."""
    import bmesh
    from mathutils.bvhtree import BVHTree
    bm = bmesh.new()
    try:
        common.add_transformed_copies(bm, objects, "matrix_basis")
        common.settle()
        return _timed(lambda: BVHTree.FromBMesh(bm), 5)
    finally:
        bm.free()


def build_job(ctx, name):
    """BlenderProc's tree builder against the drop-in and the floor on scene ``name``."""
    cfg = ctx.cfg
    modules, reason = _blenderproc()
    if modules is None:
        return {"scene": name, "skipped": reason}
    version, mesh_utility = modules[:2]
    count, sub = cfg["scenes"][name]
    objects, half = common.ico_scene(count, sub)
    core = common.api()
    wrapped = [mesh_utility.MeshObject(o) for o in objects]
    move = common.mover(objects, half, 23)
    reference = _timed(lambda: mesh_utility.create_bvh_tree_multi_objects(wrapped),
                       cfg["bproc_ref_reps"][name], before=move, after=common.settle)
    core.create_bvh_tree_multi_objects(wrapped)                  # arrays read once
    from bvh_leakfree_addon.core import blenderproc_memory
    proven = blenderproc_memory.proof() is not None    # kept arrays used without reading
    cold = _timed(lambda: core.create_bvh_tree_multi_objects(wrapped), cfg["bproc_reps"][name],
                  before=move)
    # unchanged, with the last moves' edits still pending (never evaluated): read and compared
    pending = _timed(lambda: core.create_bvh_tree_multi_objects(wrapped),
                     cfg["bproc_reps"][name])
    common.settle()              # evaluated, as a render or a frame change does: then proven
    core.create_bvh_tree_multi_objects(wrapped)
    unchanged = _timed(lambda: core.create_bvh_tree_multi_objects(wrapped),
                       cfg["bproc_reps"][name])
    first = _timed(lambda: core.create_bvh_tree_multi_objects(wrapped), cfg["bproc_reps"][name],
                   before=core.clear_cache)
    same = _same_hits(core.create_bvh_tree_multi_objects(wrapped),
                      mesh_utility.create_bvh_tree_multi_objects(wrapped), objects, half)
    floor = _floor(objects)
    core.clear_cache()
    return {"scene": name, "objects": count, "blenderproc_version": version, "same_hits": same,
            "arrays_proven": proven,
            **{k: common.summary(v) for k, v in (("blenderproc", reference), ("cold", cold),
                                                  ("unchanged", unchanged), ("pending", pending),
                                                  ("first", first), ("floor", floor))}}


def _same_hits(ours, theirs, objects, half, n=300):
    """``(identical answers, rays)`` of both trees on random rays."""
    origins, directions = common.random_rays(n, common.scene_center(objects), half, objects, 5)
    same = sum(ours.ray_cast(o, d) == theirs.ray_cast(o, d)
               for o, d in zip(origins.tolist(), directions.tolist(), strict=True))
    return [int(same), n]


def _camera(objects, half, resolution):
    """The scene's camera, looking at the scene's centre from the front and above."""
    import bpy

    from mathutils import Matrix, Vector
    scene = bpy.context.scene
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(cam)
    centre = Vector(common.scene_center(objects))
    location = centre + Vector((0.3 * half, -3.2 * half, 1.1 * half))
    cam.matrix_world = Matrix.Translation(location) @ \
        (centre - location).to_track_quat('-Z', 'Y').to_matrix().to_4x4()
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.render.resolution_percentage = 100
    common.settle()
    return cam


def functions_job(ctx):
    """BlenderProc's camera functions against ``blenderproc_compat`` on one scene."""
    import numpy as np
    cfg = ctx.cfg
    modules, reason = _blenderproc()
    if modules is None:
        return {"skipped": reason}
    version, mesh_utility, validation, projection = modules
    core = common.api()                          # puts this checkout on sys.path
    from bvh_leakfree_addon import blenderproc_compat as compat
    name = cfg["bproc_funcs_scene"]
    objects, half = common.scene_of(cfg, name)
    cam = _camera(objects, half, cfg["bproc_depth"])
    pose = np.array(cam.matrix_world)
    theirs_tree = mesh_utility.create_bvh_tree_multi_objects(
        [mesh_utility.MeshObject(o) for o in objects])
    common.settle()
    tree = core.create_bvh_tree_multi_objects(objects)
    grid = cfg["bproc_grid"]
    points = np.random.default_rng(3).uniform(0, cfg["bproc_depth"][0], (cfg["bproc_points"], 2))
    checks = {"min": 0.05, "max": 1000.0}    # passes: every ray is cast (no early verdict)
    cases = {    # label: (call on the drop-in's tree, module, call on BlenderProc's own tree)
        "visible_objects": (lambda f: f(pose, grid), validation, None),
        "scene_coverage_score": (lambda f: f(pose, None, 2, grid), validation, None),
        "depth_via_raytracing": (lambda f: f(tree), projection, lambda f: f(theirs_tree)),
        "depth_at_points_via_raytracing": (lambda f: f(tree, points), projection,
                                           lambda f: f(theirs_tree, points)),
        "perform_obstacle_in_view_check": (lambda f: f(pose, checks, tree, 32), validation,
                                           lambda f: f(pose, checks, theirs_tree, 32)),
    }
    out = {"scene": name, "blenderproc": version, "grid": grid,
           "depth_resolution": list(cfg["bproc_depth"]), "backends": list(core.ray_backends())}
    for label, (call, module, own_call) in cases.items():
        try:
            out[label] = _compare(cfg, call, getattr(module, label), getattr(compat, label),
                                  own_call)
        except Exception as ex:  # noqa: BLE001 - reported in the row, the other cases go on
            out[label] = {"error": f"{type(ex).__name__}: {ex}"}
    return out


def _compare(cfg, call, theirs, ours, own_call):
    """Times of BlenderProc's function and ours through ``call``, and how their results
    compare."""
    first = _timed(lambda: call(ours), 1)          # builds the Embree scene it needs
    entry = {"blenderproc": common.summary(_timed(lambda: call(theirs),
                                                 cfg["bproc_funcs_ref_reps"])),
             "compat": common.summary(_timed(lambda: call(ours), cfg["bproc_funcs_reps"])),
             "compat_first": common.summary(first),
             "same": _same_result(call(theirs), call(ours))}
    if own_call is not None:   # BlenderProc's function on its own tree: the user's baseline
        entry["blenderproc_own_tree"] = common.summary(_timed(lambda: own_call(theirs), 1))
    return entry


def _same_result(theirs, ours):
    """How the two results compare, in words a reader can check."""
    import numpy as np
    if isinstance(theirs, set):
        return "same objects" if theirs == ours else f"differ: {len(theirs ^ ours)} objects"
    if isinstance(theirs, (bool, np.bool_)):
        return "same verdict" if bool(theirs) == bool(ours) else "verdicts differ"
    if isinstance(theirs, float):
        return f"|Δ| {abs(theirs - ours):.1e}"
    theirs, ours = np.asarray(theirs), np.asarray(ours)
    misses = np.array_equal(np.isinf(theirs), np.isinf(ours))
    hit = np.isfinite(theirs) & np.isfinite(ours)
    rel = float(np.max(np.abs(ours[hit] - theirs[hit]) / theirs[hit])) if hit.any() else 0.0
    return f"{'same' if misses else 'other'} misses, max rel Δ {rel:.1e}"


def visibility_job(ctx):
    """``SceneBVH.visibility`` at a full-HD camera over S1, against one ``cast_camera`` of the
    same rays."""
    cfg = ctx.cfg
    objects, half = common.scene_of(cfg, "S1")
    width, height = cfg["visibility_resolution"]
    cam = _camera(objects, half, (width, height))
    core = common.api()
    bvh = core.build(objects)
    backend = "embree" if "embree" in core.ray_backends() else "mathutils"
    try:
        first = _timed(lambda: bvh.visibility(cam, backend=backend), 1)
    except Exception as ex:  # noqa: BLE001 - reported in the row
        return {"resolution": [width, height], "backend": backend,
                "error": f"{type(ex).__name__}: {ex}"}
    warm = _timed(lambda: bvh.visibility(cam, backend=backend), cfg["visibility_reps"])
    cast = _timed(lambda: bvh.cast_camera(cam, backend=backend), cfg["visibility_reps"])
    result = bvh.visibility(cam, backend=backend)
    shown = sum(v.visible for v in result.values())
    return {"resolution": [width, height], "backend": backend, "objects": len(result),
            "pixels_hit": shown, "first": common.summary(first), "warm": common.summary(warm),
            "cast_camera": common.summary(cast)}


def rows(jobs, cfg):
    out = []
    for name in cfg["bproc_scenes"]:
        out += _build_rows(jobs.get(f"bproc-build-{name}"), name, cfg)
    out += _function_rows(jobs.get("bproc-functions"))
    out += _visibility_rows(jobs.get("bproc-visibility"))
    return out


def _build_rows(job, name, cfg):
    if not job or "skipped" in job:
        return []
    label = common.scene_label(name, cfg["scenes"])
    cold, floor = job["cold"]["best"], job["floor"]["best"]
    reference = job["blenderproc"]["best"]
    over = cold / floor
    words, ratio = faster(cold, reference, f"BlenderProc {job['blenderproc_version']}",
                          subject="drop-in")
    same = job["same_hits"]
    out = [row("11 BlenderProc drop-in, cold (all moved)", label, ms(cold),
               f"floor {ms(floor)}; BlenderProc {ms(reference)}",
               f"{fmt_ratio(over)}× the floor; {words}; {same[0]}/{same[1]} rays identical; "
               f"first call {ms(job['first']['best'])}",
               f"≤ {FLOOR_TARGET:g}× floor", over <= FLOOR_TARGET,
               key=f"bproc_cold.{name}", ratio=ratio, floor_ratio=over)]
    if name == "S3":
        out.append(row("11 BlenderProc drop-in vs BlenderProc", label, ms(cold),
                       f"BlenderProc {ms(reference)}", words, f"≥ {S3_TARGET:g}× faster",
                       ratio is not None and ratio >= S3_TARGET, key="bproc_vs.S3", ratio=ratio))
    unchanged = job["unchanged"]["best"]
    out.append(row("11 BlenderProc drop-in, unchanged", label, ms(unchanged), "",
                   f"the same tree, proven by the depsgraph; with the moves' edits still pending "
                   f"(read and compared) {ms(job['pending']['best'])}",
                   f"≤ {ms(UNCHANGED_TARGET_S)}",
                   unchanged <= UNCHANGED_TARGET_S, key=f"bproc_unchanged.{name}"))
    return out


def _function_rows(job):
    if not job or "skipped" in job:
        return []
    out = []
    for label in ("visible_objects", "scene_coverage_score", "depth_via_raytracing",
                  "depth_at_points_via_raytracing", "perform_obstacle_in_view_check"):
        entry = job[label]
        if "error" in entry:
            out.append(row(f"11 blenderproc_compat.{label}", job["scene"], "failed", "",
                           entry["error"][:160], "", False, key=f"bproc_fn.{label}"))
            continue
        ours, theirs = entry["compat"]["best"], entry["blenderproc"]["best"]
        words, ratio = faster(ours, theirs, "BlenderProc", subject="compat")
        size = (f"{job['grid']}² rays" if label in ("visible_objects", "scene_coverage_score")
                else "{}×{}".format(*job["depth_resolution"])
                if label == "depth_via_raytracing" else "")
        words += f"; {entry['same']}; first call {ms(entry['compat_first']['best'])}"
        if "blenderproc_own_tree" in entry:
            words += f"; BlenderProc on its own tree {ms(entry['blenderproc_own_tree']['best'])}"
        targeted = label in TARGETED
        out.append(row(f"11 blenderproc_compat.{label}", f"{job['scene']} {size}".strip(),
                       ms(ours), f"BlenderProc {ms(theirs)}", words,
                       f"≥ {FUNCTION_TARGET:g}× faster" if targeted else "",
                       (ratio is not None and ratio >= FUNCTION_TARGET) if targeted else None,
                       key=f"bproc_fn.{label}", ratio=ratio))
    return out


def _visibility_rows(job):
    if not job:
        return []
    if "error" in job:
        return [row("11 SceneBVH.visibility", "S1 {}×{}".format(*job["resolution"]), "failed",
                    "", job["error"][:160], "", False, key="visibility.S1")]
    warm, cast = job["warm"]["best"], job["cast_camera"]["best"]
    width, height = job["resolution"]
    words, ratio = faster(warm, cast, "one cast_camera of the same rays", subject="visibility")
    return [row("11 SceneBVH.visibility", f"S1 {width}×{height} ({job['backend']})", ms(warm),
                f"cast_camera {ms(cast)}",
                f"{words}; first call {ms(job['first']['best'])}; "
                f"{(width * height) / warm / 1e6:.1f} M pixels/s",
                key="visibility.S1", ratio=ratio)]


MEASUREMENT = Measurement("blenderproc", rows, FULL, TINY, plan=plan,
                          jobs={"bproc_build": build_job, "bproc_functions": functions_job,
                                "bproc_visibility": visibility_job})
