# SPDX-License-Identifier: GPL-3.0-or-later
"""Viewport overlay of the last ray cast from the 3D cursor: the ray, the hit point, the normal.

One ``SpaceView3D`` draw handler, added at register and removed at unregister (both idempotent),
as Blender's Math Vis add-on does.  The callback only reads: the Show Overlay setting and the plain
numbers of the last result (never an ``Object``, so a deleted hit object cannot break it), and
returns at once when there is nothing to draw.  No shader is made in background mode: shaders are
made lazily in the callback, which returns first when ``bpy.app.background``.
"""
import math

import bpy

import gpu
from gpu_extras.batch import batch_for_shader
from mathutils import Vector

from ..utils import get_preferences, runtime_state

__all__ = ("overlay_geometry", "drawn_result", "register", "unregister", "runtime_hooks_active")

# Builtin shader names, best first.  4.2, 4.5 and 5.0 all have 'POLYLINE_UNIFORM_COLOR' (wide lines
# with uniforms viewportSize/lineWidth/color); the plain ones are the fallback (line width through
# gpu.state), '3D_UNIFORM_COLOR' being the pre-4.0 spelling.
LINE_SHADER_NAMES = ('POLYLINE_UNIFORM_COLOR', 'UNIFORM_COLOR', '3D_UNIFORM_COLOR')

NORMAL_LENGTH_PX = 60.0   # normal drawn this many pixels long at the hit
MARKER_RADIUS_PX = 8.0    # radius of the hit marker circle
MARKER_SEGMENTS = 16

_draw_handle = None
_shader = None       # (name, GPUShader), created on first draw in a window


# --- Geometry (pure; tested headless) ------------------------------------------------------------
def overlay_geometry(cast, pixel_size=None):
    """Line segments to draw for the result ``cast`` (a ``BVHCastResultState`` or alike).

    Returns ``{"ray": [...], "normal": [...], "marker": [...]}``, each a flat list of points taken
    two by two as segments; empty lists when there is nothing to draw.  ``pixel_size(point)`` gives
    the world size of one pixel at ``point`` (normal length and marker size follow the zoom);
    without it the sizes follow the ray length.
    """
    geometry = {"ray": [], "normal": [], "marker": []}
    if cast is None or not cast.has_result:
        return geometry
    origin = Vector(cast.ray_origin)
    direction = Vector(cast.ray_direction)
    if direction.length == 0.0:
        return geometry
    direction.normalize()
    if not cast.hit:
        length = cast.max_distance if math.isfinite(cast.max_distance) else 1e4
        geometry["ray"] = [origin, origin + direction * length]
        return geometry
    location = Vector(cast.location)
    normal = Vector(cast.normal)
    normal = normal.normalized() if normal.length > 0.0 else -direction
    geometry["ray"] = [origin, location]
    unit = pixel_size(location) if pixel_size else max((location - origin).length, 1.0) / 400.0
    geometry["normal"] = [location, location + normal * (NORMAL_LENGTH_PX * unit)]
    geometry["marker"] = _circle_segments(location, normal, MARKER_RADIUS_PX * unit)
    return geometry


def _circle_segments(center, normal, radius):
    """A circle of ``radius`` around ``center`` in the plane perpendicular to ``normal``."""
    tangent = normal.orthogonal().normalized()
    bitangent = normal.cross(tangent).normalized()
    points = []
    for i in range(MARKER_SEGMENTS):
        for j in (i, i + 1):
            angle = 2.0 * math.pi * j / MARKER_SEGMENTS
            offset = math.cos(angle) * tangent + math.sin(angle) * bitangent
            points.append(center + radius * offset)
    return points


def _pixel_size_function(region, rv3d):
    """World size of one pixel at a point, from the region's projection (perspective or ortho)."""
    matrix = rv3d.perspective_matrix
    scale = matrix.row[0].xyz.length
    width = max(region.width, 1)

    def pixel_size(point):
        w = (matrix @ point.to_4d()).w
        return 2.0 * max(abs(w), 1e-6) / (width * max(scale, 1e-12))

    return pixel_size


# --- Drawing -------------------------------------------------------------------------------------
def _line_shader():
    """The line shader, made on first use; None in background mode (no GPU there)."""
    global _shader
    if bpy.app.background:
        return None
    if _shader is None:
        for name in LINE_SHADER_NAMES:
            try:
                _shader = (name, gpu.shader.from_builtin(name))
                break
            except ValueError:  # not a builtin shader name in this Blender
                continue
    return _shader


def drawn_result(context):
    """The last result when the overlay is to draw it (Show Overlay on, a result to show), else
    None."""
    prefs = get_preferences(context)
    state = runtime_state(context)
    if prefs is None or state is None or not prefs.cast.show_overlay or not state.cast.has_result:
        return None
    return state.cast


def _draw():
    """SpaceView3D POST_VIEW callback: only reads, and returns at once when there is nothing to
    draw (background mode, overlay off, no result, no view)."""
    if bpy.app.background:
        return
    context = bpy.context
    cast = drawn_result(context)
    if cast is None:
        return
    region, rv3d = context.region, context.region_data
    if region is None or rv3d is None:
        return
    shader = _line_shader()
    if shader is None:
        return
    settings = get_preferences(context).cast
    colors = _colors(settings, cast.hit)
    geometry = overlay_geometry(cast, _pixel_size_function(region, rv3d))
    width = settings.line_width
    gpu.state.blend_set('ALPHA')
    gpu.state.depth_test_set('NONE')
    try:
        for key in ("ray", "normal", "marker"):
            if geometry[key]:
                _draw_lines(shader, geometry[key], colors[key], width, region)
    finally:
        gpu.state.blend_set('NONE')
        gpu.state.line_width_set(1.0)


def _colors(settings, hit):
    ray = tuple(settings.ray_color)
    marker, normal = tuple(settings.hit_color), tuple(settings.normal_color)
    if not hit:  # a miss: the ray faded, to max distance
        ray = ray[:3] + (ray[3] * 0.5,)
    return {"ray": ray, "normal": normal, "marker": marker}


def _draw_lines(shader, points, color, width, region):
    name, program = shader
    batch = batch_for_shader(program, 'LINES', {"pos": [tuple(p) for p in points]})
    program.bind()
    program.uniform_float("color", color)
    if name.startswith('POLYLINE'):
        program.uniform_float("viewportSize", (float(region.width), float(region.height)))
        program.uniform_float("lineWidth", float(width))
    else:
        gpu.state.line_width_set(float(width))
    batch.draw(program)


# --- Registration --------------------------------------------------------------------------------
def register():
    """Add the draw handler (idempotent)."""
    global _draw_handle
    if _draw_handle is None:
        _draw_handle = bpy.types.SpaceView3D.draw_handler_add(_draw, (), 'WINDOW', 'POST_VIEW')


def unregister():
    """Remove the draw handler (idempotent) and forget the shader."""
    global _draw_handle, _shader
    if _draw_handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_draw_handle, 'WINDOW')
        _draw_handle = None
    _shader = None


def runtime_hooks_active():
    return ["SpaceView3D draw handler (cast overlay)"] if _draw_handle is not None else []
