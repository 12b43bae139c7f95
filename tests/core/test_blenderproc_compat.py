"""``blenderproc_compat`` against BlenderProc 2.8.0's own functions (``bproc``), side by side.

Given BlenderProc's own tree, the tree functions answer bit for bit (the rays are BlenderProc's,
cast in the tree itself); given the drop-in's tree they cast into Embree (where installed):
distances within float32 rounding, the same misses, the same verdicts.  ``visible_objects`` and
``scene_coverage_score`` give the same sets and scores as BlenderProc's ``Scene.ray_cast`` loops.
``patch()`` reaches every BlenderProc module holding the names, those imported later too, and
``undo()`` puts BlenderProc's back.
"""
import importlib
import math
import sys

import bpy

import numpy as np
import pytest
import scene_builders as sb
from mathutils import Matrix, Vector

from bvh_leakfree_addon import api, blenderproc_compat
from bvh_leakfree_addon.core import blenderproc_rays


def camera(location=(0.0, -14.0, 4.0), target=(0.0, 0.0, 0.0), lens=35.0, size=(64, 48)):
    """The scene's camera looking at ``target``; render resolution ``size``."""
    scene = bpy.context.scene
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(cam)
    cam.data.lens = lens
    look_at(cam, location, target)
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    return cam


def look_at(cam, location, target):
    direction = Vector(target) - Vector(location)
    cam.matrix_world = Matrix.Translation(location) @ \
        direction.to_track_quat('-Z', 'Y').to_matrix().to_4x4()


def pose(location, target=(0.0, 0.0, 0.0)):
    """A cam2world matrix (numpy, as BlenderProc users pass them)."""
    direction = Vector(target) - Vector(location)
    m = Matrix.Translation(location) @ direction.to_track_quat('-Z', 'Y').to_matrix().to_4x4()
    return np.array(m)


def triangle_scene(count=12, seed=5):
    """Icospheres (triangles: the drop-in's path without a bmesh) around the origin."""
    rng = np.random.default_rng(seed)
    objs = []
    for i in range(count):
        obj = sb.mesh_object(f"ico{i}", sb.ico_mesh(f"ico{i}", 2, float(rng.uniform(0.6, 1.4))),
                             tuple(rng.uniform(-5, 5, 3) * (1, 1, 0.4)),
                             tuple(rng.uniform(0, 3, 3)), tuple(rng.uniform(0.6, 1.6, 3)))
        objs.append(obj)
    bpy.context.evaluated_depsgraph_get()
    return objs


def mixed_scene():
    """Quads, a modifier, a hidden object, a collection instance, custom properties."""
    objs = triangle_scene(6)
    floor = sb.mesh_object("floor", sb.grid_mesh("floor", 8, 8, 30.0, bumpy=False), (0, 0, -2))
    cube = sb.mesh_object("cube", sb.cube_mesh("cube", 2.0), (3, 2, 1), (0.3, 0.2, 0.5))
    cube.modifiers.new("sub", 'SUBSURF').levels = 1
    hidden = sb.mesh_object("hidden", sb.cube_mesh("hidden", 3.0), (-2, -5, 1))
    hidden.hide_set(True)
    source = bpy.data.collections.new("source")
    part = sb.mesh_object("part", sb.ico_mesh("part", 1, 0.8), (0, 0, 0), collection=source)
    instance = bpy.data.objects.new("instance", None)
    instance.instance_type = 'COLLECTION'
    instance.instance_collection = source
    instance.location = (-4, 3, 1)
    sb.link(instance)
    for i, obj in enumerate(objs):
        obj["category_id"] = i % 3
    cube["category_id"] = 7
    bpy.context.evaluated_depsgraph_get()
    return objs + [floor, cube, hidden, part]


def _drop_in_tree(objs):
    tree = api.create_bvh_tree_multi_objects(objs)
    return tree


