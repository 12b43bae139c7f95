"""Defects found by hostile use of the script API (issue 21, items 6–9 and 13), each with a test
that failed before its fix.  Real bpy, no mocks."""
import math

import bpy

import numpy as np
import pytest
import scene_builders as sb
from helpers import run_in_blender

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import merge


def _bump(obj, dz=0.3):
    """Edit ``obj``'s mesh: its evaluated geometry is replaced."""
    for v in obj.data.vertices:
        v.co.z += dz
    obj.data.update()
    bpy.context.evaluated_depsgraph_get()


# --- item 6: find_nearest follows ray_cast's staleness rule -------------------------------------

def _stretched_and_other():
    a = sb.mesh_object("Stretched", sb.ico_mesh("a", 2, 1.0), (0, 0, 0), scale=(1.0, 2.0, 0.5))
    b = sb.mesh_object("Other", sb.ico_mesh("b", 2, 1.0), (5, 0, 0))
    return a, b


def test_find_nearest_answers_for_the_build_after_an_unrelated_change():
    """Like ray_cast, find_nearest answers for the geometry the build was made from, also under
    non-uniform scale, when another object's geometry changed since."""
    a, b = _stretched_and_other()
    bvh = api.build([a, b])
    _bump(b)
    near = bvh.find_nearest((0.0, 0.0, 3.0))
    assert near is not None and near.object == a
    assert near.location.z == pytest.approx(0.5, abs=1e-3)    # the top of the stretched sphere
    assert near.distance == pytest.approx(2.5, abs=1e-3)
    other = bvh.find_nearest((5.0, 0.0, 3.0))
    assert other.object == b
    assert other.location.z == pytest.approx(1.0, abs=1e-3)    # b as built, not as bumped
    assert bvh.ray_cast((5.0, 0.0, 3.0), (0, 0, -1)).location.z == pytest.approx(1.0, abs=1e-2)
    fresh = api.build([a, b]).find_nearest((5.0, 0.0, 3.0))
    assert fresh.location.z == pytest.approx(1.3, abs=1e-3)


def test_find_nearest_under_non_uniform_scale_agrees_with_a_merged_tree():
    a, b = _stretched_and_other()
    b.scale = (0.5, 1.0, 3.0)
    b.rotation_euler = (0.3, 0.4, 0.5)
    bvh = api.build([a, b])
    rng = np.random.default_rng(3)
    tree = bvh.tree
    for p in rng.uniform(-4, 9, (60, 3)):
        ours = bvh.find_nearest(p)
        loc, _nor, index, dist = tree.find_nearest(p)
        assert ours.distance == pytest.approx(dist, rel=1e-4, abs=1e-5)
        assert (ours.location - loc).length < 1e-3
        assert ours.object == bvh.source_of(index)[0]   # (ties may pick another polygon)


def test_errors_name_the_call_the_user_made():
    """When triangles the build did not read cannot be read any more, the error names the call
    (never ``.tree`` for a find_nearest) and what happened."""
    a, b = _stretched_and_other()
    bvh = api.build([a, b])
    bvh._top.entries[0].arrays = None   # as if the build had not read them
    bvh._row_trees.clear()
    bpy.data.objects.remove(a)
    deleted = "objects this SceneBVH was built from were deleted since"
    with pytest.raises(merge.GeometryChanged, match=r"^find_nearest\(\): " + deleted):
        bvh.find_nearest((0.0, 0.0, 3.0))
    with pytest.raises(merge.GeometryChanged, match=r"^SceneBVH\.tree: " + deleted):
        bvh.tree  # noqa: B018
    if "embree" in api.ray_backends():
        with pytest.raises(merge.GeometryChanged,
                           match=r"^ray_cast_many\(backend='embree'\): " + deleted):
            bvh.ray_cast_many([(0, 0, 3)], (0, 0, -1), backend="embree")


# --- item 7: depsgraph arguments are validated --------------------------------------------------

def test_depsgraph_arguments_are_validated_naming_the_parameter():
    cube = sb.mesh_object("Cube", sb.cube_mesh("c"))
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("cam"))
    sb.link(cam)
    scene = bpy.context.scene
    expected = r"^depsgraph must be a bpy\.types\.Depsgraph or None, got "
    with pytest.raises(TypeError, match=expected + "int$"):
        api.build([cube], 5)
    with pytest.raises(TypeError, match=expected + "int$"):
        api.camera_rays(cam, (4, 4), depsgraph=5)
    with pytest.raises(TypeError, match=expected + r"Scene \(a scene's depsgraph: "):
        api.create_bvh_tree_multi_objects([cube], depsgraph=scene)
    with pytest.raises(TypeError, match=expected + "ViewLayer"):
        api.build([cube], bpy.context.view_layer)
    # the real thing still works
    assert api.build([cube], bpy.context.evaluated_depsgraph_get()).stats.objects_used == 1


