# SPDX-License-Identifier: GPL-3.0-or-later
"""The "Datablocks" sidebar panel (live counts from monitor.py) and the File › Clean Up entry."""
import time

import bpy

from . import monitor
from .preferences import get_preferences
from .state import runtime_state
from .ui import BVHSidebarPanel

PURGE = "wm.bvh_purge_orphans"
ICONS = {
    "meshes": 'MESH_DATA', "objects": 'OBJECT_DATA', "materials": 'MATERIAL',
    "images": 'IMAGE_DATA', "textures": 'TEXTURE', "node_groups": 'NODETREE',
    "curves": 'CURVE_DATA', "actions": 'ACTION', "collections": 'OUTLINER_COLLECTION',
    "cameras": 'CAMERA_DATA', "lights": 'LIGHT', "worlds": 'WORLD',
    "armatures": 'ARMATURE_DATA', "shape_keys": 'SHAPEKEY_DATA', "particles": 'PARTICLES',
    "scenes": 'SCENE_DATA', "texts": 'TEXT',
}
DEFAULT_ALERT_THRESHOLD = 25


def type_label(name):
    """``'node_groups'`` → ``'Node Groups'`` (the name Blender gives the collection)."""
    prop = bpy.data.bl_rna.properties.get(name)
    return prop.name if prop is not None else name.replace("_", " ").title()


def _threshold(prefs):
    return prefs.monitor_alert_threshold if prefs is not None else DEFAULT_ALERT_THRESHOLD


def is_alert(name, prefs=None):
    """The row of ``name`` grew by at least the alert threshold since the baseline."""
    return monitor.growth(name) >= _threshold(prefs)


def _numbers(layout, *texts):
    for text in texts:
        cell = layout.row()
        cell.alignment = 'RIGHT'
        cell.label(text=text)


def draw_header_row(layout):
    row = layout.row()
    split = row.split(factor=0.46)
    split.label(text="Type")
    _numbers(split.row(), "Total", "Orphans", "+/-")


def draw_type_row(layout, name, prefs):
    count = monitor.figures(name)
    if count is None:
        return False
    delta = monitor.growth(name)
    alert = delta >= _threshold(prefs)
    row = layout.row()
    row.alert = alert
    split = row.split(factor=0.46)
    split.label(text=type_label(name), icon=ICONS.get(name, 'DOT'))
    _numbers(split.row(), f"{count.total:,}", f"{count.orphans:,}",
             f"{delta:+,}" if delta else "0")
    return alert


class VIEW3D_PT_bvh_datablocks(BVHSidebarPanel, bpy.types.Panel):
    """Live datablock counts: meshes always, with purge, baseline and leak check buttons."""

    bl_label = "Datablocks"
    bl_order = 10

    def draw(self, context):
        layout = self.layout
        prefs = get_preferences(context)
        meshes = monitor.figures(monitor.MESHES)
        if meshes is None:
            layout.label(text="Counting…", icon='TIME')
            return
        col = layout.column(align=True)
        draw_header_row(col)
        draw_type_row(col, monitor.MESHES, prefs)
        self.draw_notes(layout, meshes)
        self.draw_buttons(layout, meshes)
        state = runtime_state(context)
        if state is not None and state.monitor.leak_check_done:
            draw_leak_check(layout.box(), state.monitor)

    @staticmethod
    def draw_notes(layout, meshes):
        col = layout.column(align=True)
        col.scale_y = 0.8
        since = monitor.baseline_time()
        if since is not None:
            col.label(text="+/- since " + time.strftime("%H:%M:%S", time.localtime(since)))
        if meshes.linked:
            col.label(text=f"Linked: {meshes.linked:,} meshes, {meshes.linked_orphans:,} unused "
                           "(purged only with Include Linked)", icon='LINKED')
        slow = monitor.slow_types()
        if slow:
            seconds = max(period for _name, period in slow)
            col.label(text=f"Large file: counts refresh every {seconds:.0f} s", icon='INFO')

    @staticmethod
    def draw_buttons(layout, meshes):
        col = layout.column(align=True)
        row = col.row(align=True)
        row.enabled = meshes.local_orphans > 0
        op = row.operator(PURGE, text=f"Purge Orphan Meshes ({meshes.local_orphans:,})",
                          icon='TRASH')
        op.types = 'MESH'
        op.recursive = False
        op.include_linked = False
        op = col.operator(PURGE, text="Purge All Orphans…", icon='ORPHAN_DATA')
        op.types = 'ALL'
        row = layout.row(align=True)
        row.operator("wm.bvh_reset_baseline", text="Reset Baseline", icon='FILE_REFRESH')
        row.operator("object.bvh_leak_check", text="Leak Check", icon='VIEWZOOM')


def leak_check_lines(mon):
    """The last leak check as (text, icon) lines; tested headless."""
    plural = "s" if mon.leak_check_objects != 1 else ""
    lines = [(f"Leak check: {mon.leak_check_iterations} builds + casts, "
              f"{mon.leak_check_objects} object{plural}", 'VIEWZOOM')]
    if mon.leak_check_clean:
        lines.append(("No datablock growth", 'CHECKMARK'))
    else:
        lines.append((f"Grew: {mon.leak_check_growth}", 'ERROR'))
    lines.append((f"RSS {mon.leak_check_rss_mb:+.1f} MB, {mon.leak_check_seconds:.1f} s",
                  'MEMORY'))
    return lines


def draw_leak_check(layout, mon):
    col = layout.column(align=True)
    for index, (text, icon) in enumerate(leak_check_lines(mon)):
        row = col.row()
        row.alert = index == 1 and not mon.leak_check_clean
        row.label(text=text, icon=icon)


class VIEW3D_PT_bvh_datablocks_types(BVHSidebarPanel, bpy.types.Panel):
    """The table of the other datablock types (which ones: add-on preferences)."""

    bl_label = "Other Types"
    bl_parent_id = "VIEW3D_PT_bvh_datablocks"
    bl_order = 0

    @classmethod
    def poll(cls, context):
        prefs = get_preferences(context)
        return (prefs is not None and prefs.monitor_show_table
                and monitor.figures(monitor.MESHES) is not None)

    def draw_header(self, context):
        prefs = get_preferences(context)
        if any(is_alert(name, prefs) for name in monitor.tracked_types(prefs)[1:]):
            self.layout.label(icon='ERROR')

    def draw(self, context):
        prefs = get_preferences(context)
        col = self.layout.column(align=True)
        names = monitor.tracked_types(prefs)[1:]
        if not names:
            col.label(text="No types chosen in the preferences")
            return
        draw_header_row(col)
        for name in names:
            draw_type_row(col, name, prefs)


def draw_cleanup_menu_entry(self, context):
    """File › Clean Up: our purge (with its confirmation); F3 finds it from there."""
    layout = self.layout
    layout.separator()
    layout.operator_context = 'INVOKE_DEFAULT'
    op = layout.operator(PURGE, text="Purge Orphan Data (BVH Monitor)…", icon='ORPHAN_DATA')
    op.types = 'ALL'


CLASSES = (VIEW3D_PT_bvh_datablocks, VIEW3D_PT_bvh_datablocks_types)


def register():
    bpy.types.TOPBAR_MT_file_cleanup.append(draw_cleanup_menu_entry)


def unregister():
    menu = getattr(bpy.types, "TOPBAR_MT_file_cleanup", None)
    if menu is not None:
        menu.remove(draw_cleanup_menu_entry)
