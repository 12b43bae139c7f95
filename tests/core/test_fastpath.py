"""The unchanged fast path: nothing evaluated since the last build → no per-object work at all;
anything evaluated (or a frame change, file load, edit mode, a missing watch) → the full walk.

After every change the result is checked against Blender's own ``Scene.ray_cast``.
"""
import subprocess
import sys
import textwrap
from pathlib import Path

import bpy

import bmesh
import pytest
import scene_builders as sb
from test_cache import _agree

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import gather as core_gather
from bvh_leakfree_addon.core import watch as core_watch

ROOT = Path(__file__).resolve().parents[2]


class Walked(RuntimeError):
    pass


@pytest.fixture
def no_walk(monkeypatch):
    """Make the per-object walk fail: a build that passes did no per-object work."""
    def boom(*args, **kwargs):
        raise Walked("the per-object walk ran")
    return lambda: monkeypatch.setattr(core_gather, "gather", boom)


def _changed_and_agrees(first, objs, **agree):
    """Both ways of following the scene do the full walk and agree with Scene.ray_cast."""
    again = api.build(objs)
    assert not again.stats.unchanged
    _agree(again, objs, **agree)
    first.update()
    assert not first.stats.unchanged
    _agree(first, objs, **agree)


def test_unchanged_build_and_update_do_no_per_object_work(scene, no_walk):
    bvh = api.build(scene)
    assert not bvh.stats.unchanged
    no_walk()
    again = api.build(scene)
    assert again.stats.unchanged and again.stats.reused and again.stats.meshes_rebuilt == 0
    assert again.stats.meshes_reused == 4 and again.stats.trees == 4
    assert again.objects == bvh.objects
    assert api.build(list(scene)).stats.unchanged      # another list, the same objects
    bvh.update()
    assert bvh.stats.unchanged and bvh.stats.reused
    _agree(bvh, scene)
    _agree(again, scene)


def test_other_lists_and_flags_walk(scene, no_walk):
    api.build(scene)
    no_walk()
    for kwargs in ({"objects": scene[::-1]}, {"objects": scene[:-1]},
                   {"objects": scene, "reuse": False}, {"objects": scene, "epsilon": 0.01},
                   {"objects": scene, "instances": False}, {"objects": scene, "evaluated": False}):
        with pytest.raises(Walked):
            api.build(**kwargs)


def test_reordered_list_maps_hits_to_the_right_objects(scene):
    api.build(scene)
    bvh = api.build(scene[::-1])
    assert not bvh.stats.unchanged
    assert bvh.objects[0] == scene[-1]
    _agree(bvh, scene)


def test_evaluated_false_never_skips_the_walk(scene):
    bvh = api.build(scene, evaluated=False)
    bvh.update()
    assert not bvh.stats.unchanged


def test_move_is_seen(scene):
    bvh = api.build(scene)
    scene[1].location.z += 0.8
    _changed_and_agrees(bvh, scene)
    assert bvh.stats.meshes_rebuilt == 0


def test_mesh_edit_is_seen(scene):
    bvh = api.build(scene)
    for v in scene[1].data.vertices:
        v.co *= 1.5
    scene[1].data.update()
    _changed_and_agrees(bvh, scene)


def test_modifier_and_shape_key_changes_are_seen(scene):
    bvh = api.build(scene)
    scene[0].modifiers["sub"].levels = 2
    _changed_and_agrees(bvh, scene)
    scene[2].data.shape_keys.key_blocks["Up"].value = 1.0
    _changed_and_agrees(bvh, scene)


def test_geometry_nodes_input_is_seen():
    gn = sb.gn_instances_object("gn", (0, 0, 0), radius_input=0.3)
    bvh = api.build([gn])
    assert api.build([gn]).stats.unchanged
    sb.set_gn_input(gn, 0.6)
    _changed_and_agrees(bvh, [gn], size=4.0, min_hits=5)


def test_deleted_object_is_left_out_by_update_never_a_stale_result(scene):
    bvh = api.build(scene)
    bpy.data.objects.remove(scene[1])
    bvh.update()
    assert not bvh.stats.unchanged and bvh.stats.objects_used == len(scene) - 1
    rest = scene[:1] + scene[2:]
    _agree(bvh, rest)
    with pytest.raises(ReferenceError):
        api.build(scene)
    _agree(api.build(rest), rest)


def test_frame_change_with_animated_modifier_is_seen(scene):
    obj = scene[1]
    mod = obj.modifiers.new("disp", 'DISPLACE')
    mod.strength = 0.0
    obj.keyframe_insert('modifiers["disp"].strength', frame=1)
    mod.strength = 1.5
    obj.keyframe_insert('modifiers["disp"].strength', frame=10)
    bpy.context.scene.frame_set(1)
    bvh = api.build(scene)
    bpy.context.scene.frame_set(10)
    _changed_and_agrees(bvh, scene)
    bpy.context.scene.frame_current = 1         # without frame_set: evaluated on demand
    _changed_and_agrees(bvh, scene)


