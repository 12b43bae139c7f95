"""The "Ray Cast from 3D Cursor" operator: reports, return values, options, bad input, user data."""
import re

import bpy

import bmesh
import pytest
from mathutils import Vector
from test_cast_support import (
    cast_report,
    cast_state,
    cube,
    mesh_object,
    scene_ray_cast,
    select_only,
    set_cursor,
    sphere,
    user_data_snapshot,
)

OP = "object.bvh_cast_from_cursor"
REPORT = re.compile(r'^Hit "(?P<name>[^"]+)", (?P<dist>[\d.]+) m away, face (?P<face>\d+)$')


@pytest.fixture
def two_cubes(addon):
    """Two cubes below the cursor; the cursor looks down (Global -Z hits the top of "Low")."""
    low = cube("Low", location=(0.0, 0.0, 0.0))
    far = cube("Far", location=(0.0, 0.0, -5.0))
    select_only(low, far, active=far)
    set_cursor((0.2, 0.1, 3.0))
    return low, far


def test_bl_options_and_description(addon):
    """Issue 23.4: the cast is an undo step only when it changes something, through the step
    operator of the same name (which F9 adjusts); the cast itself pushes none."""
    operators = addon.cast.operators
    cls = operators.OBJECT_OT_bvh_cast_from_cursor
    assert set(cls.bl_options) == {'REGISTER'}
    step = operators.OBJECT_OT_bvh_cast_from_cursor_step
    assert set(step.bl_options) == {'REGISTER', 'UNDO', 'INTERNAL'}
    assert step.bl_label == cls.bl_label == "Ray Cast from 3D Cursor"
    assert cls.bl_label == "Ray Cast from 3D Cursor"
    assert cls.bl_description
    for prop in bpy.ops.object.bvh_cast_from_cursor.get_rna_type().properties:
        if prop.identifier != "rna_type":
            assert prop.description, f"{prop.identifier} has no description"


def test_hit_report_text_and_state(two_cubes, capfd):
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
    state = cast_state()
    match = REPORT.match(cast_report())
    assert match, cast_report()
    assert match["name"] == "Low"
    assert int(match["face"]) == state.polygon_index
    assert float(match["dist"]) == pytest.approx(2.0, abs=0.01)
    # Issue 23.7: Blender's status bar shortens a long report in the middle: the distance comes
    # early, so it is never the part that goes.
    assert cast_report().index(" m away") < 40
    assert state.hit and state.object_name == "Low"
    assert (Vector(state.location) - Vector((0.2, 0.1, 1.0))).length < 1e-5
    assert (Vector(state.normal) - Vector((0, 0, 1))).length < 1e-5
    assert state.triangles == 24 and state.objects_used == 2
    out = capfd.readouterr().out  # the bpy module prints operator reports
    assert cast_report() in out
    hit, location, normal, index, obj = scene_ray_cast((0.2, 0.1, 3.0), (0, 0, -1))
    assert obj.name == "Low" and index == state.polygon_index


def test_build_and_cast_times_are_measured_stored_and_reported(addon, two_cubes, monkeypatch):
    """The build and the cast are timed apart (a clock that moves 4 ms during the build and
    2.5 ms during the cast), stored in milliseconds and added up in the report."""
    ticks = iter((100.0, 100.004, 100.0065))
    monkeypatch.setattr(addon.cursor_ray, "clock", lambda: next(ticks))
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
    state = cast_state()
    assert state.build_ms == pytest.approx(4.0, abs=1e-3)
    assert state.cast_ms == pytest.approx(2.5, abs=1e-3)
    lines = [line[0] for line in addon.cast.result.result_lines(state)]
    assert "BVH built 4.0 ms, cast 2.50 ms" in lines
    assert "Cast into 2 selected objects (24 tris)" in lines
    assert " ms" not in cast_report()     # the times are in the box, the status bar is short


