"""``api.create_bvh_tree_multi_objects`` against BlenderProc 2.8.0's own function (``bproc``).

With default arguments its hits equal BlenderProc's bit for bit on quads, n-gons, non-planar
polygons, parenting, negative and non-uniform scale, linked duplicates, shape keys, modifiers and
constraints (both ignored, as BlenderProc ignores them); triangle meshes take the path without a
bmesh and still give BlenderProc's tree.  It evaluates nothing, creates no datablock, builds
whatever BlenderProc builds (an empty list, objects of no scene, huge coordinates) and fails where
BlenderProc fails, with a clear message; ``evaluated=True`` follows what Blender shows.
"""
import math

import bpy

import blenderproc_real
import bmesh
import numpy as np
import pytest
import scene_builders as sb
from helpers import id_collection_sizes
from mathutils import Vector

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import blenderproc as core_bproc


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


def parented_child(mesh):
    """An object of ``mesh`` whose parent moved, turned and scaled after parenting (a
    non-identity parent inverse)."""
    parent = sb.link(bpy.data.objects.new("parent", None))
    parent.location = (2, -4, 0)
    child = sb.mesh_object("child", mesh, (0.5, 0.0, 0.3), (0.0, 0.4, 0.0))
    child.parent = parent
    child.matrix_parent_inverse = parent.matrix_world.inverted()
    parent.location = (3, -5, 1)
    parent.rotation_euler = (0.0, 0.0, 0.7)
    parent.scale = (0.8, 0.8, 0.8)
    return child


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
    objs.append(parented_child(ngon_mesh("child", 6)))
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


def triangulated(mesh):
    """``mesh`` with every polygon split into triangles (bmesh's beauty-less triangulation)."""
    bm = bmesh.new()
    try:
        bm.from_mesh(mesh)
        bmesh.ops.triangulate(bm, faces=bm.faces[:])
        bm.to_mesh(mesh)
    finally:
        bm.free()
    return mesh


def triangle_scene():
    """Only triangles (the path without a bmesh), with every transform BlenderProc meets."""
    objs = [sb.mesh_object("ico", sb.ico_mesh("ico", 2), (0, 0, 0), (0.3, 0.2, 0.1))]
    objs.append(sb.mesh_object("bumpy", triangulated(sb.grid_mesh("bumpy")), (0, 4, 0),
                               (0.2, -0.1, 0.6), (1.5, 1.5, 1.5)))
    objs.append(sb.mesh_object("mirror", sb.ico_mesh("mirror", 2), (-4, 0, 0), (0.3, 0.5, 0.1),
                               (-1.0, 1.0, 1.0)))
    objs.append(sb.mesh_object("squash", sb.ico_mesh("squash", 1), (-4, 4, 0), (0.2, 0.1, 0.3),
                               (1.0, 2.0, -0.6)))
    objs.append(parented_child(triangulated(ngon_mesh("child", 7))))
    shared = sb.ico_mesh("shared", 1, 0.7)
    objs += [sb.mesh_object(f"twin{i}", shared, (-2 + 1.8 * i, -4, 0)) for i in range(2)]
    modded = sb.mesh_object("modded", sb.ico_mesh("modded", 1), (4, 4, 0))
    modded.modifiers.new("sub", 'SUBSURF').levels = 1      # ignored, as BlenderProc ignores it
    objs.append(modded)
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


def _same_hits(ours, expected, rays, points=()):
    """Every ray and nearest-point query: the very same answer (location, normal, index and
    distance, bit for bit).  Returns the number of hits."""
    hits = 0
    for o, d in rays:
        a, b = ours.ray_cast(o, d), expected.ray_cast(o, d)
        assert a == b, (o, d, a, b)
        hits += a[0] is not None
    for p in points:
        a, b = ours.find_nearest(Vector(p)), expected.find_nearest(Vector(p))
        assert a == b, (p, a, b)
    return hits


def _reference(bproc, objs):
    return bproc.MeshObjectUtility.create_bvh_tree_multi_objects(
        [bproc.MeshObject(o) for o in objs])


def _points(size, n=100, seed=4):
    return np.random.default_rng(seed).uniform(-size, size, (n, 3))


