# SPDX-License-Identifier: GPL-3.0-or-later
"""Viewport overlay of the last ray cast from the 3D cursor: the ray, a direction glyph at the
cursor that reads head-on (a ray along the line of sight draws as a single point), the far end of a
miss, the hit point (a diamond, unlike the glyph's and Blender's cursor's rings) and the normal, and
a label at the hit ("Sphere, 2.31 m"): head-on, the hit lies right behind the cursor on the screen,
and the label says which mark is what.  Sizes and line widths are pixels at Resolution Scale 1 and
grow with it, as Blender's own cursor does.

Two ``SpaceView3D`` draw handlers (the lines, in the view; the label, in pixels), added at register
and removed at unregister (both idempotent), as Blender's Math Vis add-on does.  The callbacks only
read: the Show Overlay setting and the plain numbers of the last result (never an ``Object``, so a
deleted hit object cannot break them), and return at once when there is nothing to draw.  No shader
is made in background mode: shaders are made lazily in the callback, which returns first when
``bpy.app.background``.
"""
import math

import bpy

import blf
import gpu
from bpy_extras.view3d_utils import location_3d_to_region_2d
from gpu_extras.batch import batch_for_shader
from mathutils import Vector

from ..cursor_ray import view_direction
from ..utils import get_preferences, runtime_state

__all__ = ("overlay_geometry", "view_geometry", "drawn_result", "label_text", "ui_scale",
           "register", "unregister", "runtime_hooks_active")

# Builtin shader names, best first.  4.2, 4.5 and 5.0 all have 'POLYLINE_UNIFORM_COLOR' (wide lines
# with uniforms viewportSize/lineWidth/color); the plain ones are the fallback (line width through
# gpu.state), '3D_UNIFORM_COLOR' being the pre-4.0 spelling.
LINE_SHADER_NAMES = ('POLYLINE_UNIFORM_COLOR', 'UNIFORM_COLOR', '3D_UNIFORM_COLOR')

# Sizes in pixels at Resolution Scale 1 (ui_scale() times these on screen).
NORMAL_LENGTH_PX = 60.0   # normal drawn this many pixels long at the hit
MARKER_RADIUS_PX = 15.0   # half diagonal of the hit marker, a diamond in the surface (Blender's
                          # cursor and the direction glyph are rings: the shapes tell them apart)
MARKER_INNER_PX = 5.0     # its inner diamond (a double outline reads at a glance)
GLYPH_RADIUS_PX = 21.0    # the direction glyph's ring at the cursor (outside the cursor's own)
GLYPH_SEGMENTS = 32
CROSS_INNER_PX = 7.0      # its cross's arms start this far out (the cursor's centre stays clear)
DOT_RADIUS_PX = 4.0       # its dot when the ray comes toward the viewer
ARROW_TIP_PX = 48.0       # the arrowhead's tip, this far from the cursor along the ray
ARROW_HEAD_PX = 16.0      # length of its barbs along the ray
ARROW_WIDTH_PX = 8.0      # how far its barbs spread from the ray
END_MARKER_PX = 26.0      # half diagonal of the square at the far end of a miss (seen head-on it
                          # frames the glyph)
MAX_DRAWN_LENGTH = 1e6    # a longer (or infinite) miss is drawn this long
LABEL_POINTS = 11.0       # the hit label's text size (Blender's default interface text)
LABEL_OFFSET_PX = (16.0, -22.0)   # from the hit point to the label's start (right, below)

#: what overlay_geometry returns, in drawing order
GEOMETRY_KEYS = ("ray", "glyph", "arrow", "end", "normal", "marker")

_draw_handle = None
_label_handle = None
_shader = None       # (name, GPUShader), created on first draw in a window


