# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast's service: one ray from the 3D cursor into the selected objects
(:func:`cast_from_cursor`, used by the operator and by the monitor's Leak Check), and what a hit may
do afterwards (snap the cursor, select the object).  No drawing, no state: the operator stores and
reports."""
import contextlib
import math
import time
from dataclasses import dataclass, field

from mathutils import Vector

from .. import api
from ..core.geometry import GEOMETRY_TYPES
from ..utils import view_layer_members
from . import start as ray_start
from .directions import VIEW_FALLBACK_NOTE, direction_words, ray_direction, view_depth, view_line

__all__ = ("CastError", "CastResult", "NO_GEOMETRY_MESSAGE", "cast_objects", "cast_from_cursor",
           "snap_cursor_to_hit", "select_hit_object", "BuildProgress")

NO_GEOMETRY_MESSAGE = "Select at least one object with geometry"
CURSOR_LOCATION_MESSAGE = "The 3D cursor's location is not a finite number"
PROGRESS_DELAY_SECONDS = 0.3  # builds taking longer than this show progress and status text


class CastError(ValueError):
    """Bad input for a cast (message meant for the user)."""


# --- The cast ------------------------------------------------------------------------------------
@dataclass
class CastResult:
    """One ray cast from the 3D cursor: the ray (and the settings it was cast with), what it hit,
    what it cost."""

    origin: Vector
    direction: Vector
    direction_mode: str
    max_distance: float
    custom_direction: tuple = (0.0, 0.0, -1.0)   # the Custom Direction setting of the cast
    evaluated: bool = True                       # the Modifiers setting
    instances: bool = True                       # the Instances setting
    words: tuple = ()            # where the ray went, in words (directions.direction_words)
    hit: bool = False
    location: Vector = None
    normal: Vector = None
    object: object = None        # bpy.types.Object hit (for an instance: the instanced object)
    instancer: object = None     # the selected instancer, for an instance hit
    polygon_index: int = -1
    distance: float = 0.0
    stats: object = None         # SceneBVH.stats
    build_seconds: float = 0.0   # wall time of api.build (cache reuse included)
    cast_seconds: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def object_name(self):
        return _safe_name(self.object)

    @property
    def instancer_name(self):
        return _safe_name(self.instancer)

    @property
    def object_uid(self):
        """``session_uid`` of the object hit (0: none): tells it apart from another object of the
        same name (a linked one, say) and from a new object that took its name."""
        try:
            return self.object.session_uid if self.object is not None else 0
        except ReferenceError:
            return 0

    @property
    def triangles(self):
        return int(getattr(self.stats, "triangles", 0) or 0)

    @property
    def objects_used(self):
        return int(getattr(self.stats, "objects_used", 0))

    @property
    def objects_skipped(self):
        return len(getattr(self.stats, "objects_skipped", ()))

    @property
    def reused(self):
        return bool(getattr(self.stats, "reused", False))

    @property
    def note(self):
        return "; ".join(self.notes)

    def report_text(self):
        """``Hit "Cube" face 12 at (1.00, 0.20, 0.00), 2.31 m (5,120 tris, 3 objects, 1.8 ms)``, or
        ``No hit within 100 m, ray along your view, away from you (12 tris, 1 object, 0.4 ms)``."""
        ms = (self.build_seconds + self.cast_seconds) * 1000.0
        cost = (f"{self.triangles:,} tris, {self.objects_used:,} "
                f"object{'s' if self.objects_used != 1 else ''}, {ms:.1f} ms")
        if self.hit:
            via = f' via "{self.instancer_name}"' if self.instancer is not None else ""
            x, y, z = self.location
            text = (f'Hit "{self.object_name}"{via} face {self.polygon_index} at '
                    f"({x:.2f}, {y:.2f}, {z:.2f}), {self.distance:.2f} m ({cost})")
        else:
            went = f", ray {', '.join(self.words)}" if self.words else ""
            text = f"No hit within {_format_distance(self.max_distance)} m{went} ({cost})"
        if self.notes:
            text += " - " + self.note
        return text


def _safe_name(obj):
    if obj is None:
        return ""
    try:
        return obj.name
    except ReferenceError:  # removed since the cast
        return ""


def _no_geometry_message(stats):
    """Nothing to cast into: say why each selected object was left out (first few)."""
    reasons = [f"{name}: {reason}" for name, reason in stats.objects_skipped[:3]]
    more = len(stats.objects_skipped) - len(reasons)
    if more > 0:
        reasons.append(f"{more} more")
    return NO_GEOMETRY_MESSAGE + (f" (skipped {'; '.join(reasons)})" if reasons else "")


def _sentence(text):
    return text[:1].upper() + text[1:] if text else text


def _format_distance(value):
    return f"{value:,.6g}" if math.isfinite(value) else "infinite"


def cast_objects(context):
    """The objects a cast uses: the selection (plus the objects in edit mode)."""
    objects = list(context.selected_objects)
    for obj in getattr(context, "objects_in_mode", None) or ():
        if obj not in objects:
            objects.append(obj)
    return objects


def _has_geometry(obj, instances):
    if obj.type in GEOMETRY_TYPES:
        return True
    return instances and obj.instance_type != 'NONE'


def cast_from_cursor(context, *, direction, custom_direction, distance, evaluated, instances,
                     reuse=True, progress=None):
    """Cast one ray from the 3D cursor into the selected objects and return a ``CastResult``.

    Changes nothing in the user's data.  Raises ``CastError`` (a ``ValueError``) with a message for
    the user on bad input: no geometry selected, a cursor or direction that is not a finite number,
    ``distance <= 0``; the core's own errors become ``CastError`` too (one place turns every
    expected error into a message).  ``progress`` is passed to ``api.build`` (callable(fraction)
    for long builds).
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
        start = time.perf_counter()
        bvh = api.build(objects, depsgraph, evaluated=evaluated, instances=instances,
                        reuse=reuse, progress=progress)
        built = time.perf_counter()
        if bvh.stats.triangles == 0:
            raise CastError(_no_geometry_message(bvh.stats))
        within = ray_start.tolerance(origin, **view_depth(context, origin))
        start_at = ray_start.classify(bvh, origin, ray, within)
        hit = ray_start.cast_past_start(bvh, origin, ray, distance, start_at)
        done = time.perf_counter()
    except (ValueError, TypeError, ReferenceError) as ex:
        raise CastError(_sentence(str(ex))) from ex

    words = direction_words(direction, ray, view_line(context, origin),
                            fell_back=note == VIEW_FALLBACK_NOTE)
    result = CastResult(origin=origin, direction=ray, direction_mode=direction,
                        max_distance=distance, custom_direction=tuple(custom_direction),
                        evaluated=bool(evaluated), instances=bool(instances), words=tuple(words),
                        stats=bvh.stats,
                        build_seconds=built - start, cast_seconds=done - built,
                        notes=([note] if note else []) + ray_start.notes(start_at, hit, ray))
    if hit is not None:
        result.hit = True
        result.location = Vector(hit.location)
        result.normal = Vector(hit.normal)
        result.object = hit.object
        result.instancer = hit.instancer
        result.polygon_index = hit.polygon_index
        result.distance = hit.distance
    return result