def test_miss_is_a_warning_and_finished(two_cubes, capfd):
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z', distance=100.0) == {'FINISHED'}
    state = cast_state()
    assert state.has_result and not state.hit
    assert cast_report().startswith("No hit within 100 m")
    assert "Warning: No hit within 100 m" in capfd.readouterr().out
    assert state.distance == pytest.approx(100.0)


def test_distance_limits_the_ray(two_cubes):
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', distance=1.5)
    assert not cast_state().hit
    assert cast_report().startswith("No hit within 1.5 m")
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', distance=2.5)
    assert cast_state().hit


def test_distance_is_bounded_by_the_property(addon, two_cubes):
    prop = bpy.ops.object.bvh_cast_from_cursor.get_rna_type().properties["distance"]
    assert prop.hard_min > 0.0
    result = bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', distance=0.0)
    assert result == {'FINISHED'}
    assert cast_state().distance == pytest.approx(prop.hard_min)
    with pytest.raises(addon.cast.service.CastError, match="greater than 0"):
        addon.cast.service.cast_from_cursor(
            bpy.context, direction='GLOBAL_NEG_Z', custom_direction=(0, 0, -1), distance=0.0,
            evaluated=True, instances=True)


def test_snap_cursor_moves_and_aligns_the_cursor(two_cubes):
    low, _ = two_cubes
    low.rotation_euler = (0.3, 0.0, 0.0)  # a tilted top face
    bpy.context.view_layer.update()
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', snap_cursor=True)
    state = cast_state()
    cursor = bpy.context.scene.cursor
    assert (cursor.location - Vector(state.location)).length < 1e-6
    cursor_z = cursor.matrix.to_3x3() @ Vector((0, 0, 1))
    assert (cursor_z - Vector(state.normal)).length < 1e-5
    # The result keeps the ray's origin (where the cursor was).
    assert (Vector(state.ray_origin) - Vector((0.2, 0.1, 3.0))).length < 1e-6


@pytest.mark.parametrize("mode", ['QUATERNION', 'AXIS_ANGLE', 'ZXY'])
def test_snap_cursor_respects_the_cursor_rotation_mode(two_cubes, mode):
    bpy.context.scene.cursor.rotation_mode = mode
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', snap_cursor=True)
    cursor = bpy.context.scene.cursor
    assert cursor.rotation_mode == mode
    assert ((cursor.matrix.to_3x3() @ Vector((0, 0, 1))) - Vector((0, 0, 1))).length < 1e-5


def test_select_hit_makes_the_hit_object_active(two_cubes):
    low, far = two_cubes
    assert bpy.context.view_layer.objects.active == far
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', select_hit=True)
    assert bpy.context.view_layer.objects.active == low
    # Issue 23.13: as a click would, the hit becomes the one selected object, and the result
    # says the next cast goes into it alone (the cast uses the selection).
    assert low.select_get() and not far.select_get()
    assert cast_state().note == "selected Low only: the next cast goes into it alone"


def test_without_select_hit_or_snap_nothing_changes(two_cubes):
    before = user_data_snapshot()
    for _ in range(3):
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', select_hit=False,
                                            snap_cursor=False)
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z')
    assert user_data_snapshot() == before


def _assert_cancelled_with(message):
    """bpy.ops turns the operator's ERROR report into a RuntimeError carrying the message (the
    operator returned CANCELLED); nothing is stored and nothing changes."""
    before = user_data_snapshot()
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    assert not cast_state().has_result
    assert user_data_snapshot() == before


def test_nothing_selected_is_cancelled(addon):
    cube("Lonely")
    select_only()
    _assert_cancelled_with("Select at least one object with geometry")


def test_only_cameras_and_lights_is_cancelled(addon):
    scene = bpy.context.scene
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    lamp = bpy.data.objects.new("Lamp", bpy.data.lights.new("Lamp", 'POINT'))
    for obj in (cam, lamp):
        scene.collection.objects.link(obj)
    select_only(cam, lamp)
    _assert_cancelled_with("Select at least one object with geometry")


