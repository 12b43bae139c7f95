"""The sidebar's settings are the defaults of the next cast; the result box shows the last cast.
When they disagree (a sidebar change since, or an F9 change of that one cast) the box marks the
result as made with other settings, names each one, and offers Cast Again."""
import bpy

import pytest
from test_cast_support import cast_state, cube, select_only, set_cursor

HEADING = "Made with other settings:"


@pytest.fixture
def cast_once(addon):
    """One cast with the sidebar's settings (Direction set to Global -Z there): a hit."""
    select_only(cube("Target"))
    set_cursor((0.0, 0.0, 4.0))
    settings = addon.utils.get_preferences().cast
    settings.direction = 'GLOBAL_NEG_Z'
    assert bpy.ops.object.bvh_cast_from_cursor() == {'FINISHED'}
    assert cast_state().hit
    return settings


def _stale(addon, settings):
    return [line[0] for line in addon.cast.result.stale_lines(cast_state(), settings)]


def test_no_mark_when_the_result_has_the_sidebars_settings(addon, cast_once):
    assert _stale(addon, cast_once) == []
    # On Hit options do not change where the ray goes: no mark.
    cast_once.snap_cursor = True
    cast_once.select_hit = True
    assert _stale(addon, cast_once) == []
    # Nor does the Custom Direction while neither side uses it.
    cast_once.custom_direction = (1.0, 0.0, 0.0)
    assert _stale(addon, cast_once) == []


def test_sidebar_change_marks_the_result(addon, cast_once):
    cast_once.direction = 'VIEW'
    assert _stale(addon, cast_once) == [HEADING, "Direction: Global -Z, now View"]
    cast_once.distance = 12.5
    cast_once.evaluated = False
    assert _stale(addon, cast_once) == [HEADING, "Direction: Global -Z, now View",
                                        "Distance: 100 m, now 12.5 m", "Modifiers: on, now off"]
    # Cast Again (the operator with the sidebar's settings) clears the mark.
    assert bpy.ops.object.bvh_cast_from_cursor() == {'FINISHED'}
    assert _stale(addon, cast_once) == []


def test_a_redo_like_change_of_one_cast_marks_the_result(addon, cast_once):
    """F9 runs the operator again with the changed value given: the sidebar keeps its own."""
    assert bpy.ops.object.bvh_cast_from_cursor(direction='CURSOR_NEG_Z', instances=False) \
        == {'FINISHED'}
    assert cast_once.direction == 'GLOBAL_NEG_Z'   # the sidebar is untouched
    assert _stale(addon, cast_once) == [HEADING, "Direction: Cursor -Z, now Global -Z",
                                        "Instances: off, now on"]


def test_custom_direction_counts_by_direction_not_length(addon, cast_once):
    cast_once.direction = 'CUSTOM'
    cast_once.custom_direction = (0.0, 0.0, -1.0)
    assert bpy.ops.object.bvh_cast_from_cursor() == {'FINISHED'}
    cast_once.custom_direction = (0.0, 0.0, -5.0)    # same ray
    assert _stale(addon, cast_once) == []
    cast_once.custom_direction = (0.0, 1.0, -1.0)
    assert _stale(addon, cast_once) == [
        HEADING, "Custom Direction: (0.00, 0.00, -1.00), now (0.00, 1.00, -1.00)"]


def test_differences_and_clearing(addon, cast_once):
    result = addon.cast.result
    cast_once.direction = 'VIEW'
    assert result.settings_differences(cast_state(), cast_once) == [
        ("Direction", "Global -Z", "View")]
    cast = cast_state()
    assert {name for name in result.FIELDS if cast.is_property_set(name)} >= {"hit", "object_uid"}
    addon.cast.state.clear_result(bpy.context)   # loops over the RNA properties: the new ones too
    assert not cast.has_result and cast.direction_words == ""
    assert [prop.identifier for prop in cast.bl_rna.properties
            if prop.identifier != "rna_type" and cast.is_property_set(prop.identifier)] == []
    assert result.settings_differences(cast, cast_once) == []
    assert _stale(addon, cast_once) == []


def test_every_state_property_has_a_description(addon):
    for prop in addon.cast.state.CastResultState.bl_rna.properties:
        if prop.identifier != "rna_type":
            assert prop.description, f"{prop.identifier} has no description"
