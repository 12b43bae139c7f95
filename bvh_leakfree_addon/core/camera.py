# SPDX-License-Identifier: GPL-3.0-or-later
"""Camera ray maps: one ray per pixel of a camera's image, in world space.

The image plane follows Blender's own camera model (``BKE_camera_params_compute_viewplane``, the
one renders use): sensor fit (Auto / Horizontal / Vertical), focal length and sensor size or the
orthographic scale, lens shift, the render resolution and percentage, and the pixel aspect ratio.
``Camera.view_frame(scene=...)`` draws the same frame (the tests check that).  The camera's world
matrix is taken without its scale, as renders do.  Perspective rays start at the camera's
location; orthographic rays start on the camera's plane and all point along its view axis.
Panoramic cameras are not supported.  Clipping (``clip_start``/``clip_end``) is not applied:
limit the ray length with ``distance``.

Row 0 of the maps is the top row of the image; column 0 its left edge; rays go through pixel
centres.
"""
import bpy

import numpy as np

__all__ = ("CameraRays", "camera_rays", "render_resolution")

#: largest image side accepted (a 32k × 32k map would already need ~25 GB of ray arrays)
MAX_SIDE = 1 << 15


class CameraRays:
    """The rays of a camera: ``origins`` and unit ``directions`` (height, width, 3), float64, world
    space; ``axis``, the camera's unit view direction (depth = distance × cos to it);
    ``orthographic``.  For a perspective camera ``origins`` is a read-only broadcast view of one
    point (:meth:`owned` makes writable copies).  ``frame``: ``(rot, location, xs, ys)``, the
    camera's unit axes (3 × 3, columns), its location and the pixel centres' coordinates on the
    image plane (columns, rows), for :meth:`window`."""

    __slots__ = ("origins", "directions", "axis", "orthographic", "frame")

    def __init__(self, origins, directions, axis, orthographic, frame=None):
        self.origins = origins
        self.directions = directions
        self.axis = axis
        self.orthographic = orthographic
        self.frame = frame

    def window(self, points):
        """``(rows, columns)`` slices of the pixels whose rays may meet the convex hull of the
        world ``points`` (K, 3) (a pixel of margin), or None when that cannot be told (a point
        at or behind a perspective camera's plane: every ray may)."""
        rot, location, xs, ys = self.frame
        local = (np.asarray(points, dtype=np.float64) - location) @ np.linalg.inv(rot).T
        if self.orthographic:
            u, v = local[:, 0], local[:, 1]
        else:
            depth = -local[:, 2]
            if not (depth > 1e-9).all():
                return None
            u, v = local[:, 0] / depth, local[:, 1] / depth
        du = abs(xs[1] - xs[0]) if len(xs) > 1 else np.inf
        dv = abs(ys[1] - ys[0]) if len(ys) > 1 else np.inf
        cols = np.nonzero((xs >= u.min() - du) & (xs <= u.max() + du))[0]
        rows = np.nonzero((ys >= v.min() - dv) & (ys <= v.max() + dv))[0]
        if not len(cols) or not len(rows):
            return slice(0, 0), slice(0, 0)
        return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)

    @property
    def shape(self):
        return self.directions.shape[:2]

    def owned(self):
        """``(origins, directions)`` as writable arrays of their own."""
        return np.array(self.origins), self.directions


def _check_camera(camera):
    if not isinstance(camera, bpy.types.Object):
        raise TypeError(f"camera must be a camera object (bpy.types.Object), got "
                        f"{type(camera).__name__}")
    try:
        kind = camera.type
    except ReferenceError:
        raise ReferenceError("the camera object has been deleted (removed from bpy.data)") \
            from None
    if kind != 'CAMERA':
        raise TypeError(f"object {camera.name!r} is a {kind.lower()} object, not a camera")


