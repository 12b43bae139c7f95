"""Viewport overlay of the last cast: one draw handler (added at register, removed at unregister,
both idempotent), what decides whether it draws, the geometry it draws, load_post clearing the
stale result, deleted hit objects.  The drawing itself needs a GPU: the GUI test looks at it."""
import bpy

import pytest
from helpers import handler_snapshot
from mathutils import Vector
from test_cast_support import cast_state, cube, select_only, set_cursor


def _draw_handlers(addon):
    return [hook for hook in addon.cast.overlay.runtime_hooks_active() if "draw handler" in hook]


@pytest.fixture
def hit_cube(addon):
    obj = cube("Target")
    select_only(obj)
    set_cursor((0.0, 0.0, 4.0))
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
    return obj


def test_two_draw_handlers_while_enabled_idempotent(addon):
    """The lines (in the view) and the hit's label (in pixels)."""
    overlay = addon.cast.overlay
    assert len(_draw_handlers(addon)) == 2
    handles = overlay._draw_handle, overlay._label_handle
    overlay.register()                       # a second register adds nothing
    assert (overlay._draw_handle, overlay._label_handle) == handles
    for _ in range(2):
        overlay.unregister()
        assert _draw_handlers(addon) == [] and overlay._draw_handle is None
        assert overlay._label_handle is None
    overlay.register()
    assert len(_draw_handlers(addon)) == 2


def test_show_overlay_is_one_setting_and_decides_what_is_drawn(addon, hit_cube):
    settings = addon.utils.get_preferences().cast
    assert settings.show_overlay                      # on by default
    overlay = addon.cast.overlay
    assert overlay.drawn_result(bpy.context) == cast_state()
    settings.show_overlay = False
    assert overlay.drawn_result(bpy.context) is None
    assert len(_draw_handlers(addon)) == 2            # the handlers stay; the callbacks return
    settings.show_overlay = True
    addon.cast.state.clear_result(bpy.context)
    assert overlay.drawn_result(bpy.context) is None  # nothing cast: nothing to draw


def test_draw_callback_in_background_creates_no_shader(addon, hit_cube):
    overlay = addon.cast.overlay
    assert bpy.app.background
    overlay._draw()  # returns at once: no GPU in background mode, must not raise
    overlay._draw_label()
    assert overlay._shader is None
    assert overlay._line_shader() is None


def test_geometry_of_a_hit(addon, hit_cube):
    geometry = addon.cast.overlay.overlay_geometry(cast_state())
    origin, end = geometry["ray"]
    assert (origin - Vector((0, 0, 4))).length < 1e-6
    assert (end - Vector((0, 0, 1))).length < 1e-5
    start, tip = geometry["normal"]
    assert (start - end).length < 1e-6
    assert (tip - start).normalized().dot(Vector((0, 0, 1))) > 0.999
    marker = geometry["marker"]
    assert all(abs((p - end).dot(Vector((0, 0, 1)))) < 1e-6 for p in marker)  # tangent plane
    # The zoom decides the sizes when the view gives a pixel size.
    scaled = addon.cast.overlay.overlay_geometry(cast_state(), lambda point: 0.01)
    assert (scaled["normal"][1] - scaled["normal"][0]).length == pytest.approx(0.6)


def test_geometry_of_a_miss_and_of_nothing(addon, hit_cube):
    overlay = addon.cast.overlay
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z', distance=12.0)
    geometry = overlay.overlay_geometry(cast_state())
    origin, end = geometry["ray"]
    assert (end - origin).length == pytest.approx(12.0)
    assert geometry["normal"] == [] and geometry["marker"] == []
    assert geometry["glyph"] and geometry["arrow"] and geometry["end"]   # see test_overlay_glyphs
    addon.cast.state.clear_result(bpy.context)
    assert overlay.overlay_geometry(cast_state()) == {key: [] for key in overlay.GEOMETRY_KEYS}


def test_deleted_hit_object_does_not_break_drawing(addon, hit_cube):
    bpy.data.objects.remove(hit_cube)
    addon.cast.overlay._draw()
    geometry = addon.cast.overlay.overlay_geometry(cast_state())
    assert len(geometry["ray"]) == 2
    lines = addon.cast.result.result_lines(cast_state())
    assert "Hit: Target (deleted since)" in [line[0] for line in lines]


def test_file_load_clears_the_stale_result_and_keeps_the_setting(addon, hit_cube, tmp_path):
    settings = addon.utils.get_preferences().cast
    settings.show_overlay = False
    assert cast_state().has_result
    path = tmp_path / "other.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.open_mainfile(filepath=str(path))
    assert not cast_state().has_result
    assert addon.cast.result.result_lines(cast_state()) == []
    assert not addon.utils.get_preferences().cast.show_overlay   # a setting: survives the load
    assert len(_draw_handlers(addon)) == 2


def test_load_post_handler_is_registered_once(addon):
    state = addon.cast.state
    assert bpy.app.handlers.load_post.count(state._on_load_post) == 1
    state.register()  # a second register (reload) must not add another
    names = [getattr(fn, "__module__", "") for fn in bpy.app.handlers.load_post]
    assert names.count(state.__name__) == 1


def test_unregister_removes_every_hook(addon):
    before = handler_snapshot()
    addon.cast.unregister()
    assert addon.cast.overlay.runtime_hooks_active() == []
    assert addon.cast.state.runtime_hooks_active() == []
    assert addon.cast.state._on_load_post not in bpy.app.handlers.load_post
    assert handler_snapshot() != before
    addon.cast.register()
    assert handler_snapshot() == before
