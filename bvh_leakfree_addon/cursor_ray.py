# SPDX-License-Identifier: GPL-3.0-or-later
"""One ray from the 3D cursor into the selected objects: which objects (:func:`cast_objects`),
which way (:func:`ray_direction`, from a direction option), the build through the script API and
the cast (:func:`cast_from_cursor`), where it starts (the cursor-on-a-surface rule below).

It sits below both features: the cast (``cast/``) turns a :class:`CursorRay` into its result (words,
state, report) and does what a hit may do; the Leak Check (``monitor/``) repeats it with cold
builds.  No drawing, no state, nothing written into the user's data.
"""
import math
import time
from dataclasses import dataclass
from typing import NamedTuple

from mathutils import Vector

from . import api
from .core import validate
from .core.geometry import GEOMETRY_TYPES

__all__ = ("INPUTS", "AXES", "CastError", "CursorRay", "NO_GEOMETRY_MESSAGE", "VIEW_FALLBACK_NOTE",
           "ZERO_DIRECTION_MESSAGE", "cast_objects", "inputs_of", "view_direction", "view_line",
           "view_depth", "ray_direction", "cast_from_cursor", "Start", "tolerance", "classify",
           "cast_past_start", "start_notes", "DEPTH_BITS", "FLOAT_TOLERANCE", "GRAZING_LIMIT")

#: the settings a ray from the cursor takes (keyword arguments of :func:`cast_from_cursor`); the
#: cast's settings group declares them under these names
INPUTS = ("direction", "custom_direction", "distance", "evaluated", "instances")

NO_GEOMETRY_MESSAGE = "Select at least one object with geometry"
CURSOR_LOCATION_MESSAGE = "The 3D cursor's location is not a finite number"
ZERO_DIRECTION_MESSAGE = "Custom direction is zero: give it a length"
NOT_FINITE_DIRECTION_MESSAGE = "Custom direction is not a finite vector (NaN or infinity)"
CURSOR_ROTATION_MESSAGE = "The 3D cursor's rotation is not a finite number"
VIEW_MESSAGE = "The view has no usable direction (its matrix is not finite)"
VIEW_FALLBACK_NOTE = "View direction needs a 3D Viewport: used Cursor -Z"

#: unit axes of the direction options other than View and Custom: (space, axis); space CURSOR
#: turns with the cursor
AXES = {
    'CURSOR_NEG_Z': ('CURSOR', (0.0, 0.0, -1.0)), 'CURSOR_Z': ('CURSOR', (0.0, 0.0, 1.0)),
    'CURSOR_X': ('CURSOR', (1.0, 0.0, 0.0)), 'CURSOR_NEG_X': ('CURSOR', (-1.0, 0.0, 0.0)),
    'CURSOR_Y': ('CURSOR', (0.0, 1.0, 0.0)), 'CURSOR_NEG_Y': ('CURSOR', (0.0, -1.0, 0.0)),
    'GLOBAL_NEG_Z': ('GLOBAL', (0.0, 0.0, -1.0)), 'GLOBAL_Z': ('GLOBAL', (0.0, 0.0, 1.0)),
    'GLOBAL_X': ('GLOBAL', (1.0, 0.0, 0.0)), 'GLOBAL_NEG_X': ('GLOBAL', (-1.0, 0.0, 0.0)),
    'GLOBAL_Y': ('GLOBAL', (0.0, 1.0, 0.0)), 'GLOBAL_NEG_Y': ('GLOBAL', (0.0, -1.0, 0.0)),
}

#: the clock the build and the cast are timed with
clock = time.perf_counter


class CastError(ValueError):
    """Bad input for a ray from the cursor (the message is meant for the user)."""


@dataclass(frozen=True)
class CursorRay:
    """One ray cast from the 3D cursor: where from and which way, what it hit, what it cost."""

    origin: Vector         #: the cursor's location
    direction: Vector      #: unit ray (world space)
    note: str              #: '' or a remark for the report (a direction fallback)
    view: tuple            #: ``view_line()`` of the viewport it was cast in, or None
    stats: object          #: the build's ``SceneBVH.stats``
    hit: object            #: the core's ``Hit``, or None
    build_seconds: float   #: wall time of ``api.build`` (cache reuse included)
    cast_seconds: float


