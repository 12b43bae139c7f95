# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast in the 3D viewport: the sidebar panel (button, settings, last result) and the menu
entries F3 search finds (View3D › Object, Object › Snap).

The sidebar's settings are the defaults of the next cast; the result box shows the last cast, which
may have been made with other settings (changed since, or an F9 change of that one cast): then the
box says which settings differ and offers Cast Again with the sidebar's settings."""
import bpy

import numpy as np

from ..names import CAST, CAST_AGAIN
from ..sidebar import BVHSidebarPanel
from ..utils import runtime_state
from .operators import OBJECT_OT_bvh_cast_from_cursor
from .settings import cast_settings, direction_label
from .state import settings_differences

__all__ = ("VIEW3D_PT_bvh_cast", "result_lines", "stale_lines", "CAST_MENUS",
           "draw_cast_menu_entry")

CAST_OPERATOR = OBJECT_OT_bvh_cast_from_cursor.bl_idname
CAST_LABEL = CAST
CAST_MENUS = ("VIEW3D_MT_object", "VIEW3D_MT_snap")
#: longest line of words the sidebar shows whole at its default width (longer phrases wrap)
LINE_CHARS = 34
SETTINGS_HEADING = "Defaults for every cast:"
RESULT_HEADING = "Last cast:"
STALE_HEADING = "Made with other settings:"
CAST_AGAIN_LABEL = CAST_AGAIN


class VIEW3D_PT_bvh_cast(BVHSidebarPanel, bpy.types.Panel):
    """Cast button, its settings (the add-on preferences' defaults), the last result."""

    bl_label = "Ray Cast"
    bl_order = 0

    def draw(self, context):
        layout = self.layout
        layout.operator(CAST_OPERATOR, text=CAST_LABEL, icon='CURSOR')
        # The settings are the preferences' defaults: every invocation (panel, menu, F3, script
        # without arguments) uses them, and changing them here changes them everywhere.
        settings = cast_settings(context)
        layout.label(text=SETTINGS_HEADING)
        settings.draw(layout, overlay='TOGGLE')
        state = runtime_state(context)
        if state is None:
            return
        box = layout.box()
        box.label(text=RESULT_HEADING if state.cast.has_result else "No ray cast yet",
                  icon='NONE' if state.cast.has_result else 'INFO')
        for text, *icon in result_lines(state.cast):
            box.label(text=text, icon=icon[0] if icon else 'NONE')
        stale = stale_lines(state.cast, settings)
        if stale:
            col = box.column(align=True)
            col.alert = True
            for text, *icon in stale:
                col.label(text=text, icon=icon[0] if icon else 'NONE')
            box.operator(CAST_OPERATOR, text=CAST_AGAIN_LABEL, icon='FILE_REFRESH')


def result_lines(cast):
    """The last result as (text[, icon]) lines for the panel (none before the first cast)."""
    if not cast.has_result:
        return []
    ray = _vector_text(cast.ray_direction, 2)  # short: the sidebar is narrow
    lines = [(f"Ray: {direction_label(cast.direction_mode)} {ray}", 'CURSOR')]
    lines += [(text, 'BLANK1') for text in _wrap(cast.direction_words.split(", "))]
    if cast.hit:
        name = cast.object_name
        if name and not _object_exists(cast.object_uid):
            name += " (deleted)"
        lines.append((f"Hit: {name}", 'OBJECT_DATA'))
        if cast.instancer_name:
            lines.append((f"Instanced by: {cast.instancer_name}",))
        lines.append((f"Face: {cast.polygon_index}",))
        lines.append(("Location: " + _vector_text(cast.location),))
        lines.append(("Normal: " + _vector_text(cast.normal, 3),))
        lines.append((f"Distance: {cast.distance:.3f} m",))
    else:
        lines.append((f"No hit within {cast.max_distance:,.6g} m", 'ERROR'))
    skipped = f", {cast.objects_skipped} skipped" if cast.objects_skipped else ""
    plural = "" if cast.objects_used == 1 else "s"
    lines.append((f"{cast.triangles:,} tris, {cast.objects_used:,} object{plural}{skipped}",))
    build = "reused" if cast.reused else "built"
    lines.append((f"BVH {build} {cast.build_ms:.1f} ms, cast {cast.cast_ms:.2f} ms", 'TIME'))
    if cast.note:
        lines.append((cast.note, 'INFO'))
    return lines


def stale_lines(cast, settings):
    """Lines that mark the result ``cast`` as made with other settings than ``settings`` (the
    sidebar's), one per setting that differs; none when they agree."""
    differences = settings_differences(cast, settings)
    if not differences:
        return []
    lines = [(STALE_HEADING, 'INFO')]
    lines += [(f"{label}: {then}, now {now}",) for label, then, now in differences]
    return lines


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
    uids = np.empty(len(bpy.data.objects), dtype=np.int64)
    bpy.data.objects.foreach_get("session_uid", uids)
    return bool(uid) and bool((uids == uid).any())


def _vector_text(vector, digits=2):
    return "(" + ", ".join(f"{c:.{digits}f}" for c in vector) + ")"


def draw_cast_menu_entry(self, context):
    """Entry in View3D › Object and in its Snap menu (beside the Cursor entries); F3 finds it."""
    layout = self.layout
    layout.separator()
    layout.operator(CAST_OPERATOR, text=CAST_LABEL, icon='CURSOR')


def register():
    for name in CAST_MENUS:
        getattr(bpy.types, name).append(draw_cast_menu_entry)


def unregister():
    for name in CAST_MENUS:
        menu = getattr(bpy.types, name, None)
        if menu is not None:
            menu.remove(draw_cast_menu_entry)
