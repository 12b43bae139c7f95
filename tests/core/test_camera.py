"""Camera ray maps: ``api.camera_rays`` and ``SceneBVH.cast_camera``.

The frame is checked against Blender's own ``Camera.view_frame(scene=...)`` (the frame the
viewport draws, from the same camera parameters) for perspective and orthographic cameras, every
sensor fit, landscape and portrait images, lens shift and non-square pixels; depth against planes
at a known distance.
"""
import itertools
import math

import bpy

import numpy as np
import pytest
import scene_builders as sb
from mathutils import Matrix

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import embree


def _camera(name="cam", kind='PERSP', location=(1.0, -8.0, 3.0), rotation=(1.2, 0.1, 0.3)):
    data = bpy.data.cameras.new(name)
    data.type = kind
    obj = bpy.data.objects.new(name, data)
    obj.location = location
    obj.rotation_euler = rotation
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.update()
    return obj


def _rotation(obj):
    m = np.array(obj.matrix_world)[:3, :3]
    return m / np.linalg.norm(m, axis=0)


def _expected(cam, width, height):
    """Per pixel centre: (origin, direction) from ``view_frame`` corners, interpolated."""
    corners = np.array([tuple(v) for v in cam.data.view_frame(scene=bpy.context.scene)])
    ortho = cam.data.type == 'ORTHO'
    if not ortho:
        corners = corners / -corners[:, 2:3]          # the frame at depth 1
    top_right, _bottom_right, bottom_left, top_left = corners
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    local = (top_left + u[None, :, None] * (top_right - top_left)
             + v[:, None, None] * (bottom_left - top_left))
    rot = _rotation(cam)
    location = np.array(cam.matrix_world.translation)
    if ortho:
        local[..., 2] = 0.0
        origins = local @ rot.T + location
        directions = np.broadcast_to(-rot[:, 2], origins.shape)
    else:
        directions = local @ rot.T
        directions = directions / np.linalg.norm(directions, axis=2)[..., None]
        origins = np.broadcast_to(location, directions.shape)
    return origins, directions


CASES = list(itertools.product(
    ['PERSP', 'ORTHO'], ['AUTO', 'HORIZONTAL', 'VERTICAL'], [(64, 36), (30, 50)],
    [(0.0, 0.0), (0.25, -0.15)], [(1.0, 1.0), (2.0, 1.0)]))


@pytest.mark.parametrize("kind,fit,size,shift,aspect", CASES,
                         ids=["-".join(map(str, c)) for c in CASES])
def test_rays_go_through_the_pixels_of_blenders_camera_frame(kind, fit, size, shift, aspect):
    cam = _camera(kind=kind)
    cam.data.sensor_fit = fit
    cam.data.sensor_width, cam.data.sensor_height = 36.0, 20.0
    cam.data.lens = 42.0
    cam.data.ortho_scale = 7.5
    cam.data.shift_x, cam.data.shift_y = shift
    render = bpy.context.scene.render
    render.resolution_x, render.resolution_y = size
    render.resolution_percentage = 100
    render.pixel_aspect_x, render.pixel_aspect_y = aspect
    origins, directions = api.camera_rays(cam)
    want_o, want_d = _expected(cam, *size)
    assert origins.shape == directions.shape == (size[1], size[0], 3)
    assert np.allclose(directions, want_d, atol=1e-6)
    assert np.allclose(origins, want_o, atol=1e-5)
    assert np.allclose(np.linalg.norm(directions, axis=2), 1.0)


def test_resolution_percentage_and_an_explicit_resolution():
    cam = _camera()
    render = bpy.context.scene.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = 200, 100, 25
    origins, directions = api.camera_rays(cam)
    assert directions.shape == (25, 50, 3)
    full = api.camera_rays(cam, (200, 100))[1]
    # the 25 % image samples the same frame: its pixel centres fall between full-size ones
    assert np.allclose(directions[0, 0], full[:4, :4].reshape(-1, 3).mean(axis=0), atol=1e-3)
    other = api.camera_rays(cam, (7, 3))[1]
    assert other.shape == (3, 7, 3)


def test_row_zero_is_the_top_of_the_image_and_column_zero_its_left():
    """A camera looking straight down, its image's up is world +Y: only the top half of the
    image sees a plane that covers y > 0; only the left half one covering x < 0."""
    cam = _camera(location=(0.0, 0.0, 10.0), rotation=(0.0, 0.0, 0.0))
    top = sb.mesh_object("top", sb.grid_mesh("top", 2, 2, 10.0, bumpy=False), (0, 10.0, 0))
    bvh = api.build([top])
    res = bvh.cast_camera(cam, (40, 20))
    assert res.hit[:10].all() and not res.hit[10:].any()
    left = sb.mesh_object("left", sb.grid_mesh("left", 2, 2, 10.0, bumpy=False), (-10.0, 0, 0))
    res = api.build([left]).cast_camera(cam, (40, 20))
    assert res.hit[:, :20].all() and not res.hit[:, 20:].any()


