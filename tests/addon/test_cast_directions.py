"""Every direction mode of "Ray Cast from 3D Cursor" against the expected ray, and each hit against
Blender's own Scene.ray_cast from the cursor (the cursor sits inside a sphere: back faces)."""
import math

import bpy

import pytest
from mathutils import Euler, Matrix, Quaternion, Vector
from test_cast_support import (
    cast_report,
    cast_state,
    scene_ray_cast,
    select_only,
    set_cursor,
    sphere,
)

CURSOR_LOCATION = (0.3, -0.2, 0.4)
INSIDE = "started inside Shell: hit its inside (a back face)"   # the result says where it began
CURSOR_ROTATION = (0.4, -0.7, 1.1)

AXIS_MODES = {
    'CURSOR_NEG_Z': ('CURSOR', (0, 0, -1)), 'CURSOR_Z': ('CURSOR', (0, 0, 1)),
    'CURSOR_X': ('CURSOR', (1, 0, 0)), 'CURSOR_NEG_X': ('CURSOR', (-1, 0, 0)),
    'CURSOR_Y': ('CURSOR', (0, 1, 0)), 'CURSOR_NEG_Y': ('CURSOR', (0, -1, 0)),
    'GLOBAL_NEG_Z': ('GLOBAL', (0, 0, -1)), 'GLOBAL_Z': ('GLOBAL', (0, 0, 1)),
    'GLOBAL_X': ('GLOBAL', (1, 0, 0)), 'GLOBAL_NEG_X': ('GLOBAL', (-1, 0, 0)),
    'GLOBAL_Y': ('GLOBAL', (0, 1, 0)), 'GLOBAL_NEG_Y': ('GLOBAL', (0, -1, 0)),
}
ALL_MODES = ['VIEW', *AXIS_MODES, 'CUSTOM']


def _expected_axis(mode):
    space, axis = AXIS_MODES[mode]
    axis = Vector(axis)
    if space == 'CURSOR':
        axis = Euler(CURSOR_ROTATION).to_matrix() @ axis
    return axis.normalized()


@pytest.fixture
def inside_sphere(addon):
    obj = sphere("Shell", radius=5.0, subdivisions=3, rotation=(0.1, 0.2, 0.3))
    select_only(obj)
    set_cursor(CURSOR_LOCATION, CURSOR_ROTATION)
    return obj


def _assert_same_as_scene_ray_cast(direction):
    state = cast_state()
    hit, location, normal, index, obj = scene_ray_cast(CURSOR_LOCATION, direction)
    assert hit and state.hit
    assert state.object_name == obj.name
    assert state.polygon_index == index
    assert (Vector(state.location) - location).length < 1e-4
    assert (Vector(state.normal) - normal).length < 1e-3
    assert state.hit_distance == pytest.approx((location - Vector(CURSOR_LOCATION)).length,
                                               abs=1e-4)


def test_direction_identifiers_are_exactly_the_documented_ones(addon):
    items = bpy.ops.object.bvh_cast_from_cursor.get_rna_type().properties["direction"]
    assert [item.identifier for item in items.enum_items] == ALL_MODES
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    pref_items = prefs.cast.bl_rna.properties["direction"].enum_items
    assert [item.identifier for item in pref_items] == ALL_MODES


@pytest.mark.parametrize("mode", list(AXIS_MODES))
def test_axis_modes_cast_along_the_expected_ray(inside_sphere, mode):
    result = bpy.ops.object.bvh_cast_from_cursor(direction=mode, distance=50.0)
    assert result == {'FINISHED'}
    state = cast_state()
    expected = _expected_axis(mode)
    assert (Vector(state.ray_direction) - expected).length < 1e-6
    assert (Vector(state.ray_origin) - Vector(CURSOR_LOCATION)).length < 1e-6
    assert state.direction == mode
    assert state.note == INSIDE
    _assert_same_as_scene_ray_cast(expected)


def test_cursor_inside_a_mesh_reports_the_back_face(inside_sphere):
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_X')
    state = cast_state()
    # A back face: the normal points the same way as the ray (Scene.ray_cast agrees, above).
    assert Vector(state.normal).dot(Vector(state.ray_direction)) > 0.0
    assert 4.0 < state.hit_distance < 5.5


def test_custom_direction_is_normalised_and_in_world_space(inside_sphere):
    custom = (2.0, -1.0, 0.5)
    bpy.ops.object.bvh_cast_from_cursor(direction='CUSTOM', custom_direction=custom)
    expected = Vector(custom).normalized()
    assert (Vector(cast_state().ray_direction) - expected).length < 1e-6
    _assert_same_as_scene_ray_cast(expected)