def test_edit_mode_never_skips_the_walk(scene):
    target = scene[1]
    bvh = api.build(scene)
    bpy.context.view_layer.objects.active = target
    bpy.ops.object.mode_set(mode='EDIT')
    try:
        bvh.update()
        assert not bvh.stats.unchanged
        bvh.update()
        assert not bvh.stats.unchanged
        bm = bmesh.from_edit_mesh(target.data)
        for v in bm.verts:
            v.co.x *= 1.8
        bmesh.update_edit_mesh(target.data)
        bvh.update()
        assert not bvh.stats.unchanged and bvh.stats.meshes_rebuilt == 1
        _agree(bvh, scene)
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')
    _changed_and_agrees(bvh, scene)


def test_file_reload_invalidates(scene):
    bvh = api.build(scene)
    assert core_watch.runtime_hooks_active()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert not core_watch.runtime_hooks_active()      # Blender dropped the watch
    bvh.update()                                      # every object is gone: nothing to hit
    assert not bvh.stats.unchanged and bvh.stats.objects_used == 0
    assert bvh.ray_cast((0, 0, 5), (0, 0, -1)) is None
    objs = [sb.mesh_object("ico", sb.ico_mesh("i"), (0, 0, 0))]
    new = api.build(objs)
    assert not new.stats.unchanged and core_watch.runtime_hooks_active()
    _agree(new, objs, min_hits=10)


def test_missing_watch_means_unknown_changes(scene):
    """If the watch is removed behind the core's back, a change made meanwhile is not missed."""
    bvh = api.build(scene)
    core_watch.remove_hooks()
    scene[1].location.x += 1.0
    bpy.context.evaluated_depsgraph_get()             # evaluated while nobody watched
    bvh.update()
    assert not bvh.stats.unchanged
    _agree(bvh, scene)
    assert api.build(scene).stats.unchanged


def test_explicit_depsgraph(scene):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    bvh = api.build(scene, depsgraph)
    assert api.build(scene, depsgraph).stats.unchanged
    scene[0].location.y -= 0.5
    bvh.update()      # the context's own depsgraph: evaluated first, so the move is seen
    assert not bvh.stats.unchanged
    _agree(bvh, scene)


def test_watch_is_one_callback_removed_by_shutdown(scene):
    for _ in range(3):
        api.build(scene).update()
    for name in core_watch.WATCHED_HANDLERS:
        callbacks = getattr(bpy.app.handlers, name)
        assert callbacks.count(core_watch._callback(name)) == 1, name
        assert sum(callbacks.count(cb) for cb in (core_watch._on_change, core_watch._on_update,
                                                  core_watch._on_frame)) == 1, name
    api.shutdown()
    assert core_watch.runtime_hooks_active() == []
    for name in core_watch.WATCHED_HANDLERS:
        callbacks = getattr(bpy.app.handlers, name)
        for callback in (core_watch._on_change, core_watch._on_update, core_watch._on_frame):
            assert callback not in callbacks, name
    bvh = api.build(scene)
    assert not bvh.stats.unchanged
    _agree(bvh, scene)


