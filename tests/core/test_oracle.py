"""Correctness oracle: the API must agree with Blender's own ``Scene.ray_cast``.

``Scene.ray_cast`` runs on a view layer where only the built objects are visible.  For every ray:
same hit/miss, object, polygon index, location (1e-4 × scene size) and normal (1e-3).

Normals under non-uniform scale: ``Scene.ray_cast`` reports ``normalize(M · n)``, which is not
perpendicular to the surface once the scale is non-uniform; the API reports the true normal
(inverse transpose, ``M⁻ᵀ · n``).  The two always face the same way ((M n)·(M⁻ᵀ n) = n·n > 0), so
there the test checks the facing against ``Scene.ray_cast`` and the direction against the
world-space triangle itself.
"""
import bpy

import numpy as np
import pytest
import scene_builders as sb
from mathutils import Vector

from bvh_leakfree_addon import api

RAYS = 10_000


def _compare(bvh, origins, directions, size, *, exact_normals=True, backend="mathutils"):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    expected = sb.scene_ray_cast(origins, directions, depsgraph)
    got = bvh.ray_cast_many(origins, directions, backend=backend)
    problems = []
    hits = 0
    for r, (ok, loc, nor, index, obj) in enumerate(expected):
        if bool(got["hit"][r]) != ok:
            problems.append((r, "hit/miss", ok, bool(got["hit"][r])))
            continue
        if not ok:
            continue
        hits += 1
        gobj = bvh.objects[got["object_index"][r]]
        if gobj != obj:
            problems.append((r, "object", obj.name, gobj.name))
            continue
        if got["polygon_index"][r] != index:
            problems.append((r, "polygon", index, int(got["polygon_index"][r])))
            continue
        if np.linalg.norm(got["location"][r] - np.asarray(loc)) > 1e-4 * size:
            problems.append((r, "location", tuple(loc), tuple(got["location"][r])))
            continue
        n = got["normal"][r]
        if abs(np.linalg.norm(n) - 1.0) > 1e-5:
            problems.append((r, "normal length", float(np.linalg.norm(n))))
        elif exact_normals and np.linalg.norm(n - np.asarray(nor)) > 1e-3:
            problems.append((r, "normal", tuple(nor), tuple(n)))
        elif np.dot(n, np.asarray(nor)) <= 0.0:
            problems.append((r, "normal facing", tuple(nor), tuple(n)))
    return problems, hits


def _check_single_casts_agree(bvh, origins, directions, count=300):
    """``ray_cast`` (one ray) gives exactly what ``ray_cast_many`` gave."""
    many = bvh.ray_cast_many(origins[:count], directions[:count], backend="mathutils")
    for r in range(count):
        hit = bvh.ray_cast(origins[r], directions[r])
        assert (hit is not None) == bool(many["hit"][r])
        if hit is not None:
            assert hit.object == bvh.objects[many["object_index"][r]]
            assert hit.polygon_index == many["polygon_index"][r]
            assert np.allclose(hit.location, many["location"][r])


def _check_tree_agrees(bvh, origins, directions, size, count=2000):
    """The merged world-space ``tree`` agrees with ``ray_cast``."""
    tree = bvh.tree
    many = bvh.ray_cast_many(origins[:count], directions[:count], backend="mathutils")
    for r in range(count):
        loc, nor, index, dist = tree.ray_cast(Vector(origins[r]), Vector(directions[r]))
        assert (loc is not None) == bool(many["hit"][r]), r
        if loc is None:
            continue
        obj, polygon = bvh.source_of(index)
        assert obj == bvh.objects[many["object_index"][r]], r
        assert polygon == many["polygon_index"][r], r
        assert np.linalg.norm(np.asarray(loc) - many["location"][r]) < 1e-4 * size, r
        assert abs(dist - many["distance"][r]) < 1e-4 * size, r
        assert np.dot(np.asarray(nor), many["normal"][r]) > 0.0, r   # same facing


def _report(problems, hits):
    head = "\n".join(str(p) for p in problems[:10])
    return f"{len(problems)} disagreements ({hits} hits):\n{head}"


