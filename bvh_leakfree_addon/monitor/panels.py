# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor in the 3D viewport: the Datablocks sidebar panel (live counts from :mod:`.service`,
the lists of new datablocks, the Leak Check's result), its Other Types table, its History graph,
and the File › Clean Up entry of the purge.  Draw code only reads."""
import textwrap
import time

import bpy

from ..core import idtypes
from ..core.numbers import count, duration, signed
from ..sidebar import BVHSidebarPanel
from ..utils import runtime_state
from . import history, service
from .inspect import (
    SELECTABLE,
    WM_OT_bvh_datablock_list,
    WM_OT_bvh_datablock_users,
    WM_OT_bvh_delete_orphan,
    WM_OT_bvh_select_users,
)
from .leak_check import OBJECT_OT_bvh_leak_check, WM_OT_bvh_leak_check_script
from .operators import WM_OT_bvh_purge_orphans, WM_OT_bvh_reset_baseline
from .pages import PAGE_SIZE, page_count
from .settings import LISTABLE, MESHES, monitor_settings

__all__ = ("VIEW3D_PT_bvh_datablocks", "VIEW3D_PT_bvh_datablocks_types",
           "VIEW3D_PT_bvh_datablocks_history", "is_alert", "leak_check_lines", "list_lines",
           "history_lines", "wrap", "draw_cleanup_menu_entry")

PURGE = WM_OT_bvh_purge_orphans.bl_idname
LIST = WM_OT_bvh_datablock_list.bl_idname
TYPE_COLUMN = 0.42      # share of the width for the type's name; the numbers share the rest:
NUMBER_COLUMNS = (0.28, 0.44, 0.28)     # Total, Orphans, +/- (fixed shares: rows stay aligned)


def is_alert(name, settings=None):
    """The row of ``name`` grew by at least the alert threshold since the baseline."""
    return service.growth(name) >= (settings or monitor_settings()).alert_threshold


def wrap(layout, context, text, icon='NONE', alert=False):
    """``text`` as labels wrapped to the region's width (the sidebar is narrow)."""
    region = getattr(context, "region", None)
    scale = context.preferences.system.ui_scale if context.preferences else 1.0
    width = (region.width / scale) if region is not None and region.width > 1 else 300
    chars = max(14, int((width - 56) / 6.4))
    col = layout.column(align=True)
    col.alert = alert
    for index, part in enumerate(textwrap.wrap(text, chars) or [""]):
        col.label(text=part, icon=icon if index == 0 else ('BLANK1' if icon != 'NONE' else 'NONE'))


def _cells(layout, *texts, shares=NUMBER_COLUMNS):
    """The number columns: fixed shares of the width, right-aligned, so "+30" and "-1" don't
    shift their row's other figures (nested splits, each taking its share of what is left)."""
    left = 1.0
    for index, (text, share) in enumerate(zip(texts, shares, strict=True)):
        last = index == len(texts) - 1
        split = layout if last else layout.split(factor=share / left)
        cell = split.row()
        cell.alignment = 'RIGHT'
        cell.label(text=text)
        layout, left = split, left - share


def draw_header_row(layout):
    split = layout.row().split(factor=TYPE_COLUMN)
    split.label(text="Type")
    _cells(split.row(), "Total", "Orphans", "+/-")


def draw_type_row(layout, context, name, settings):
    count = service.figures(name)
    if count is None:
        return False
    delta = service.growth(name)
    alert = is_alert(name, settings)
    row = layout.row()
    row.alert = alert
    split = row.split(factor=TYPE_COLUMN)
    cell = split.row(align=True)
    opened = name in _open(context)
    op = cell.operator(LIST, text="", emboss=False,
                       icon='DISCLOSURE_TRI_DOWN' if opened else 'DISCLOSURE_TRI_RIGHT')
    op.collection, op.action = name, 'TOGGLE'
    cell.label(text=idtypes.label(name))   # the triangle takes the icon's place: names fit
    _cells(split.row(), f"{count.total:,}", f"{count.orphans:,}", f"{delta:+,}" if delta else "0")
    if opened:
        draw_list(layout, context, name)
    return alert


def _open(context):
    state = runtime_state(context)
    return state.monitor.expanded if state is not None else set()


# --- The list of new datablocks of one type ------------------------------------------------------
def list_lines(view, since=None):
    """The list's heading lines (tested headless)."""
    stamp = f" since {time.strftime('%H:%M:%S', time.localtime(since))}" if since else ""
    lines = [f"{view.new:,} new{stamp}, newest first" if view.new else f"Nothing new{stamp}"]
    if view.removed:
        names = ", ".join(view.removed_names) + (", …" if view.removed > len(view.removed_names)
                                                 else "")
        lines.append(f"{view.removed:,} removed: {names}")
    return lines


def draw_list(layout, context, name):
    box = layout.box()
    view = service.new_list(name)
    if view is None:
        box.label(text="Listing…", icon='TIME')
        return
    for index, text in enumerate(list_lines(view, service.baseline_time())):
        wrap(box, context, text, icon='INFO' if index == 0 else 'TRASH')
    if not view.rows:
        return
    col = box.column(align=True)
    head = col.split(factor=0.5)
    head.label(text="Name")
    cells = head.split(factor=0.3)
    right = cells.row()
    right.alignment = 'RIGHT'
    right.label(text="Users")
    for info in view.rows:
        _draw_row(col, name, info)
    if view.new > PAGE_SIZE:
        pages = page_count(view.new)
        row = box.row(align=True)
        first = view.start // PAGE_SIZE
        for action, icon in (('PREVIOUS', 'TRIA_LEFT'), ('NEXT', 'TRIA_RIGHT')):
            sub = row.row(align=True)
            sub.enabled = (first > 0) if action == 'PREVIOUS' else (first < pages - 1)
            op = sub.operator(LIST, text="", icon=icon)
            op.collection, op.action = name, action
            if action == 'PREVIOUS':
                label = row.row()
                label.alignment = 'CENTER'
                label.label(text=f"{view.start + 1:,}–{view.start + len(view.rows):,} of "
                                 f"{view.new:,}")


