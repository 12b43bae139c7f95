# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a cast from the 3D cursor goes: the direction modes of :mod:`.settings` as unit vectors."""
import math

from mathutils import Vector

from ..core import validate

__all__ = ("ZERO_DIRECTION_MESSAGE", "VIEW_FALLBACK_NOTE", "view_direction", "ray_direction")

ZERO_DIRECTION_MESSAGE = "Custom direction is zero: give it a length"
NOT_FINITE_DIRECTION_MESSAGE = "Custom direction is not a finite vector (NaN or infinity)"
CURSOR_ROTATION_MESSAGE = "The 3D cursor's rotation is not a finite number"
VIEW_MESSAGE = "The view has no usable direction (its matrix is not finite)"
VIEW_FALLBACK_NOTE = "View direction needs a 3D Viewport: used Cursor -Z"

# Unit axes of the non-view direction modes: (space, axis); space CURSOR rotates by the cursor.
_AXES = {
    'CURSOR_NEG_Z': ('CURSOR', (0.0, 0.0, -1.0)), 'CURSOR_Z': ('CURSOR', (0.0, 0.0, 1.0)),
    'CURSOR_X': ('CURSOR', (1.0, 0.0, 0.0)), 'CURSOR_NEG_X': ('CURSOR', (-1.0, 0.0, 0.0)),
    'CURSOR_Y': ('CURSOR', (0.0, 1.0, 0.0)), 'CURSOR_NEG_Y': ('CURSOR', (0.0, -1.0, 0.0)),
    'GLOBAL_NEG_Z': ('GLOBAL', (0.0, 0.0, -1.0)), 'GLOBAL_Z': ('GLOBAL', (0.0, 0.0, 1.0)),
    'GLOBAL_X': ('GLOBAL', (1.0, 0.0, 0.0)), 'GLOBAL_NEG_X': ('GLOBAL', (-1.0, 0.0, 0.0)),
    'GLOBAL_Y': ('GLOBAL', (0.0, 1.0, 0.0)), 'GLOBAL_NEG_Y': ('GLOBAL', (0.0, -1.0, 0.0)),
}


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
    if mode not in _AXES:
        raise ValueError(f"Unknown direction {mode!r}")
    space, axis = _AXES[mode]
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