def render_resolution(scene):
    """``(width, height)`` of ``scene``'s renders: resolution × percentage, as Blender rounds it."""
    render = scene.render
    percent = render.resolution_percentage
    return (max(1, render.resolution_x * percent // 100),
            max(1, render.resolution_y * percent // 100))


def _resolution(value, scene):
    if value is None:
        return render_resolution(scene)
    try:
        width, height = value
    except (TypeError, ValueError):
        raise ValueError(f"resolution must be None or (width, height), got {value!r}") from None
    out = []
    for side, what in ((width, "width"), (height, "height")):
        if isinstance(side, bool) or not isinstance(side, (int, np.integer)):
            raise TypeError(f"resolution {what} must be an integer, got {side!r}")
        if not 1 <= int(side) <= MAX_SIDE:
            raise ValueError(f"resolution {what} must be between 1 and {MAX_SIDE}, got {side}")
        out.append(int(side))
    return tuple(out)


def view_plane(cam, width, height, pixel_aspect):
    """``(xmin, xmax, ymin, ymax)`` of the image in camera space: at depth 1 (perspective) or on
    the camera plane (orthographic).  ``BKE_camera_params_compute_viewplane`` with zoom 1 and no
    offset; ``pixel_aspect`` is ``(aspect x, aspect y)``."""
    aspx, aspy = pixel_aspect
    ycor = aspy / aspx
    if cam.type == 'ORTHO':
        size = cam.ortho_scale
    else:
        sensor = cam.sensor_height if cam.sensor_fit == 'VERTICAL' else cam.sensor_width
        size = sensor / cam.lens          # the clip_start factor of Blender's formula cancels
    fit = cam.sensor_fit
    if fit == 'AUTO':
        fit = 'HORIZONTAL' if aspx * width >= aspy * height else 'VERTICAL'
    viewfac = width if fit == 'HORIZONTAL' else ycor * height
    pixsize = size / viewfac
    dx = cam.shift_x * viewfac
    dy = cam.shift_y * viewfac
    return ((-0.5 * width + dx) * pixsize, (0.5 * width + dx) * pixsize,
            (-0.5 * ycor * height + dy) * pixsize, (0.5 * ycor * height + dy) * pixsize)


def camera_rays(camera, resolution, depsgraph):
    """:class:`CameraRays` of ``camera`` (evaluated in ``depsgraph``: animation, constraints,
    drivers) at ``resolution`` ``(width, height)``, or the render resolution of the depsgraph's
    scene when None."""
    _check_camera(camera)
    scene = depsgraph.scene_eval
    width, height = _resolution(resolution, scene)
    cam_eval = camera.evaluated_get(depsgraph)
    cam = cam_eval.data
    if cam.type not in ('PERSP', 'ORTHO'):
        raise ValueError(f"camera {camera.name!r} is {cam.type.lower()}: only perspective and "
                         f"orthographic cameras are supported")
    render = scene.render
    xmin, xmax, ymin, ymax = view_plane(cam, width, height,
                                        (render.pixel_aspect_x, render.pixel_aspect_y))
    matrix = np.array(cam_eval.matrix_world, dtype=np.float64)
    if not np.isfinite(matrix).all():
        raise ValueError(f"camera {camera.name!r} has a non-finite (NaN or infinite) world matrix")
    axes = matrix[:3, :3]
    lengths = np.linalg.norm(axes, axis=0)
    if not (lengths > 0.0).all():
        raise ValueError(f"camera {camera.name!r} has a zero scale (flat world matrix)")
    rot = axes / lengths                  # renders drop the camera's scale the same way
    location = matrix[:3, 3]
    xs = xmin + (np.arange(width) + 0.5) * ((xmax - xmin) / width)
    ys = ymax - (np.arange(height) + 0.5) * ((ymax - ymin) / height)   # row 0 at the top
    axis = -rot[:, 2]
    axis = axis / np.linalg.norm(axis)
    # world = x * right + y * up (+ -1 * forward for perspective)
    plane = (xs[None, :, None] * rot[:, 0]) + (ys[:, None, None] * rot[:, 1])   # (h, w, 3)
    if cam.type == 'ORTHO':
        origins = plane + location
        directions = np.broadcast_to(axis, (height, width, 3))
        directions = np.ascontiguousarray(directions)
        return CameraRays(origins, directions, axis, True, (rot, location, xs, ys))
    plane -= rot[:, 2]
    plane /= np.sqrt(np.einsum("hwi,hwi->hw", plane, plane))[:, :, None]
    origins = np.broadcast_to(location, (height, width, 3))
    return CameraRays(origins, plane, axis, False, (rot, location, xs, ys))
