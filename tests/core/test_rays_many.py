"""``SceneBVH.ray_cast_many`` (batched, core/rays.py) gives what ``ray_cast`` gives ray by ray.

Same hit/miss, object, polygon index; distance, location and normal equal up to float rounding
(``Hit.location``/``normal`` are single-precision ``Vector``s, the batch returns float64).
These are the mathutils backend's tests (``backend="mathutils"``): the Embree backend is float32
and is held to the tolerances of tests/core/test_embree.py instead.
"""
import math

import bpy

import numpy as np
import pytest
import scene_builders as sb
from helpers import id_collection_sizes

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import rays


def _mixed_and_nonuniform():
    objs, size = sb.mixed_scene(surface=True)
    more, _ = sb.nonuniform_scene()
    return objs + more, size


def _compare_one_by_one(bvh, origins, directions, got, size, distance=math.inf):
    """Every disagreement between ``got`` (the batch) and ``ray_cast`` per ray."""
    problems = []
    hits = 0
    if np.shape(directions) == (3,):
        directions = np.broadcast_to(directions, np.shape(origins))
    for r in range(len(origins)):
        hit = bvh.ray_cast(origins[r], directions[r], distance)
        if (hit is not None) != bool(got["hit"][r]):
            problems.append((r, "hit/miss", hit is not None))
            continue
        if hit is None:
            if got["object_index"][r] != -1 or got["polygon_index"][r] != -1 \
                    or not np.isnan(got["location"][r]).all() or got["distance"][r] != math.inf:
                problems.append((r, "miss fields"))
            continue
        hits += 1
        if bvh.objects[got["object_index"][r]] != hit.object:
            problems.append((r, "object", hit.object.name))
        elif got["polygon_index"][r] != hit.polygon_index:
            problems.append((r, "polygon", hit.polygon_index, int(got["polygon_index"][r])))
        elif abs(got["distance"][r] - hit.distance) > 1e-9 * max(1.0, hit.distance):
            problems.append((r, "distance", hit.distance, float(got["distance"][r])))
        elif np.abs(got["location"][r] - np.asarray(hit.location)).max() > 1e-6 * size:
            problems.append((r, "location", tuple(hit.location), tuple(got["location"][r])))
        elif np.abs(got["normal"][r] - np.asarray(hit.normal)).max() > 1e-5:
            problems.append((r, "normal", tuple(hit.normal), tuple(got["normal"][r])))
    return problems, hits


def _report(problems, hits):
    return f"{len(problems)} disagreements ({hits} hits): " + "; ".join(map(str, problems[:8]))


def test_mixed_scene_agrees_with_single_ray_casts():
    """Instances, linked duplicates, negative and non-uniform scale, parenting, modifiers,
    curves, text, metaball, surface, non-planar quads; rays from inside and outside."""
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    origins, directions = sb.random_rays(20_000, size, seed=11, objects=objs)
    got = bvh.ray_cast_many(origins, directions, backend="mathutils")
    problems, hits = _compare_one_by_one(bvh, origins, directions, got, size)
    assert hits > 6000, hits
    assert not problems, _report(problems, hits)
    names = {bvh.objects[i].name for i in np.unique(got["object_index"]) if i >= 0}
    for name in ("mod_array", "curve", "text", "meta", "surface", "mirrored", "child", "bumpy",
                 "inst_src_ico", "gn_inst", "squash", "neg_squash", "sheared_child"):
        assert name in names, (name, sorted(names))


def test_finite_distance_limit_agrees():
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    origins, directions = sb.random_rays(4000, size, seed=12, objects=objs)
    unlimited = bvh.ray_cast_many(origins, directions, backend="mathutils")
    limit = float(np.median(unlimited["distance"][unlimited["hit"]]))   # cuts half the hits
    got = bvh.ray_cast_many(origins, directions, limit, backend="mathutils")
    cut = unlimited["hit"] & (unlimited["distance"] > limit)
    assert cut.sum() > 500 and got["hit"].sum() > 500
    assert not got["hit"][cut].any()
    assert (got["distance"][got["hit"]] <= limit).all()
    problems, hits = _compare_one_by_one(bvh, origins, directions, got, size, limit)
    assert not problems, _report(problems, hits)


def test_one_direction_for_all_rays():
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    rng = np.random.default_rng(13)
    origins = np.column_stack([rng.uniform(-size / 2, size / 2, (3000, 2)), np.full(3000, 20.0)])
    direction = (0.1, -0.2, -1.0)
    got = bvh.ray_cast_many(origins, direction, backend="mathutils")
    problems, hits = _compare_one_by_one(bvh, origins, np.asarray(direction), got, size)
    assert hits > 500, hits
    assert not problems, _report(problems, hits)