@pytest.mark.parametrize("kind", ['PERSP', 'ORTHO'])
@pytest.mark.parametrize("backend", ["mathutils", "embree"])
def test_depth_is_the_distance_along_the_view_axis(kind, backend):
    if backend not in api.ray_backends():
        pytest.skip(f"no Embree backend: {embree.unavailable_reason()}")
    cam = _camera(kind=kind, location=(0.5, -0.2, 0.0), rotation=(0.0, 0.0, 0.0))
    cam.scale = (2.0, 0.5, 3.0)               # the camera's scale is ignored, as renders do
    wall = sb.mesh_object("wall", sb.grid_mesh("wall", 4, 4, 40.0, bumpy=False), (0, 0, -6.0),
                          (0.0, 0.0, 0.2))
    bvh = api.build([wall])
    res = bvh.cast_camera(cam, (48, 27), backend=backend)
    assert res.hit.all()
    assert np.allclose(res.depth, 6.0, atol=1e-4)
    origins, directions = api.camera_rays(cam, (48, 27))
    cos = -directions[..., 2]
    assert np.allclose(res.distance, 6.0 / cos, rtol=1e-5)
    assert np.allclose(res.location, origins + res.distance[..., None] * directions, atol=1e-4)
    if kind == 'ORTHO':
        assert np.allclose(res.depth, res.distance, atol=1e-5)
    cam.scale = (1.0, 1.0, 1.0)
    bpy.context.view_layer.update()
    unscaled = api.camera_rays(cam, (48, 27))
    assert np.allclose(unscaled[0], origins) and np.allclose(unscaled[1], directions)


def test_cast_camera_is_ray_cast_many_of_camera_rays_shaped_as_the_image():
    objs, size = sb.mixed_scene(surface=False)
    cam = _camera(location=(0.0, -30.0, 12.0), rotation=(1.2, 0.0, 0.0))
    bvh = api.build(objs)
    for backend in api.ray_backends():
        res = bvh.cast_camera(cam, (80, 45), backend=backend, distance=60.0)
        origins, directions = api.camera_rays(cam, (80, 45))
        flat = bvh.ray_cast_many(origins.reshape(-1, 3), directions.reshape(-1, 3), 60.0,
                                 backend=backend)
        assert set(res) == set(flat) | {"depth"}
        for key, value in flat.items():
            assert res[key].shape == (45, 80) + value.shape[1:], key
            assert np.array_equal(res[key].reshape(value.shape), value, equal_nan=True), key
        assert 300 < res.hit.sum() < 80 * 45
        assert (res.depth[res.hit] <= res.distance[res.hit] + 1e-9).all()
        assert np.isinf(res.depth[~res.hit]).all()


def test_camera_is_evaluated_parent_and_animation_included():
    parent = bpy.data.objects.new("rig", None)
    bpy.context.scene.collection.objects.link(parent)
    parent.location = (0.0, 0.0, 5.0)
    parent.rotation_euler = (0.0, 0.0, math.pi / 2)
    cam = _camera(location=(0.0, -10.0, 0.0), rotation=(math.pi / 2, 0.0, 0.0))
    cam.parent = parent
    cam.data.lens = 50.0
    cam.data.keyframe_insert("lens", frame=1)
    cam.data.lens = 25.0
    cam.data.keyframe_insert("lens", frame=10)
    bpy.context.scene.frame_set(10)
    origins, directions = api.camera_rays(cam, (9, 9))
    assert np.allclose(origins[4, 4], np.array(cam.matrix_world.translation))
    assert np.allclose(origins[4, 4], (10.0, 0.0, 5.0), atol=1e-6)
    assert np.allclose(directions[4, 4], (-1.0, 0.0, 0.0), atol=1e-6)   # parent turned it 90°
    wide = np.degrees(np.arccos(directions[4, 0] @ directions[4, 8]))
    bpy.context.scene.frame_set(1)
    narrow = np.degrees(np.arccos(api.camera_rays(cam, (9, 9))[1][4, 0] @
                                  api.camera_rays(cam, (9, 9))[1][4, 8]))
    assert wide > 1.8 * narrow       # lens 25 mm at frame 10, 50 mm at frame 1


def test_camera_rays_are_the_callers_own_arrays():
    cam = _camera()
    origins, directions = api.camera_rays(cam, (4, 3))
    origins[:] = 0.0
    directions[:] = 0.0
    again = api.camera_rays(cam, (4, 3))
    assert not (again[0] == 0.0).all() and not (again[1] == 0.0).all()


def test_bad_camera_input_is_refused_clearly():
    mesh = sb.mesh_object("mesh", sb.cube_mesh("m"))
    bvh = api.build([mesh])
    with pytest.raises(TypeError, match="camera object"):
        api.camera_rays("Camera")
    with pytest.raises(TypeError, match="not a camera"):
        bvh.cast_camera(mesh)
    cam = _camera()
    for bad, error in (((0, 10), ValueError), ((10,), ValueError), ((1.5, 2), TypeError),
                       ((10, 1 << 20), ValueError), ("big", ValueError)):
        with pytest.raises(error, match="resolution"):
            api.camera_rays(cam, bad)
    with pytest.raises(ValueError, match="distance"):
        bvh.cast_camera(cam, (4, 4), distance=0.0)
    cam.data.type = 'PANO'
    with pytest.raises(ValueError, match="only perspective and orthographic"):
        api.camera_rays(cam, (4, 4))
    cam.data.type = 'PERSP'
    cam.matrix_world = Matrix.Diagonal((0.0, 0.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="zero scale"):
        api.camera_rays(cam, (4, 4))
    cam.location = (math.nan, 0.0, 0.0)
    bpy.context.view_layer.update()
    with pytest.raises(ValueError, match="non-finite"):
        api.camera_rays(cam, (4, 4))
    bpy.data.objects.remove(cam)
    with pytest.raises(ReferenceError, match="deleted"):
        api.camera_rays(cam, (4, 4))