def test_the_watch_leaves_when_the_interpreter_does():
    """A script that builds and ends without ``api.shutdown()``: the watch is out of
    ``bpy.app.handlers`` before the ``bpy`` module exits (4.2 segfaulted there, 4.5 hung, with a
    callback left in), and the process ends cleanly."""
    script = textwrap.dedent(f"""
        import atexit, sys
        sys.path.insert(0, {str(ROOT)!r})
        import bpy

        def left():
            print("LEFT", watch.runtime_hooks_active(), flush=True)
        atexit.register(left)      # registered first: runs after the add-on's exit hooks
        from bvh_leakfree_addon import api
        from bvh_leakfree_addon.core import watch
        bpy.ops.mesh.primitive_ico_sphere_add()
        api.build([bpy.context.object]).ray_cast_many([(0, 0, 5)] * 50000, (0, 0, -1))
        print("HOOKS", len(watch.runtime_hooks_active()), flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert "HOOKS 5" in proc.stdout and "LEFT []" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stderr[-2000:]


# --- moves only: matrices read again, nothing else --------------------------------------------

def _move_all(objs, step):
    for k, obj in enumerate(objs):
        obj.location.x += step * (k + 1)
        obj.rotation_euler.z += 0.2 * step
    objs[1].scale = (1.0 + step, 1.3, 0.8)


def test_moves_only_read_matrices_and_agree(scene, no_walk):
    bvh = api.build(scene)
    no_walk()                                     # moved rebuilds do no per-object work
    for step in (0.3, -0.5, 0.2):
        _move_all(scene, step)
        again = api.build(scene)
        assert again.stats.transforms_only and not again.stats.unchanged
        assert again.stats.meshes_rebuilt == 0 and again.stats.meshes_reused == 4
        _agree(again, scene)
        _move_all(scene, -step / 2)
        bvh.update()
        assert bvh.stats.transforms_only and bvh.stats.meshes_rebuilt == 0
        _agree(bvh, scene)


def test_move_together_with_a_change_walks(scene):
    bvh = api.build(scene)
    _move_all(scene, 0.4)
    scene[0].modifiers["sub"].levels = 2
    bvh.update()
    assert not bvh.stats.transforms_only and bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)
    _move_all(scene, 0.4)
    scene[2].data.shape_keys.key_blocks["Up"].value = 0.3
    again = api.build(scene)
    assert not again.stats.transforms_only and again.stats.meshes_rebuilt == 1
    _agree(again, scene)


def test_moving_what_a_geometry_depends_on_is_a_change():
    """A Boolean cutter, a Shrinkwrap target, a driver source: their moves change other objects'
    geometry, which the watch sees."""
    target = sb.mesh_object("target", sb.ico_mesh("t", 3, 1.0), (0, 0, 0))
    cutter = sb.mesh_object("cutter", sb.cube_mesh("c", 0.8), (0.9, 0, 0.5))
    target.modifiers.new("bool", 'BOOLEAN').object = cutter
    wrapped = sb.mesh_object("wrapped", sb.ico_mesh("w", 2, 1.5), (5, 0, 0))
    goal = sb.mesh_object("goal", sb.cube_mesh("g", 1.0), (5.5, 0, 0))
    wrapped.modifiers.new("wrap", 'SHRINKWRAP').target = goal
    driven = sb.mesh_object("driven", sb.cube_mesh("d", 0.6), (-4, 0, 0))
    array = driven.modifiers.new("arr", 'ARRAY')
    source = sb.link(bpy.data.objects.new("driver_source", None))
    curve = array.driver_add("relative_offset_displace", 0)
    var = curve.driver.variables.new()
    var.type = 'TRANSFORMS'
    var.targets[0].id = source
    var.targets[0].transform_type = 'LOC_X'
    curve.driver.expression = f"{var.name} + 1.2"
    objs = [target, wrapped, driven]
    sb.visible_only(objs)                 # the cutter and the goal are seen by Scene.ray_cast
    bvh = api.build(objs)
    for mover in (cutter, goal, source):
        mover.location.x += 0.35
        bvh.update()
        assert not bvh.stats.transforms_only and bvh.stats.meshes_rebuilt == 1, mover.name
        _agree(bvh, objs, size=6.0, min_hits=20)


def test_builds_with_instances_or_edit_mode_are_never_moved(scene):
    gn = sb.gn_instances_object("gn", (0, -4, 0))
    objs = scene + [gn]
    bvh = api.build(objs)
    gn.location.z += 0.5
    scene[0].location.z += 0.5
    bvh.update()
    assert not bvh.stats.transforms_only
    _agree(bvh, objs, size=8.0)
    bvh = api.build(scene)
    bpy.context.view_layer.objects.active = scene[1]
    bpy.ops.object.mode_set(mode='EDIT')
    try:
        scene[0].location.z += 0.5
        bvh.update()
        assert not bvh.stats.transforms_only
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')


def test_zero_scale_after_a_move_is_skipped_then_comes_back(scene):
    bvh = api.build(scene)
    scene[1].scale = (0.0, 1.0, 1.0)
    bvh.update()
    assert bvh.stats.transforms_only
    assert ("ico", "zero scale (flat world matrix)") in bvh.stats.objects_skipped
    assert scene[1] not in bvh.objects
    scene[1].scale = (1.0, 1.0, 1.0)
    bvh.update()
    assert bvh.stats.transforms_only and scene[1] in bvh.objects
    assert not bvh.stats.objects_skipped
    _agree(bvh, scene)


def test_visibility_change_and_deletion_walk(scene):
    bvh = api.build(scene)
    scene[1].hide_viewport = True
    scene[0].location.x += 0.2
    bvh.update()
    assert not bvh.stats.transforms_only and scene[1] not in bvh.objects
    scene[1].hide_viewport = False
    bvh.update()
    bpy.data.objects.remove(scene[3])
    scene[0].location.x += 0.2
    bvh.update()
    assert not bvh.stats.transforms_only and bvh.stats.objects_used == len(scene) - 1
    _agree(bvh, scene[:3] + scene[4:])


def test_a_failing_watch_counts_a_change(scene, monkeypatch):
    bvh = api.build(scene)

    def broken(_updates):
        raise RuntimeError("flags unreadable")
    monkeypatch.setattr(core_watch, "transforms_only", broken)
    scene[0].location.x += 0.5
    bvh.update()
    assert not bvh.stats.transforms_only
    _agree(bvh, scene)