# --- item 8: metaballs are hit with evaluated=False ---------------------------------------------

def test_metaball_is_hit_with_modifiers_off():
    mball = sb.metaball_object("Mball", (0, 0, 0))
    for evaluated in (True, False):
        bvh = api.build([mball], evaluated=evaluated)
        assert bvh.stats.objects_skipped == [], (evaluated, bvh.stats.objects_skipped)
        hit = bvh.ray_cast((0, 0, 5), (0, 0, -1))
        assert hit is not None and hit.object == mball, evaluated
    depsgraph = bpy.context.evaluated_depsgraph_get()
    assert bpy.context.scene.ray_cast(depsgraph, (0, 0, 5), (0, 0, -1))[0]


# --- item 9: geometry nodes that make no faces ---------------------------------------------------

def _nodes_object(name, make):
    """A plane whose geometry-nodes modifier outputs what ``make(tree, input socket)`` returns."""
    obj = sb.mesh_object(name, sb.grid_mesh(name + "_g", 3, 3, bumpy=False))
    tree = bpy.data.node_groups.new(name + "_nodes", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    inp = tree.nodes.new("NodeGroupInput")
    out = tree.nodes.new("NodeGroupOutput")
    tree.links.new(make(tree, inp.outputs[0]), out.inputs[0])
    obj.modifiers.new("nodes", 'NODES').node_group = tree
    return obj


def _points(tree, geometry):
    node = tree.nodes.new("GeometryNodeMeshToPoints")
    tree.links.new(geometry, node.inputs[0])
    return node.outputs[0]


def _curve(tree, _geometry):
    return tree.nodes.new("GeometryNodeCurvePrimitiveCircle").outputs[0]


@pytest.mark.parametrize("make", [_points, _curve], ids=["points", "curve"])
def test_geometry_nodes_without_faces_say_so(make):
    obj = _nodes_object("Nodes", make)
    cube = sb.mesh_object("Cube", sb.cube_mesh("c"), (4, 0, 0))
    bvh = api.build([obj, cube])
    assert bvh.stats.objects_skipped == [
        ("Nodes", "only points / curves, no faces (geometry-nodes output)")]


def test_a_real_instancer_without_geometry_keeps_its_reason():
    empty = bpy.data.objects.new("Empty", None)
    sb.link(empty)
    coll = bpy.data.collections.new("Nothing")
    empty.instance_type = 'COLLECTION'
    empty.instance_collection = coll
    cube = sb.mesh_object("Cube", sb.cube_mesh("c"), (4, 0, 0))
    assert api.build([empty, cube]).stats.objects_skipped == [
        ("Empty", "instancer without instanced geometry")]


# --- NaN distance ------------------------------------------------------------------------------

def test_nan_distance_is_named():
    cube = sb.mesh_object("Cube", sb.cube_mesh("c"))
    bvh = api.build([cube])
    for call in (lambda: bvh.ray_cast((0, 0, 3), (0, 0, -1), math.nan),
                 lambda: bvh.ray_cast_many([(0, 0, 3)], (0, 0, -1), math.nan),
                 lambda: bvh.find_nearest((0, 0, 3), math.nan)):
        with pytest.raises(ValueError, match=r"^distance must be a number greater than 0 "
                                             r"\(math\.inf: no limit\), got NaN$"):
            call()


# --- item 13: no "Not freed memory blocks" at exit without shutdown() ----------------------------

@pytest.mark.parametrize("drop", [False, True], ids=["plain", "update dropped a deleted object"])
def test_a_script_without_shutdown_exits_cleanly(drop):
    """No "Not freed memory blocks" from Blender (5.x), no crash (4.2) or hang (4.5) in the bpy
    module's own exit, without ``api.shutdown()``."""
    snippet = run_in_blender(f"""
import scene_builders as sb
from bvh_leakfree_addon import api
a = sb.mesh_object("A", sb.ico_mesh("a", 2))
b = sb.mesh_object("B", sb.cube_mesh("b"), (3, 0, 0))
bvh = api.build([a, b])
tree = bvh.tree
api.create_bvh_tree_multi_objects([a, b])
if {drop}:
    bpy.data.objects.remove(b)
    bvh.update()
print("done", bvh.stats.objects_used)
""", exit_normally=True, timeout=120)
    snippet.check()
    assert "done" in snippet.stdout
    assert "Not freed memory blocks" not in snippet.stdout + snippet.stderr, snippet.output()
