"""Every kind of mesh edit is seen by the next build (issue 19).

A cube of edge 2 at the origin is hit from (0, 0, 10) straight down: distance 9.  Each edit raises
its top by 1.5 (distance 7.5); the next ``api.build``/``SceneBVH.update`` must see it, with the
view layer updated first or not (``build`` evaluates whatever is pending), while a second,
untouched cube keeps its tree.  The answer is Blender's own ``Scene.ray_cast`` after the build.

On bpy 5.3.0 an evaluated mesh without modifiers keeps its address and reports ``session_uid`` 0
across re-evaluations (``core.compat``): a cache keyed on either misses these edits.
"""
import bpy

import bmesh
import numpy as np
import pytest
import scene_builders as sb
from mathutils import Matrix, Vector

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import compat

RISE = 1.5
ORIGIN = Vector((0.0, 0.0, 10.0))
DOWN = Vector((0.0, 0.0, -1.0))


def _raise_with_bmesh(obj):
    bm = bmesh.new()
    try:
        bm.from_mesh(obj.data)
        for v in bm.verts:
            v.co.z += RISE
        bm.to_mesh(obj.data)
    finally:
        bm.free()
    obj.data.update()


def _raise_with_foreach_set(obj):
    mesh = obj.data
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    co[2::3] += RISE
    mesh.vertices.foreach_set("co", co)
    mesh.update()   # on 4.2 Blender itself sees it only then (compat: 4.5 tags by itself)


def _raise_vertex_co(obj):
    for v in obj.data.vertices:
        v.co.z += RISE
    obj.data.update()


def _raise_position_attribute(obj):
    for item in obj.data.attributes["position"].data:
        item.vector.z += RISE
    obj.data.update()


def _raise_with_transform(obj):
    obj.data.transform(Matrix.Translation((0.0, 0.0, RISE)))
    obj.data.update()


def _shape_key_value(obj):
    obj.data.shape_keys.key_blocks["up"].value = 1.0


def _swap_mesh(obj):
    obj.data = bpy.data.meshes["taller"]


def _modifier_parameter(obj):
    obj.modifiers["lift"].strength = RISE


def _edit_mode_round_trip(obj):
    """What an artist does: Tab, select all, move up, Tab."""
    view_layer = bpy.context.view_layer
    view_layer.objects.active = obj
    obj.select_set(True)
    assert bpy.ops.object.mode_set(mode='EDIT') == {'FINISHED'}
    assert bpy.ops.mesh.select_all(action='SELECT') == {'FINISHED'}
    assert bpy.ops.transform.translate(value=(0.0, 0.0, RISE)) == {'FINISHED'}
    assert bpy.ops.object.mode_set(mode='OBJECT') == {'FINISHED'}


def _prepare_shape_key(obj):
    obj.shape_key_add(name="Basis")
    up = obj.shape_key_add(name="up")
    for point in up.data:
        point.co.z += RISE
    up.value = 0.0


def _prepare_taller(_obj):
    taller = sb.cube_mesh("taller", 2.0)
    taller.transform(Matrix.Translation((0.0, 0.0, RISE)))


def _prepare_modifier(obj):
    lift = obj.modifiers.new("lift", 'DISPLACE')
    lift.direction = 'Z'
    lift.mid_level = 0.0
    lift.strength = 0.0


EDITS = {
    "bmesh.to_mesh": (None, _raise_with_bmesh),
    "vertices.foreach_set co": (None, _raise_with_foreach_set),
    "vertex co": (None, _raise_vertex_co),
    "position attribute": (None, _raise_position_attribute),
    "Mesh.transform": (None, _raise_with_transform),
    "shape key value": (_prepare_shape_key, _shape_key_value),
    "swapped mesh datablock": (_prepare_taller, _swap_mesh),
    "modifier parameter": (_prepare_modifier, _modifier_parameter),
    "edit mode round trip": (None, _edit_mode_round_trip),
}


def _two_cubes(kind):
    edited = sb.mesh_object("edited", sb.cube_mesh("edited", 2.0))
    other = sb.mesh_object("other", sb.cube_mesh("other", 2.0), (5.0, 0.0, 0.0))
    prepare = EDITS[kind][0]
    if prepare is not None:
        prepare(edited)
    return [edited, other]


def _scene_distance(origin=ORIGIN):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    hit, location, _normal, _index, obj, _matrix = bpy.context.scene.ray_cast(
        depsgraph, origin, DOWN)
    assert hit
    return (location - origin).length, obj


def _check(bvh, edited, other):
    """The BVH answers what Blender answers now, the edit raised the surface, and only the edited
    cube's tree was rebuilt."""
    expected, obj = _scene_distance()
    assert obj == edited
    assert expected == pytest.approx(9.0 - RISE, abs=1e-5)
    hit = bvh.ray_cast(ORIGIN, DOWN)
    assert hit.object == edited
    assert hit.distance == pytest.approx(expected, abs=1e-5)
    many = bvh.ray_cast_many([ORIGIN, ORIGIN + Vector((5.0, 0.0, 0.0))], DOWN)
    assert many["distance"].tolist() == pytest.approx([expected, 9.0], abs=1e-5)
    assert bvh.stats.meshes_rebuilt == 1 and bvh.stats.meshes_reused == 1
    assert bvh.ray_cast(ORIGIN + Vector((5.0, 0.0, 0.0)), DOWN).object == other