def test_one_origin_for_many_directions():
    """A fan of rays from one point, as trimesh and Open3D take it: the origin is broadcast."""
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    rng = np.random.default_rng(14)
    origin = (0.0, 0.0, 20.0)
    directions = np.column_stack([rng.uniform(-0.4, 0.4, (2000, 2)), np.full(2000, -1.0)])
    for backend in api.ray_backends():
        got = bvh.ray_cast_many(origin, directions, backend=backend)
        assert got.hit.shape == (2000,)
        if backend == "mathutils":
            problems, hits = _compare_one_by_one(
                bvh, np.broadcast_to(origin, directions.shape), directions, got, size)
            assert hits > 300, hits
            assert not problems, _report(problems, hits)
    one = bvh.ray_cast_many((4.0, 4.0, 10.0), (0.0, 0.0, -1.0), backend="mathutils")
    assert one.hit.shape == (1,) and one.hit[0]
    with pytest.raises(ValueError, match=r"directions must have shape \(N, 3\) or \(3,\)"):
        bvh.ray_cast_many(origin, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"origins must have shape \(N, 3\) or \(3,\)"):
        bvh.ray_cast_many(np.zeros((4, 2)), (0, 0, -1))


def test_no_rays_and_one_ray():
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    none = bvh.ray_cast_many(np.zeros((0, 3)), (0, 0, -1), backend="mathutils")
    assert none["hit"].shape == (0,) and none["location"].shape == (0, 3)
    assert none["normal"].shape == (0, 3) and none["object_index"].shape == (0,)
    one = bvh.ray_cast_many([[4.0, 4.0, 10.0]], [[0.0, 0.0, -1.0]], backend="mathutils")
    hit = bvh.ray_cast((4.0, 4.0, 10.0), (0.0, 0.0, -1.0))
    assert hit is not None and bool(one.hit[0])
    assert bvh.objects[one.object_index[0]] == hit.object
    assert one.polygon_index[0] == hit.polygon_index
    assert np.allclose(one.location[0], hit.location, atol=1e-5)


def test_misses_everywhere():
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    rng = np.random.default_rng(14)
    origins = rng.uniform(-size, size, (500, 3)) + (0.0, 0.0, 100.0)
    got = bvh.ray_cast_many(origins, (0.2, 0.1, 1.0), backend="mathutils")
    assert not got["hit"].any()
    assert (got["object_index"] == -1).all() and (got["polygon_index"] == -1).all()
    assert np.isnan(got["location"]).all() and np.isnan(got["normal"]).all()
    assert np.isinf(got["distance"]).all()


@pytest.mark.parametrize("budget", [1, 97])
def test_many_objects_and_small_chunks_agree(monkeypatch, budget):
    """More boxes than the dense-sort limit (the pair-sort path), and chunked slab tests."""
    monkeypatch.setattr(rays, "PAIR_BUDGET", budget)
    objs = sb.ico_grid(90, 1, spacing=1.6)   # overlapping boxes: rays cross many of them
    bvh = api.build(objs)
    assert len(bvh._top) > rays.DENSE_SORT_MAX
    origins, directions = sb.random_rays(1500, 9.0, seed=15, center=(3, 3, 3))
    got = bvh.ray_cast_many(origins, directions, backend="mathutils")
    problems, hits = _compare_one_by_one(bvh, origins, directions, got, 10.0)
    assert hits > 300, hits
    assert not problems, _report(problems, hits)


def test_no_datablock_is_created():
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    origins, directions = sb.random_rays(2000, size, seed=16, objects=objs)
    bvh.ray_cast_many(origins, directions, backend="mathutils")
    before = id_collection_sizes()
    with api.leak_guard():
        for _ in range(5):
            bvh.ray_cast_many(origins, directions, backend="mathutils")
            bvh.ray_cast_many(origins, directions, 2.0, backend="mathutils")
    assert id_collection_sizes() == before


def test_hit_on_object_deleted_after_build_is_a_clear_error():
    me = sb.cube_mesh("doomed_mesh")
    obj = sb.mesh_object("doomed", me)
    bvh = api.build([obj])
    bpy.data.objects.remove(obj)
    with pytest.raises(ReferenceError, match="deleted"):
        bvh.ray_cast_many([[0.0, 0.0, 5.0]], (0, 0, -1), backend="mathutils")
    # a miss does not need the object
    assert not bvh.ray_cast_many([[0.0, 0.0, 5.0]], (0, 0, 1), backend="mathutils")["hit"][0]


def test_large_batches_cast_in_slices_give_the_same_answers(monkeypatch):
    """Batches above ``RAY_SLICE`` rays are cast slice by slice (bounded memory): the same
    arrays as one pass."""
    objs, size = _mixed_and_nonuniform()
    bvh = api.build(objs)
    origins, directions = sb.random_rays(3000, size, seed=17, objects=objs)
    whole = bvh.ray_cast_many(origins, directions, backend="mathutils")
    monkeypatch.setattr(rays, "RAY_SLICE", 701)
    sliced = bvh.ray_cast_many(origins, directions, backend="mathutils")
    assert whole["hit"].sum() > 500
    for key, value in whole.items():
        assert np.array_equal(value, sliced[key], equal_nan=True), key
