"""Add-on preferences of the cast: names other modules rely on, defaults, and defaults flowing
into a fresh invocation of the operator."""
import bpy
import pytest
from mathutils import Vector

from test_cast_support import cast_state, sphere, select_only, set_cursor

PREF_NAMES = ("default_direction", "default_custom_direction", "default_distance",
              "default_evaluated", "default_instances", "default_snap_cursor",
              "default_select_hit", "overlay_default", "overlay_ray_color", "overlay_hit_color",
              "overlay_normal_color", "overlay_line_width")


def _prefs(addon):
    return bpy.context.preferences.addons[addon.__name__].preferences


def test_preference_names_and_defaults(addon):
    prefs = _prefs(addon)
    props = prefs.bl_rna.properties
    for name in PREF_NAMES:
        assert name in props, name
        assert props[name].description, f"{name} has no description"
    assert prefs.default_direction == 'VIEW'
    assert tuple(prefs.default_custom_direction) == (0.0, 0.0, -1.0)
    assert prefs.default_distance == pytest.approx(100.0)
    assert prefs.default_evaluated and prefs.default_instances
    assert not prefs.default_snap_cursor and not prefs.default_select_hit
    assert prefs.overlay_default
    assert len(prefs.overlay_ray_color) == 4 and prefs.overlay_line_width >= 1.0
    assert hasattr(type(prefs), "draw_cast")


@pytest.fixture
def shell(addon):
    obj = sphere("Shell", radius=5.0)
    select_only(obj)
    set_cursor((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    return obj


def test_preference_defaults_flow_into_a_fresh_invocation(addon, shell):
    prefs = _prefs(addon)
    prefs.default_direction = 'CUSTOM'
    prefs.default_custom_direction = (0.0, 3.0, 0.0)
    prefs.default_distance = 2.0  # the shell is 5 m away: a miss proves the distance was used
    prefs.default_snap_cursor = True
    assert bpy.ops.object.bvh_cast_from_cursor() == {'FINISHED'}
    state = cast_state()
    assert state.direction_mode == 'CUSTOM'
    assert (Vector(state.ray_direction) - Vector((0, 1, 0))).length < 1e-6
    assert state.max_distance == pytest.approx(2.0) and not state.hit
    prefs.default_distance = 50.0
    bpy.ops.object.bvh_cast_from_cursor()
    assert cast_state().hit
    assert (bpy.context.scene.cursor.location - Vector(cast_state().location)).length < 1e-6


def test_explicit_arguments_win_and_are_not_remembered(addon, shell):
    prefs = _prefs(addon)
    prefs.default_direction = 'GLOBAL_X'
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Y', distance=7.0)
    assert cast_state().direction_mode == 'GLOBAL_NEG_Y'
    assert cast_state().max_distance == pytest.approx(7.0)
    bpy.ops.object.bvh_cast_from_cursor()  # fresh: back to the preferences
    assert cast_state().direction_mode == 'GLOBAL_X'
    assert cast_state().max_distance == pytest.approx(prefs.default_distance)


def test_evaluated_and_select_defaults(addon):
    prefs = _prefs(addon)
    obj = sphere("Ball", radius=1.0, subdivisions=2)
    mod = obj.modifiers.new("Displace", 'DISPLACE')
    mod.strength = 2.0  # no texture: every vertex moves 2 m out along its normal
    mod.mid_level = 0.0
    other = sphere("Other", radius=1.0, location=(30.0, 0.0, 0.0))
    select_only(obj, other, active=other)
    set_cursor((0.0, 0.0, 10.0))
    prefs.default_direction = 'GLOBAL_NEG_Z'
    prefs.default_evaluated = False
    prefs.default_select_hit = True
    bpy.ops.object.bvh_cast_from_cursor()
    assert cast_state().location[2] == pytest.approx(1.0, abs=0.05)
    assert bpy.context.view_layer.objects.active == obj
    prefs.default_evaluated = True
    bpy.ops.object.bvh_cast_from_cursor()
    assert cast_state().location[2] == pytest.approx(3.0, abs=0.1)


def test_cast_from_cursor_helper_for_other_operators(addon, shell):
    """The leak check calls cast_from_cursor with the preferences' settings."""
    result = addon.operators.cast_from_cursor(
        bpy.context, direction='GLOBAL_Z', custom_direction=(0, 0, 1), distance=20.0,
        evaluated=True, instances=True)
    assert result.hit and result.object_name == "Shell"
    assert result.distance == pytest.approx(5.0, abs=0.05)
    assert result.triangles > 0 and result.objects_used == 1
    assert result.build_seconds >= 0.0 and result.cast_seconds >= 0.0
    assert result.report_text().startswith('Hit "Shell" face ')
    assert not cast_state().has_result  # the helper itself stores nothing
