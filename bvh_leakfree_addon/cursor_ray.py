# SPDX-License-Identifier: GPL-3.0-or-later
"""One ray from the 3D cursor into the selected objects: which objects (:func:`cast_objects`),
which way (:func:`ray_direction`, from a direction option), the build through the script API and
the cast (:func:`cast_from_cursor`).

It sits below both features: the cast (``cast/``) turns a :class:`CursorRay` into its result (words,
state, report) and does what a hit may do; the Leak Check (``monitor/``) repeats it with cold
builds.  No drawing, no state, nothing written into the user's data.
"""
import math
import time
from dataclasses import dataclass

from mathutils import Vector

from . import api
from .core import validate
from .core.geometry import GEOMETRY_TYPES

__all__ = ("INPUTS", "AXES", "CastError", "CursorRay", "NO_GEOMETRY_MESSAGE", "VIEW_FALLBACK_NOTE",
           "ZERO_DIRECTION_MESSAGE", "cast_objects", "inputs_of", "view_direction", "view_line",
           "ray_direction", "cast_from_cursor")

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
    message for the user on bad input: no geometry selected, a cursor or direction that is not a
    finite number, ``distance <= 0``; the core's own errors become ``CastError`` too (one place
    turns every expected error into a message).  ``reuse`` and ``progress`` (callable(fraction)
    for long builds) are passed to ``api.build``.
    """
    if not (distance > 0.0):
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
        hit = bvh.ray_cast(origin, ray, distance)
        done = clock()
    except (ValueError, TypeError, ReferenceError) as ex:
        raise CastError(_sentence(str(ex))) from ex
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