def snap_cursor_to_hit(scene, result):
    """Move the 3D cursor to the hit and turn its Z axis to the surface normal."""
    rotation = result.normal.to_track_quat('Z', 'Y')
    cursor = scene.cursor
    cursor.location = result.location
    mode = cursor.rotation_mode
    if mode == 'QUATERNION':
        cursor.rotation_quaternion = rotation
    elif mode == 'AXIS_ANGLE':
        axis, angle = rotation.to_axis_angle()
        cursor.rotation_axis_angle = (angle, *axis)
    else:
        cursor.rotation_euler = rotation.to_euler(mode)


def select_hit_object(context, result):
    """Make the hit object (or, for an instance, its instancer) active and selected.

    Returns '' or a note why the selection was left alone.
    """
    if context.mode != 'OBJECT':
        return "selection left alone outside Object Mode"
    view_layer = context.view_layer
    in_layer = view_layer_members(view_layer)
    target = result.object
    if target is None or target.as_pointer() not in in_layer:
        target = result.instancer  # an instanced object is usually not in the view layer
    if target is None or target.as_pointer() not in in_layer:
        return "hit object is not in the view layer: selection left alone"
    if not target.visible_get(view_layer=view_layer) or target.hide_select:
        return f'"{target.name}" cannot be selected: selection left alone'
    target.select_set(True, view_layer=view_layer)
    view_layer.objects.active = target
    return ""


class BuildProgress:
    """``progress`` callback for api.build: shows progress and status text once a build is slow."""

    def __init__(self, context, delay=PROGRESS_DELAY_SECONDS):
        self.wm = context.window_manager
        self.workspace = getattr(context, "workspace", None)
        self.start = time.perf_counter()
        self.delay = delay
        self.shown = False

    def __call__(self, fraction):
        if not self.shown:
            if time.perf_counter() - self.start < self.delay:
                return
            self.shown = True
            self.wm.progress_begin(0, 100)
            self._status("Building BVH for the ray cast from the 3D cursor...")
        self.wm.progress_update(int(max(0.0, min(1.0, fraction)) * 100))

    def end(self):
        if self.shown:
            self.wm.progress_end()
            self._status(None)
            self.shown = False

    def _status(self, text):
        if self.workspace is not None:
            with contextlib.suppress(AttributeError, RuntimeError, ReferenceError):
                self.workspace.status_text_set(text)
