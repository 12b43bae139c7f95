"""Add-on preferences of the cast: names other modules rely on, defaults, and defaults flowing
into a fresh invocation of the operator."""
import bpy

import pytest
from mathutils import Vector
from test_cast_support import cast_state, select_only, set_cursor, sphere


def _prefs(addon):
    return bpy.context.preferences.addons[addon.__name__].preferences


def test_settings_are_declared_once_for_preferences_and_operator(addon):
    """The operator's properties are the preferences' ray options: same names, labels,
    descriptions, defaults and limits (one declaration), plus SKIP_SAVE."""
    settings_rna = _prefs(addon).cast.bl_rna.properties
    operator_rna = bpy.ops.object.bvh_cast_from_cursor.get_rna_type().properties
    operator_names = [p.identifier for p in operator_rna if p.identifier != "rna_type"]
    assert operator_names == list(addon.cast.settings.RAY_OPTIONS)
    for name in operator_names:
        mine, theirs = operator_rna[name], settings_rna[name]
        for attr in ("name", "description", "type", "subtype"):
            assert getattr(mine, attr) == getattr(theirs, attr), (name, attr)
        if mine.type in {'FLOAT', 'INT'}:
            assert mine.hard_min == theirs.hard_min and mine.hard_max == theirs.hard_max
        if getattr(mine, "is_array", False):
            assert list(mine.default_array) == list(theirs.default_array), name
        elif mine.type != 'ENUM' or not mine.is_enum_flag:
            assert mine.default == theirs.default, name
        assert mine.is_skip_save and not theirs.is_skip_save, name
    for prop in settings_rna:
        if prop.identifier != "rna_type":
            assert prop.description, f"{prop.identifier} has no description"


def test_preference_defaults(addon):
    settings = _prefs(addon).cast
    assert settings.direction == 'VIEW'
    assert tuple(settings.custom_direction) == (0.0, 0.0, -1.0)
    assert settings.distance == pytest.approx(100.0)
    assert settings.evaluated and settings.instances
    assert not settings.snap_cursor and not settings.select_hit
    assert settings.show_overlay
    assert len(settings.ray_color) == 4 and settings.line_width >= 1.0


def test_fallbacks_are_the_declared_defaults(addon):
    """Without the add-on's preferences the service falls back to what CastSettings declares."""
    defaults = addon.utils.declared_defaults(addon.cast.settings.CastSettings)
    rna = _prefs(addon).cast.bl_rna.properties
    assert defaults.direction == rna["direction"].default
    assert defaults.distance == rna["distance"].default
    assert tuple(defaults.custom_direction) == tuple(rna["custom_direction"].default_array)
    assert defaults.show_overlay is rna["show_overlay"].default


@pytest.fixture
def shell(addon):
    obj = sphere("Shell", radius=5.0)
    select_only(obj)
    set_cursor((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    return obj


def test_preference_defaults_flow_into_a_fresh_invocation(addon, shell):
    prefs = _prefs(addon)
    prefs.cast.direction = 'CUSTOM'
    prefs.cast.custom_direction = (0.0, 3.0, 0.0)
    prefs.cast.distance = 2.0  # the shell is 5 m away: a miss proves the distance was used
    prefs.cast.snap_cursor = True
    assert bpy.ops.object.bvh_cast_from_cursor() == {'FINISHED'}
    state = cast_state()
    assert state.direction == 'CUSTOM'
    assert (Vector(state.ray_direction) - Vector((0, 1, 0))).length < 1e-6
    assert state.distance == pytest.approx(2.0) and not state.hit
    prefs.cast.distance = 50.0
    bpy.ops.object.bvh_cast_from_cursor()
    assert cast_state().hit
    assert (bpy.context.scene.cursor.location - Vector(cast_state().location)).length < 1e-6


def test_explicit_arguments_win_and_are_not_remembered(addon, shell):
    prefs = _prefs(addon)
    prefs.cast.direction = 'GLOBAL_X'
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Y', distance=7.0)
    assert cast_state().direction == 'GLOBAL_NEG_Y'
    assert cast_state().distance == pytest.approx(7.0)
    bpy.ops.object.bvh_cast_from_cursor()  # fresh: back to the preferences
    assert cast_state().direction == 'GLOBAL_X'
    assert cast_state().distance == pytest.approx(prefs.cast.distance)


def test_evaluated_and_select_defaults(addon):
    prefs = _prefs(addon)
    obj = sphere("Ball", radius=1.0, subdivisions=2)
    mod = obj.modifiers.new("Displace", 'DISPLACE')
    mod.strength = 2.0  # no texture: every vertex moves 2 m out along its normal
    mod.mid_level = 0.0
    other = sphere("Other", radius=1.0, location=(30.0, 0.0, 0.0))
    select_only(obj, other, active=other)
    set_cursor((0.0, 0.0, 10.0))
    prefs.cast.direction = 'GLOBAL_NEG_Z'
    prefs.cast.evaluated = False
    prefs.cast.select_hit = True
    bpy.ops.object.bvh_cast_from_cursor()
    assert cast_state().location[2] == pytest.approx(1.0, abs=0.05)
    assert bpy.context.view_layer.objects.active == obj
    prefs.cast.evaluated = True
    bpy.ops.object.bvh_cast_from_cursor()
    assert cast_state().location[2] == pytest.approx(3.0, abs=0.1)


def test_cast_from_cursor_helper_for_other_operators(addon, shell):
    """The leak check calls cast_from_cursor with the preferences' settings."""
    result = addon.cast.service.cast_from_cursor(
        bpy.context, direction='GLOBAL_Z', custom_direction=(0, 0, 1), distance=20.0,
        evaluated=True, instances=True)
    assert result.hit and result.object_name == "Shell"
    assert result.hit_distance == pytest.approx(5.0, abs=0.05)
    assert result.triangles > 0 and result.objects_used == 1
    assert addon.cast.result.report_text(result).startswith('Hit "Shell", 5.00 m away, face ')
    assert not cast_state().has_result  # the helper itself stores nothing
