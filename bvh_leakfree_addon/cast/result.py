# SPDX-License-Identifier: GPL-3.0-or-later
"""The result of one cast, declared once, and its one rendering.

A result's fields (:data:`FIELDS`) are the settings it was cast with — the cast inputs of
:class:`.settings.CastSettings`, under the same names (``direction``, ``distance``, …) — and what
it found and cost (:data:`OUTCOME`).  From these declarations come both :class:`CastResult` (what
the service returns: plain values, plus the objects hit, which are never stored) and the stored
state's properties (:func:`state_properties`, see :mod:`.state`).

One rendering reads either of them (the same names): the report (:func:`report_text`), the
sidebar's result box (:func:`result_lines`) and its mark of a result made with other settings than
the sidebar's (:func:`settings_differences`, :func:`stale_lines`).
"""
import dataclasses
import math

import bpy
from bpy.props import BoolProperty, FloatProperty, FloatVectorProperty, IntProperty, StringProperty

from mathutils import Vector

from ..core.identity import session_uids
from ..core.numbers import count
from .settings import CAST_INPUTS, CastSettings, copied_properties, direction_label

__all__ = ("OUTCOME", "FIELDS", "CastResult", "state_properties", "vector_text", "setting_text",
           "report_text", "result_lines", "settings_differences", "stale_lines", "STALE_HEADING")

#: what a cast found and cost, beside the settings it was cast with
OUTCOME = {
    "hit": BoolProperty(name="Hit", description="The last ray hit a surface"),
    "ray_origin": FloatVectorProperty(
        name="Ray Origin", subtype='TRANSLATION', size=3,
        description="Start of the last ray (the 3D cursor)"),
    "ray_direction": FloatVectorProperty(
        name="Ray Direction", subtype='DIRECTION', size=3,
        description="Unit direction of the last ray (world space)"),
    "direction_words": StringProperty(
        name="Where the Ray Went",
        description="Where the last ray went, in words, as seen from the view it was cast in "
                    "(e.g. 'along your view, away from you'; phrases separated by ', ')"),
    "object_name": StringProperty(name="Object", description="Name of the object that was hit"),
    "object_uid": IntProperty(
        name="Object UID", description="Session UID of the object that was hit (0: none)"),
    "instancer_name": StringProperty(
        name="Instancer", description="Selected instancer whose instance was hit, if any"),
    "polygon_index": IntProperty(
        name="Face", default=-1,
        description="Index of the face hit in the object's evaluated mesh"),
    "location": FloatVectorProperty(
        name="Location", subtype='TRANSLATION', size=3, description="Hit location (world space)"),
    "normal": FloatVectorProperty(
        name="Normal", subtype='DIRECTION', size=3,
        description="Surface normal at the hit (world space, unit length)"),
    "hit_distance": FloatProperty(
        name="Hit Distance", subtype='DISTANCE',
        description="Distance from the ray origin to the hit"),
    "triangles": IntProperty(
        name="Triangles", description="Triangles in the BVH that was cast into"),
    "objects_used": IntProperty(
        name="Objects", description="Objects whose geometry was in the BVH"),
    "objects_skipped": IntProperty(
        name="Skipped", description="Selected objects without geometry"),
    "skipped_names": StringProperty(
        name="Skipped Objects",
        description="Names of the first few selected objects left out (no surface), separated by "
                    "', '"),
    "build_ms": FloatProperty(
        name="Build Time", description="Time to build or reuse the BVH (ms)"),
    "cast_ms": FloatProperty(name="Cast Time", description="Time to cast the ray (ms)"),
    "reused": BoolProperty(name="Reused", description="The BVH came from the cache unchanged"),
    "note": StringProperty(
        name="Note", description="Remark about the last cast (e.g. a direction fallback)"),
}
FIELDS = CAST_INPUTS + tuple(OUTCOME)


def _add_note(self, text):
    """Add a remark to the result's note (remarks are separated by '; ')."""
    if text:
        self.note = f"{self.note}; {text}" if self.note else text