# --- Geometry (pure; tested headless) ------------------------------------------------------------
def overlay_geometry(cast, pixel_size=None, view_forward=None, scale=1.0):
    """Line segments to draw for the result ``cast`` (a ``CastResultState`` or alike).

    Returns a dict of flat point lists (taken two by two as segments; empty: nothing to draw):

    * ``ray``: the cursor to the hit, or to the end of the ray for a miss;
    * ``glyph``: a ring around the cursor perpendicular to the ray, with a cross in it (the tail
      of an arrow seen from behind, as in ⊗: the ray goes away from the viewer) or a dot (the
      tip of an arrow seen from the front, ⊙: it comes toward the viewer), so that a ray along
      the line of sight, which draws as a single point, still reads head-on;
    * ``arrow``: an arrowhead on the ray near the cursor, pointing where the ray goes;
    * ``end``: for a miss, a square perpendicular to the ray at its far end;
    * ``normal`` and ``marker``: for a hit, the surface normal and a double diamond in the
      tangent plane.

    ``pixel_size(point)`` gives the world size of one pixel at ``point``, so that glyphs, normal
    and markers keep their size in pixels at any zoom; without it the sizes follow the ray
    length.  ``scale`` multiplies every size (the interface's scale: :func:`ui_scale`).
    ``view_forward`` is the viewer's direction through the cursor
    (``cursor_ray.view_direction``): it picks the cross or the dot (None: the cross).
    """
    geometry = {key: [] for key in GEOMETRY_KEYS}
    if cast is None or not cast.has_result:
        return geometry
    origin = Vector(cast.ray_origin)
    direction = Vector(cast.ray_direction)
    if direction.length == 0.0:
        return geometry
    direction.normalize()
    if cast.hit:
        end = Vector(cast.location)
    else:
        length = cast.distance if math.isfinite(cast.distance) else MAX_DRAWN_LENGTH
        end = origin + direction * min(length, MAX_DRAWN_LENGTH)
    length = (end - origin).length
    per_pixel = pixel_size if pixel_size else (lambda _point: max(length, 1.0) / 400.0)

    def unit(point):
        return per_pixel(point) * scale

    geometry["ray"] = [origin, end]

    side, up = _basis(direction)
    size = unit(origin)
    ring = GLYPH_RADIUS_PX * size
    geometry["glyph"] = _circle_segments(origin, side, up, ring, GLYPH_SEGMENTS)
    diagonals = ((side + up).normalized(), (side - up).normalized())
    toward_viewer = view_forward is not None and direction.dot(Vector(view_forward)) < 0.0
    if toward_viewer:
        geometry["glyph"] += _circle_segments(origin, side, up, DOT_RADIUS_PX * size, 8)
    else:
        inner = CROSS_INNER_PX * size
        for axis in diagonals:
            for sign in (1.0, -1.0):
                geometry["glyph"] += [origin + axis * (sign * inner), origin + axis * (sign * ring)]
    tip_distance = min(ARROW_TIP_PX * size, length)
    tip = origin + direction * tip_distance
    back = tip - direction * min(ARROW_HEAD_PX * size, tip_distance)
    for axis in diagonals:
        for sign in (1.0, -1.0):
            geometry["arrow"] += [tip, back + axis * (sign * ARROW_WIDTH_PX * size)]

    if not cast.hit:
        corner = END_MARKER_PX * unit(end)
        corners = [end + side * corner, end + up * corner, end - side * corner, end - up * corner]
        for i, point in enumerate(corners):
            geometry["end"] += [point, corners[(i + 1) % 4]]
        return geometry
    normal = Vector(cast.normal)
    normal = normal.normalized() if normal.length > 0.0 else -direction
    size = unit(end)
    geometry["normal"] = [end, end + normal * (NORMAL_LENGTH_PX * size)]
    tangent, bitangent = _basis(normal)
    for radius in (MARKER_RADIUS_PX, MARKER_INNER_PX):
        geometry["marker"] += _circle_segments(end, tangent, bitangent, radius * size, 4)
    return geometry


def _basis(direction):
    """Two unit vectors perpendicular to ``direction`` and to each other; the first one level
    (perpendicular to world Z) whenever the direction is not vertical, so that glyphs seen in an
    unrolled view are upright."""
    side = direction.cross(Vector((0.0, 0.0, 1.0)))
    if side.length < 1e-6:
        side = direction.orthogonal()
    side.normalize()
    return side, direction.cross(side).normalized()


def _circle_segments(center, u, v, radius, segments):
    """A circle of ``radius`` around ``center`` in the plane of the unit vectors ``u``, ``v``."""
    points = []
    for i in range(segments):
        for j in (i, i + 1):
            angle = 2.0 * math.pi * j / segments
            points.append(center + radius * (math.cos(angle) * u + math.sin(angle) * v))
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


