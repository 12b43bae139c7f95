"""Reuse and invalidation: every kind of change is seen, unchanged work is never redone.

After each change the result is checked against Blender's own ``Scene.ray_cast`` (not against the
previous build), so a missed invalidation fails the test even if the counters looked right.
"""

import bpy

import bmesh
import numpy as np
import pytest
import scene_builders as sb

from bvh_leakfree_addon import api


def _agree(bvh, objs, n=400, seed=7, size=8.0, min_hits=40):
    """Assert the BVH agrees with Scene.ray_cast on ``n`` rays aimed at ``objs``."""
    origins, directions = sb.random_rays(n, size, seed=seed, objects=objs)
    expected = sb.scene_ray_cast(origins, directions)
    got = bvh.ray_cast_many(origins, directions)
    hits = 0
    for r, (ok, loc, _nor, index, obj) in enumerate(expected):
        assert bool(got["hit"][r]) == ok, r
        if ok:
            hits += 1
            assert bvh.objects[got["object_index"][r]] == obj, r
            assert got["polygon_index"][r] == index, r
            assert np.linalg.norm(got["location"][r] - np.asarray(loc)) < 1e-4 * size, r
    assert hits >= min_hits, hits


def test_unchanged_scene_rebuilds_nothing(scene):
    bvh = api.build(scene)
    assert bvh.stats.meshes_rebuilt == 4     # the twins share one tree
    assert bvh.stats.trees == 4
    again = api.build(scene)
    assert again.stats.reused and again.stats.meshes_rebuilt == 0
    assert again.stats.meshes_reused == 4
    bvh.update()
    assert bvh.stats.reused
    _agree(bvh, scene)


def test_transform_change_does_no_mesh_work(scene):
    bvh = api.build(scene)
    for obj in scene:
        obj.location.x += 0.7
        obj.rotation_euler.z += 0.3
    scene[1].scale = (1.0, 1.5, 0.7)
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 0 and bvh.stats.reused
    _agree(bvh, scene)


def test_mesh_edit_is_seen(scene):
    bvh = api.build(scene)
    mesh = scene[1].data
    for v in mesh.vertices:
        v.co *= 1.4
    mesh.update()
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)


def test_mesh_edit_through_foreach_set_and_update_is_seen(scene):
    bvh = api.build(scene)
    mesh = scene[1].data
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    mesh.vertices.foreach_set("co", co * 0.5)
    mesh.update()
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)


def test_modifier_change_is_seen(scene):
    bvh = api.build(scene)
    scene[0].modifiers["sub"].levels = 2
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)
    scene[1].modifiers.new("disp", 'DISPLACE').strength = 0.4
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)
    scene[0].modifiers["sub"].show_viewport = False
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)


def test_shape_key_change_is_seen(scene):
    bvh = api.build(scene)
    scene[2].data.shape_keys.key_blocks["Up"].value = 1.0
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)


def test_linked_duplicate_edit_rebuilds_the_shared_tree_once(scene):
    bvh = api.build(scene)
    mesh = scene[3].data
    for v in mesh.vertices:
        v.co.z *= 2.0
    mesh.update()
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)
    scene[4].modifiers.new("sub", 'SUBSURF')   # now the twins differ
    bvh.update()
    assert bvh.stats.trees == 5
    _agree(bvh, scene)


def test_swapped_mesh_and_dependency_change_are_seen(scene):
    bvh = api.build(scene)
    scene[1].data = sb.cube_mesh("other", 1.5)
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)
    # a boolean modifier depends on another object's transform: moving it changes geometry
    cutter = sb.mesh_object("cutter", sb.cube_mesh("k", 1.0), (0.6, 0.6, 0.6))
    cutter.hide_set(True)
    mod = scene[0].modifiers.new("bool", 'BOOLEAN')
    mod.object = cutter
    bvh.update()
    _agree(bvh, scene)
    cutter.location.x -= 0.5
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, scene)


def test_deleted_and_recreated_object_is_not_confused(scene):
    bvh = api.build(scene)
    for _ in range(5):   # freed memory is likely to be reused by the new mesh and object
        victim = scene.pop(1)
        mesh = victim.data
        bpy.data.objects.remove(victim)
        bpy.data.meshes.remove(mesh)
        new = sb.mesh_object("ico", sb.ico_mesh("i", 1, radius=0.6), (3, 0.3, 0))
        scene.insert(1, new)
        bvh = api.build(scene)
        _agree(bvh, scene)


def test_geometry_nodes_input_change_is_seen():
    gn = sb.gn_instances_object("gn", (0, 0, 0), radius_input=0.3)
    bvh = api.build([gn])
    assert bvh.stats.instances == 4 and bvh.stats.trees == 1
    _agree(bvh, [gn], size=4.0, min_hits=5)
    sb.set_gn_input(gn, 0.6)
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    _agree(bvh, [gn], size=4.0, min_hits=5)
    gn.location.z += 1.0
    bvh.update()
    _agree(bvh, [gn], size=4.0, min_hits=5)