def _draw_row(layout, name, info):
    """name | users | fake user, linked | who uses it, select users, delete (orphans)."""
    split = layout.split(factor=0.5)
    split.label(text=info.name, icon='ORPHAN_DATA' if info.orphan else idtypes.icon(name))
    cells = split.split(factor=0.3)
    users = cells.row()
    users.alignment = 'RIGHT'
    users.label(text=f"{info.users:,}")
    row = cells.row(align=True)
    row.label(text="", icon='FAKE_USER_ON' if info.fake_user else 'BLANK1')
    row.label(text="", icon='LINKED' if info.linked else 'BLANK1')
    for idname, icon, shown in (
            (WM_OT_bvh_datablock_users.bl_idname, 'VIEWZOOM', True),
            (WM_OT_bvh_select_users.bl_idname, 'RESTRICT_SELECT_OFF',
             name in SELECTABLE and not info.orphan),
            (WM_OT_bvh_delete_orphan.bl_idname, 'TRASH', info.orphan)):
        if not shown:
            row.label(text="", icon='BLANK1')
            continue
        row.operator_context = 'INVOKE_DEFAULT'
        op = row.operator(idname, text="", icon=icon, emboss=False)
        op.collection, op.session_uid = name, info.session_uid


# --- Panels -------------------------------------------------------------------------------------
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
        draw_type_row(col, context, MESHES, monitor_settings(context))
        self.draw_notes(layout, meshes)
        self.draw_buttons(layout, meshes)
        state = runtime_state(context)
        if state is not None and state.monitor.leak_check_done:
            draw_leak_check(layout.box(), context, state.monitor)

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
        layout.operator(WM_OT_bvh_reset_baseline.bl_idname, text="Reset Baseline",
                        icon='FILE_REFRESH')
        row = layout.row(align=True)
        row.operator(OBJECT_OT_bvh_leak_check.bl_idname, text="Leak Check", icon='VIEWZOOM')
        row.operator_context = 'INVOKE_DEFAULT'
        row.operator(WM_OT_bvh_leak_check_script.bl_idname, text="Script…", icon='TEXT')


def leak_check_lines(mon):
    """The last leak check as ``(text, icon)`` lines, short enough for the default sidebar width
    (the panel wraps them further); tested headless."""
    runs = mon.leak_check_iterations
    if mon.leak_check_source == 'TEXT':
        lines = [(f"Leak check: {count(runs, 'run')} of '{mon.leak_check_script}'", 'TEXT')]
    else:
        lines = [(f"Leak check: {runs} builds + casts", 'VIEWZOOM'),
                 (f"on {count(mon.leak_check_objects, 'object')}", 'BLANK1')]
    if mon.leak_check_error:
        lines.append((f"Stopped: {mon.leak_check_error}", 'ERROR'))
    details = [line for line in mon.leak_check_lines.split("\n") if line]
    if not mon.leak_check_growth:
        lines.append(("No datablock growth", 'CHECKMARK'))
    for line in details:
        lines.append((line, 'ERROR' if line.startswith("+") else 'INFO'))
    lines.append((f"RSS {signed(mon.leak_check_rss_mb)} MB, took "
                  f"{duration(mon.leak_check_seconds)}", 'MEMORY'))
    return lines


def draw_leak_check(layout, context, mon):
    for text, icon in leak_check_lines(mon):
        wrap(layout, context, text, icon=icon, alert=icon == 'ERROR')


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
            if name in LISTABLE:
                draw_type_row(col, context, name, settings)


def history_lines(span):
    """The labels under the graph: ``[(text, icon)]`` from ``History.span()``."""
    if span is None:
        return [("No samples yet", 'TIME')]
    (first, last), rss, seconds = span
    lines = [(f"Top: {last:,.0f} datablocks ({last - first:+,.0f})", 'OUTLINER_DATA_MESH')]
    if rss is not None:
        lines.append((f"Bottom: RSS {rss[1] / 2 ** 20:,.0f} MB "
                      f"({(rss[1] - rss[0]) / 2 ** 20:+,.0f})", 'MEMORY'))
    shown = min(history.HISTORY_SECONDS, max(history.MIN_SPAN_SECONDS, seconds))
    lines.append((f"Over the last {shown / 60:.0f} min" if shown >= 90
                  else f"Over the last {shown:.0f} s", 'TIME'))
    return lines


class VIEW3D_PT_bvh_datablocks_history(BVHSidebarPanel, bpy.types.Panel):
    """The history graph: tracked datablocks and RSS over the last minutes (a preview image, not
    a datablock)."""

    bl_label = "History"
    bl_parent_id = "VIEW3D_PT_bvh_datablocks"
    bl_order = 1

    def draw(self, context):
        layout = self.layout
        icon = history.graph.icon_id
        if icon:
            scale = context.preferences.system.ui_scale
            units = (context.region.width / scale - 50) / 20 if context.region else 9
            row = layout.row()
            row.alignment = 'CENTER'
            row.template_icon(icon_value=icon, scale=max(5.0, min(12.0, units)))
        col = layout.column(align=True)
        for text, line_icon in history_lines(history.history.span(time.time())):
            col.label(text=text, icon=line_icon)


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