#: one cast: the :data:`FIELDS` as plain values (vectors as tuples), plus the objects themselves
#: (``object``, and ``instancer`` for an instance hit: never stored, they may go at any time)
CastResult = dataclasses.make_dataclass(
    "CastResult", [*FIELDS, ("object", object, None), ("instancer", object, None)],
    namespace={"add_note": _add_note, "__module__": __name__,
               "__doc__": "One ray cast from the 3D cursor (see the module)."})


def state_properties():
    """The stored state's properties: ``has_result``, then every field, from the same
    declarations (the inputs' copied from :class:`.settings.CastSettings`, without their update
    callbacks, described as what the last ray was cast with)."""
    def as_cast_with(_name, keywords):
        keywords.pop("update", None)
        keywords["description"] = f"{keywords['name']} setting the last ray was cast with"

    return {"has_result": BoolProperty(
                name="Has Result", description="A ray has been cast since the file was loaded"),
            "error": StringProperty(
                name="Error", description="Why the last cast could not be made ('' when it was: "
                "a failed cast shows no earlier result as if it were its own)"),
            **copied_properties(CAST_INPUTS, as_cast_with), **OUTCOME}


# --- The rendering (reads a CastResult or the stored state alike) ---------------------------------
STALE_HEADING = "Made with other settings:"


def vector_text(vector, digits=2):
    return "(" + ", ".join(f"{c:.{digits}f}" for c in vector) + ")"


def setting_text(name, value):
    """One cast input's value in words: ``Global -Z``, ``(0.00, 0.00, -1.00)``, ``100 m``,
    ``on``."""
    if name == "direction":
        return direction_label(value)
    if name == "custom_direction":
        return vector_text(value)
    if name == "distance":
        return (f"{value:,.6g}" if math.isfinite(value) else "infinite") + " m"
    return "on" if value else "off"


def _objects(cast):
    return count(cast.objects_used, "object")


def report_text(cast):
    """The status bar's line, what matters first: ``Hit "Cube", 2.31 m away, face 12``, or ``No hit
    within 100 m, ray along your view, away from you (1 selected object)``, then any note.

    Blender's status bar shortens a long report in the middle: the distance comes within the
    first 40 characters, and the rest (location, normal, triangles, times) is in the sidebar's
    result box."""
    if cast.hit:
        via = f' via "{cast.instancer_name}"' if cast.instancer_name else ""
        text = (f'Hit "{cast.object_name}"{via}, {cast.hit_distance:.2f} m away, '
                f"face {cast.polygon_index}")
    else:
        went = f", ray {cast.direction_words}" if cast.direction_words else ""
        text = (f"No hit within {setting_text('distance', cast.distance)}{went} "
                f"({count(cast.objects_used, 'selected object')})")
    if cast.note:
        text += " - " + cast.note
    return text


#: longest line of words the sidebar shows whole at its default width (longer phrases wrap)
LINE_CHARS = 34


def result_lines(cast):
    """The result as ``(text[, icon])`` lines for the sidebar (none before the first cast)."""
    if not getattr(cast, "has_result", True):
        return []
    ray = vector_text(cast.ray_direction, 2)  # short: the sidebar is narrow
    lines = [(f"Ray: {setting_text('direction', cast.direction)} {ray}", 'CURSOR')]
    lines += [(text, 'BLANK1') for text in _wrap(cast.direction_words.split(", "))]
    if cast.hit:
        lines += _hit_object_lines(cast)
        if cast.instancer_name:
            lines.append((f"Instanced by: {cast.instancer_name}",))
        lines.append((f"Face: {cast.polygon_index}",))
        lines.append(("Location: " + vector_text(cast.location),))
        lines.append(("Normal: " + vector_text(cast.normal, 3),))
        lines.append((f"Distance: {cast.hit_distance:.3f} m",))
    else:
        lines.append((f"No hit within {setting_text('distance', cast.distance)}", 'ERROR'))
        lines.append((UNSELECTED_NOT_HIT, 'INFO'))
    lines.append((f"Cast into {count(cast.objects_used, 'selected object')} "
                  f"({cast.triangles:,} tris)",))
    if cast.objects_skipped:
        lines.append((f"Skipped, no surface: {_skipped_names(cast)}",))
    build = "reused" if cast.reused else "built"
    lines.append((f"BVH {build} {cast.build_ms:.1f} ms, cast {cast.cast_ms:.2f} ms", 'TIME'))
    lines += [(note, 'INFO') for note in cast.note.split("; ") if note]
    return lines


