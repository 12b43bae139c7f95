# SPDX-License-Identifier: GPL-3.0-or-later
"""Add-on preferences (Edit › Preferences › Add-ons › Leak-Free Ray Cast): the sidebar tab, the
cache limit, which backend batched rays use here (and why not Embree), and each feature's settings
group, drawn by the group's own ``draw()``."""
import bpy
from bpy.props import IntProperty, PointerProperty, StringProperty

from . import api
from .cast.settings import CastSettings
from .core import backends, embree
from .fit import wrap
from .monitor.settings import MonitorSettings
from .sidebar import DEFAULT_CATEGORY, move_panels, stop_following
from .utils import get_preferences

__all__ = ("BVHLeakFreePreferences", "CLASSES", "batched_rays_lines", "register", "unregister")

#: where Embree comes from when it is not installed (the zips of tools/build_dist.py)
GET_EMBREE = ("The add-on's zip for your platform (Linux x64, Windows x64, macOS) brings "
              "Embree for the Python of official and Debian Blender builds; the zip without "
              "wheels does not.")


def _sidebar_category_changed(self, _context):
    move_panels(self.sidebar_category)   # sidebars on the add-on's tab follow it


MB = 1 << 20


def _cache_limit_changed(self, _context):
    api.set_cache_limit(self.cache_limit_mb * MB)


def batched_rays_lines():
    """Which backend batched rays (``ray_cast_many``, camera maps) use here as ``(text, icon)``
    lines: without Embree, why, and where it comes from when it is not installed; tested
    headless."""
    fast, sentence = backends.summary()
    lines = [(sentence, 'CHECKMARK' if fast else 'INFO')]
    if not fast and embree.missing():
        lines.append((GET_EMBREE, 'BLANK1'))
    return lines


class BVHLeakFreePreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    sidebar_category: StringProperty(
        name="Sidebar Tab", default=DEFAULT_CATEGORY, update=_sidebar_category_changed,
        description="Name of the 3D viewport sidebar (N panel) tab that holds the add-on's panels")
    cache_limit_mb: IntProperty(
        name="BVH Cache Limit", default=api.DEFAULT_CACHE_LIMIT_BYTES // MB, min=0,
        soft_max=16384, update=_cache_limit_changed,
        description="Most memory, in MB, kept for object-space trees of earlier builds so that "
                    "casting again is fast (least recently used go first; trees of geometry that "
                    "no longer exists are always freed)")
    cast: PointerProperty(
        type=CastSettings, name="Ray Cast from 3D Cursor",
        description="Settings of Ray Cast from 3D Cursor and its viewport overlay")
    monitor: PointerProperty(
        type=MonitorSettings, name="Datablock Monitor",
        description="Settings of the Datablocks panel")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "sidebar_category")
        layout.prop(self, "cache_limit_mb", text="BVH Cache Limit (MB)")
        box = layout.box()
        box.label(text="Batched Rays (Script API)", icon='CONSOLE')
        for text, icon in batched_rays_lines():
            wrap(box, context, text, icon=icon)
        box = layout.box()
        box.label(text="Ray Cast from 3D Cursor", icon='CURSOR')
        self.cast.draw(box)
        box = layout.box()
        box.label(text="Datablock Monitor", icon='MEMORY')
        self.monitor.draw(box)


CLASSES = (BVHLeakFreePreferences,)


def register():
    """Put the panels in the tab the preferences name; give the core its cache limit."""
    prefs = get_preferences()
    if prefs is not None:
        move_panels(prefs.sidebar_category)
        api.set_cache_limit(prefs.cache_limit_mb * MB)


def unregister():
    """A sidebar still waiting to follow a renamed tab stops waiting (its timer goes)."""
    stop_following()
