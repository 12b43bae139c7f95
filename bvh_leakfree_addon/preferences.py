# SPDX-License-Identifier: GPL-3.0-or-later
"""Add-on preferences (Edit › Preferences › Add-ons › BVH Leak-Free Ray Cast).

One ``AddonPreferences`` class for the whole add-on; each feature keeps its settings in its own
section below and draws them in its own box.
"""
import bpy
from bpy.props import StringProperty


def _sidebar_category_changed(self, context):
    # Imported here: ui imports this module (panels read the tab name at registration).
    from . import ui

    ui.update_sidebar_category(self.sidebar_category)


class BVHLeakFreePreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    # --- General -------------------------------------------------------------------------------
    sidebar_category: StringProperty(
        name="Sidebar Tab",
        description="Name of the 3D viewport sidebar (N panel) tab that holds the add-on's panels",
        default="BVH",
        update=_sidebar_category_changed,
    )

    # --- Ray cast from the 3D cursor (operators.py, ui.py, overlay.py) ----------------------------

    # --- Datablock monitor (monitor.py, ui_monitor.py, operators_monitor.py) ---------------------

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "sidebar_category")
        self.draw_cast(layout.box())
        self.draw_monitor(layout.box())

    def draw_cast(self, layout):
        layout.label(text="Ray Cast from 3D Cursor")

    def draw_monitor(self, layout):
        layout.label(text="Datablock Monitor")


def get_preferences(context=None):
    """The add-on's preferences, or None when the add-on is not enabled (e.g. imported by a script)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None


CLASSES = (BVHLeakFreePreferences,)
