"""``api.create_bvh_tree_multi_objects``: BlenderProc v2.8's function as a drop-in.

With default arguments its hits equal the reference (copy → transform → bmesh → ``FromBMesh`` →
remove, ``blenderproc_reference``) on quads, n-gons, non-planar polygons, parenting, negative and
non-uniform scale, linked duplicates, shape keys, modifiers and constraints (both ignored, as
BlenderProc ignores them); it creates no datablock; ``evaluated=True`` follows what Blender shows;
bad input gets ``api.build``'s errors.
"""
import math

import bpy

import blenderproc_reference as ref
import bmesh
import numpy as np
import pytest
import scene_builders as sb
from helpers import id_collection_sizes
from mathutils import Vector

from bvh_leakfree_addon import api


def ngon_mesh(name, segments=8):
    """A truncated cone with n-gon caps; the top cap is made non-planar."""
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_cone(bm, cap_ends=True, cap_tris=False, segments=segments,
                              radius1=1.0, radius2=0.6, depth=1.5)
        for v in bm.verts:
            if v.co.z > 0:
                v.co.z += 0.15 * math.sin(3 * math.atan2(v.co.y, v.co.x))
        bm.to_mesh(me)
    finally:
        bm.free()
    return me


def blenderproc_scene():
    """Objects for BlenderProc's function: every kind of mesh and transform it meets."""
    objs = [sb.mesh_object("cube", sb.cube_mesh("cube", 1.4), (0, 0, 0), (0.3, 0.2, 0.1))]
    objs.append(sb.mesh_object("ngon", ngon_mesh("ngon"), (4, 0, 0), (0.4, 0.1, 0.0)))
    objs.append(sb.mesh_object("bumpy", sb.grid_mesh("bumpy"), (0, 4, 0), (0.2, -0.1, 0.6),
                               (1.5, 1.5, 1.5)))
    objs.append(sb.mesh_object("mirror", sb.ico_mesh("mirror", 2), (-4, 0, 0), (0.3, 0.5, 0.1),
                               (-1.0, 1.0, 1.0)))
    objs.append(sb.mesh_object("squash", sb.ico_mesh("squash", 2), (-4, 4, 0), (0.2, 0.1, 0.3),
                               (1.0, 2.0, -0.6)))
    parent = sb.link(bpy.data.objects.new("parent", None))
    parent.location = (2, -4, 0)
    child = sb.mesh_object("child", ngon_mesh("child", 6), (0.5, 0.0, 0.3), (0.0, 0.4, 0.0))
    child.parent = parent
    child.matrix_parent_inverse = parent.matrix_world.inverted()
    parent.location = (3, -5, 1)           # moved after parenting: a non-identity parent inverse
    parent.rotation_euler = (0.0, 0.0, 0.7)
    parent.scale = (0.8, 0.8, 0.8)
    objs.append(child)
    shared = sb.ico_mesh("shared", 1, 0.7)
    objs += [sb.mesh_object(f"twin{i}", shared, (-2 + 1.8 * i, -4, 0)) for i in range(2)]
    keyed = sb.mesh_object("keyed", sb.grid_mesh("keyed", bumpy=False), (0, -8, 0))
    keyed.shape_key_add(name="Basis")
    key = keyed.shape_key_add(name="Up")
    for point in key.data:
        point.co.z += 0.8
    key.value = 1.0                        # BlenderProc ignores the shape-key mix
    objs.append(keyed)
    modded = sb.mesh_object("modded", sb.cube_mesh("modded"), (4, 4, 0))
    modded.modifiers.new("sub", 'SUBSURF').levels = 2     # ignored by default
    constrained = sb.mesh_object("constrained", sb.cube_mesh("constrained"), (4, -8, 0))
    constraint = constrained.constraints.new('LIMIT_LOCATION')   # ignored by default
    constraint.use_min_x = constraint.use_max_x = True
    constraint.min_x = constraint.max_x = 6.0
    objs += [modded, constrained]
    bpy.context.evaluated_depsgraph_get()
    return objs, 12.0