def test_edit_mode_edits_are_seen(scene):
    target = scene[1]
    bvh = api.build(scene)
    bpy.context.view_layer.objects.active = target
    bpy.ops.object.mode_set(mode='EDIT')
    try:
        bvh.update()
        _agree(bvh, scene)
        bm = bmesh.from_edit_mesh(target.data)
        for v in bm.verts:
            v.co.x *= 1.8
        bmesh.update_edit_mesh(target.data)
        bvh.update()
        assert bvh.stats.meshes_rebuilt == 1
        _agree(bvh, scene)
        bvh.update()
        assert bvh.stats.reused   # unchanged edit mesh: matched by content
    finally:
        bpy.ops.object.mode_set(mode='OBJECT')
    bvh.update()
    _agree(bvh, scene)


def test_curve_edit_is_seen():
    curve = sb.curve_object("curve", (0, 0, 0))
    text = sb.text_object("text", (0, 3, 0))
    bvh = api.build([curve, text])
    again = api.build([curve, text])
    assert again.stats.reused
    curve.data.bevel_depth = 0.5
    text.data.body = "Other"
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 2
    _agree(bvh, [curve, text])


def test_evaluated_and_instances_flags():
    cube = sb.mesh_object("cube", sb.cube_mesh("c", 1.0), (0, 0, 0))
    cube.modifiers.new("arr", 'ARRAY').count = 3
    gn = sb.gn_instances_object("gn", (0, 6, 0))
    evaluated = api.build([cube, gn])
    original = api.build([cube, gn], evaluated=False, instances=False)
    # the array reaches x = 2.5; the original cube ends at 0.5
    assert evaluated.ray_cast((2.0, 0, 5), (0, 0, -1)) is not None
    assert original.ray_cast((2.0, 0, 5), (0, 0, -1)) is None
    assert original.ray_cast((0.0, 0, 5), (0, 0, -1)).object == cube
    # evaluated: the cube and 4 cone instances (the GN output has no mesh of its own);
    # original data without instances: the cube and the GN object's original one-quad plane
    assert evaluated.stats.instances == 5
    assert original.stats.instances == 2
    assert not original.stats.objects_skipped
    # both modes cached independently, and valid again afterwards
    assert api.build([cube, gn]).stats.reused
    assert api.build([cube, gn], evaluated=False, instances=False).stats.reused


def test_original_data_edit_is_seen_with_evaluated_false(scene):
    bvh = api.build(scene, evaluated=False)
    mesh = scene[1].data
    for v in mesh.vertices:
        v.co.z += 1.0
    mesh.update()
    bvh.update()
    assert bvh.stats.meshes_rebuilt == 1
    hit = bvh.ray_cast((3, 0, 5), (0, 0, -1))
    assert hit.location.z == pytest.approx(2.0, abs=1e-3)


def test_converted_mesh_is_cached_on_its_own_and_nothing_is_written_into_data(scene):
    """A mesh made from evaluated data (Convert to Mesh, new_from_object) copies ID properties:
    the cache writes none (neither into user data nor into evaluated data), so nothing of the
    add-on can reach converted meshes or exported files, and the converted mesh is its own entry."""
    api.build(scene)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for obj in scene:
        assert not obj.data.keys() and not obj.evaluated_get(depsgraph).data.keys()
    converted = bpy.data.meshes.new_from_object(scene[0].evaluated_get(depsgraph))
    assert not converted.keys()
    obj = sb.mesh_object("converted", converted, (0, -3, 0))
    objs = scene + [obj]
    bvh = api.build(objs)
    _agree(bvh, objs)
    for v in converted.vertices:
        v.co.z += 0.8
    converted.update()
    bvh.update()
    _agree(bvh, objs)


def test_reuse_false_rebuilds_everything(scene):
    api.build(scene)
    bvh = api.build(scene, reuse=False)
    assert bvh.stats.meshes_rebuilt == 4 and not bvh.stats.reused
    _agree(bvh, scene)


def test_epsilon_change_rebuilds(scene):
    api.build(scene)
    bvh = api.build(scene, epsilon=0.01)
    assert bvh.stats.meshes_rebuilt == 4


def test_clear_cache():
    obj = sb.mesh_object("ico", sb.ico_mesh("i"), (0, 0, 0))
    api.build([obj])
    assert api.cache_info()[0] >= 1
    api.clear_cache()
    assert api.cache_info() == (0, 0)
    assert api.build([obj]).stats.meshes_rebuilt == 1