def _reference_tree(bproc, objs):
    return bproc.MeshObjectUtility.create_bvh_tree_multi_objects(
        [bproc.MeshObject(o) for o in objs])


POSES = [(0.0, -14.0, 4.0), (9.0, 6.0, 7.0), (-3.0, 2.0, 12.0), (0.5, 0.5, 0.5)]


# --- the rays are BlenderProc's, bit for bit --------------------------------------------------

def test_with_blenderprocs_tree_the_answers_are_blenderprocs_exactly(bproc):
    objs = triangle_scene()
    objs.append(sb.mesh_object("floor", sb.grid_mesh("floor", 6, 6, 30.0), (0, 0, -2)))
    camera(size=(40, 30))
    tree = _reference_tree(bproc, objs)       # a tree the drop-in did not make: cast in it
    ours = blenderproc_compat.depth_via_raytracing(tree)
    theirs = bproc.CameraProjection.depth_via_raytracing(tree)
    assert np.array_equal(ours, theirs)
    assert np.isfinite(theirs).any() and np.isinf(theirs).any()
    rng = np.random.default_rng(2)
    for points in (rng.uniform(0, 40, (300, 2)), rng.uniform(-5, 45, (300, 2)).astype(np.float32),
                   rng.integers(0, 30, (50, 2))):
        for return_dist in (False, True):
            assert np.array_equal(
                blenderproc_compat.depth_at_points_via_raytracing(tree, points, None, return_dist),
                bproc.CameraProjection.depth_at_points_via_raytracing(tree, points, None,
                                                                      return_dist))
    grid = blenderproc_rays.grid_ends(np.eye(4, 3, dtype=np.float32) * 2 + 1, 7)
    assert grid.dtype == np.float32 and grid.shape == (49, 3)


# --- the drop-in's tree: Embree on its triangles ------------------------------------------------

@pytest.mark.parametrize("size", [(64, 48), (37, 53)])
def test_depth_on_the_drop_ins_tree_agrees_to_float32_rounding(bproc, size):
    objs = triangle_scene()
    cam = camera(size=size)
    tree = _drop_in_tree(objs)
    for location in POSES[:3]:
        look_at(cam, location, (0, 0, 0))
        for return_dist in (False, True):
            ours = blenderproc_compat.depth_via_raytracing(tree, return_dist=return_dist)
            theirs = bproc.CameraProjection.depth_via_raytracing(tree, return_dist=return_dist)
            assert ours.shape == theirs.shape == (size[1], size[0])
            assert np.array_equal(np.isinf(ours), np.isinf(theirs))       # the same misses
            hit = np.isfinite(theirs)
            assert hit.sum() > 20
            assert np.allclose(ours[hit], theirs[hit], rtol=2e-6, atol=0.0)


def test_depth_at_a_keyed_frame_is_blenderprocs(bproc):
    objs = triangle_scene()
    cam = camera()
    scene = bpy.context.scene
    look_at(cam, POSES[0], (0, 0, 0))
    cam.keyframe_insert("location", frame=3)
    look_at(cam, POSES[1], (0, 0, 0))
    cam.keyframe_insert("location", frame=7)
    cam.keyframe_insert("rotation_euler", frame=7)
    scene.frame_set(1)
    tree = _drop_in_tree(objs)
    points = np.random.default_rng(7).uniform(0, 48, (400, 2))
    for frame in (3, 7, None):
        ours = blenderproc_compat.depth_at_points_via_raytracing(tree, points, frame)
        theirs = bproc.CameraProjection.depth_at_points_via_raytracing(tree, points, frame)
        assert np.array_equal(np.isinf(ours), np.isinf(theirs))
        assert np.allclose(ours[np.isfinite(ours)], theirs[np.isfinite(theirs)], rtol=2e-6)
        assert scene.frame_current == 1


