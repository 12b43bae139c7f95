# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast's service: one ray from the 3D cursor into the selected objects as a
:class:`.result.CastResult` (:func:`cast_from_cursor`: ``cursor_ray``'s ray, with where it went in
words), and what a hit may do afterwards (snap the cursor, select the object).  No drawing, no
state: the operator stores and reports."""
import contextlib
import time

from mathutils import Vector

from .. import cursor_ray
from ..cursor_ray import CastError
from ..utils import view_layer_members
from .result import CastResult
from .words import direction_words

__all__ = ("CastError", "cast_from_cursor", "snap_cursor_to_hit", "place_cursor", "snap_changes",
           "select_hit_object", "selection_target", "selection_changes", "BuildProgress")

PROGRESS_DELAY_SECONDS = 0.3  # builds taking longer than this show progress and status text
SKIPPED_NAMED = 3             # selected objects without a surface named in the result


def cast_from_cursor(context, *, direction, custom_direction, distance, evaluated, instances,
                     reuse=True, progress=None):
    """Cast one ray from the 3D cursor into the selected objects and return a ``CastResult``.

    The arguments and errors are those of ``cursor_ray.cast_from_cursor`` (``CastError``, a
    ``ValueError`` with a message for the user, on bad input).  Changes nothing in the user's
    data."""
    inputs = {"direction": direction, "custom_direction": tuple(custom_direction),
              "distance": distance, "evaluated": bool(evaluated), "instances": bool(instances)}
    ray = cursor_ray.cast_from_cursor(context, reuse=reuse, progress=progress, **inputs)
    words = direction_words(direction, ray.direction, ray.view,
                            fell_back=cursor_ray.VIEW_FALLBACK_NOTE in ray.note.split("; "))
    hit, stats = ray.hit, ray.stats
    got = hit is not None
    obj = hit.object if got else None
    instancer = hit.instancer if got else None
    return CastResult(
        **inputs, hit=got, ray_origin=tuple(ray.origin),
        ray_direction=tuple(ray.direction), direction_words=", ".join(words),
        object_name=obj.name if obj is not None else "",
        object_uid=obj.session_uid if obj is not None else 0,
        instancer_name=instancer.name if instancer is not None else "",
        polygon_index=hit.polygon_index if got else -1,
        location=tuple(hit.location) if got else (0.0, 0.0, 0.0),
        normal=tuple(hit.normal) if got else (0.0, 0.0, 0.0),
        hit_distance=hit.distance if got else 0.0, triangles=int(stats.triangles or 0),
        objects_used=int(stats.objects_used), objects_skipped=len(stats.objects_skipped),
        skipped_names=", ".join(name for name, _why in stats.objects_skipped[:SKIPPED_NAMED]),
        build_ms=ray.build_seconds * 1e3, cast_ms=ray.cast_seconds * 1e3,
        reused=bool(stats.reused), note=ray.note,
        object=obj, instancer=instancer)


SAME_POSE = 1e-6    # cursor locations (m) and rotations (quaternion parts) this close are the same


def snap_changes(scene, result):
    """Snapping the cursor to ``result``'s hit would move or turn it."""
    cursor = scene.cursor
    target = Vector(result.normal).to_track_quat('Z', 'Y')
    now = cursor.matrix.to_quaternion()
    moved = (Vector(result.location) - cursor.location).length > SAME_POSE
    turned = min((now - target).magnitude, (now + target).magnitude) > SAME_POSE * 10
    return moved or turned


def snap_cursor_to_hit(scene, result):
    """Move the 3D cursor to the hit and turn its Z axis to the surface normal."""
    place_cursor(scene.cursor, result.location, Vector(result.normal).to_track_quat('Z', 'Y'))


def place_cursor(cursor, location, rotation):
    """Put the 3D ``cursor`` at ``location`` turned by the quaternion ``rotation``, in whichever
    rotation mode the cursor is (its mode is kept)."""
    cursor.location = location
    mode = cursor.rotation_mode
    if mode == 'QUATERNION':
        cursor.rotation_quaternion = rotation
    elif mode == 'AXIS_ANGLE':
        axis, angle = rotation.to_axis_angle()
        cursor.rotation_axis_angle = (angle, *axis)
    else:
        cursor.rotation_euler = rotation.to_euler(mode)


def selection_target(context, result):
    """``(object, note)``: the object Select Object would make the one selected and active (the hit
    object, or for an instance its instancer), or None with a note why the selection stays."""
    if context.mode != 'OBJECT':
        return None, "selection left alone outside Object Mode"
    view_layer = context.view_layer
    in_layer = view_layer_members(view_layer)
    # an instance hit selects its instancer (the object the user placed), even when the
    # instanced object is in the view layer too; else the object hit
    target = result.instancer if result.instancer is not None else result.object
    if target is None or target.as_pointer() not in in_layer:
        target = result.object
    if target is None or target.as_pointer() not in in_layer:
        return None, "hit object is not in the view layer: selection left alone"
    if not target.visible_get(view_layer=view_layer) or target.hide_select:
        return None, f'"{target.name}" cannot be selected: selection left alone'
    return target, ""


def _selected_others(context, target):
    return [obj for obj in context.selected_objects if obj != target]


def selection_changes(context, result):
    """Select Object would change the selection (the target is not yet the only selected and
    active object)."""
    target, _note = selection_target(context, result)
    if target is None:
        return False
    view_layer = context.view_layer
    return (not target.select_get(view_layer=view_layer) or view_layer.objects.active != target
            or bool(_selected_others(context, target)))


def select_hit_object(context, result):
    """Make the hit object (or, for an instance, its instancer) the one selected and active
    object, as a click on it would.  The next cast goes into the selection: it then casts into
    that object alone (the note says so).

    Returns a note: why the selection was left alone, or what the next cast will use.
    """
    target, note = selection_target(context, result)
    if target is None:
        return note
    view_layer = context.view_layer
    others = _selected_others(context, target)
    for obj in others:
        obj.select_set(False, view_layer=view_layer)
    target.select_set(True, view_layer=view_layer)
    view_layer.objects.active = target
    return (f"selected {target.name} only: the next cast goes into it alone" if others
            else "")


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
