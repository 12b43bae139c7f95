# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a cast from the 3D cursor goes: the direction modes of :mod:`.settings` as unit vectors,
and the same in words for the user (:func:`direction_words`: "along your view, away from you")."""
import math

from mathutils import Vector

from ..core import validate

__all__ = ("ZERO_DIRECTION_MESSAGE", "VIEW_FALLBACK_NOTE", "view_direction", "ray_direction",
           "view_line", "view_depth", "direction_words")

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
    ``context`` is made in (``start.tolerance``'s keywords: how precisely Shift+right-click could
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


# --- In words ------------------------------------------------------------------------------------
#: within this angle of a world axis a ray is said to go along it ("straight down")
AXIS_DEGREES = 2.0
#: within this angle of the viewer's line of sight a ray goes "away from you" / "toward you"
HEAD_ON_DEGREES = 20.0

_WORLD_WORDS = (
    ((0.0, 0.0, -1.0), "straight down"), ((0.0, 0.0, 1.0), "straight up"),
    ((1.0, 0.0, 0.0), "along world +X"), ((-1.0, 0.0, 0.0), "along world -X"),
    ((0.0, 1.0, 0.0), "along world +Y"), ((0.0, -1.0, 0.0), "along world -Y"),
)
_AXIS_NAMES = {(1.0, 0.0, 0.0): "+X", (-1.0, 0.0, 0.0): "-X", (0.0, 1.0, 0.0): "+Y",
               (0.0, -1.0, 0.0): "-Y", (0.0, 0.0, 1.0): "+Z", (0.0, 0.0, -1.0): "-Z"}


def direction_words(mode, direction, view=None, fell_back=False):
    """Where a ray went, as short phrases for the user, e.g. ``["along your view", "away from
    you"]``, ``["along the cursor's -Z", "straight down"]`` or ``["straight down", "toward
    you"]``.

    ``mode`` is the direction option, ``direction`` the unit ray, ``view`` the ``(forward,
    is_perspective)`` of the viewport it was cast in (:func:`view_line`; None: no viewport) and
    ``fell_back`` tells that View fell back to Cursor -Z.  Pure: the cast stores the words, so
    they describe the view the ray was cast in, not the one the user turned to since.
    """
    direction = Vector(direction)
    if direction.length == 0.0:
        return []
    direction.normalize()
    words = []
    if mode == 'VIEW' and not fell_back:
        words.append("along your view")
    elif mode == 'CUSTOM':
        words.append("along the custom direction")
    elif mode == 'VIEW' or _AXES.get(mode, ('',))[0] == 'CURSOR':
        axis = _AXES['CURSOR_NEG_Z' if mode == 'VIEW' else mode][1]
        words.append(f"along the cursor's {_AXIS_NAMES[axis]}")
    axis_cos = math.cos(math.radians(AXIS_DEGREES))
    words += [text for axis, text in _WORLD_WORDS if direction.dot(Vector(axis)) >= axis_cos]
    if view is not None:
        forward, perspective = view
        along = direction.dot(Vector(forward).normalized())
        head_on = math.cos(math.radians(HEAD_ON_DEGREES))
        if along >= head_on:
            words.append("away from you" if perspective else "into the screen")
        elif along <= -head_on:
            words.append("toward you" if perspective else "out of the screen")
    return words