CHECKS = [
    {}, {"min": 1.0}, {"max": 20.0}, {"min": 5.0, "max": 30.0}, {"no_background": True},
    {"no_background": True, "min": 0.5}, {"avg": {"min": 2.0, "max": 30.0}},
    {"avg": {"min": 12.0, "max": 14.0}}, {"var": {"min": 0.0, "max": 40.0}},
    {"avg": {"min": 1.0, "max": 50.0}, "var": {"min": 0.5, "max": 10.0}},
    {"max": 13.0, "no_background": True},
]


@pytest.mark.parametrize("tree_of", ["drop-in", "blenderproc"])
@pytest.mark.parametrize("floor", [True, False])
def test_obstacle_check_verdicts_are_blenderprocs(bproc, tree_of, floor):
    """With and without a floor: rays that miss everything count as BlenderProc counts them (with
    ``avg``/``var``, a ray that enters a box of the tree but misses reports ``FLT_MAX``)."""
    objs = triangle_scene()
    if floor:
        objs.append(sb.mesh_object("floor", sb.grid_mesh("floor", 6, 6, 30.0), (0, 0, -2)))
    camera()
    tree = _drop_in_tree(objs) if tree_of == "drop-in" else _reference_tree(bproc, objs)
    verdicts = []
    for location in POSES:
        for checks in CHECKS:
            for n in (2, 10, 17):
                ours = _outcome(blenderproc_compat.perform_obstacle_in_view_check,
                                pose(location), checks, tree, n)
                theirs = _outcome(bproc.CameraValidation.perform_obstacle_in_view_check,
                                  pose(location), checks, tree, n)
                assert ours == theirs, (location, checks, n)
                verdicts.append(ours)
    assert True in verdicts and False in verdicts


def _outcome(function, *args):
    """The result, or ``(exception type, message)`` (BlenderProc fails on some checks, e.g. a
    KeyError for ``no_background`` alone)."""
    try:
        return function(*args)
    except Exception as ex:  # noqa: BLE001 - compared with what BlenderProc raises
        return (type(ex), str(ex))


def test_obstacle_check_bad_input_fails_as_blenderprocs(bproc):
    objs = triangle_scene(3)
    camera()
    tree = _drop_in_tree(objs)
    for checks in ({"min": "near"}, {"avg": {"min": 1.0}}, {"var": {"min": 1, "max": "x"}},
                   {"no_background": True, "avg": 3}):
        with pytest.raises(Exception) as theirs:   # noqa: PT011 - whatever BlenderProc raises
            bproc.CameraValidation.perform_obstacle_in_view_check(pose(POSES[0]), checks, tree)
        with pytest.raises(type(theirs.value)) as ours:
            blenderproc_compat.perform_obstacle_in_view_check(pose(POSES[0]), checks, tree)
        assert str(ours.value) == str(theirs.value)


# --- what Scene.ray_cast sees -------------------------------------------------------------------

@pytest.mark.parametrize("scene", [triangle_scene, mixed_scene])
def test_visible_objects_are_blenderprocs(bproc, scene):
    scene()
    camera()
    seen = set()
    for location in POSES:
        for n in (2, 10, 31):
            ours = blenderproc_compat.visible_objects(pose(location), n)
            theirs = bproc.CameraValidation.visible_objects(pose(location), n)
            assert ours == theirs, (location, n)
            assert all(isinstance(o, bproc.MeshObject) for o in ours)
            seen |= {o.blender_obj.name for o in ours}
    assert len(seen) >= 5
    if "part" in bpy.data.objects:
        assert "hidden" not in seen and "part" in seen      # instances seen, hidden objects not


@pytest.mark.parametrize("special", [None, [0], [7, 1]])
def test_scene_coverage_scores_are_blenderprocs(bproc, special):
    mixed_scene()
    camera()
    scores = []
    for location in POSES:
        for n in (3, 10, 24):
            ours = blenderproc_compat.scene_coverage_score(pose(location), special, 2.5, n)
            theirs = bproc.CameraValidation.scene_coverage_score(pose(location), special, 2.5, n)
            assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), (location, n)
            scores.append(theirs)
    assert len(set(scores)) > 3


