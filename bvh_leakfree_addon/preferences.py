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
    from .state import CAST_DIRECTION_ITEMS as _cast_direction_items  # same items as the operator

    def _cast_redraw_viewports(self, context):
        """Overlay colours/width changed: redraw the 3D viewports that show the overlay."""
        from . import overlay

        overlay.tag_redraw(context)

    default_direction: bpy.props.EnumProperty(
        name="Direction", items=_cast_direction_items, default='VIEW',
        description="Direction of the ray cast from the 3D cursor, unless the operator is given one")
    default_custom_direction: bpy.props.FloatVectorProperty(
        name="Custom Direction", size=3, subtype='XYZ', default=(0.0, 0.0, -1.0),
        description="World-space direction used by the Custom direction mode (need not be unit "
                    "length, must not be zero)")
    default_distance: bpy.props.FloatProperty(
        name="Distance", subtype='DISTANCE', default=100.0, min=1e-6, soft_max=10000.0,
        description="Maximum distance of the ray from the 3D cursor")
    default_evaluated: bpy.props.BoolProperty(
        name="Evaluated (Modifiers)", default=True,
        description="Cast against evaluated geometry (modifiers, shape keys, geometry nodes) "
                    "instead of the original mesh data")
    default_instances: bpy.props.BoolProperty(
        name="Instances", default=True,
        description="Include instances of selected instancers (collection instances, geometry "
                    "node instances)")
    default_snap_cursor: bpy.props.BoolProperty(
        name="Snap Cursor to Hit", default=False,
        description="Move the 3D cursor to the hit and align its Z axis with the surface normal")
    default_select_hit: bpy.props.BoolProperty(
        name="Select Hit Object", default=False,
        description="Make the object that was hit active and selected")
    overlay_default: bpy.props.BoolProperty(
        name="Overlay On by Default", default=True,
        description="Show the ray cast overlay in the 3D Viewport when the add-on starts")
    overlay_ray_color: bpy.props.FloatVectorProperty(
        name="Ray", subtype='COLOR_GAMMA', size=4, min=0.0, max=1.0,
        default=(1.0, 0.75, 0.1, 0.9), update=_cast_redraw_viewports,
        description="Colour of the ray in the viewport overlay")
    overlay_hit_color: bpy.props.FloatVectorProperty(
        name="Hit Point", subtype='COLOR_GAMMA', size=4, min=0.0, max=1.0,
        default=(1.0, 0.2, 0.2, 1.0), update=_cast_redraw_viewports,
        description="Colour of the hit point marker in the viewport overlay")
    overlay_normal_color: bpy.props.FloatVectorProperty(
        name="Normal", subtype='COLOR_GAMMA', size=4, min=0.0, max=1.0,
        default=(0.25, 0.6, 1.0, 1.0), update=_cast_redraw_viewports,
        description="Colour of the surface normal in the viewport overlay")
    overlay_line_width: bpy.props.FloatProperty(
        name="Line Width", default=2.0, min=1.0, max=10.0, update=_cast_redraw_viewports,
        description="Width in pixels of the overlay's lines")

    # --- Datablock monitor (monitor.py, ui_monitor.py, operators_monitor.py) ---------------------
    # Identifiers are bpy.data collection names (they exist in every supported Blender).
    _monitor_type_items = (
        ('objects', "Objects", "Objects"), ('materials', "Materials", "Materials"),
        ('images', "Images", "Images"), ('textures', "Textures", "Textures"),
        ('node_groups', "Node Groups", "Node groups"), ('curves', "Curves", "Curves and text"),
        ('actions', "Actions", "Actions"), ('collections', "Collections", "Collections"),
        ('cameras', "Cameras", "Cameras"), ('lights', "Lights", "Lights"),
        ('worlds', "Worlds", "Worlds"), ('armatures', "Armatures", "Armatures"),
        ('shape_keys', "Shape Keys", "Shape keys"), ('particles', "Particles", "Particle settings"),
        ('scenes', "Scenes", "Scenes"), ('texts', "Texts", "Text datablocks"),
    )
    monitor_interval: bpy.props.FloatProperty(
        name="Refresh Interval", default=0.5, min=0.1, max=60.0, step=10, precision=1,
        description="Seconds between two refreshes of the Datablocks panel's figures (very large "
                    "files refresh their counts less often to keep Blender responsive)")
    monitor_alert_threshold: bpy.props.IntProperty(
        name="Alert Threshold", default=25, min=1, soft_max=10000,
        description="A row of the Datablocks panel turns red when its count grew by at least this "
                    "many datablocks since the baseline")
    monitor_show_table: bpy.props.BoolProperty(
        name="Show Other Types", default=True,
        description="Show the table of other datablock types under the mesh figures in the "
                    "Datablocks panel")
    monitor_types: bpy.props.EnumProperty(
        name="Types", options={'ENUM_FLAG'}, items=_monitor_type_items,
        default={'objects', 'materials', 'images', 'textures', 'node_groups', 'curves', 'actions',
                 'collections'},
        description="Datablock types listed in the Datablocks panel's table (meshes are always shown)")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "sidebar_category")
        self.draw_cast(layout.box())
        self.draw_monitor(layout.box())

    def draw_cast(self, layout):
        layout.label(text="Ray Cast from 3D Cursor", icon='CURSOR')
        col = layout.column()
        col.prop(self, "default_direction")
        row = col.row()
        row.active = self.default_direction == 'CUSTOM'
        row.prop(self, "default_custom_direction")
        col.prop(self, "default_distance")
        col.prop(self, "default_evaluated")
        col.prop(self, "default_instances")
        col.prop(self, "default_snap_cursor")
        col.prop(self, "default_select_hit")
        col.separator()
        col.label(text="Viewport Overlay")
        col.prop(self, "overlay_default")
        col.prop(self, "overlay_ray_color")
        col.prop(self, "overlay_hit_color")
        col.prop(self, "overlay_normal_color")
        col.prop(self, "overlay_line_width")

    def draw_monitor(self, layout):
        layout.label(text="Datablock Monitor", icon='MEMORY')
        col = layout.column()
        col.prop(self, "monitor_interval")
        col.prop(self, "monitor_alert_threshold")
        col.prop(self, "monitor_show_table")
        sub = col.column()
        sub.active = self.monitor_show_table
        sub.use_property_split = False
        sub.label(text="Types in the Table")
        grid = sub.grid_flow(columns=4, even_columns=True)
        grid.prop(self, "monitor_types")


def get_preferences(context=None):
    """The add-on's preferences, or None when the add-on is not enabled (e.g. imported by a script)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None


CLASSES = (BVHLeakFreePreferences,)