#: said under a miss: the ray passes through what is not selected (in Edit Mode: not edited)
UNSELECTED_NOT_HIT = "Unselected objects are not hit"


def _skipped_names(cast):
    """``Light, Camera`` or ``Light, Camera and 3 more``."""
    names = [name for name in cast.skipped_names.split(", ") if name]
    more = cast.objects_skipped - len(names)
    return ", ".join(names) + (f" and {more:,} more" if more > 0 else "")


def _hit_object_lines(cast):
    """``Hit: Sphere``; when that object is gone: ``Hit: Sphere (deleted since)``, and, when
    another object took its name, a line saying the one in the scene is not it."""
    name = cast.object_name
    if not name or _object_exists(cast.object_uid):
        return [(f"Hit: {name}", 'OBJECT_DATA')]
    lines = [(f"Hit: {name} (deleted since)", 'OBJECT_DATA')]
    if _name_taken(name):
        lines.append((f'The "{name}" in the file now is another object',))
    return lines


def _name_taken(name):
    return bpy.data.objects.get(name) is not None


def _wrap(phrases):
    """Phrases joined by ', ' into lines of at most LINE_CHARS characters (a longer phrase keeps
    a line of its own; a line that goes on ends with a comma)."""
    lines = []
    for phrase in filter(None, phrases):
        if lines and len(lines[-1]) + 2 + len(phrase) <= LINE_CHARS:
            lines[-1] += ", " + phrase
        else:
            if lines:
                lines[-1] += ","
            lines.append(phrase)
    return lines


def _object_exists(uid):
    """An object with this session UID is in ``bpy.data`` (one C call: the panel redraws often)."""
    return bool(uid) and bool((session_uids("objects") == uid).any())


def settings_differences(cast, settings):
    """The cast inputs in which the result ``cast`` differs from ``settings`` (the sidebar's, i.e.
    the preferences' group): ``[(label, value of the result, value of the settings)]`` as text,
    in the order of ``CAST_INPUTS``; empty when there is no result or nothing differs.

    On Hit options (Snap Cursor, Select Object) do not change where the ray goes: not compared.
    The Custom Direction only counts when a side uses it, and by direction (its length does not
    change the ray)."""
    if not getattr(cast, "has_result", True):
        return []
    differences = []
    for name in CAST_INPUTS:
        then, now = getattr(cast, name), getattr(settings, name)
        if name == "custom_direction":
            if 'CUSTOM' not in (cast.direction, settings.direction):
                continue
            same = _same_direction(then, now)
        else:   # float32 on both sides: the same setting reads back the same
            same = then == now
        if not same:
            label = CastSettings.__annotations__[name].keywords["name"]
            differences.append((label, setting_text(name, then), setting_text(name, now)))
    return differences


def _same_direction(a, b):
    a, b = Vector(a), Vector(b)
    if a.length == 0.0 or b.length == 0.0 or not all(map(math.isfinite, (*a, *b))):
        return tuple(a) == tuple(b)
    return a.normalized().dot(b.normalized()) >= 1.0 - 1e-9


def stale_lines(cast, settings):
    """Lines that mark the result ``cast`` as made with other settings than ``settings`` (the
    sidebar's), one per setting that differs; none when they agree."""
    differences = settings_differences(cast, settings)
    if not differences:
        return []
    lines = [(STALE_HEADING, 'INFO')]
    lines += [(f"{label}: {then}, now {now}",) for label, then, now in differences]
    return lines

