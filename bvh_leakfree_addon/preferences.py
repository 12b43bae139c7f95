# SPDX-License-Identifier: GPL-3.0-or-later
"""Add-on preferences (Edit › Preferences › Add-ons › BVH Leak-Free Ray Cast): the sidebar tab, and
each feature's settings group, drawn by the group's own ``draw()``."""
import bpy
from bpy.props import PointerProperty, StringProperty

from .cast.settings import CastSettings
from .monitor.settings import MonitorSettings
from .sidebar import DEFAULT_CATEGORY, move_panels
from .utils import get_preferences

__all__ = ("BVHLeakFreePreferences", "CLASSES", "register")


def _sidebar_category_changed(self, _context):
    move_panels(self.sidebar_category)


class BVHLeakFreePreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    sidebar_category: StringProperty(
        name="Sidebar Tab", default=DEFAULT_CATEGORY, update=_sidebar_category_changed,
        description="Name of the 3D viewport sidebar (N panel) tab that holds the add-on's panels")
    cast: PointerProperty(
        type=CastSettings, name="Ray Cast from 3D Cursor",
        description="Settings of Ray Cast from 3D Cursor and its viewport overlay")
    monitor: PointerProperty(
        type=MonitorSettings, name="Datablock Monitor",
        description="Settings of the Datablocks panel")

    def draw(self, _context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "sidebar_category")
        box = layout.box()
        box.label(text="Ray Cast from 3D Cursor", icon='CURSOR')
        self.cast.draw(box)
        box = layout.box()
        box.label(text="Datablock Monitor", icon='MEMORY')
        self.monitor.draw(box)


CLASSES = (BVHLeakFreePreferences,)


def register():
    """Put the panels in the tab the preferences name."""
    prefs = get_preferences()
    if prefs is not None:
        move_panels(prefs.sidebar_category)