def test_triangle_meshes_give_blenderprocs_tree_without_a_bmesh(bproc):
    objs, size = triangle_scene()
    expected = _reference(bproc, objs)
    ours = api.create_bvh_tree_multi_objects(objs)
    source = core_bproc.latest(ours)
    assert source is not None and source.triangles is not None     # the path without a bmesh
    assert len(source.triangles) == sum(len(o.data.polygons) for o in objs)
    rays = _rays(objs, size)
    assert _same_hits(ours, expected, rays, _points(size)) > len(rays) // 3


def test_every_kind_of_mesh_gives_blenderprocs_hits(bproc):
    objs, size = blenderproc_scene()
    expected = _reference(bproc, objs)
    ours = api.create_bvh_tree_multi_objects(objs)
    assert core_bproc.latest(ours).triangles is None                 # quads and n-gons: bmesh
    rays = _rays(objs, size)
    assert _same_hits(ours, expected, rays, _points(size)) > len(rays) // 3


@pytest.mark.parametrize("scene", [triangle_scene, blenderproc_scene])
def test_wrappers_plain_objects_order_and_duplicates(bproc, scene):
    objs, size = scene()
    order = objs[::-1] + objs[:2]          # another order, and duplicates kept (BlenderProc's)
    expected = _reference(bproc, order)
    wrapped = api.create_bvh_tree_multi_objects([bproc.MeshObject(o) for o in order])
    api.clear_cache()
    plain = api.create_bvh_tree_multi_objects(order)
    assert plain is not wrapped
    rays = _rays(objs, size, n=200)
    assert _same_hits(wrapped, expected, rays) > 0
    assert _same_hits(plain, expected, rays) > 0
    source = blenderproc_real.face_source(order)
    names = {source(plain.ray_cast(o, d)[2])[0].name for o, d in rays
             if plain.ray_cast(o, d)[0] is not None}
    assert {"mirror", "child"} <= names and len(names) >= 5


def test_single_object_and_wrapper_are_taken_as_a_list(bproc):
    objs, size = triangle_scene()
    expected = _reference(bproc, objs[:1])
    rays = _rays(objs[:1], size, n=100)
    assert _same_hits(api.create_bvh_tree_multi_objects(objs[0]), expected, rays) > 0
    assert _same_hits(api.create_bvh_tree_multi_objects(bproc.MeshObject(objs[0])), expected,
                      rays) > 0


def _animated_cube():
    """A cube keyed at x = 0 on frame 0 and x = -1 on frame 1, evaluated on frame 0, then the
    frame number set to 1 without evaluating (the issue's scene)."""
    cube = sb.mesh_object("animated", sb.cube_mesh("animated", 2.0), (0.0, -20.0, 0.0))
    scene = bpy.context.scene
    cube.location.x = 0.0
    cube.keyframe_insert("location", index=0, frame=0)
    cube.location.x = -1.0
    cube.keyframe_insert("location", index=0, frame=1)
    scene.frame_set(0)
    scene.frame_current = 1
    return cube


@pytest.mark.parametrize("scene", [triangle_scene, blenderproc_scene])
def test_evaluated_false_evaluates_nothing(bproc, scene):
    objs, size = scene()
    cube = _animated_cube()
    heavy = objs[0].modifiers.new("heavy", 'SUBSURF')
    heavy.levels = 4
    evaluations = []

    def count(*_args):
        evaluations.append(1)

    handlers = bpy.app.handlers
    handlers.depsgraph_update_post.append(count)
    handlers.frame_change_post.append(count)
    try:
        expected = _reference(bproc, objs + [cube])
        ours = api.create_bvh_tree_multi_objects(objs + [cube])
        again = api.create_bvh_tree_multi_objects(objs + [cube])
    finally:
        handlers.depsgraph_update_post.remove(count)
        handlers.frame_change_post.remove(count)
    assert evaluations == []
    assert cube.location.x == 0.0                  # the frame-1 value was never applied
    hit = ours.ray_cast(Vector((10.0, -20.0, 0.0)), Vector((-1.0, 0.0, 0.0)))
    assert hit == expected.ray_cast(Vector((10.0, -20.0, 0.0)), Vector((-1.0, 0.0, 0.0)))
    assert hit[3] == pytest.approx(9.0)
    assert again is ours
    assert _same_hits(ours, expected, _rays(objs, size, n=150)) > 0