@pytest.mark.parametrize("view_layer_updated", [True, False],
                         ids=["view layer updated", "depsgraph not updated yet"])
@pytest.mark.parametrize("kind", list(EDITS))
def test_a_new_build_sees_the_edit(kind, view_layer_updated):
    objs = _two_cubes(kind)
    first = api.build(objs)
    assert first.ray_cast(ORIGIN, DOWN).distance == pytest.approx(9.0, abs=1e-5)
    EDITS[kind][1](objs[0])
    if view_layer_updated:
        bpy.context.view_layer.update()
    _check(api.build(objs), *objs)


@pytest.mark.parametrize("view_layer_updated", [True, False],
                         ids=["view layer updated", "depsgraph not updated yet"])
@pytest.mark.parametrize("kind", list(EDITS))
def test_update_sees_the_edit(kind, view_layer_updated):
    objs = _two_cubes(kind)
    bvh = api.build(objs)
    bvh.ray_cast_many([ORIGIN], DOWN)    # the batched backend's scene exists before the edit
    EDITS[kind][1](objs[0])
    if view_layer_updated:
        bpy.context.view_layer.update()
    _check(bvh.update(), *objs)


def test_an_explicit_depsgraph_sees_the_edit():
    """A build given the depsgraph (no fast path: the walk and the cache's proof alone)."""
    objs = _two_cubes("vertex co")
    api.build(objs, depsgraph=bpy.context.evaluated_depsgraph_get())
    _raise_vertex_co(objs[0])
    _check(api.build(objs, depsgraph=bpy.context.evaluated_depsgraph_get()), *objs)


def test_edits_one_after_another_are_each_seen():
    """Edit, build, edit again, build: the second edit is not mistaken for the first."""
    objs = _two_cubes("vertex co")
    api.build(objs)
    for step in range(1, 4):
        _raise_vertex_co(objs[0])
        bvh = api.build(objs)
        assert bvh.ray_cast(ORIGIN, DOWN).distance == pytest.approx(9.0 - step * RISE, abs=1e-5)
        assert bvh.stats.meshes_rebuilt == 1


def test_linked_duplicates_share_one_tree_and_both_see_an_edit():
    shared = sb.cube_mesh("shared", 2.0)
    a = sb.mesh_object("a", shared)
    b = sb.mesh_object("b", shared, (5.0, 0.0, 0.0))
    bvh = api.build([a, b])
    assert bvh.stats.trees == 1
    _raise_vertex_co(a)
    bvh = api.build([a, b])
    assert bvh.stats.trees == 1 and bvh.stats.meshes_rebuilt == 1
    distances = bvh.ray_cast_many([ORIGIN, ORIGIN + Vector((5.0, 0.0, 0.0))], DOWN)["distance"]
    assert distances.tolist() == pytest.approx([9.0 - RISE] * 2, abs=1e-5)


def test_the_documented_evaluated_mesh_identity_change():
    """``compat``'s note on 5.3: an evaluated copy of a mesh reports ``session_uid`` 0 and keeps
    its address after an edit; 5.2 and earlier give it a new ``session_uid``.  When this fails,
    Blender changed again: update ``core.compat`` and docs/known-blender-issues.md."""
    obj = sb.mesh_object("cube", sb.cube_mesh("cube", 2.0))
    depsgraph = bpy.context.evaluated_depsgraph_get()
    before = obj.evaluated_get(depsgraph).data.session_uid
    _raise_vertex_co(obj)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    after = obj.evaluated_get(depsgraph).data.session_uid
    if compat.EVALUATED_MESH_UID_MARKS_EDITS:
        assert before != after
    else:
        assert before == after == 0


@pytest.mark.parametrize("animated", ["vertex co", "shape key value"])
def test_animated_geometry_is_seen_frame_by_frame(animated):
    """Keyframed vertices (the mesh's own animation) or a keyframed shape key value: each new
    frame is a new surface, also when the evaluated mesh stays where it was."""
    objs = _two_cubes("shape key value")
    edited = objs[0]
    if animated == "vertex co":
        for v in edited.data.vertices:
            v.keyframe_insert("co", frame=1)
            v.co.z += RISE
            v.keyframe_insert("co", frame=10)
    else:
        up = edited.data.shape_keys.key_blocks["up"]
        up.keyframe_insert("value", frame=1)
        up.value = 1.0
        up.keyframe_insert("value", frame=10)
    scene = bpy.context.scene
    bvh = None
    for frame in (1, 10, 4, 7, 1):
        scene.frame_set(frame)
        bvh = api.build(objs) if bvh is None else bvh.update()
        expected, _obj = _scene_distance()
        assert bvh.ray_cast(ORIGIN, DOWN).distance == pytest.approx(expected, abs=1e-5), frame
    assert expected == pytest.approx(9.0, abs=1e-5)
