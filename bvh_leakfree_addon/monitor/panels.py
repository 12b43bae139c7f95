# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor in the 3D viewport: the Datablocks sidebar panel (live counts from :mod:`.service`,
the lists of new datablocks, the Leak Check's result), its Other Types table, its History graph,
and the File › Clean Up entry of the purge.  Draw code only reads."""
import time

import bpy

from .. import fit, names
from ..core.numbers import count, duration
from ..sidebar import BVHSidebarPanel
from ..utils import runtime_state
from . import history, service
from .leak_check import OBJECT_OT_bvh_leak_check, WM_OT_bvh_leak_check_script
from .operators import WM_OT_bvh_purge_orphans, WM_OT_bvh_reset_baseline
from .rows import HEADERS, draw_header_row, draw_type_row, is_alert, list_lines, table
from .settings import LISTABLE, MESHES, monitor_settings

__all__ = ("VIEW3D_PT_bvh_datablocks", "VIEW3D_PT_bvh_datablocks_types",
           "VIEW3D_PT_bvh_datablocks_history", "is_alert", "leak_check_lines", "list_lines",
           "history_lines", "draw_cleanup_menu_entry")

PURGE = WM_OT_bvh_purge_orphans.bl_idname


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
        settings = monitor_settings(context)
        shape = table(context, service.tracked_types(settings))
        col = layout.column(align=True)
        draw_header_row(col, shape)
        draw_type_row(col, context, MESHES, settings, shape)
        self.draw_notes(layout, context, meshes, shape)
        self.draw_buttons(layout, meshes)
        state = runtime_state(context)
        if state is not None and state.monitor.leak_check_done:
            draw_leak_check(layout.box(), context, state.monitor)

    @staticmethod
    def draw_notes(layout, context, meshes, shape):
        col = layout.column(align=True)
        col.scale_y = 0.8
        since = service.baseline_time()
        shown = {index for index, _header, _cells, _pixels in shape.columns}
        if since is not None and 2 in shown:
            col.label(text="+/- since " + time.strftime("%H:%M:%S", time.localtime(since)))
        hidden = [HEADERS[index][0] for index in range(3) if index not in shown]
        if hidden:
            fit.wrap(col, context, f"Too narrow for {' and '.join(hidden)}: widen the sidebar",
                 icon='HIDE_ON')
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
        col.operator_context = 'INVOKE_DEFAULT'
        row = col.row(align=True)
        row.enabled = meshes.local_orphans > 0
        op = row.operator(PURGE, text=names.purge_meshes(meshes.local_orphans), icon='TRASH')
        op.types = 'MESH'
        op.recursive = False
        op.include_linked = False
        op = col.operator(PURGE, text=names.PURGE_ALL, icon='ORPHAN_DATA')
        op.types = 'ALL'
        layout.operator(WM_OT_bvh_reset_baseline.bl_idname, text=names.RESET_BASELINE,
                        icon='FILE_REFRESH')
        col = layout.column(align=True)
        col.operator(OBJECT_OT_bvh_leak_check.bl_idname, text=names.LEAK_CHECK, icon='VIEWZOOM')
        col.operator_context = 'INVOKE_DEFAULT'
        col.operator(WM_OT_bvh_leak_check_script.bl_idname, text=names.LEAK_CHECK_SCRIPT,
                     icon='TEXT')


def leak_check_lines(mon, table_grew=False):
    """The last leak check as ``(text, icon)`` lines (the panel wraps them to its width); tested
    headless.  It says what was checked: the add-on's own build + cast (not the artist's scene:
    with ``table_grew``, growth shown in the table above, it says that growth is not the
    add-on's), or a script, whose additions stay in the file until Ctrl+Z."""
    runs = mon.leak_check_iterations
    if mon.leak_check_source == 'TEXT':
        lines = [(names.label(names.LEAK_CHECK_SCRIPT), 'TEXT'),
                 (f"{count(runs, 'run')} of '{mon.leak_check_script}'", 'BLANK1')]
    else:
        lines = [(names.LEAK_CHECK, 'VIEWZOOM'),
                 (f"{runs} builds + casts on {count(mon.leak_check_objects, 'object')}",
                  'BLANK1')]
    if mon.leak_check_error:
        lines.append((f"Stopped: {mon.leak_check_error}", 'ERROR'))
    details = [line for line in mon.leak_check_lines.split("\n") if line]
    if not details and not mon.leak_check_error:
        lines.append(("The add-on's build + cast added no datablock" if mon.leak_check_source
                      == 'CAST' else "The script added or removed no datablock", 'CHECKMARK'))
    for line in details:
        lines.append((line, 'ERROR' if line.startswith("+") else 'INFO'))
    if mon.leak_check_source == 'CAST' and table_grew:
        lines.append(("The growth in the table above is not the add-on's: find its source with "
                      f"{names.LEAK_CHECK_SCRIPT} or the lists (▸)", 'INFO'))
    if mon.leak_check_source == 'TEXT' and mon.leak_check_growth:
        lines.append(("What the script added is still in the file: Ctrl+Z removes it",
                      'LOOP_BACK'))
    if mon.leak_check_memory:
        lines.append((mon.leak_check_memory, 'MEMORY'))
    lines.append((f"Took {duration(mon.leak_check_seconds)}", 'TIME'))
    return lines