def test_empty_list_gives_an_empty_tree_like_blenderprocs(bproc):
    expected = _reference(bproc, [])
    for empty in ([], ()):
        tree = api.create_bvh_tree_multi_objects(empty)
        assert tree.ray_cast(Vector((0, 0, 5)), Vector((0, 0, -1))) == (None,) * 4
        assert tree.find_nearest(Vector((0, 0, 0))) == expected.find_nearest(Vector((0, 0, 0)))


def test_objects_of_no_scene_and_huge_coordinates_build_as_in_blenderproc(bproc):
    objs, size = triangle_scene()
    other = bpy.data.scenes.new("Other")
    stranger = sb.mesh_object("stranger", sb.ico_mesh("stranger"), (6, 0, 0),
                              collection=other.collection)
    orphan = bpy.data.objects.new("orphan", sb.cube_mesh("orphan"))      # in no collection
    orphan.location = (6, 4, 0)
    far = sb.mesh_object("far", sb.ico_mesh("far", 1), (0.0, 0.0, 0.0), scale=(1e38, 1e38, 1.0))
    quads = sb.mesh_object("quads", sb.cube_mesh("quads"), (6, -4, 0))
    for group in ([*objs, stranger, orphan], [*objs, stranger, far], [*objs, orphan, quads]):
        expected = _reference(bproc, group)
        ours = api.create_bvh_tree_multi_objects(group)
        rays = _rays(group[:-1] + [stranger], size, n=200)
        assert _same_hits(ours, expected, rays) > 0


def test_no_datablock_is_created_and_user_data_is_untouched():
    for scene in (blenderproc_scene, triangle_scene):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        objs, size = scene()
        keyed = sb.mesh_object("keyed", sb.grid_mesh("keyed", bumpy=False), (0, -8, 0))
        keyed.shape_key_add(name="Basis")
        key = keyed.shape_key_add(name="Up")
        for point in key.data:
            point.co.z += 0.8
        key.value = 1.0                        # BlenderProc ignores the shape-key mix
        objs.append(keyed)
        key_before = [tuple(p.co) for block in keyed.data.shape_keys.key_blocks
                      for p in block.data]
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


@pytest.mark.parametrize("scene", [triangle_scene, blenderproc_scene])
@pytest.mark.parametrize("evaluate", [False, True])
def test_the_same_tree_while_nothing_changed_and_every_change_seen(bproc, scene, evaluate):
    objs, size = scene()
    rays = _rays(objs, size, n=150)

    def settle():
        if evaluate:
            bpy.context.evaluated_depsgraph_get()

    def check(tree):
        assert _same_hits(tree, _reference(bproc, objs), rays) > 0
        return tree

    tree = check(api.create_bvh_tree_multi_objects(objs))
    settle()
    assert api.create_bvh_tree_multi_objects(objs) is tree
    assert api.cache_info().trees == 1
    objs[0].location.x += 0.5                      # a move
    settle()
    moved = check(api.create_bvh_tree_multi_objects(objs))
    assert moved is not tree
    objs[1].data.vertices[0].co.z += 0.3          # an edit of an original mesh
    settle()
    edited = check(api.create_bvh_tree_multi_objects(objs))
    assert edited is not moved
    assert api.create_bvh_tree_multi_objects(objs) is edited
    objs[2].data, objs[3].data = objs[3].data, objs[2].data      # meshes swapped
    settle()
    swapped = check(api.create_bvh_tree_multi_objects(objs))
    assert swapped is not edited
    objs[2].parent = objs[0]                       # a new parent
    settle()
    check(api.create_bvh_tree_multi_objects(objs))
    mesh = objs[1].data
    bm = bmesh.new()
    try:
        bm.from_mesh(mesh)
        bmesh.ops.translate(bm, vec=(0.0, 0.0, 0.4), verts=bm.verts[:])
        bm.to_mesh(mesh)
    finally:
        bm.free()
    settle()
    check(api.create_bvh_tree_multi_objects(objs))
    assert api.create_bvh_tree_multi_objects(objs, epsilon=0.01) is not None
    api.clear_cache()
    assert api.cache_info().trees == 0


