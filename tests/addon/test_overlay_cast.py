"""Viewport overlay of the last cast: one draw handler (idempotent), no shaders in background mode,
geometry of what is drawn, load_post clearing the stale result, deleted hit objects."""
import bpy
import pytest
from mathutils import Vector

from test_cast_support import cast_state, cube, select_only, set_cursor


def _overlay(addon):
    return addon.overlay


@pytest.fixture
def hit_cube(addon):
    obj = cube("Target")
    select_only(obj)
    set_cursor((0.0, 0.0, 4.0))
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
    return obj


def test_overlay_on_by_default_and_toggle_is_idempotent(addon):
    overlay = _overlay(addon)
    assert overlay.is_enabled()  # preferences: overlay on by default
    assert any("draw handler" in hook for hook in overlay.runtime_hooks_active())
    state = bpy.context.window_manager.bvh_leakfree.cast
    assert state.show_overlay
    for _ in range(3):
        state.show_overlay = False
        assert not overlay.is_enabled()
        assert not any("draw handler" in hook for hook in overlay.runtime_hooks_active())
    overlay.disable()
    for _ in range(3):
        overlay.enable()
        state.show_overlay = True
    handle = overlay._draw_handle
    overlay.enable()
    assert overlay._draw_handle is handle  # added once
    assert state.show_overlay


def test_overlay_default_off_is_respected_at_start(addon):
    overlay = _overlay(addon)
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    prefs.overlay_default = False
    overlay.unregister()
    assert overlay.runtime_hooks_active() == []
    overlay.register()
    assert not overlay.is_enabled()
    assert overlay.runtime_hooks_active() == ["load_post handler (clears the last cast)"]


def test_load_post_handler_is_registered_once(addon):
    overlay = _overlay(addon)
    count = sum(fn is overlay._load_post for fn in bpy.app.handlers.load_post)
    assert count == 1
    overlay.register()  # a second register (reload) must not add another
    names = [getattr(fn, "__module__", "") for fn in bpy.app.handlers.load_post]
    assert names.count(overlay.__name__) == 1


def test_draw_callback_in_background_creates_no_shader(addon, hit_cube):
    overlay = _overlay(addon)
    assert bpy.app.background
    overlay._draw()  # returns at once: no GPU in background mode, must not raise
    assert overlay._shader is None
    assert overlay._line_shader() is None


def test_geometry_of_a_hit(addon, hit_cube):
    geometry = _overlay(addon).overlay_geometry(cast_state())
    origin, end = geometry["ray"]
    assert (origin - Vector((0, 0, 4))).length < 1e-6
    assert (end - Vector((0, 0, 1))).length < 1e-5
    start, tip = geometry["normal"]
    assert (start - end).length < 1e-6
    assert (tip - start).normalized().dot(Vector((0, 0, 1))) > 0.999
    marker = geometry["marker"]
    assert len(marker) % 2 == 0 and len(marker) >= 16
    radii = [(p - end).length for p in marker]
    assert max(radii) - min(radii) < 1e-6
    assert all(abs((p - end).dot(Vector((0, 0, 1)))) < 1e-6 for p in marker)  # tangent plane
    # The zoom decides the sizes when the view gives a pixel size.
    scaled = _overlay(addon).overlay_geometry(cast_state(), lambda point: 0.01)
    assert (scaled["normal"][1] - scaled["normal"][0]).length == pytest.approx(0.6)


def test_geometry_of_a_miss_and_of_nothing(addon, hit_cube):
    overlay = _overlay(addon)
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z', distance=12.0)
    geometry = overlay.overlay_geometry(cast_state())
    origin, end = geometry["ray"]
    assert (end - origin).length == pytest.approx(12.0)
    assert geometry["normal"] == [] and geometry["marker"] == []
    addon.operators.clear_result(bpy.context)
    assert overlay.overlay_geometry(cast_state()) == {"ray": [], "normal": [], "marker": []}


def test_deleted_hit_object_does_not_break_drawing(addon, hit_cube):
    overlay = _overlay(addon)
    bpy.data.objects.remove(hit_cube)
    overlay._draw()
    geometry = overlay.overlay_geometry(cast_state())
    assert len(geometry["ray"]) == 2
    lines = addon.ui.result_lines(cast_state())
    assert lines[1][0] == "Hit: Target (deleted)"


def test_file_load_clears_the_stale_result(addon, hit_cube, tmp_path):
    assert cast_state().has_result
    path = tmp_path / "other.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.open_mainfile(filepath=str(path))
    assert not cast_state().has_result
    assert cast_state().report == ""
    assert _overlay(addon).is_enabled()  # the toggle survives a file load


def test_unregister_removes_every_hook(addon):
    overlay = _overlay(addon)
    overlay.enable()
    overlay.unregister()
    assert overlay.runtime_hooks_active() == []
    assert overlay._load_post not in bpy.app.handlers.load_post
    overlay.register()