def test_one_ray_divides_by_zero_as_blenderprocs(bproc):
    triangle_scene(2)
    camera()
    for name in ("visible_objects", "scene_coverage_score"):
        with pytest.raises(ZeroDivisionError):
            getattr(bproc.CameraValidation, name)(pose(POSES[0]), sqrt_number_of_rays=1)
        with pytest.raises(ZeroDivisionError):
            getattr(blenderproc_compat, name)(pose(POSES[0]), sqrt_number_of_rays=1)


# --- patch() ------------------------------------------------------------------------------------

NAMES = ("create_bvh_tree_multi_objects", "perform_obstacle_in_view_check", "visible_objects",
         "scene_coverage_score", "depth_via_raytracing", "depth_at_points_via_raytracing")


def _holders():
    """Every loaded BlenderProc module attribute that is one of the six names."""
    return {(name, attr): getattr(module, attr) for name, module in sys.modules.items()
            if module is not None and name.startswith("blenderproc") for attr in NAMES
            if hasattr(module, attr)}


def test_patch_reaches_every_blenderproc_module_and_undo_restores(bproc):
    importlib.import_module("blenderproc.api.object")
    later = "blenderproc.api.camera"        # holds four of the names: imported after the patch
    sys.modules.pop(later, None)
    before = _holders()
    assert ("blenderproc.python.lighting.IntersectingSpotLight",
            "create_bvh_tree_multi_objects") in before
    handle = blenderproc_compat.patch()
    try:
        after = _holders()
        assert after.keys() == before.keys() and len(after) >= 8
        for (module, attr), function in after.items():
            assert function is getattr(blenderproc_compat, attr), (module, attr)
        module = importlib.import_module(later)               # imported after the patch
        held = [attr for attr in NAMES if hasattr(module, attr)]
        assert held and all(getattr(module, a) is getattr(blenderproc_compat, a) for a in held)
    finally:
        handle.undo()
    restored = _holders()
    for key, function in restored.items():
        if key in before:
            assert function is before[key], key
        assert function is not getattr(blenderproc_compat, key[1]), key
    handle.undo()                                             # idempotent
    with blenderproc_compat.patch() as again:
        assert bproc.MeshObjectUtility.create_bvh_tree_multi_objects is \
            blenderproc_compat.create_bvh_tree_multi_objects
        assert "names replaced" in repr(again)
    assert _holders() == restored


def test_patched_spot_lights_work_in_a_scene_without_meshes(bproc):
    """BlenderProc's own caller of the tree (IntersectingSpotLight), patched: an empty scene with
    camera poses works, as with BlenderProc's own function."""
    cam = camera()
    scene = bpy.context.scene
    for frame, location in enumerate(POSES[:2]):
        look_at(cam, location, (0, 0, 0))
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
    scene.frame_start, scene.frame_end = 0, 2
    lights = len(bpy.data.lights)
    with blenderproc_compat.patch():
        bproc.IntersectingSpotLight.add_intersecting_spot_lights_to_camera_poses(5.0, 15.0)
    assert len(bpy.data.lights) > lights


def test_patched_blenderproc_calls_land_here(bproc):
    objs = triangle_scene(4)
    camera()
    with blenderproc_compat.patch():
        tree = bproc.MeshObjectUtility.create_bvh_tree_multi_objects(
            [bproc.MeshObject(o) for o in objs])
        assert tree is api.create_bvh_tree_multi_objects(objs)      # the drop-in's latest tree
        depth = bproc.CameraProjection.depth_via_raytracing(tree)
    assert np.array_equal(np.isinf(depth), np.isinf(bproc.CameraProjection.depth_via_raytracing(
        tree)))
    assert math.isfinite(bproc.CameraValidation.scene_coverage_score(pose(POSES[0]), None, 2, 4))