def test_mesh_without_faces_is_cancelled(addon):
    empty_mesh = mesh_object("Points", "create_vert", co=(0.0, 0.0, 0.0))
    select_only(empty_mesh)
    _assert_cancelled_with("Select at least one object with geometry")


def test_cameras_next_to_geometry_are_skipped_not_an_error(two_cubes):
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    bpy.context.scene.collection.objects.link(cam)
    cam.select_set(True)
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
    assert cast_state().hit and cast_state().objects_skipped >= 1


def test_the_result_says_what_the_ray_could_hit(addon, two_cubes):
    """Issue 23.6: "2 skipped" was never explained, and nothing said unselected objects are not
    hit: the result names the skipped objects, a miss says it, the panel says it under the
    button."""
    for name, data in (("Lamp", bpy.data.lights.new("Lamp", 'POINT')),
                       ("Cam", bpy.data.cameras.new("Cam"))):
        obj = bpy.data.objects.new(name, data)
        bpy.context.scene.collection.objects.link(obj)
        obj.select_set(True)
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    texts = [line[0] for line in addon.cast.result.result_lines(cast_state())]
    assert "Cast into 2 selected objects (24 tris)" in texts
    assert "Skipped, no surface: Lamp, Cam" in texts or "Skipped, no surface: Cam, Lamp" in texts
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z')
    texts = [line[0] for line in addon.cast.result.result_lines(cast_state())]
    assert "Unselected objects are not hit" in texts
    assert cast_report().endswith("(2 selected objects)")
    panels = addon.cast.panels
    assert panels.TARGETS_NOTE == "Hits selected objects only"


def test_evaluated_uses_modifiers(addon):
    obj = cube("Arrayed", location=(0.0, 0.0, 0.0))
    mod = obj.modifiers.new("Array", 'ARRAY')
    mod.relative_offset_displace = (3.0, 0.0, 0.0)
    mod.count = 2
    select_only(obj)
    set_cursor((6.0, 0.0, 5.0))  # over the second copy (offset: 3 × the 2 m width)
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', evaluated=True)
    assert cast_state().hit and cast_state().object_name == "Arrayed"
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', evaluated=False)
    assert not cast_state().hit


def test_instances_option(addon):
    source = bpy.data.collections.new("Source")
    cube("Instanced", collection=source)
    empty = bpy.data.objects.new("Instancer", None)
    empty.instance_type = 'COLLECTION'
    empty.instance_collection = source
    empty.location = (10.0, 0.0, 0.0)
    bpy.context.scene.collection.objects.link(empty)
    select_only(empty)
    set_cursor((10.0, 0.0, 5.0))
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', instances=True)
    state = cast_state()
    assert state.hit and state.object_name == "Instanced" and state.instancer_name == "Instancer"
    assert 'via "Instancer"' in cast_report()
    with pytest.raises(RuntimeError, match="Select at least one object with geometry"):
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', instances=False)


def test_select_hit_on_an_instance_selects_the_instancer(addon):
    source = bpy.data.collections.new("Source")
    cube("Instanced", collection=source)
    empty = bpy.data.objects.new("Instancer", None)
    empty.instance_type = 'COLLECTION'
    empty.instance_collection = source
    bpy.context.scene.collection.objects.link(empty)
    other = cube("Other", location=(20.0, 0.0, 0.0))
    select_only(empty, other, active=other)
    set_cursor((0.0, 0.0, 5.0))
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', select_hit=True)
    assert bpy.context.view_layer.objects.active == empty


def test_repeated_casts_reuse_the_cache(two_cubes):
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    assert cast_state().reused
    low, _ = two_cubes
    low.location.z = 1.0  # moved: the next cast must see it
    bpy.context.view_layer.update()
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    assert cast_state().location[2] == pytest.approx(2.0, abs=1e-5)


