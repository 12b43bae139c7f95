"""``core.compat``: each difference between Blender versions is handled on the running one."""
import bpy

import pytest
import scene_builders as sb

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import compat, idtypes


def test_only_id_type_collections_are_counted():
    """``bpy.data.all_ids`` (5.2) is not a type: never listed, and the per-type totals add up to
    every ID once (``all_ids`` itself, where Blender has it, is that total)."""
    sb.mesh_object("a", sb.cube_mesh("a"))
    bpy.data.materials.new("m")
    names = idtypes.id_collection_names()
    assert "all_ids" not in names
    assert {"meshes", "objects", "materials", "scenes"} <= set(names)
    for name in names:     # each holds one type
        assert len({id_.id_type for id_ in getattr(bpy.data, name)}) <= 1, name
    counts = api.datablock_counts()
    assert "all_ids" not in counts
    everything = getattr(bpy.data, "all_ids", None)
    if everything is not None:
        assert sum(c.total for c in counts.values()) == len(everything)


def _scene_hits(origin):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return bpy.context.scene.ray_cast(depsgraph, origin, (0.0, 0.0, -1.0))[0]


def test_a_geometry_nodes_input_is_read_and_written_and_re_evaluates():
    """The cone radius of ``gn_instances_object`` goes 0.3 → 0.6: a ray 0.45 beside a cone's axis
    misses, then hits, in Blender and in the BVH."""
    obj = sb.gn_instances_object("gn", (0, 0, 0), radius_input=0.3)
    mod = obj.modifiers["instances"]
    socket = next(item for item in mod.node_group.interface.items_tree
                  if item.item_type == 'SOCKET' and item.in_out == 'INPUT'
                  and item.socket_type == 'NodeSocketFloat')
    assert compat.modifier_input(mod, socket.identifier) == pytest.approx(0.3)
    corner = obj.data.vertices[0].co
    beside = (corner.x + 0.45, corner.y, 5.0)
    narrow = api.build([obj])
    assert narrow.ray_cast(beside, (0.0, 0.0, -1.0)) is None and not _scene_hits(beside)
    compat.set_modifier_input(mod, socket.identifier, 0.6)
    assert compat.modifier_input(mod, socket.identifier) == pytest.approx(0.6)
    wide = api.build([obj])
    assert wide.stats.meshes_rebuilt == 1
    assert wide.ray_cast(beside, (0.0, 0.0, -1.0)) is not None and _scene_hits(beside)


def test_a_new_material_gets_a_node_tree():
    mat = bpy.data.materials.new("m")
    tree = compat.material_node_tree(mat)
    assert tree is not None and tree == mat.node_tree
    assert compat.material_node_tree(mat) == tree


def test_grease_pencil_codes_resolve_to_collections_of_this_blender():
    names = idtypes.id_collection_names()
    legacy = compat.grease_pencil_collection("GREASEPENCIL", names)
    assert legacy in names
    current = compat.grease_pencil_collection("GREASEPENCIL_V3", names)
    assert current is None or (current in names and current != legacy)
    assert compat.grease_pencil_collection("MESH", names) is None
    assert idtypes.collection_of_code("GREASEPENCIL") == legacy
    assert idtypes.collection_of_code(float("nan")) is None
