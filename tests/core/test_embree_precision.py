"""Embree is exact where mathutils is (issue 21, item 4): at survey-size coordinates the Embree
backend (float32) casts relative to the scene's centre and gives the same hits as the mathutils
backend (object-space trees); a scene float32 cannot hold (an object scaled 1e20, a tiny object
far from the rest) is cast by mathutils whatever the backend, and ``stats.embree_fallback`` says
why.  Failed before: a 2 m cube at (500000, 5000000, 0) had 3,002 of 20,000 rays wrong."""
import bpy

import numpy as np
import pytest
import scene_builders as sb

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import linalg

EMBREE = "embree" in api.ray_backends()
BACKENDS = ("mathutils", "auto") + (("embree",) if EMBREE else ())


def _cube(name, center, size, rotation=(0, 0, 0)):
    obj = sb.mesh_object(name, sb.cube_mesh(name, 2.0), center, rotation, (size,) * 3)
    return obj


def _vertical_rays(center, half, n=20000, seed=0, height=10.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-2.0 * half, 2.0 * half, (n, 2)) + np.asarray(center[:2])
    return np.column_stack([xy, np.full(n, center[2] + height * half)])


def _agree(objs, origins, directions, exact_truth=None):
    """Every backend's hits equal mathutils' (hit, object, polygon; distance and location to a
    tolerance of the objects' size); returns the build and mathutils' results."""
    bvh = api.build(objs)
    want = bvh.ray_cast_many(origins, directions, backend="mathutils")
    size = max(max(obj.dimensions) for obj in objs)
    for backend in BACKENDS:
        got = bvh.ray_cast_many(origins, directions, backend=backend)
        wrong = int((got.hit != want.hit).sum())
        assert wrong == 0, f"{backend}: {wrong} of {len(origins)} rays hit/miss differently"
        h = want.hit
        assert np.array_equal(got.object_index, want.object_index), backend
        # float32 on both sides: to 1e-5 of the objects' size, and 1e-6 of the ray's length
        tolerance = 1e-5 * size + 1e-6 * want.distance[h]
        assert (np.abs(got.distance[h] - want.distance[h]) <= tolerance).all(), backend
        moved = np.linalg.norm(got.location[h] - want.location[h], axis=1)
        assert (moved <= tolerance).all(), backend
    if exact_truth is not None:
        assert int((want.hit != exact_truth).sum()) == 0
    return bvh, want


@pytest.mark.parametrize("offset", [(5e5, 5e6, 0.0), (1e5, 0.0, 0.0), (0.0, 1e6, 1e6),
                                    (-1e7, 1e7, 0.0)],
                         ids=["500km,5000km", "100km", "1000km up", "10000km"])
def test_a_cube_far_from_the_origin_gets_the_same_hits_on_every_backend(offset):
    cube = _cube("Cube", offset, 1.0)            # 2 m
    origins = _vertical_rays(offset, 1.0)
    inside = (np.abs(origins[:, 0] - np.float32(offset[0])) <= 1.0) & \
        (np.abs(origins[:, 1] - np.float32(offset[1])) <= 1.0)
    bvh, _res = _agree([cube], origins, (0, 0, -1), exact_truth=inside)
    assert bvh.stats.embree_fallback is None
    if EMBREE:
        assert bvh.ray_cast_many(origins, (0, 0, -1), backend="embree").backend == "embree"


@pytest.mark.parametrize("offset", [1e5, 1e6, 1e7])
def test_a_cluster_far_from_the_origin_agrees(offset):
    """Several rotated objects and a sphere within 60 m, far away; rays from all directions."""
    center = np.array([offset, -0.5 * offset, 0.25 * offset])
    objs = [_cube(f"C{i}", tuple(center + (12.0 * i, 3.0 * i, -2.0 * i)), 0.5 + 0.3 * i,
                  (0.3 * i, 0.2, 0.1 * i)) for i in range(5)]
    objs.append(sb.mesh_object("Ball", sb.ico_mesh("ball", 3, 4.0), tuple(center + (20, 20, 0))))
    rng = np.random.default_rng(1)
    aims = np.array([obj.location for obj in objs])[rng.integers(0, len(objs), 8000)]
    targets = aims + rng.uniform(-3.0, 3.0, (8000, 3))
    origins = targets + rng.normal(0, 1, (8000, 3)) * 200.0
    bvh, res = _agree(objs, origins, targets - origins)
    assert bvh.stats.embree_fallback is None
    assert res.hit.sum() > 2000


def test_rays_from_far_away_keep_their_precision():
    """A camera 1,000 km from a 1 m object (itself 5,000 km from the origin)."""
    center = (5e6, 0.0, 0.0)
    cube = _cube("Cube", center, 0.5)
    rng = np.random.default_rng(2)
    targets = np.asarray(center) + rng.uniform(-1.0, 1.0, (20000, 3))
    origins = np.tile(np.asarray(center) + (0.0, 1e6, 3e5), (20000, 1))
    _agree([cube], origins, targets - origins)


@pytest.mark.parametrize("scale", [1e3, 1e10, 1e20])
def test_huge_scales_agree(scale):
    cube = _cube("Cube", (1e6, 0.0, 0.0), scale)
    origins = _vertical_rays((1e6, 0.0, 0.0), scale, n=5000)
    bvh, res = _agree([cube], origins, (0, 0, -1))
    assert res.hit.sum() > 500
    assert (bvh.stats.embree_fallback is None) == (scale <= linalg.FLOAT32_MAX_COORDINATE)


def test_a_scale_float32_cannot_hold_is_cast_by_mathutils_and_said_so():
    cube = _cube("Cube", (0.0, 0.0, 0.0), 1e20)
    bvh = api.build([cube])
    assert "beyond float32's range for Embree" in bvh.stats.embree_fallback
    origins = _vertical_rays((0.0, 0.0, 0.0), 1e20, n=100)
    for backend in BACKENDS:
        res = bvh.ray_cast_many(origins, (0, 0, -1), backend=backend)
        assert res.backend == "mathutils"
        assert res.hit.sum() > 10


def test_a_tiny_object_far_from_the_rest_is_cast_by_mathutils():
    near = _cube("Near", (0.0, 0.0, 0.0), 1.0)
    far = _cube("Far", (1e7, 0.0, 0.0), 1.0)
    bvh = api.build([near, far])
    assert "coarser than its own size allows" in bvh.stats.embree_fallback
    for center in ((0.0, 0.0, 0.0), (1e7, 0.0, 0.0)):
        origins = _vertical_rays(center, 1.0, n=4000)
        _agree([near, far], origins, (0, 0, -1))
        res = bvh.ray_cast_many(origins, (0, 0, -1), backend="auto")
        assert res.backend == "mathutils"


@pytest.mark.skipif(not EMBREE, reason="needs the Embree backend (embreex)")
def test_camera_maps_far_from_the_origin_agree():
    center = (3e6, 4e6, 100.0)
    objs = [_cube("A", center, 1.0), _cube("B", (center[0] + 3, center[1], center[2]), 0.7)]
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("cam"))
    cam.location = (center[0] + 1.5, center[1] - 12.0, center[2] + 2.0)
    cam.rotation_euler = (1.45, 0.0, 0.0)
    sb.link(cam)
    bvh = api.build(objs)
    a = bvh.cast_camera(cam, (160, 120), backend="mathutils")
    b = bvh.cast_camera(cam, (160, 120), backend="embree")
    assert b.backend == "embree"
    assert a.hit.sum() > 1000
    assert int((a.hit != b.hit).sum()) == 0
    assert np.allclose(a.depth[a.hit], b.depth[a.hit], atol=1e-4)