def test_edit_mode_casts_against_the_edit_mesh(addon):
    plane = mesh_object("Plane", "create_grid", x_segments=1, y_segments=1, size=2.0)
    select_only(plane)
    set_cursor((0.1, 0.1, 5.0))
    bpy.ops.object.mode_set(mode='EDIT')
    try:
        bm = bmesh.from_edit_mesh(plane.data)
        for vert in bm.verts:
            vert.co.z = 1.0
        bmesh.update_edit_mesh(plane.data)
        assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
        state = cast_state()
        assert state.hit and state.location[2] == pytest.approx(1.0, abs=1e-5)
        # select_hit leaves the selection alone outside Object Mode, and says so.
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', select_hit=True)
        assert "selection left alone" in cast_state().note
        assert bpy.context.mode == 'EDIT_MESH'
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')


def test_poll_refuses_sculpt_mode_with_a_reason(addon):
    obj = cube("Sculpted")
    select_only(obj)
    bpy.ops.object.mode_set(mode='SCULPT')
    try:
        assert not bpy.ops.object.bvh_cast_from_cursor.poll()
        with pytest.raises(RuntimeError, match="works in Object Mode and in Edit Mode of meshes, "
                                               "curves, surfaces, text and metaballs, not in "
                                               "Sculpt Mode"):
            bpy.ops.object.bvh_cast_from_cursor()
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')


def test_linked_library_objects_work_and_are_untouched(addon, tmp_path):
    # A library file with one cube, linked (read-only) into a fresh scene.
    lib_obj = cube("LibCube")
    path = tmp_path / "library.blend"
    bpy.data.libraries.write(str(path), {lib_obj, lib_obj.data})
    bpy.data.objects.remove(lib_obj)
    bpy.data.meshes.remove(bpy.data.meshes["LibCube"])
    with bpy.data.libraries.load(str(path), link=True) as (data_from, data_to):
        data_to.objects = ["LibCube"]
    linked = data_to.objects[0]
    assert linked.library is not None
    bpy.context.scene.collection.objects.link(linked)
    select_only(linked)
    set_cursor((0.0, 0.0, 4.0))
    before = user_data_snapshot()
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
    assert cast_state().hit and cast_state().object_name == "LibCube"
    assert user_data_snapshot() == before
    assert linked.library is not None and linked.data.library is not None


def test_no_bpy_data_growth_over_repeated_casts(addon):
    from test_cast_support import user_data_snapshot as snap

    objs = [cube(f"C{i}", location=(i * 3.0, 0.0, 0.0)) for i in range(3)]
    mod = objs[0].modifiers.new("Sub", 'SUBSURF')
    mod.levels = 1
    curve = bpy.data.curves.new("Text", 'FONT')
    text = bpy.data.objects.new("Text", curve)
    bpy.context.scene.collection.objects.link(text)
    ball = sphere("Ball", radius=1.0, subdivisions=2, location=(0.0, 4.0, 0.0))
    select_only(*objs, text, ball)
    set_cursor((0.1, 0.1, 5.0))
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')  # warm-up
    before = snap()["sizes"]
    for i in range(40):
        objs[1].location.x = 3.0 + 0.01 * i  # transforms change: the cache must update
        bpy.context.view_layer.update()
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', evaluated=bool(i % 2))
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z')
    assert snap()["sizes"] == before


def test_build_progress_shows_only_for_slow_builds(addon):
    progress = addon.cast.service.BuildProgress(bpy.context, delay=3600.0)
    progress(0.5)
    assert not progress.shown  # a fast build shows nothing
    progress = addon.cast.service.BuildProgress(bpy.context, delay=0.0)
    for fraction in (0.0, 0.25, 1.0, 1.5):
        progress(fraction)
    assert progress.shown
    progress.end()
    assert not progress.shown
    progress.end()  # idempotent