def draw_leak_check(layout, context, mon):
    measure, width = fit.text_width(context)
    inner = (measure, width - measure.px(fit.BOX_PX))
    grew = any(service.growth(name) > 0 for name in service.tracked_types())
    for text, icon in leak_check_lines(mon, table_grew=grew):
        fit.wrap(layout, context, text, icon=icon, alert=icon == 'ERROR', measured=inner)


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
        shape = table(context, service.tracked_types(settings))
        draw_header_row(col, shape)
        for name in names:
            if name in LISTABLE:
                draw_type_row(col, context, name, settings, shape)


def history_lines(span):
    """The labels under the graph: ``[(text, icon)]`` from ``History.span()``: what each half
    shows, its scale (zero to the value at its top) and its figures now, lowest and highest over
    the time shown, in words an artist reads ("Blender memory", "process memory (RSS)", MiB)."""
    if span is None:
        return [("No samples yet", 'TIME')]
    shown = min(history.HISTORY_SECONDS, max(history.MIN_SPAN_SECONDS, span.seconds))
    over = f"{shown / 60:.0f} min" if shown >= 90 else f"{shown:.0f} s"
    totals = span.totals
    lines = [(f"Upper half: datablocks in the rows above, 0 to {_count(totals.high, True)}",
              'OUTLINER_DATA_MESH'),
             (f"{_count(totals.last)} now, {_count(totals.low)} to {_count(totals.high)} in the "
              f"last {over}", 'BLANK1')]
    memory, label = (span.memory, "Blender memory") if span.memory else (
        span.rss, "process memory (RSS)")
    if memory is not None:
        lines += [(f"Lower half: {label}, 0 to {_mib(history.axis_top(memory.high, history.MIB))}",
                   'MEMORY'),
                  (f"{_mib(memory.last)} now, {_mib(memory.low, False)} to {_mib(memory.high)} "
                   f"in the last {over}", 'BLANK1')]
    if span.memory and span.rss:
        lines.append((f"Process memory (RSS): {_mib(span.rss.last)} now, "
                      f"{_mib(span.rss.high - span.rss.low)} up and down", 'BLANK1'))
    return lines


def _count(value, axis=False):
    return f"{history.axis_top(value) if axis else value:,.0f}"


def _mib(value, unit=True):
    return f"{value / 2 ** 20:,.0f}" + (" MiB" if unit else "")


class VIEW3D_PT_bvh_datablocks_history(BVHSidebarPanel, bpy.types.Panel):
    """The history graph: tracked datablocks and Blender's memory over the last minutes (a preview
    image, not a datablock)."""

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
            fit.wrap(col, context, text, icon=line_icon)


def draw_cleanup_menu_entry(self, context):
    """File › Clean Up: our purge (with its confirmation); F3 finds it from there, its name saying
    how it differs from Blender's Purge Unused Data… beside it: it lists what goes first."""
    layout = self.layout
    layout.separator()
    layout.operator_context = 'INVOKE_DEFAULT'
    op = layout.operator(PURGE, text=names.PURGE_ALL, icon='ORPHAN_DATA')
    op.types = 'ALL'


def register():
    bpy.types.TOPBAR_MT_file_cleanup.append(draw_cleanup_menu_entry)


def unregister():
    menu = getattr(bpy.types, "TOPBAR_MT_file_cleanup", None)
    if menu is not None:
        menu.remove(draw_cleanup_menu_entry)
