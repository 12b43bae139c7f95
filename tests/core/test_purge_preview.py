"""purge_preview, the dry run of a purge (issue 15): on random graphs of objects, meshes (with
shape keys), materials, images and node groups, what it says will go is exactly what the purge
then removes, by identity, with and without the recursive cascade."""
import random

import bpy

import pytest

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import compat, datablocks, idtypes


def _material(name):
    mat = bpy.data.materials.new(name)
    compat.material_node_tree(mat)
    return mat


def deep_graph(seed):
    """Objects → meshes (some with shape keys) → materials → images and node groups → images and
    other node groups; objects in and out of the scene; fake users; repeated slots."""
    rng = random.Random(seed)
    images = [bpy.data.images.new(f"img{i}", 2, 2) for i in range(8)]
    groups = []
    for i in range(6):
        group = bpy.data.node_groups.new(f"grp{i}", "ShaderNodeTree")
        if rng.random() < 0.6:
            group.nodes.new("ShaderNodeTexImage").image = rng.choice(images)
        if groups and rng.random() < 0.5:
            group.nodes.new("ShaderNodeGroup").node_tree = rng.choice(groups)
        groups.append(group)
    materials = []
    for i in range(10):
        mat = _material(f"mat{i}")
        for _ in range(rng.choice((0, 1, 2))):
            mat.node_tree.nodes.new("ShaderNodeTexImage").image = rng.choice(images)
        if rng.random() < 0.5:
            mat.node_tree.nodes.new("ShaderNodeGroup").node_tree = rng.choice(groups)
        materials.append(mat)
    meshes = []
    for i in range(14):
        mesh = bpy.data.meshes.new(f"me{i}")
        for _ in range(rng.choice((0, 1, 1, 2))):
            mesh.materials.append(rng.choice(materials))
        meshes.append(mesh)
    for i in range(16):
        obj = bpy.data.objects.new(f"ob{i}", rng.choice(meshes) if rng.random() < 0.9 else None)
        if obj.data is not None and rng.random() < 0.3 and obj.data.shape_keys is None:
            obj.shape_key_add(name="Basis")
        if rng.random() < 0.65:
            bpy.context.scene.collection.objects.link(obj)
    for id_ in images + groups + materials + meshes:
        if rng.random() < 0.1:
            id_.use_fake_user = True


def every_uid():
    return {(name, id_.session_uid) for name in idtypes.id_collection_names()
            for id_ in getattr(bpy.data, name)}


def preview_uids(preview):
    return {(name, uid) for name, items in preview.items() for uid, _name in items}


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("types", ['MESH', 'OBJECT', 'ALL'])
@pytest.mark.parametrize("recursive", [False, True])
def test_preview_equals_what_the_purge_removes(seed, types, recursive):
    deep_graph(seed)
    preview = api.purge_preview(types, recursive=recursive)
    before = every_uid()
    removed = api.purge_orphans(types, recursive=recursive)
    gone = before - every_uid()
    assert preview_uids(preview) == gone
    assert sum(removed.values()) == len(gone)
    assert {name: len(items) for name, items in preview.items()} == removed


def test_the_random_graphs_cascade():
    """The graphs above are worth something only if the cascade takes more than the orphans."""
    extra = 0
    for seed in range(8):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        deep_graph(seed)
        direct = preview_uids(api.purge_preview('MESH'))
        full = preview_uids(api.purge_preview('MESH', recursive=True))
        assert direct <= full
        extra += len(full - direct)
    assert extra >= 8


def test_a_deep_cascade_is_previewed_level_by_level():
    image = bpy.data.images.new("tex", 2, 2)
    inner = bpy.data.node_groups.new("inner", "ShaderNodeTree")
    inner.nodes.new("ShaderNodeTexImage").image = image
    outer = bpy.data.node_groups.new("outer", "ShaderNodeTree")
    outer.nodes.new("ShaderNodeGroup").node_tree = inner
    mat = _material("mat")
    mat.node_tree.nodes.new("ShaderNodeGroup").node_tree = outer
    mesh = bpy.data.meshes.new("orphan")
    mesh.materials.append(mat)
    kept = bpy.data.images.new("already_an_orphan", 2, 2)   # not a mesh: a MESH cascade keeps it
    direct = api.purge_preview('MESH')
    assert {name: [n for _u, n in items] for name, items in direct.items()} == {
        "meshes": ["orphan"]}
    full = api.purge_preview('MESH', recursive=True)
    assert {name: [n for _u, n in items] for name, items in full.items()} == {
        "images": ["tex"], "materials": ["mat"], "meshes": ["orphan"],
        "node_groups": ["inner", "outer"]}
    assert len(bpy.data.meshes) == 1 and kept.name in bpy.data.images   # nothing deleted
    api.purge_orphans('MESH', recursive=True)
    assert list(bpy.data.images.keys()) == ["already_an_orphan"]


def test_shape_keys_go_with_their_mesh_and_are_previewed():
    obj = bpy.data.objects.new("o", bpy.data.meshes.new("with_keys"))
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis")
    bpy.data.objects.remove(obj)
    preview = api.purge_preview('MESH')
    assert set(preview) == {"meshes", "shape_keys"}
    assert api.purge_orphans('MESH') == {"meshes": 1, "shape_keys": 1}


def test_fake_user_and_linked_stop_the_cascade_and_users_outside_too():
    mat = bpy.data.materials.new("kept")
    mat.use_fake_user = True
    shared = bpy.data.materials.new("shared")
    orphan = bpy.data.meshes.new("orphan")
    orphan.materials.append(mat)
    orphan.materials.append(shared)
    used = bpy.data.objects.new("user", bpy.data.meshes.new("used"))
    bpy.context.scene.collection.objects.link(used)
    used.data.materials.append(shared)
    preview = api.purge_preview('ALL', recursive=True)
    assert preview_uids(preview) == {("meshes", orphan.session_uid)}


def test_nothing_to_purge_previews_nothing():
    assert api.purge_preview('ALL', recursive=True) == {}
    assert datablocks.purge_preview('MESH') == {}
