# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a cast from the 3D cursor went, in words for the user (:func:`direction_words`: "along
your view, away from you", "along the cursor's -Z, straight down")."""
import math

from mathutils import Vector

from ..cursor_ray import AXES

__all__ = ("AXIS_DEGREES", "HEAD_ON_DEGREES", "direction_words")

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
    is_perspective)`` of the viewport it was cast in (``cursor_ray.view_line``; None: none) and
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
    elif mode == 'VIEW' or AXES.get(mode, ('',))[0] == 'CURSOR':
        axis = AXES['CURSOR_NEG_Z' if mode == 'VIEW' else mode][1]
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
