# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast's runtime state: the last result, kept on the WindowManager (never saved in a .blend)
for the sidebar and the overlay, and forgotten when a file is loaded (its objects are gone).

The result keeps the settings it was cast with, so that :func:`settings_differences` can tell the
sidebar that its settings (the defaults of the next cast) are not those of the result it shows:
after a change in the sidebar, or an F9 change of one cast."""
import math

import bpy
from bpy.props import BoolProperty, FloatProperty, FloatVectorProperty, IntProperty, StringProperty

from mathutils import Vector

from .. import api
from ..utils import reset_properties, runtime_state, tag_redraw
from .settings import CAST_INPUTS, CastSettings, direction_label

__all__ = ("CastResultState", "store_result", "clear_result", "settings_differences", "register",
           "unregister", "runtime_hooks_active")


class CastResultState(bpy.types.PropertyGroup):
    """The last "Ray Cast from 3D Cursor" result (``window_manager.bvh_leakfree.cast``)."""

    has_result: BoolProperty(name="Has Result", description="A ray has been cast since the file "
                             "was loaded")
    hit: BoolProperty(name="Hit", description="The last ray hit a surface")
    ray_origin: FloatVectorProperty(name="Ray Origin", subtype='TRANSLATION', size=3,
                                    description="Start of the last ray (the 3D cursor)")
    ray_direction: FloatVectorProperty(name="Ray Direction", subtype='DIRECTION', size=3,
                                       description="Unit direction of the last ray (world space)")
    direction_mode: StringProperty(name="Direction Mode",
                                   description="Direction option the last ray was cast with")
    max_distance: FloatProperty(name="Maximum Distance", subtype='DISTANCE',
                                description="Maximum distance of the last ray")
    custom_direction: FloatVectorProperty(
        name="Custom Direction", size=3, subtype='XYZ',
        description="Custom Direction setting the last ray was cast with")
    evaluated: BoolProperty(name="Modifiers",
                            description="The last ray was cast against evaluated geometry")
    instances: BoolProperty(name="Instances",
                            description="The last ray was cast with instances included")
    direction_words: StringProperty(
        name="Where the Ray Went",
        description="Where the last ray went, in words, as seen from the view it was cast in "
                    "(e.g. 'along your view, away from you'; phrases separated by ', ')")
    object_name: StringProperty(name="Object", description="Name of the object that was hit")
    object_uid: IntProperty(name="Object UID",
                            description="Session UID of the object that was hit (0: none)")
    instancer_name: StringProperty(name="Instancer",
                                   description="Selected instancer whose instance was hit, if any")
    polygon_index: IntProperty(name="Face", default=-1,
                               description="Index of the face hit in the object's evaluated mesh")
    location: FloatVectorProperty(name="Location", subtype='TRANSLATION', size=3,
                                  description="Hit location (world space)")
    normal: FloatVectorProperty(name="Normal", subtype='DIRECTION', size=3,
                                description="Surface normal at the hit (world space, unit length)")
    distance: FloatProperty(name="Distance", subtype='DISTANCE',
                            description="Distance from the ray origin to the hit")
    triangles: IntProperty(name="Triangles", description="Triangles in the BVH that was cast into")
    objects_used: IntProperty(name="Objects", description="Objects whose geometry was in the BVH")
    objects_skipped: IntProperty(name="Skipped", description="Selected objects without geometry")
    build_ms: FloatProperty(name="Build Time", description="Time to build or reuse the BVH (ms)")
    cast_ms: FloatProperty(name="Cast Time", description="Time to cast the ray (ms)")
    reused: BoolProperty(name="Reused", description="The BVH came from the cache unchanged")
    note: StringProperty(name="Note", description="Remark about the last cast (e.g. a direction "
                         "fallback)")
    report: StringProperty(name="Report", description="The report text of the last cast")


def store_result(context, result):
    """Keep ``result`` (a ``service.CastResult``) for the panel and overlay."""
    state = runtime_state(context)
    if state is None:
        return
    cast = state.cast
    cast.has_result = True
    cast.hit = result.hit
    cast.ray_origin = result.origin
    cast.ray_direction = result.direction
    cast.direction_mode = result.direction_mode
    cast.max_distance = result.max_distance if math.isfinite(result.max_distance) else 1e30
    cast.custom_direction = result.custom_direction
    cast.evaluated = result.evaluated
    cast.instances = result.instances
    cast.direction_words = ", ".join(result.words)
    cast.object_name = result.object_name
    cast.object_uid = result.object_uid
    cast.instancer_name = result.instancer_name
    cast.polygon_index = result.polygon_index
    cast.location = result.location if result.hit else (0.0, 0.0, 0.0)
    cast.normal = result.normal if result.hit else (0.0, 0.0, 0.0)
    cast.distance = result.distance
    cast.triangles = result.triangles
    cast.objects_used = result.objects_used
    cast.objects_skipped = result.objects_skipped
    cast.build_ms = result.build_seconds * 1000.0
    cast.cast_ms = result.cast_seconds * 1000.0
    cast.reused = result.reused
    cast.note = result.note
    cast.report = result.report_text()


def clear_result(context):
    """Forget the last result: every property back to its default."""
    state = runtime_state(context)
    if state is not None:
        reset_properties(state.cast)


def settings_differences(cast, settings):
    """The cast inputs in which the result ``cast`` differs from ``settings`` (the sidebar's, i.e.
    the preferences' group): ``[(label, value of the result, value of the settings)]`` as text,
    in the order of ``CAST_INPUTS``; empty when there is no result or nothing differs.

    On Hit options (Snap Cursor, Select Object) do not change where the ray goes: not compared.
    The Custom Direction only counts when a side uses it, and by direction (its length does not
    change the ray)."""
    if not cast.has_result:
        return []
    used = {"direction": cast.direction_mode, "custom_direction": tuple(cast.custom_direction),
            "distance": cast.max_distance, "evaluated": cast.evaluated,
            "instances": cast.instances}
    differences = []
    for name in CAST_INPUTS:
        then, now = used[name], getattr(settings, name)
        if name == "custom_direction":
            if 'CUSTOM' not in (cast.direction_mode, settings.direction):
                continue
            same = _same_direction(then, tuple(now))
        else:   # float32 on both sides: the same setting reads back the same
            same = then == now
        if not same:
            differences.append((_label(name), _value_text(name, then), _value_text(name, now)))
    return differences


def _label(name):
    return CastSettings.__annotations__[name].keywords["name"]


def _value_text(name, value):
    if name == "direction":
        return direction_label(value)
    if name == "custom_direction":
        return "(" + ", ".join(f"{c:.2f}" for c in value) + ")"
    if name == "distance":
        return f"{value:,.6g} m"
    return "on" if value else "off"


def _same_direction(a, b):
    a, b = Vector(a), Vector(b)
    if a.length == 0.0 or b.length == 0.0 or not all(map(math.isfinite, (*a, *b))):
        return tuple(a) == tuple(b)
    return a.normalized().dot(b.normalized()) >= 1.0 - 1e-9


@bpy.app.handlers.persistent
def _on_load_post(*_args):
    """A loaded file has other objects: the last result (and the core's cache) is stale."""
    clear_result(bpy.context)
    api.clear_cache()
    tag_redraw()


def register():
    unregister()   # a reload that skipped unregister must not leave a second handler
    bpy.app.handlers.load_post.append(_on_load_post)


def unregister():
    handlers = bpy.app.handlers.load_post
    for fn in list(handlers):
        if fn is _on_load_post or (getattr(fn, "__module__", None) == __name__
                                   and getattr(fn, "__name__", None) == _on_load_post.__name__):
            handlers.remove(fn)


def runtime_hooks_active():
    return (["load_post handler (clears the last cast)"]
            if _on_load_post in bpy.app.handlers.load_post else [])
