# SPDX-License-Identifier: GPL-3.0-or-later
"""Sidebar panels and menu entries; they call operators and read runtime state."""
import sys

import bpy

from .preferences import get_preferences
from .state import CAST_DIRECTION_ITEMS, runtime_state


class BVHSidebarPanel:
    """Mixin for every panel of the add-on: 3D viewport sidebar, tab from the preferences."""

    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "BVH"

    @classmethod
    def poll(cls, context):
        return get_preferences(context) is not None


def _addon_panels():
    """The add-on's panel classes (any module), in registration order."""
    package = sys.modules[__package__]
    return [cls for cls in package.classes if issubclass(cls, BVHSidebarPanel)]


def update_sidebar_category(category):
    """Move every panel of the add-on to the sidebar tab ``category`` at once (re-registering)."""
    category = category.strip() or "BVH"
    panels = _addon_panels()
    registered = [cls for cls in panels if cls.is_registered]
    for cls in reversed(registered):  # children before parents
        bpy.utils.unregister_class(cls)
    for cls in panels:
        cls.bl_category = category
    for cls in registered:
        bpy.utils.register_class(cls)


# --- Ray Cast from 3D Cursor ---------------------------------------------------------------------
CAST_OPERATOR = "object.bvh_cast_from_cursor"
CAST_LABEL = "Ray Cast from 3D Cursor"


class VIEW3D_PT_bvh_cast(BVHSidebarPanel, bpy.types.Panel):
    """Cast button, its settings (the add-on preferences' defaults), the last result."""

    bl_label = "Ray Cast"
    bl_order = 0

    def draw(self, context):
        layout = self.layout
        prefs = get_preferences(context)
        state = runtime_state(context)
        layout.operator(CAST_OPERATOR, text=CAST_LABEL, icon='CURSOR')
        self.draw_settings(layout, prefs)
        if state is not None:
            layout.prop(state.cast, "show_overlay", text="Show Overlay", icon='OVERLAY')
            self.draw_result(layout.box(), state.cast)

    @staticmethod
    def draw_settings(layout, prefs):
        # The settings are the preferences' defaults: every invocation (panel, menu, F3, script
        # without arguments) uses them, and changing them here changes them everywhere.
        col = layout.column(align=True)
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(prefs, "default_direction", text="Direction")
        if prefs.default_direction == 'CUSTOM':
            col.prop(prefs, "default_custom_direction", text="Custom")
        col.prop(prefs, "default_distance", text="Distance")
        col = layout.column(heading="Use", align=True)
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(prefs, "default_evaluated", text="Modifiers")
        col.prop(prefs, "default_instances", text="Instances")
        col = layout.column(heading="On Hit", align=True)
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(prefs, "default_snap_cursor", text="Snap Cursor")
        col.prop(prefs, "default_select_hit", text="Select Object")

    @staticmethod
    def draw_result(layout, cast):
        if not cast.has_result:
            layout.label(text="No ray cast yet", icon='INFO')
            return
        for text, *icon in result_lines(cast):
            layout.label(text=text, icon=icon[0] if icon else 'NONE')


def result_lines(cast):
    """The last result as (text[, icon]) lines for the panel; tested headless."""
    ray = _vector_text(cast.ray_direction, 2)  # short: the sidebar is narrow
    lines = [(f"Ray: {_direction_label(cast.direction_mode)} {ray}", 'CURSOR')]
    if cast.hit:
        name = cast.object_name
        if name and bpy.data.objects.get(name) is None:
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


def _direction_label(mode):
    return next((name for ident, name, _ in CAST_DIRECTION_ITEMS if ident == mode), mode)


def _vector_text(vector, digits=2):
    return "(" + ", ".join(f"{c:.{digits}f}" for c in vector) + ")"


def draw_cast_menu_entry(self, context):
    """Entry in View3D › Object and in its Snap menu (beside the Cursor entries); F3 finds it."""
    layout = self.layout
    layout.separator()
    layout.operator(CAST_OPERATOR, text=CAST_LABEL, icon='CURSOR')


CAST_MENUS = ("VIEW3D_MT_object", "VIEW3D_MT_snap")

CLASSES = (VIEW3D_PT_bvh_cast,)


def register():
    prefs = get_preferences()
    if prefs is not None:
        update_sidebar_category(prefs.sidebar_category)
    for name in CAST_MENUS:
        getattr(bpy.types, name).append(draw_cast_menu_entry)


def unregister():
    for name in CAST_MENUS:
        menu = getattr(bpy.types, name, None)
        if menu is not None:
            menu.remove(draw_cast_menu_entry)