def cast_objects(context):
    """The objects a cast uses: the selection (plus the objects in edit mode)."""
    objects = list(context.selected_objects)
    for obj in getattr(context, "objects_in_mode", None) or ():
        if obj not in objects:
            objects.append(obj)
    return objects


def inputs_of(settings):
    """:func:`cast_from_cursor`'s keyword arguments from ``settings`` (anything with the
    :data:`INPUTS` as attributes: the cast's settings group, its defaults, the operator)."""
    values = {name: getattr(settings, name) for name in INPUTS}
    values["custom_direction"] = tuple(values["custom_direction"])
    return values


def _has_geometry(obj, instances):
    if obj.type in GEOMETRY_TYPES:
        return True
    return instances and obj.instance_type != 'NONE'


# --- Which way -----------------------------------------------------------------------------------
def view_direction(view_matrix, is_perspective, origin):
    """Direction of a ray from ``origin`` as seen by a viewer with ``view_matrix`` (world → view).

    Perspective: from the eye through ``origin``, away from the eye.  Orthographic (or ``origin`` at
    the eye): along the view axis, into the screen.
    """
    to_world = view_matrix.inverted()
    forward = (to_world.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
    if not is_perspective:
        return forward
    eye = to_world.translation
    away = Vector(origin) - eye
    if away.length <= 1e-6 * max(1.0, eye.length):  # at the eye (within float noise)
        return forward
    return away.normalized()


def view_line(context, origin):
    """``(forward, is_perspective)`` of the 3D viewport a cast from ``context`` is made in:
    ``forward`` is the unit direction from the viewer through ``origin`` (orthographic: the view
    axis), as :func:`view_direction` gives it.  None outside a 3D viewport or for a view whose
    matrix is not usable."""
    rv3d = _view_region_3d(context)
    if rv3d is None:
        return None
    try:
        forward = view_direction(rv3d.view_matrix, rv3d.is_perspective, origin)
    except ValueError:   # a singular view matrix
        return None
    if forward.length == 0.0 or not all(map(math.isfinite, forward)):
        return None
    return forward, rv3d.is_perspective


def view_depth(context, origin):
    """``{eye_distance, clip_start, clip_end, perspective}`` of the 3D viewport a cast from
    ``context`` is made in (:func:`tolerance`'s keywords: how precisely Shift+right-click could
    have put the cursor at ``origin``), or {} outside a 3D viewport."""
    rv3d = _view_region_3d(context)
    space = getattr(context, "space_data", None)
    if rv3d is None or space is None:
        return {}
    clip_start, clip_end = space.clip_start, space.clip_end
    camera = getattr(context.scene, "camera", None)
    if rv3d.view_perspective == 'CAMERA' and camera is not None and camera.type == 'CAMERA':
        clip_start, clip_end = camera.data.clip_start, camera.data.clip_end
    try:
        eye = rv3d.view_matrix.inverted().translation
    except ValueError:   # a singular view matrix
        return {}
    return {"eye_distance": (Vector(origin) - eye).length, "clip_start": clip_start,
            "clip_end": clip_end, "perspective": rv3d.is_perspective}


def _view_region_3d(context):
    """The RegionView3D to take the view from, or None outside a 3D viewport."""
    space = getattr(context, "space_data", None)
    if space is None or space.type != 'VIEW_3D':
        return None
    region = getattr(context, "region", None)
    if region is not None and region.type == 'WINDOW' and context.region_data is not None:
        return context.region_data  # the hovered quad-view region
    return space.region_3d  # e.g. called from the sidebar or a menu in the header


def ray_direction(context, mode, custom_direction):
    """``(unit Vector, note)`` for direction ``mode``; ``note`` is '' or a remark for the report.

    Raises ``ValueError`` (a message for the user) for a zero custom direction or an unknown mode.
    """
    cursor = context.scene.cursor
    if mode == 'VIEW':
        rv3d = _view_region_3d(context)
        if rv3d is None:
            direction, _ = ray_direction(context, 'CURSOR_NEG_Z', custom_direction)
            return direction, VIEW_FALLBACK_NOTE
        return _unit(view_direction(rv3d.view_matrix, rv3d.is_perspective, cursor.location),
                     VIEW_MESSAGE), ""
    if mode == 'CUSTOM':
        values = tuple(custom_direction)
        if not all(map(math.isfinite, values)):
            raise ValueError(NOT_FINITE_DIRECTION_MESSAGE)
        return _unit(values, ZERO_DIRECTION_MESSAGE), ""
    if mode not in AXES:
        raise ValueError(f"Unknown direction {mode!r}")
    space, axis = AXES[mode]
    if space == 'GLOBAL':
        return Vector(axis), ""
    return _unit(cursor.matrix.to_3x3().normalized() @ Vector(axis), CURSOR_ROTATION_MESSAGE), ""


def _unit(vector, message):
    """``vector`` as a unit ``Vector`` (robust for any finite length), else
    ``ValueError(message)``."""
    try:
        return Vector(validate.direction(vector))
    except ValueError:
        raise ValueError(message) from None


# --- The build and the cast ----------------------------------------------------------------------
def cast_from_cursor(context, *, direction, custom_direction, distance, evaluated, instances,
                     reuse=True, progress=None):
    """Cast one ray from the 3D cursor into the selected objects; a :class:`CursorRay`.

    Changes nothing in the user's data.  Raises :class:`CastError` (a ``ValueError``) with a
    message for the user on bad input: no geometry selected, a cursor, direction or distance that
    is not a finite number, ``distance <= 0``; the core's own errors become ``CastError`` too (one
    place turns every expected error into a message).  ``reuse`` and ``progress``
    (callable(fraction) for long builds) are passed to ``api.build``.
    """
    if math.isnan(distance):
        raise CastError("Distance must be a finite number (got nan)")
    if not distance > 0.0:
        raise CastError(f"Distance must be greater than 0 (got {distance})")
    objects = cast_objects(context)
    if not any(_has_geometry(obj, instances) for obj in objects):
        raise CastError(NO_GEOMETRY_MESSAGE)
    origin = context.scene.cursor.location.copy()
    if not all(map(math.isfinite, origin)):
        raise CastError(CURSOR_LOCATION_MESSAGE)
    try:
        ray, note = ray_direction(context, direction, custom_direction)
        depsgraph = context.evaluated_depsgraph_get()
        start = clock()
        bvh = api.build(objects, depsgraph, evaluated=evaluated, instances=instances,
                        reuse=reuse, progress=progress)
        built = clock()
        if bvh.stats.triangles == 0:
            raise CastError(_no_geometry_message(bvh.stats))
        start_at = classify(bvh, origin, ray, tolerance(origin, **view_depth(context, origin)))
        hit = cast_past_start(bvh, origin, ray, distance, start_at)
        done = clock()
    except (ValueError, TypeError, ReferenceError) as ex:
        raise CastError(_sentence(str(ex))) from ex
    note = "; ".join(filter(None, [note, *start_notes(start_at, hit, ray)]))
    return CursorRay(origin, ray, note, view_line(context, origin), bvh.stats, hit,
                     built - start, done - built)


def _no_geometry_message(stats):
    """Nothing to cast into: say why each selected object was left out (first few)."""
    reasons = [f"{name}: {reason}" for name, reason in stats.objects_skipped[:3]]
    more = len(stats.objects_skipped) - len(reasons)
    if more > 0:
        reasons.append(f"{more} more")
    return NO_GEOMETRY_MESSAGE + (f" (skipped {'; '.join(reasons)})" if reasons else "")


def _sentence(text):
    return text[:1].upper() + text[1:] if text else text


# --- Where the ray starts: the cursor-on-a-surface rule ------------------------------------------
# Shift+right-click puts the 3D cursor on the surface under the mouse as the depth buffer has it:
# a little in front of or behind the surface (0.02-0.4 mm from a sphere seen from 10 m in Blender
# 4.3 and 5.2; the error grows with the square of the distance from the eye).  A ray from there
# would hit that same surface at once or, from just behind it, the object's far side, and the
# artist would see nothing change.  The rule (docs/ui-tour.md):
#
# * the cursor lies *on* a selected surface when that surface is within tolerance() of it; the
#   cast then ignores that surface for the first stretch of the ray (as far as the ray needs to
#   leave a slab of +/- the tolerance around the face, at most GRAZING_LIMIT tolerances along a
#   grazing ray) and says "started on Sphere's surface".  Hits further on count, that surface's
#   included;
# * a hit on a face's back (its normal along the ray) is said to be one: "hit the inside of Sphere
#   (a back face)"; when the ray did not start on a surface, a back face first means the cursor is
#   inside that object: "started inside Cube".
DEPTH_BITS = 24             # the viewport's depth buffer, which Shift+right-click reads
FLOAT_TOLERANCE = 4e-6      # per metre of distance from the world origin (float32 locations)
GRAZING_LIMIT = 10.0        # tolerances the ray may travel in the start slab, at most


class Start(NamedTuple):
    """Where the ray starts: ``surface`` is the name of the object whose surface the cursor lies
    on ('' in the open) and ``skip`` how far along the ray that surface is ignored (0: nothing)."""

    surface: str = ""
    skip: float = 0.0


def tolerance(origin, eye_distance=None, clip_start=None, clip_end=None, perspective=True):
    """How far from a surface the 3D cursor still lies on it, in metres.

    Twice the depth buffer's resolution where the cursor is (perspective: d² / (clip_start ×
    2^24), d the distance from the eye; orthographic: the clip range / 2^24), and at least
    ``FLOAT_TOLERANCE`` per metre from the world origin (the float precision of locations; the
    tolerance of a cast made without a view, e.g. from a script).
    """
    floor = FLOAT_TOLERANCE * max(1.0, Vector(origin).length)
    if perspective and eye_distance and clip_start and clip_start > 0.0:
        depth = eye_distance * eye_distance / (clip_start * 2 ** DEPTH_BITS)
    elif not perspective and clip_start is not None and clip_end and clip_end > clip_start:
        depth = (clip_end - clip_start) / 2 ** DEPTH_BITS
    else:
        depth = 0.0
    value = max(floor, 2.0 * depth)
    return value if math.isfinite(value) else floor


def classify(bvh, origin, direction, within):
    """:class:`Start` of a ray from ``origin`` along the unit ``direction`` into ``bvh`` (a
    ``SceneBVH``), with the surface tolerance ``within``."""
    nearest = bvh.find_nearest(origin, within)
    if nearest is None:
        return Start()
    across = abs(Vector(nearest.normal).dot(direction))
    offset = abs((Vector(origin) - Vector(nearest.location)).dot(Vector(nearest.normal)))
    skip = min((within + offset) / across if across > 0.0 else math.inf, GRAZING_LIMIT * within)
    return Start(_name(nearest.object), skip)


def cast_past_start(bvh, origin, direction, distance, start):
    """``bvh.ray_cast`` that ignores the first ``start.skip`` of the ray; the hit's distance is
    from ``origin`` all the same.  None for a miss."""
    if start.skip <= 0.0:
        return bvh.ray_cast(origin, direction, distance)
    if start.skip >= distance:
        return None
    hit = bvh.ray_cast(Vector(origin) + Vector(direction) * start.skip, direction,
                       distance - start.skip)
    if hit is not None:
        hit.distance += start.skip
    return hit


def start_notes(start, hit, direction):
    """What the result says about where the ray started and what side of a face it hit."""
    out = []
    if start.surface:
        out.append(f"started on {start.surface}'s surface")
    if hit is not None and Vector(hit.normal).dot(direction) > 0.0:
        name = _name(hit.object)
        if start.surface:
            out.append(f"hit the inside of {name} (a back face)")
        else:
            out.append(f"started inside {name}: hit its inside (a back face)")
    return out


def _name(obj):
    try:
        return obj.name if obj is not None else ""
    except ReferenceError:
        return ""