def test_zero_custom_direction_is_a_clear_error(inside_sphere, addon):
    with pytest.raises(RuntimeError, match="Custom direction is zero"):
        bpy.ops.object.bvh_cast_from_cursor(direction='CUSTOM', custom_direction=(0, 0, 0))
    assert not cast_state().has_result
    with pytest.raises(ValueError, match="Custom direction is zero"):
        addon.cursor_ray.ray_direction(bpy.context, 'CUSTOM', (0.0, 0.0, 0.0))


def test_view_outside_a_viewport_falls_back_to_cursor_neg_z_and_says_so(inside_sphere, capfd):
    # The bpy module has no 3D viewport in its context: like `blender -b` and pipelines.
    assert bpy.context.space_data is None
    assert bpy.ops.object.bvh_cast_from_cursor(direction='VIEW') == {'FINISHED'}
    state = cast_state()
    assert (Vector(state.ray_direction) - _expected_axis('CURSOR_NEG_Z')).length < 1e-6
    assert "View direction needs a 3D Viewport: used Cursor -Z" in state.note
    assert state.note in cast_report()
    assert "used Cursor -Z" in capfd.readouterr().out
    _assert_same_as_scene_ray_cast(_expected_axis('CURSOR_NEG_Z'))


def test_ray_direction_function_view_fallback(addon):
    set_cursor(CURSOR_LOCATION, CURSOR_ROTATION)
    direction, note = addon.cursor_ray.ray_direction(bpy.context, 'VIEW', (0, 0, 0))
    assert (direction - _expected_axis('CURSOR_NEG_Z')).length < 1e-6
    assert note == addon.cursor_ray.VIEW_FALLBACK_NOTE


# --- View mode inside the real 3D viewport of the bpy module's window ---------------------------
def _view3d():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == 'VIEW_3D')
    return window, area


def _region(area, kind):
    return next(r for r in area.regions if r.type == kind)


def _view_matrix(eye, rotation):
    """World → view matrix of a viewer at ``eye`` turned by ``rotation`` (view looks along -Z)."""
    return (Matrix.Translation(Vector(eye)) @ rotation.to_matrix().to_4x4()).inverted()


@pytest.mark.parametrize("perspective", [True, False], ids=["perspective", "ortho"])
@pytest.mark.parametrize("region_kind", ["WINDOW", "UI"])
def test_view_mode_in_a_real_viewport(inside_sphere, perspective, region_kind):
    """The bpy module's window has the startup 3D viewport (a rotated perspective view).

    Its matrices are only recomputed on redraw, which never happens without a GPU, so the test
    takes the view as the region has it (``view_matrix`` is a rotated, translated matrix) and
    switches ``is_perspective``; ``test_view_direction_math`` covers arbitrary matrices.
    """
    window, area = _view3d()
    rv3d = area.spaces.active.region_3d
    rv3d.is_perspective = perspective
    view = rv3d.view_matrix.copy()
    eye = view.inverted().translation
    forward = (view.inverted().to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
    assert eye.length > 1.0 and abs(forward.z) > 0.1  # a real, tilted view
    expected = (Vector(CURSOR_LOCATION) - eye).normalized() if perspective else forward
    with bpy.context.temp_override(window=window, area=area, region=_region(area, region_kind)):
        assert bpy.ops.object.bvh_cast_from_cursor(direction='VIEW') == {'FINISHED'}
    state = cast_state()
    assert (Vector(state.ray_direction) - expected).length < 1e-5
    assert state.note == INSIDE
    _assert_same_as_scene_ray_cast(expected)
    if perspective:  # the ray goes away from the eye: the eye is behind the cursor
        assert (Vector(CURSOR_LOCATION) - eye).dot(Vector(state.ray_direction)) > 0.0


def test_view_direction_math(addon):
    view_direction = addon.cursor_ray.view_direction
    rotation = Quaternion((0.3, 0.5, -0.2, 0.7)).normalized()
    eye = Vector((1.0, 2.0, 3.0))
    view = _view_matrix(eye, rotation)
    target = Vector((-4.0, 0.5, 1.0))
    # Perspective: from the eye through the cursor, away from the eye.
    assert (view_direction(view, True, target) - (target - eye).normalized()).length < 1e-6
    # Orthographic: the view axis, whatever the cursor.
    forward = rotation @ Vector((0.0, 0.0, -1.0))
    assert (view_direction(view, False, target) - forward).length < 1e-6
    # Cursor exactly at the eye: the view axis rather than a zero vector.
    assert (view_direction(view, True, eye) - forward).length < 1e-6
    # Looking straight down from above: the ray goes down.
    top = _view_matrix((0.0, 0.0, 10.0), Quaternion())
    assert (view_direction(top, True, (0.0, 0.0, 0.0)) - Vector((0, 0, -1))).length < 1e-6
    assert math.isclose(view_direction(view, True, target).length, 1.0, rel_tol=1e-6)