def test_mixed_scene_agrees_with_scene_ray_cast():
    surfaces = sb.scene_ray_cast_sees_surfaces()
    objs, size = sb.mixed_scene(surface=surfaces)
    sb.visible_only(objs)
    bvh = api.build(objs)
    assert not bvh.stats.objects_skipped, bvh.stats.objects_skipped
    assert bvh.stats.objects_used == len(objs)
    origins, directions = sb.random_rays(RAYS, size, seed=1, objects=objs)
    problems, hits = _compare(bvh, origins, directions, size)
    assert hits > RAYS // 3, hits
    assert not problems, _report(problems, hits)
    # every kind of object was hit at least once
    hit_names = {bvh.objects[i].name for i in set(bvh.ray_cast_many(origins, directions)
                                                   ["object_index"]) if i >= 0}
    names = ["mod_subsurf", "mod_array", "curve", "text", "meta", "child", "mirrored",
             "inst_src_ico", "inst_src_grid", "gn_inst", "linked0", "linked2", "bumpy"]
    for name in names + (["surface"] if surfaces else []):
        assert name in hit_names, (name, sorted(hit_names))
    _check_single_casts_agree(bvh, origins, directions)
    _check_tree_agrees(bvh, origins, directions, size)


def test_nonuniform_scale_normals_are_true_normals_facing_like_scene_ray_cast():
    objs, size = sb.nonuniform_scene()
    sb.visible_only(objs)
    bvh = api.build(objs)
    origins, directions = sb.random_rays(RAYS, size, seed=2, center=(2, 2, 0), objects=objs)
    problems, hits = _compare(bvh, origins, directions, size, exact_normals=False)
    assert hits > RAYS // 4, hits
    assert not problems, _report(problems, hits)
    # The reported normal is perpendicular to the world-space triangle that was hit.
    depsgraph = bpy.context.evaluated_depsgraph_get()
    got = bvh.ray_cast_many(origins[:1500], directions[:1500])
    for r in np.nonzero(got["hit"])[0]:
        obj = bvh.objects[got["object_index"][r]]
        mesh = obj.evaluated_get(depsgraph).data
        mw = obj.evaluated_get(depsgraph).matrix_world
        poly = int(got["polygon_index"][r])
        loc = Vector(got["location"][r])
        best = None
        for tri in mesh.loop_triangles:
            if tri.polygon_index != poly:
                continue
            a, b, c = (mw @ mesh.vertices[v].co for v in tri.vertices)
            n = (b - a).cross(c - a).normalized()
            err = abs((loc - a).dot(n))
            if best is None or err < best[0]:
                best = (err, n)
        assert best is not None
        assert abs(abs(best[1].dot(Vector(got["normal"][r]))) - 1.0) < 1e-4, (obj.name, poly)
    _check_tree_agrees(bvh, origins, directions, size)


def test_surface_contributes_even_where_scene_ray_cast_ignores_it():
    obj = sb.surface_object("surf", (0, 0, 0))
    bvh = api.build([obj])
    assert bvh.stats.triangles > 0
    hit = bvh.ray_cast((0.2, 0.1, 10), (0, 0, -1))
    assert hit is not None and hit.object == obj
    assert hit.location.z > 0.5


def test_edit_mode_geometry_agrees():
    objs, size = sb.mixed_scene(surface=sb.scene_ray_cast_sees_surfaces())
    sb.visible_only(objs)
    target = bpy.data.objects["bumpy"]
    bpy.context.view_layer.objects.active = target
    target.hide_set(False)
    bpy.ops.object.mode_set(mode='EDIT')
    import bmesh
    bm = bmesh.from_edit_mesh(target.data)
    for v in bm.verts:
        v.co.z += 0.5 * v.co.x
    bmesh.update_edit_mesh(target.data)
    bvh = api.build(objs)
    origins, directions = sb.random_rays(RAYS // 2, size, seed=3, objects=objs)
    problems, hits = _compare(bvh, origins, directions, size)
    bpy.ops.object.mode_set(mode='OBJECT')
    assert not problems, _report(problems, hits)


@pytest.mark.parametrize("count,subdivisions", [(60, 1)])
def test_many_objects_agree(count, subdivisions):
    objs = sb.ico_grid(count, subdivisions)
    bvh = api.build(objs)
    origins, directions = sb.random_rays(3000, 12.0, seed=4, center=(6, 6, 6))
    problems, hits = _compare(bvh, origins, directions, 20.0)
    assert hits > 300
    assert not problems, _report(problems, hits)