def test_kept_arrays_are_counted_and_freed():
    objs, _size = triangle_scene()
    api.clear_cache()
    assert api.cache_info().bytes == 0
    api.create_bvh_tree_multi_objects(objs)
    vertices = sum(len(o.data.vertices) for o in objs)
    assert api.cache_info().bytes >= 2 * 12 * vertices       # object and world space
    api.clear_cache()
    assert api.cache_info() == (0, 0)


# --- what BlenderProc fails on fails here too, with a clear message; nothing created ----------

def test_bad_input_fails_as_blenderprocs_does_with_clear_errors(bproc):
    objs, _size = blenderproc_scene()
    with pytest.raises(TypeError, match="item 1 of the object list is a str, not a Blender"):
        api.create_bvh_tree_multi_objects([objs[0], "cube"])
    gone = sb.mesh_object("gone", sb.cube_mesh("gone"))
    bpy.data.objects.remove(gone)
    with pytest.raises(ReferenceError, match="deleted"):
        api.create_bvh_tree_multi_objects([objs[0], gone])
    with pytest.raises(TypeError, match="blender_obj is a NoneType"):
        api.create_bvh_tree_multi_objects([bproc.MeshObject(None)])
    empty = sb.link(bpy.data.objects.new("empty", None))
    curve = sb.curve_object("curve", (0, 0, 5))
    for bad, error, match in ((empty, ValueError, "'empty': empty object has no surface"),
                              (curve, TypeError, "curve object.*evaluated=True")):
        before = id_collection_sizes()
        with pytest.raises(error, match=match):
            api.create_bvh_tree_multi_objects([objs[0], bproc.MeshObject(bad)])
        assert id_collection_sizes() == before
        with pytest.raises(Exception):   # noqa: B017 - BlenderProc fails on it too
            _reference(bproc, [objs[0], bad])


def test_hidden_from_evaluation_is_an_error_only_when_evaluated():
    objs, _size = blenderproc_scene()
    objs[0].hide_viewport = True
    api.create_bvh_tree_multi_objects(objs)          # original data: BlenderProc does not care
    with pytest.raises(ValueError, match="disabled in viewports"):
        api.create_bvh_tree_multi_objects(objs, evaluated=True)


def test_evaluated_true_requires_the_scene_of_its_depsgraph():
    objs, _size = triangle_scene()
    other = bpy.data.scenes.new("Other")
    stranger = sb.mesh_object("stranger", sb.cube_mesh("stranger"), collection=other.collection)
    with pytest.raises(ValueError, match="'stranger' is not in scene"):
        api.create_bvh_tree_multi_objects([*objs, stranger], evaluated=True)
    assert api.create_bvh_tree_multi_objects([], evaluated=True).ray_cast(
        Vector((0, 0, 5)), Vector((0, 0, -1))) == (None,) * 4


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


def test_the_shortcut_for_an_unchanged_call_sees_wrappers_and_deleted_objects(bproc):
    objs, size = triangle_scene()
    bpy.context.evaluated_depsgraph_get()
    wrapped = [bproc.MeshObject(o) for o in objs]
    tree = api.create_bvh_tree_multi_objects(wrapped)
    assert api.create_bvh_tree_multi_objects(wrapped) is tree          # nothing changed
    assert api.create_bvh_tree_multi_objects(wrapped[:-1]) is not tree
    tree = api.create_bvh_tree_multi_objects(wrapped)
    other = sb.mesh_object("other", sb.ico_mesh("other", 1), (0, 9, 0))
    bpy.context.evaluated_depsgraph_get()
    tree = api.create_bvh_tree_multi_objects(wrapped)
    object.__setattr__(wrapped[0], "blender_obj", other)             # the wrapper re-pointed
    swapped = api.create_bvh_tree_multi_objects(wrapped)
    assert swapped is not tree
    assert _same_hits(swapped, _reference(bproc, [w.blender_obj for w in wrapped]),
                      _rays(objs, size, n=100)) > 0
    bpy.data.objects.remove(objs[3])
    with pytest.raises(ReferenceError, match="item 3 of the object list has been deleted"):
        api.create_bvh_tree_multi_objects(wrapped)
