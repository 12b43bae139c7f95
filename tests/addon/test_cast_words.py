"""Where the ray went, in words: the result box and a miss's report say it ("along your view, away
from you", "straight down", "along the cursor's -Z"), as seen from the view the ray was cast in."""
import math

import bpy

import pytest
from mathutils import Euler, Vector
from test_cast_support import cast_report, cast_state, cube, select_only, set_cursor

DOWN = Vector((0.0, 0.0, -1.0))


def _words(addon, mode, direction, view=None, fell_back=False):
    return addon.cast.words.direction_words(mode, Vector(direction), view, fell_back)


def test_words_of_each_kind_of_direction(addon):
    oblique = Vector((0.3, -0.8, -0.5)).normalized()
    assert _words(addon, 'VIEW', oblique, (oblique, True)) == ["along your view", "away from you"]
    assert _words(addon, 'VIEW', oblique, (oblique, False)) == ["along your view",
                                                                "into the screen"]
    assert _words(addon, 'GLOBAL_NEG_Z', DOWN) == ["straight down"]
    assert _words(addon, 'GLOBAL_Z', -DOWN) == ["straight up"]
    assert _words(addon, 'GLOBAL_NEG_Y', (0, -1, 0)) == ["along world -Y"]
    assert _words(addon, 'CURSOR_NEG_Z', DOWN) == ["along the cursor's -Z", "straight down"]
    assert _words(addon, 'CURSOR_X', oblique) == ["along the cursor's +X"]
    assert _words(addon, 'CUSTOM', oblique) == ["along the custom direction"]
    # View without a 3D viewport fell back to the cursor's -Z: the words say so.
    assert _words(addon, 'VIEW', DOWN, None, fell_back=True) == ["along the cursor's -Z",
                                                                 "straight down"]


def test_words_relate_the_ray_to_the_viewer(addon):
    looking_down = (DOWN, True)
    assert _words(addon, 'GLOBAL_NEG_Z', DOWN, looking_down) == ["straight down", "away from you"]
    assert _words(addon, 'GLOBAL_Z', -DOWN, looking_down) == ["straight up", "toward you"]
    assert _words(addon, 'GLOBAL_Z', -DOWN, (DOWN, False)) == ["straight up", "out of the screen"]
    # Across the view: nothing about the viewer (the overlay shows it plainly).
    assert _words(addon, 'GLOBAL_X', (1, 0, 0), looking_down) == ["along world +X"]
    # Within HEAD_ON_DEGREES of the line of sight counts as head-on; beyond, not.
    inside = math.radians(addon.cast.words.HEAD_ON_DEGREES - 1.0)
    outside = math.radians(addon.cast.words.HEAD_ON_DEGREES + 1.0)
    tilted = Vector((math.sin(inside), 0.0, -math.cos(inside)))
    assert _words(addon, 'CUSTOM', tilted, looking_down)[-1] == "away from you"
    tilted = Vector((math.sin(outside), 0.0, -math.cos(outside)))
    assert _words(addon, 'CUSTOM', tilted, looking_down) == ["along the custom direction"]


def test_a_rotated_cursor_is_not_called_straight_down(addon):
    rotated = Euler((0.4, -0.7, 1.1)).to_matrix() @ DOWN
    assert _words(addon, 'CURSOR_NEG_Z', rotated) == ["along the cursor's -Z"]


def test_the_state_and_the_result_box_keep_the_words(addon):
    select_only(cube("Target"))
    set_cursor((0.0, 0.0, 4.0))
    assert bpy.ops.object.bvh_cast_from_cursor(direction='CURSOR_NEG_Z') == {'FINISHED'}
    assert cast_state().direction_words == "along the cursor's -Z, straight down"
    lines = addon.cast.result.result_lines(cast_state())
    texts = [line[0] for line in lines]
    assert texts[:3] == ["Ray: Cursor -Z (0.00, 0.00, -1.00)", "along the cursor's -Z,",
                         "straight down"]   # wrapped: the sidebar is narrow
    assert all(len(text) <= addon.cast.result.LINE_CHARS for text in texts[1:3])


def test_a_view_miss_says_where_the_ray_went(addon, capfd):
    """Issue 15's first cast: default Direction View in the viewport, a miss: the report and the
    result box say the ray went along the view, away from the user."""
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == 'VIEW_3D')
    region = next(r for r in area.regions if r.type == 'WINDOW')
    area.spaces.active.region_3d.is_perspective = True
    select_only(cube("Target", location=(30.0, 0.0, 0.0)))
    set_cursor((0.3, 0.2, 1.0))
    with bpy.context.temp_override(window=window, area=area, region=region):
        assert bpy.ops.object.bvh_cast_from_cursor() == {'FINISHED'}   # the defaults: View
    state = cast_state()
    assert not state.hit and state.direction == 'VIEW'
    assert state.direction_words == "along your view, away from you"
    assert cast_report().startswith("No hit within 100 m, ray along your view, away from you (")
    assert "ray along your view, away from you" in capfd.readouterr().out
    texts = [line[0] for line in addon.cast.result.result_lines(state)]
    assert texts[1] == "along your view, away from you"


@pytest.mark.parametrize("phrases, lines", [
    ([], []),
    (["straight down"], ["straight down"]),
    (["along your view", "away from you"], ["along your view, away from you"]),
    (["along the cursor's -Z", "straight down", "toward you"],
     ["along the cursor's -Z,", "straight down, toward you"]),
])
def test_words_wrap_at_the_sidebar_width(addon, phrases, lines):
    assert addon.cast.result._wrap(phrases) == lines