def _rays(objs, size, n=600, seed=3):
    rng = np.random.default_rng(seed)
    origins, directions = sb.random_rays(n, size, seed, objects=objs)
    # and straight down onto every object (the grids and caps are seen from above)
    tops = np.array([tuple(o.matrix_world.translation) for o in objs])
    down_o = tops[rng.integers(0, len(tops), n // 3)] + rng.uniform(-0.7, 0.7, (n // 3, 3))
    down_o[:, 2] = 10.0
    origins = np.concatenate([origins, down_o])
    directions = np.concatenate([directions, np.tile((0.0, 0.0, -1.0), (n // 3, 1))])
    return [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=True)]


def _compare(ours, expected, rays, size):
    """Every ray: same hit or miss, same face index, same location, normal and distance."""
    hits = 0
    for o, d in rays:
        a, b = ours.ray_cast(o, d), expected.ray_cast(o, d)
        assert (a[0] is None) == (b[0] is None), (o, d, a, b)
        if a[0] is None:
            continue
        hits += 1
        assert a[2] == b[2], (o, d, a, b)
        assert (a[0] - b[0]).length <= 1e-6 * size, (a, b)
        assert (a[1] - b[1]).length <= 1e-6, (a, b)
        assert abs(a[3] - b[3]) <= 1e-6 * size, (a, b)
    return hits


def test_hits_equal_blenderprocs_on_every_kind_of_mesh_and_transform():
    objs, size = blenderproc_scene()
    rays = _rays(objs, size)
    expected = ref.create_bvh_tree_multi_objects([ref.MeshObjectLike(o) for o in objs])
    ours = api.create_bvh_tree_multi_objects(objs)
    hits = _compare(ours, expected, rays, size)
    assert hits > len(rays) // 3
    for point in np.random.default_rng(4).uniform(-size, size, (100, 3)):
        a, b = ours.find_nearest(Vector(point)), expected.find_nearest(Vector(point))
        assert a[2] == b[2] and (a[0] - b[0]).length <= 1e-6 * size


def test_wrappers_and_plain_objects_give_the_same_tree():
    objs, size = blenderproc_scene()
    rays = _rays(objs, size, n=150)
    wrapped = api.create_bvh_tree_multi_objects([ref.MeshObjectLike(o) for o in objs])
    api.clear_cache()
    plain = api.create_bvh_tree_multi_objects(objs)
    assert plain is not wrapped
    assert _compare(wrapped, plain, rays, size) > 0


def test_face_index_is_the_polygon_of_the_original_meshes_in_input_order():
    objs, size = blenderproc_scene()
    order = objs[::-1] + objs[:2]          # another order, and duplicates kept (BlenderProc's)
    source = ref.face_source(order)
    tree = api.create_bvh_tree_multi_objects(order)
    expected = ref.create_bvh_tree_multi_objects([ref.MeshObjectLike(o) for o in order])
    seen = set()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for o, d in _rays(objs, size):
        hit = tree.ray_cast(o, d)
        if hit[0] is None:
            continue
        assert hit[2] == expected.ray_cast(o, d)[2]
        obj, polygon = source(hit[2])
        seen.add(obj.name)
        if obj.name in ("modded", "constrained", "keyed", "twin0", "twin1"):
            continue   # modifiers/constraint/shape key change what Blender shows; twins overlap
        # Blender's own ray cast (original geometry: no modifiers here) names the same polygon
        # when the ray is not near an edge
        ok, loc, _nor, index, hit_obj, _m = bpy.context.scene.ray_cast(depsgraph, o, d)
        if ok and hit_obj == obj and (loc - hit[0]).length < 1e-5:
            near_edge = _near_edge(obj, polygon, hit[0])
            assert index == polygon or near_edge, (obj.name, index, polygon)
    assert {"cube", "ngon", "bumpy", "mirror", "child"} <= seen


def _near_edge(obj, polygon, world_point):
    mesh = obj.data
    local = obj.matrix_world.inverted() @ world_point
    verts = [mesh.vertices[v].co for v in mesh.polygons[polygon].vertices]
    for a, b in zip(verts, verts[1:] + verts[:1], strict=True):
        ab = b - a
        t = max(0.0, min(1.0, (local - a).dot(ab) / ab.length_squared))
        if (a + t * ab - local).length < 1e-3:
            return True
    return False


def test_normals_are_polygon_normals_not_flipped_for_a_mirror():
    objs, _size = blenderproc_scene()
    tree = api.create_bvh_tree_multi_objects(objs)
    mirror = objs[3]
    centre = mirror.matrix_world.translation
    hit = tree.ray_cast(centre + Vector((0, 0, 5)), Vector((0, 0, -1)))
    assert hit[0] is not None
    assert hit[1].dot(Vector((0, 0, -1))) > 0.5     # inward, as BlenderProc reports it
    bumpy = objs[2]
    quad = bumpy.data.polygons[14]                  # a non-planar quad: one normal for both halves
    world = bumpy.matrix_world
    a, b, c, d = (world @ bumpy.data.vertices[v].co for v in quad.vertices)
    normals = []
    for target in ((a + b + c) / 3, (a + c + d) / 3):
        origin = target + Vector((0, 0, 3))
        hit = tree.ray_cast(origin, (target - origin).normalized())
        assert hit[0] is not None
        normals.append(hit[1])
    assert (normals[0] - normals[1]).length < 1e-6


def test_no_datablock_is_created_and_user_data_is_untouched():
    objs, size = blenderproc_scene()
    keyed = next(o for o in objs if o.name == "keyed")
    key_before = [tuple(p.co) for block in keyed.data.shape_keys.key_blocks for p in block.data]
    co_before = [tuple(v.co) for o in objs for v in o.data.vertices]
    before = id_collection_sizes()
    with api.leak_guard():
        for evaluated in (False, True):
            api.clear_cache()
            api.create_bvh_tree_multi_objects(objs, evaluated=evaluated)
    assert id_collection_sizes() == before
    assert [tuple(p.co) for block in keyed.data.shape_keys.key_blocks
            for p in block.data] == key_before
    assert [tuple(v.co) for o in objs for v in o.data.vertices] == co_before


def test_evaluated_true_follows_what_blender_shows():
    objs, size = blenderproc_scene()
    objs.append(sb.curve_object("curve", (-6, -8, 0)))
    tree = api.create_bvh_tree_multi_objects(objs, evaluated=True)
    default = api.create_bvh_tree_multi_objects(objs[:-1])
    sb.visible_only(objs)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    offsets, total = {}, 0
    for obj in objs:
        offsets[obj.name] = total
        total += len(obj.evaluated_get(depsgraph).data.polygons) if obj.type == 'MESH' else 0
    hits = differ = 0
    for o, d in _rays(objs, size):
        ok, loc, _nor, index, obj, _m = bpy.context.scene.ray_cast(depsgraph, o, d)
        hit = tree.ray_cast(o, d)
        assert (hit[0] is not None) == ok, (o, d)
        if not ok:
            continue
        hits += 1
        assert (hit[0] - loc).length <= 1e-4 * size
        if obj.type == 'MESH':
            assert hit[2] == offsets[obj.name] + index or \
                _near_edge_eval(obj, index, loc, depsgraph)
        plain = default.ray_cast(o, d)
        differ += plain[0] is None or (plain[0] - loc).length > 1e-3
    assert hits > 100 and differ > 5     # modifiers, shape key, constraint and curve seen


def _near_edge_eval(obj, polygon, world_point, depsgraph):
    mesh = obj.evaluated_get(depsgraph).data
    local = obj.matrix_world.inverted() @ world_point
    verts = [mesh.vertices[v].co for v in mesh.polygons[polygon].vertices]
    return any((a + max(0.0, min(1.0, (local - a).dot(b - a) / (b - a).length_squared)) * (b - a)
                - local).length < 1e-3 for a, b in zip(verts, verts[1:] + verts[:1], strict=True))


def test_unchanged_scene_returns_the_same_tree_and_a_move_is_seen():
    objs, size = blenderproc_scene()
    tree = api.create_bvh_tree_multi_objects(objs)
    assert api.create_bvh_tree_multi_objects(objs) is tree
    assert api.cache_info().trees == 1
    objs[0].location.x += 0.5
    moved = api.create_bvh_tree_multi_objects(objs)
    assert moved is not tree
    expected = ref.create_bvh_tree_multi_objects([ref.MeshObjectLike(o) for o in objs])
    assert _compare(moved, expected, _rays(objs, size, n=150), size) > 0
    objs[1].data.vertices[0].co.z += 0.3          # an edit of the original mesh
    objs[1].data.update()
    edited = api.create_bvh_tree_multi_objects(objs)
    assert edited is not moved
    assert api.create_bvh_tree_multi_objects(objs, evaluated=True) is not edited
    api.clear_cache()
    assert api.cache_info().trees == 0
    assert api.create_bvh_tree_multi_objects(objs) is not edited


# --- bad input: api.build's errors, nothing created ----------------------------------------------

def _same_error_as_build(objects, error):
    with pytest.raises(error) as ours:
        api.create_bvh_tree_multi_objects(objects)
    with pytest.raises(error) as theirs:
        api.build(objects)
    assert str(ours.value) == str(theirs.value)
    return str(ours.value)


def test_bad_input_gets_the_same_clear_errors_as_build():
    objs, _size = blenderproc_scene()
    before = id_collection_sizes()
    assert "empty" in _same_error_as_build([], ValueError)
    assert "not a Blender object" in _same_error_as_build([objs[0], "cube"], TypeError)
    other = bpy.data.scenes.new("Other")
    stranger = sb.mesh_object("stranger", sb.cube_mesh("stranger"), collection=other.collection)
    assert "not in scene" in _same_error_as_build([objs[0], stranger], ValueError)
    gone = sb.mesh_object("gone", sb.cube_mesh("gone"))
    bpy.data.objects.remove(gone)
    assert "deleted" in _same_error_as_build([objs[0], gone], ReferenceError)
    before = id_collection_sizes()
    with pytest.raises(TypeError, match="blender_obj is a NoneType"):
        api.create_bvh_tree_multi_objects([ref.MeshObjectLike(None)])
    empty = sb.link(bpy.data.objects.new("empty", None))
    with pytest.raises(ValueError, match="'empty': empty object has no surface geometry"):
        api.create_bvh_tree_multi_objects([objs[0], ref.MeshObjectLike(empty)])
    curve = sb.curve_object("curve", (0, 0, 5))
    before = id_collection_sizes()
    with pytest.raises(TypeError, match="curve object.*evaluated=True"):
        api.create_bvh_tree_multi_objects([objs[0], curve])
    objs[1].location.x = math.nan
    with pytest.raises(ValueError, match="non-finite"):
        api.create_bvh_tree_multi_objects(objs)
    assert id_collection_sizes() == before      # BlenderProc's own leaks a Curve copy here


def test_hidden_from_evaluation_is_an_error_only_when_evaluated():
    objs, size = blenderproc_scene()
    objs[0].hide_viewport = True
    api.create_bvh_tree_multi_objects(objs)          # original data: BlenderProc does not care
    with pytest.raises(ValueError, match="disabled in viewports"):
        api.create_bvh_tree_multi_objects(objs, evaluated=True)
