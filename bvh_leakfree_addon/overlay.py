# SPDX-License-Identifier: GPL-3.0-or-later
"""Viewport overlay of the last ray cast from the 3D cursor: the ray, the hit point, the normal.

Runtime hooks owned here (all removed by ``unregister``):

* one ``SpaceView3D`` draw handler, present exactly while the overlay is on (``set_enabled``);
* a persistent ``load_post`` handler that clears the stale result when a file is loaded.

Drawing reads only the plain numbers kept in ``window_manager.bvh_leakfree.cast`` (never an
``Object``), so a deleted hit object cannot break it.  No shader is created in background mode:
shaders are made lazily in the draw callback, which returns at once when ``bpy.app.background``.
"""
import math

import bpy
from mathutils import Vector

from .preferences import get_preferences
from .state import runtime_state

# Builtin shader names, best first.  4.2, 4.5 and 5.0 all have 'POLYLINE_UNIFORM_COLOR' (wide lines
# with uniforms viewportSize/lineWidth/color); the plain ones are the fallback (line width through
# gpu.state), '3D_UNIFORM_COLOR' being the pre-4.0 spelling.
LINE_SHADER_NAMES = ('POLYLINE_UNIFORM_COLOR', 'UNIFORM_COLOR', '3D_UNIFORM_COLOR')

NORMAL_LENGTH_PX = 60.0   # normal drawn this many pixels long at the hit
MARKER_RADIUS_PX = 8.0    # radius of the hit marker circle
MARKER_SEGMENTS = 16

_draw_handle = None
_shader = None       # (name, GPUShader), created on first draw in a window
_load_post = None    # the load_post function we added (identity used for removal)


# --- Enable / disable ----------------------------------------------------------------------------
def is_enabled():
    """True while the draw handler is installed."""
    return _draw_handle is not None


def enable():
    """Install the draw handler (idempotent)."""
    global _draw_handle
    if _draw_handle is None:
        _draw_handle = bpy.types.SpaceView3D.draw_handler_add(_draw, (), 'WINDOW', 'POST_VIEW')
        tag_redraw()


def disable():
    """Remove the draw handler (idempotent)."""
    global _draw_handle
    if _draw_handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_draw_handle, 'WINDOW')
        _draw_handle = None
        tag_redraw()


def set_enabled(value):
    enable() if value else disable()


def tag_redraw(context=None):
    """Redraw every 3D viewport (after a cast, a toggle or a colour change)."""
    wm = (context or bpy.context).window_manager
    if wm is None:
        return
    for window in wm.windows:
        screen = window.screen
        if screen is None:
            continue
        for area in screen.areas:
            if area.type == 'VIEW_3D':
                area.tag_redraw()


# --- Geometry (pure; tested headless) ------------------------------------------------------------
def overlay_geometry(cast, pixel_size=None):
    """Line segments to draw for the result ``cast`` (a ``BVHCastResultState`` or alike).

    Returns ``{"ray": [...], "normal": [...], "marker": [...]}``, each a flat list of points taken
    two by two as segments; empty lists when there is nothing to draw.  ``pixel_size(point)`` gives the
    world size of one pixel at ``point`` (normal length and marker size follow the zoom); without it
    the sizes follow the ray length.
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
        import gpu

        for name in LINE_SHADER_NAMES:
            try:
                _shader = (name, gpu.shader.from_builtin(name))
                break
            except ValueError:  # not a builtin shader name in this Blender
                continue
    return _shader


def _draw():
    """SpaceView3D POST_VIEW callback."""
    if bpy.app.background:
        return
    context = bpy.context
    state = runtime_state(context)
    if state is None or not state.cast.has_result:
        return
    region, rv3d = context.region, context.region_data
    if region is None or rv3d is None:
        return
    shader = _line_shader()
    if shader is None:
        return
    prefs = get_preferences(context)
    width = prefs.overlay_line_width if prefs else 2.0
    colors = _colors(prefs, state.cast.hit)
    geometry = overlay_geometry(state.cast, _pixel_size_function(region, rv3d))
    import gpu

    gpu.state.blend_set('ALPHA')
    gpu.state.depth_test_set('NONE')
    try:
        for key in ("ray", "normal", "marker"):
            if geometry[key]:
                _draw_lines(shader, geometry[key], colors[key], width, region)
    finally:
        gpu.state.blend_set('NONE')
        gpu.state.line_width_set(1.0)


def _colors(prefs, hit):
    if prefs is None:
        ray, marker, normal = (1.0, 0.75, 0.1, 0.9), (1.0, 0.2, 0.2, 1.0), (0.25, 0.6, 1.0, 1.0)
    else:
        ray, marker, normal = (tuple(prefs.overlay_ray_color), tuple(prefs.overlay_hit_color),
                               tuple(prefs.overlay_normal_color))
    if not hit:  # a miss: the ray faded, to max distance
        ray = ray[:3] + (ray[3] * 0.5,)
    return {"ray": ray, "normal": normal, "marker": marker}


def _draw_lines(shader, points, color, width, region):
    from gpu_extras.batch import batch_for_shader

    name, program = shader
    batch = batch_for_shader(program, 'LINES', {"pos": [tuple(p) for p in points]})
    program.bind()
    program.uniform_float("color", color)
    if name.startswith('POLYLINE'):
        program.uniform_float("viewportSize", (float(region.width), float(region.height)))
        program.uniform_float("lineWidth", float(width))
    else:
        import gpu

        gpu.state.line_width_set(float(width))
    batch.draw(program)


# --- File load -----------------------------------------------------------------------------------
@bpy.app.handlers.persistent
def _on_load_post(*_args):
    """A loaded file has other objects: the last result (and the core's cache) is stale."""
    from . import api
    from .operators import clear_result

    clear_result(bpy.context)
    api.clear_cache()
    tag_redraw()


def _remove_load_post():
    handlers = bpy.app.handlers.load_post
    for fn in list(handlers):
        # Ours, or a stale copy from a reload that skipped unregister.
        if fn is _load_post or (getattr(fn, "__module__", None) == __name__
                                and getattr(fn, "__name__", None) == _on_load_post.__name__):
            handlers.remove(fn)


def runtime_hooks_active():
    """Names of the runtime hooks this module holds right now (empty after unregister)."""
    live = []
    if _draw_handle is not None:
        live.append("SpaceView3D draw handler (cast overlay)")
    if _load_post is not None and _load_post in bpy.app.handlers.load_post:
        live.append("load_post handler (clears the last cast)")
    return live


def register():
    global _load_post
    _remove_load_post()
    _load_post = _on_load_post
    bpy.app.handlers.load_post.append(_load_post)
    prefs = get_preferences()
    if prefs is not None and prefs.overlay_default:
        enable()


def unregister():
    global _load_post, _shader
    disable()
    _remove_load_post()
    _load_post = None
    _shader = None