def ui_scale(context=None):
    """The interface's scale (Resolution Scale times the display's): what Blender's own cursor
    grows with.  1.0 without preferences."""
    prefs = getattr(context or bpy.context, "preferences", None)
    scale = getattr(getattr(prefs, "system", None), "ui_scale", 1.0) or 1.0
    return scale if math.isfinite(scale) and scale > 0.0 else 1.0


def view_geometry(cast, region, rv3d, scale=None):
    """:func:`overlay_geometry` for the 3D viewport ``region`` with view ``rv3d``: sizes in that
    view's pixels times ``scale`` (default: :func:`ui_scale`), the glyph for that viewer."""
    try:
        forward = view_direction(rv3d.view_matrix, rv3d.is_perspective, cast.ray_origin)
    except ValueError:   # a singular view matrix: the default glyph
        forward = None
    return overlay_geometry(cast, _pixel_size_function(region, rv3d), forward,
                            ui_scale() if scale is None else scale)


def label_text(cast):
    """The label at the hit: ``"Sphere, 2.31 m"`` (a hit), else ''."""
    if cast is None or not cast.has_result or not cast.hit:
        return ""
    name = cast.object_name or "hit"
    return f"{name}, {cast.hit_distance:.2f} m"


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
    geometry = view_geometry(cast, region, rv3d)
    batches = {}   # one batch per colour
    for key in GEOMETRY_KEYS:
        batches.setdefault(colors[key], []).extend(geometry[key])
    width = settings.line_width * ui_scale(context)
    gpu.state.blend_set('ALPHA')
    gpu.state.depth_test_set('NONE')
    try:
        for color, points in batches.items():
            if points:
                _draw_lines(shader, points, color, width, region)
    finally:
        gpu.state.blend_set('NONE')
        gpu.state.line_width_set(1.0)


def _draw_label():
    """SpaceView3D POST_PIXEL callback: the hit's label, in the hit's colour with a shadow, beside
    the hit point (nothing when it is behind the viewer or there is no hit)."""
    if bpy.app.background:
        return
    context = bpy.context
    cast = drawn_result(context)
    text = label_text(cast)
    region, rv3d = context.region, context.region_data
    if not text or region is None or rv3d is None:
        return
    point = location_3d_to_region_2d(region, rv3d, cast.location)
    if point is None:
        return
    scale = ui_scale(context)
    font = 0
    blf.size(font, LABEL_POINTS * scale)
    blf.color(font, *get_preferences(context).cast.hit_color)
    blf.enable(font, blf.SHADOW)
    blf.shadow(font, 3, 0.0, 0.0, 0.0, 0.9)
    blf.shadow_offset(font, 1, -1)
    try:
        blf.position(font, point.x + LABEL_OFFSET_PX[0] * scale,
                     point.y + LABEL_OFFSET_PX[1] * scale, 0.0)
        blf.draw(font, text)
    finally:
        blf.disable(font, blf.SHADOW)


def _colors(settings, hit):
    """The colour of each part: glyph, arrow and a miss's end in the ray's colour, a miss's ray
    faded."""
    ray = tuple(settings.ray_color)
    marker, normal = tuple(settings.hit_color), tuple(settings.normal_color)
    faded = ray if hit else ray[:3] + (ray[3] * 0.5,)
    return {"ray": faded, "glyph": ray, "arrow": ray, "end": ray, "normal": normal,
            "marker": marker}


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
    """Add the draw handlers (idempotent)."""
    global _draw_handle, _label_handle
    if _draw_handle is None:
        _draw_handle = bpy.types.SpaceView3D.draw_handler_add(_draw, (), 'WINDOW', 'POST_VIEW')
    if _label_handle is None:
        _label_handle = bpy.types.SpaceView3D.draw_handler_add(_draw_label, (), 'WINDOW',
                                                               'POST_PIXEL')


def unregister():
    """Remove the draw handlers (idempotent) and forget the shader."""
    global _draw_handle, _label_handle, _shader
    if _draw_handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_draw_handle, 'WINDOW')
        _draw_handle = None
    if _label_handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_label_handle, 'WINDOW')
        _label_handle = None
    _shader = None


def runtime_hooks_active():
    hooks = []
    if _draw_handle is not None:
        hooks.append("SpaceView3D draw handler (cast overlay)")
    if _label_handle is not None:
        hooks.append("SpaceView3D draw handler (cast overlay's hit label)")
    return hooks
