"""Issue 23.4: a cast is an undo step only when it changes something (snap, select); undoing it puts
the cursor back (Blender's undo never does) and the result box and overlay follow undo and redo.

Headless, Blender has no undo stack to step through: here the decision, what a step records and
how the box and cursor follow when the scene's number moves (what an undo does to it); the GUI test
presses Ctrl+Z and Ctrl+Shift+Z in a window."""
import bpy

import pytest
from mathutils import Vector
from test_cast_support import cast_state, cube, select_only, set_cursor


@pytest.fixture
def scene(addon):
    low = cube("Low", location=(0.0, 0.0, 0.0))
    far = cube("Far", location=(6.0, 0.0, 0.0))
    select_only(low, far, active=far)
    set_cursor((0.2, 0.1, 3.0))
    return low, far


def _result(addon, direction='GLOBAL_NEG_Z'):
    return addon.cast.service.cast_from_cursor(
        bpy.context, direction=direction, custom_direction=(0, 0, -1), distance=100.0,
        evaluated=True, instances=True)


def test_only_a_cast_that_changes_something_is_an_undo_step(addon, scene):
    changes = addon.cast.operators.changes_something
    hit = _result(addon)
    miss = _result(addon, 'GLOBAL_Z')
    assert hit.hit and not miss.hit
    assert not changes(bpy.context, hit, False, False)       # the defaults: a look, no step
    assert not changes(bpy.context, miss, True, True)        # a miss changes nothing
    assert changes(bpy.context, hit, True, False)            # the cursor moves
    assert changes(bpy.context, hit, False, True)            # Low becomes the one selected
    # Once the cursor is at the hit and Low alone is selected, that hit changes nothing.
    addon.cast.service.snap_cursor_to_hit(bpy.context.scene, hit)
    addon.cast.service.select_hit_object(bpy.context, hit)
    assert not changes(bpy.context, hit, True, True)


def test_a_cast_that_changes_nothing_leaves_no_number_on_the_scene(addon, scene):
    step = addon.cast.undo.step_of
    assert step(bpy.context.scene) == 0
    for _ in range(3):
        assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z') == {'FINISHED'}
        assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z',
                                                   snap_cursor=True) == {'FINISHED'}
    assert step(bpy.context.scene) == 0
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z',
                                               snap_cursor=True) == {'FINISHED'}
    assert step(bpy.context.scene) > 0                        # the snapping cast's step


def test_undo_and_redo_of_a_snapping_cast_move_the_cursor_and_the_box(addon, scene):
    """What Ctrl+Z does to the scene's number (the undo step before the cast holds the old one),
    followed as the undo handlers follow it."""
    undo, scene_ = addon.cast.undo, bpy.context.scene
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z')          # a miss: the box shows it
    miss_box = undo.snapshot(cast_state())
    before = Vector(scene_.cursor.location)
    assert bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', snap_cursor=True,
                                               select_hit=True) == {'FINISHED'}
    snapped = Vector(scene_.cursor.location)
    assert (snapped - Vector((0.2, 0.1, 1.0))).length < 1e-5 and cast_state().hit
    hit_box = undo.snapshot(cast_state())
    number = undo.step_of(scene_)
    # Ctrl+Z: the scene is back at the step before the cast
    setattr(scene_, undo.STEP_PROPERTY, 0)
    assert undo.follow(bpy.context, number)
    assert (Vector(scene_.cursor.location) - before).length < 1e-6
    assert undo.snapshot(cast_state()) == miss_box and not cast_state().hit
    # Ctrl+Shift+Z: at the cast's step again
    setattr(scene_, undo.STEP_PROPERTY, number)
    assert undo.follow(bpy.context, 0)
    assert (Vector(scene_.cursor.location) - snapped).length < 1e-6
    assert undo.snapshot(cast_state()) == hit_box
    # Nothing moved: nothing to follow
    assert not undo.follow(bpy.context, number)


def test_a_cursor_moved_by_hand_since_stays_where_it_is(addon, scene):
    undo, scene_ = addon.cast.undo, bpy.context.scene
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', snap_cursor=True)
    number = undo.step_of(scene_)
    scene_.cursor.location = (5.0, 5.0, 5.0)            # Shift+right-click: not an undo step
    setattr(scene_, undo.STEP_PROPERTY, 0)
    undo.follow(bpy.context, number)
    assert tuple(scene_.cursor.location) == pytest.approx((5.0, 5.0, 5.0))


def test_undoing_two_casts_one_by_one(addon, scene):
    undo, scene_ = addon.cast.undo, bpy.context.scene
    start = Vector(scene_.cursor.location)
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', snap_cursor=True)
    first = undo.step_of(scene_)
    set_cursor((0.5, -0.5, 3.0))
    second_before = Vector(scene_.cursor.location)
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', snap_cursor=True)
    second = undo.step_of(scene_)
    assert second == first + 1
    setattr(scene_, undo.STEP_PROPERTY, first)      # one undo: the second cast
    undo.follow(bpy.context, second)
    assert (Vector(scene_.cursor.location) - second_before).length < 1e-6
    setattr(scene_, undo.STEP_PROPERTY, 0)          # another: the first
    undo.follow(bpy.context, first)
    # the cursor was put above by hand between the casts: the first cast's undo leaves it there
    assert (Vector(scene_.cursor.location) - second_before).length < 1e-6
    assert (Vector(scene_.cursor.location) - start).length > 0.1
    assert not cast_state().has_result               # the box as it was before any cast


def test_the_history_is_bounded_and_forgotten_on_load(addon, scene):
    undo = addon.cast.undo
    for i in range(undo.HISTORY + 5):
        set_cursor((0.2, 0.1, 3.0 + i % 2))
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z', snap_cursor=True)
    assert len(undo._entries) == undo.HISTORY
    undo._on_load_post(None)
    assert len(undo._entries) == 0


def test_the_scene_property_and_handlers_go_with_the_add_on(installed_zip):
    from helpers import disable_addon, enable_addon

    enable_addon()
    assert hasattr(bpy.types.Scene, "bvh_leakfree_cast_step")
    disable_addon()
    assert not hasattr(bpy.types.Scene, "bvh_leakfree_cast_step")
    assert not any(getattr(fn, "__module__", "").endswith("cast.undo")
                   for name in ("undo_pre", "undo_post", "redo_pre", "redo_post", "load_post")
                   for fn in getattr(bpy.app.handlers, name))


def test_a_failed_cast_shows_no_earlier_result(addon, scene):
    """Issue 23.13: after a failed cast the box still showed the previous hit."""
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    assert cast_state().hit
    select_only()
    with pytest.raises(RuntimeError, match="Select at least one object with geometry"):
        bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    state = cast_state()
    assert state.error.startswith("Select at least one object with geometry")
    assert not state.has_result and not state.hit
    assert addon.cast.overlay.drawn_result(bpy.context) is None
    select_only(bpy.data.objects["Low"])
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    assert cast_state().error == "" and cast_state().hit
