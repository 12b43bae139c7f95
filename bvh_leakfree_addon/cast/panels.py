# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast in the 3D viewport: the sidebar panel (button, settings, last result) and the menu
entries F3 search finds (View3D › Object, Object › Snap).

The sidebar's settings are the defaults of the next cast; the result box shows the last cast, which
may have been made with other settings (changed since, or an F9 change of that one cast): then the
box says which settings differ and offers Cast Again with the sidebar's settings."""
import bpy

from .. import fit
from ..names import CAST, CAST_AGAIN
from ..sidebar import BVHSidebarPanel
from ..utils import runtime_state
from .operators import OBJECT_OT_bvh_cast_from_cursor
from .result import result_lines, stale_lines
from .settings import cast_settings

__all__ = ("VIEW3D_PT_bvh_cast", "CAST_MENUS", "draw_cast_menu_entry")

CAST_OPERATOR = OBJECT_OT_bvh_cast_from_cursor.bl_idname
CAST_LABEL = CAST
CAST_MENUS = ("VIEW3D_MT_object", "VIEW3D_MT_snap")
SETTINGS_HEADING = "Defaults for every cast:"
#: under the button: what the ray can hit (issue 23.6: it passed through unselected objects
#: without a word)
TARGETS_NOTE = "Hits selected objects only"
TARGETS_NOTE_EDIT = "Hits the edited and the selected objects only"
RESULT_HEADING = "Last cast:"
FAILED_HEADING = "Last cast could not be made:"
CAST_AGAIN_LABEL = CAST_AGAIN


class VIEW3D_PT_bvh_cast(BVHSidebarPanel, bpy.types.Panel):
    """Cast button, its settings (the add-on preferences' defaults), the last result."""

    bl_label = "Ray Cast"
    bl_order = 0

    def draw(self, context):
        layout = self.layout
        layout.operator(CAST_OPERATOR, text=CAST_LABEL, icon='CURSOR')
        note = layout.row()
        note.scale_y = 0.8
        note.label(text=TARGETS_NOTE if context.mode == 'OBJECT' else TARGETS_NOTE_EDIT,
                   icon='RESTRICT_SELECT_OFF')
        # The settings are the preferences' defaults: every invocation (panel, menu, F3, script
        # without arguments) uses them, and changing them here changes them everywhere.
        settings = cast_settings(context)
        layout.label(text=SETTINGS_HEADING)
        settings.draw(layout, overlay='TOGGLE')
        state = runtime_state(context)
        if state is None:
            return
        box = layout.box()
        inner = fit.text_width(context, fit.BOX_PX)
        if state.cast.error:
            box.label(text=FAILED_HEADING, icon='ERROR')
            fit.wrap(box, context, state.cast.error, icon='BLANK1', measured=inner)
            return
        box.label(text=RESULT_HEADING if state.cast.has_result else "No ray cast yet",
                  icon='NONE' if state.cast.has_result else 'INFO')
        for text, *icon in result_lines(state.cast):
            fit.wrap(box, context, text, icon=icon[0] if icon else 'NONE', measured=inner)
        stale = stale_lines(state.cast, settings)
        if stale:
            col = box.column(align=True)
            col.alert = True
            for text, *icon in stale:
                col.label(text=text, icon=icon[0] if icon else 'NONE')
            box.operator(CAST_OPERATOR, text=CAST_AGAIN_LABEL, icon='FILE_REFRESH')


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
