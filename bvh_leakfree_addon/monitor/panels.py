# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor in the 3D viewport: the Datablocks sidebar panel (live counts from :mod:`.service`),
its Other Types table, and the File › Clean Up entry of the purge."""
import time

import bpy

from ..core import idtypes
from ..sidebar import BVHSidebarPanel
from ..utils import runtime_state
from . import service
from .leak_check import OBJECT_OT_bvh_leak_check
from .operators import WM_OT_bvh_purge_orphans, WM_OT_bvh_reset_baseline
from .settings import MESHES, monitor_settings

__all__ = ("VIEW3D_PT_bvh_datablocks", "VIEW3D_PT_bvh_datablocks_types", "is_alert",
           "leak_check_lines", "draw_cleanup_menu_entry")

PURGE = WM_OT_bvh_purge_orphans.bl_idname


def is_alert(name, settings=None):
    """The row of ``name`` grew by at least the alert threshold since the baseline."""
    return service.growth(name) >= (settings or monitor_settings()).alert_threshold


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


def draw_type_row(layout, name, settings):
    count = service.figures(name)
    if count is None:
        return False
    delta = service.growth(name)
    alert = is_alert(name, settings)
    row = layout.row()
    row.alert = alert
    split = row.split(factor=0.46)
    split.label(text=idtypes.label(name), icon=idtypes.icon(name))
    _numbers(split.row(), f"{count.total:,}", f"{count.orphans:,}",
             f"{delta:+,}" if delta else "0")
    return alert


class VIEW3D_PT_bvh_datablocks(BVHSidebarPanel, bpy.types.Panel):
    """Live datablock counts: meshes always, with purge, baseline and leak check buttons."""

    bl_label = "Datablocks"
    bl_order = 10

    def draw(self, context):
        layout = self.layout
        meshes = service.figures(MESHES)
        if meshes is None:
            layout.label(text="Counting…", icon='TIME')
            return
        col = layout.column(align=True)
        draw_header_row(col)
        draw_type_row(col, MESHES, monitor_settings(context))
        self.draw_notes(layout, meshes)
        self.draw_buttons(layout, meshes)
        state = runtime_state(context)
        if state is not None and state.monitor.leak_check_done:
            draw_leak_check(layout.box(), state.monitor)

    @staticmethod
    def draw_notes(layout, meshes):
        col = layout.column(align=True)
        col.scale_y = 0.8
        since = service.baseline_time()
        if since is not None:
            col.label(text="+/- since " + time.strftime("%H:%M:%S", time.localtime(since)))
        if meshes.linked:
            col.label(text=f"Linked: {meshes.linked:,} meshes, {meshes.linked_orphans:,} unused "
                           "(purged only with Include Linked)", icon='LINKED')
        slow = service.slow_types()
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
        row.operator(WM_OT_bvh_reset_baseline.bl_idname, text="Reset Baseline",
                     icon='FILE_REFRESH')
        row.operator(OBJECT_OT_bvh_leak_check.bl_idname, text="Leak Check", icon='VIEWZOOM')


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
        return (super().poll(context) and monitor_settings(context).show_table
                and service.figures(MESHES) is not None)

    def draw_header(self, context):
        settings = monitor_settings(context)
        if any(is_alert(name, settings) for name in service.tracked_types(settings)[1:]):
            self.layout.label(icon='ERROR')

    def draw(self, context):
        settings = monitor_settings(context)
        col = self.layout.column(align=True)
        names = service.tracked_types(settings)[1:]
        if not names:
            col.label(text="No types chosen in the preferences")
            return
        draw_header_row(col)
        for name in names:
            draw_type_row(col, name, settings)


def draw_cleanup_menu_entry(self, context):
    """File › Clean Up: our purge (with its confirmation); F3 finds it from there."""
    layout = self.layout
    layout.separator()
    layout.operator_context = 'INVOKE_DEFAULT'
    op = layout.operator(PURGE, text="Purge Orphan Data (BVH Monitor)…", icon='ORPHAN_DATA')
    op.types = 'ALL'


def register():
    bpy.types.TOPBAR_MT_file_cleanup.append(draw_cleanup_menu_entry)


def unregister():
    menu = getattr(bpy.types, "TOPBAR_MT_file_cleanup", None)
    if menu is not None:
        menu.remove(draw_cleanup_menu_entry)
