"""``SceneBVH.visibility``: per object, the pixels that see it first, those whose rays cross it,
their ratio; checked against a brute-force oracle (every pixel ray against every object alone, in
a world-space tree of that object's evaluated triangles), on both backends.
"""
import bpy

import numpy as np
import pytest
import scene_builders as sb
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree

from bvh_leakfree_addon import api


def camera(location, target=(0.0, 0.0, 0.0), ortho=False, size=(48, 36)):
    scene = bpy.context.scene
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(cam)
    if ortho:
        cam.data.type = 'ORTHO'
        cam.data.ortho_scale = 14.0
    direction = Vector(target) - Vector(location)
    cam.matrix_world = Matrix.Translation(location) @ \
        direction.to_track_quat('-Z', 'Y').to_matrix().to_4x4()
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    return cam


def row_scene():
    """Spheres in a row along the view axis (each hides part of the next), one off to the side,
    one behind the camera, one outside the view."""
    objs = [sb.mesh_object(f"row{i}", sb.ico_mesh(f"row{i}", 2, 1.0 + 0.4 * i), (0.3 * i, 3.0 * i,
                                                                                 0.0))
            for i in range(4)]
    objs.append(sb.mesh_object("side", sb.cube_mesh("side", 1.5), (3.0, 2.0, 0.5), (0.3, 0.2, 0.1)))
    objs.append(sb.mesh_object("behind", sb.ico_mesh("behind", 1), (0.0, -20.0, 0.0)))
    objs.append(sb.mesh_object("outside", sb.ico_mesh("outside", 1), (60.0, 0.0, 0.0)))
    bpy.context.evaluated_depsgraph_get()
    return objs


def _world_tree(obj, depsgraph):
    ev = obj.evaluated_get(depsgraph)
    mesh = ev.to_mesh()
    try:
        mw = ev.matrix_world
        co = [tuple(mw @ v.co) for v in mesh.vertices]
        mesh.calc_loop_triangles()
        tris = [tuple(t.vertices) for t in mesh.loop_triangles]
    finally:
        ev.to_mesh_clear()
    return BVHTree.FromPolygons(co, tris, all_triangles=True)


def oracle(objs, cam, resolution=None):
    """``{name: (visible, projected)}`` by brute force."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    origins, directions = api.camera_rays(cam, resolution)
    o = origins.reshape(-1, 3)
    d = directions.reshape(-1, 3)
    trees = {obj.name: _world_tree(obj, depsgraph) for obj in objs}
    dist = {name: np.array([t[3] if t[3] is not None else np.inf
                            for t in map(tree.ray_cast, o.tolist(), d.tolist())])
            for name, tree in trees.items()}
    names = list(dist)
    table = np.stack([dist[n] for n in names])          # (objects, rays)
    nearest = np.argmin(table, axis=0)
    hit = np.isfinite(table.min(axis=0))
    return {n: (int(((nearest == k) & hit).sum()), int(np.isfinite(table[k]).sum()))
            for k, n in enumerate(names)}


def _close(a, b, slack=1):
    """Equal up to ``slack`` pixels grazed differently (a ray through a silhouette edge)."""
    return abs(a - b) <= slack


@pytest.mark.parametrize("backend", ["mathutils", "embree"])
@pytest.mark.parametrize("ortho", [False, True])
def test_visible_and_projected_pixels_are_the_oracles(backend, ortho):
    if backend not in api.ray_backends():
        pytest.skip("embreex is not available here")
    objs = row_scene()
    cam = camera((1.0, -12.0, 1.5), (0.5, 6.0, 0.0), ortho=ortho)
    bvh = api.build(objs)
    result = bvh.visibility(cam, backend=backend)
    expected = oracle(objs, cam)
    assert set(result) == set(objs)
    for obj in objs:
        got = result[obj]
        visible, projected = expected[obj.name]
        assert _close(got.visible, visible) and _close(got.projected, projected), \
            (obj.name, got, expected[obj.name])
        assert got.visible <= got.projected
        assert got.fraction == (got.visible / got.projected if got.projected else 0.0)
    by_name = {o.name: result[o] for o in objs}
    assert by_name["row0"].fraction == 1.0 and by_name["row0"].visible > 20
    assert 0.0 < by_name["row2"].fraction < 0.9                     # partly hidden by row0, row1
    assert by_name["outside"] == (0, 0, 0.0)
    if not ortho:
        assert by_name["behind"] == (0, 0, 0.0)                      # behind the camera


def test_backends_agree_and_resolution_is_the_image_size():
    if "embree" not in api.ray_backends():
        pytest.skip("embreex is not available here")
    objs = row_scene()
    cam = camera((2.0, -10.0, 3.0), (0.0, 4.0, 0.0))
    bvh = api.build(objs)
    a = bvh.visibility(cam, (40, 30), backend="embree")
    b = bvh.visibility(cam, (40, 30), backend="mathutils")
    for obj in objs:
        assert _close(a[obj].visible, b[obj].visible), obj.name
        assert _close(a[obj].projected, b[obj].projected), obj.name
    assert sum(v.visible for v in a.values()) <= 40 * 30
    auto = bvh.visibility(cam, (40, 30))
    assert {o.name: (v.visible, v.projected) for o, v in auto.items()} == \
        {o.name: (v.visible, v.projected) for o, v in a.items()}


def test_instances_count_each_pixel_once_per_object():
    source = bpy.data.collections.new("source")
    part = sb.mesh_object("part", sb.ico_mesh("part", 2, 1.0), (0, 0, 0), collection=source)
    instancers = []
    for i, x in enumerate((-1.0, 0.2)):                # two overlapping instances of one object
        inst = bpy.data.objects.new(f"inst{i}", None)
        inst.instance_type = 'COLLECTION'
        inst.instance_collection = source
        inst.location = (x, 0.0, 0.0)
        sb.link(inst)
        instancers.append(inst)
    cam = camera((0.0, -8.0, 0.0))
    bvh = api.build(instancers)
    result = bvh.visibility(cam)
    assert set(result) == {part}
    got = result[part]
    # the oracle: rays that cross either instance, counted once
    depsgraph = bpy.context.evaluated_depsgraph_get()
    origins, directions = api.camera_rays(cam)
    o, d = origins.reshape(-1, 3), directions.reshape(-1, 3)
    tree = _world_tree(part, depsgraph)
    crossing = np.zeros(len(o), dtype=bool)
    for inst in instancers:
        shift = np.array(inst.location)
        crossing |= np.array([t[0] is not None for t in map(tree.ray_cast, (o - shift).tolist(),
                                                             d.tolist())])
    assert _close(got.projected, int(crossing.sum()))
    assert got.visible == got.projected and got.fraction == 1.0      # nothing else in the way


def test_bad_input_is_reported():
    objs = row_scene()
    cam = camera((0.0, -10.0, 0.0))
    bvh = api.build(objs)
    with pytest.raises(TypeError, match="is a mesh object, not a camera"):
        bvh.visibility(objs[0])
    with pytest.raises(ValueError, match="unknown ray backend"):
        bvh.visibility(cam, backend="optix")
    with pytest.raises(ValueError, match="resolution width"):
        bvh.visibility(cam, (0, 10))
