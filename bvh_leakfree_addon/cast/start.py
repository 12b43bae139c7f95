# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a cast starts: on a surface, inside an object, or in the open (the cursor-on-a-surface
rule, docs/ui-tour.md).

Shift+right-click puts the 3D cursor on the surface under the mouse as the depth buffer has it: a
little in front of or behind the surface (0.02–0.4 mm from a sphere seen from 10 m in Blender 4.3
and 5.2; the error grows with the square of the distance from the eye).  A ray from there would hit
that same surface at once, or, from just behind it, the object's far side, and the artist would see
nothing change.

The rule:

* the cursor lies **on** a selected surface when that surface is within :func:`tolerance` of it;
  the cast then ignores that surface for the first stretch of the ray (as far as the ray needs to
  leave a slab of ± the tolerance around the face, at most ``GRAZING_LIMIT`` tolerances along a
  grazing ray) and says "started on Sphere's surface".  Hits further on count, the start surface
  included;
* a hit on a face's back (its normal along the ray) is said to be one: "hit the inside of Sphere (a
  back face)"; when the ray did not start on a surface, a back face first means the cursor is inside
  that object: "started inside Cube".

Pure but for the BVH query; ``tolerance`` takes plain numbers (the cast reads the view).
"""
import math
from typing import NamedTuple

from mathutils import Vector

__all__ = ("Start", "tolerance", "classify", "cast_past_start", "notes", "DEPTH_BITS",
           "FLOAT_TOLERANCE", "GRAZING_LIMIT")

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


def notes(start, hit, direction):
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
