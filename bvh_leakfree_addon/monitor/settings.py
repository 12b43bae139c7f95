# SPDX-License-Identifier: GPL-3.0-or-later
"""The datablock monitor's settings, declared once (add-on preferences), drawn by one ``draw()``."""
import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty

from ..core import idtypes
from ..utils import feature_settings

__all__ = ("MESHES", "TABLE_CHOICES", "LISTABLE", "MonitorSettings", "monitor_settings")

MESHES = "meshes"   # always shown, first
#: the types the Other Types table can show (``bpy.data`` collection names)
TABLE_CHOICES = ("objects", "materials", "images", "textures", "node_groups", "curves", "actions",
                 "collections", "cameras", "lights", "worlds", "armatures", "shape_keys",
                 "particles", "scenes", "texts")
_TABLE_DEFAULT = TABLE_CHOICES[:8]
#: a click on a type replaces the choice, as in every Blender multiple-choice row: the heading
#: says how to pick more than one
TYPES_HEADING = "Types in the Table (Shift+click to pick several)"
#: every type the panel can show, so every type whose list of new datablocks can be opened
LISTABLE = (MESHES,) + TABLE_CHOICES


class MonitorSettings(bpy.types.PropertyGroup):
    """Settings of the Datablocks panel (add-on preferences)."""

    interval: FloatProperty(
        name="Refresh Interval", default=0.5, min=0.1, max=60.0, step=10, precision=1,
        unit='TIME_ABSOLUTE',
        description="Seconds between two refreshes of the Datablocks panel's figures (very large "
                    "files refresh their counts less often to keep Blender responsive)")
    alert_threshold: IntProperty(
        name="Alert Threshold", default=25, min=1, soft_max=10000,
        description="A row of the Datablocks panel turns red when its count grew by at least this "
                    "many datablocks since the baseline")
    show_table: BoolProperty(
        name="Show Other Types", default=True,
        description="Show the table of other datablock types under the mesh figures in the "
                    "Datablocks panel")
    types: EnumProperty(
        name="Types", options={'ENUM_FLAG'},
        items=[(name, idtypes.label(name), f"{idtypes.label(name)} datablocks")
               for name in TABLE_CHOICES],
        default=set(_TABLE_DEFAULT),
        description="Datablock types listed in the Datablocks panel's table (meshes are always "
                    "shown); Shift+click picks several")

    def draw(self, layout):
        col = layout.column()
        col.use_property_split = True
        col.use_property_decorate = False
        col.prop(self, "interval")
        col.prop(self, "alert_threshold")
        col.prop(self, "show_table")
        sub = col.column()
        sub.active = self.show_table
        sub.use_property_split = False
        sub.label(text=TYPES_HEADING)
        grid = sub.grid_flow(columns=4, even_columns=True)
        grid.prop(self, "types")


def monitor_settings(context=None):
    """The monitor's settings: the add-on preferences, or their declared defaults when the add-on
    is not enabled."""
    return feature_settings(context, "monitor", MonitorSettings)
