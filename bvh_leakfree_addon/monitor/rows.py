# SPDX-License-Identifier: GPL-3.0-or-later
"""The Datablocks panel's rows, as wide as the sidebar allows: the table of types (its number
columns shortened honestly or dropped, never cut: :mod:`..fit`), the lists of new datablocks under
them (a name gets a line of its own rather than "l…"), and text wrapped by its measured width.
Draw code only reads."""
import time
from typing import NamedTuple

from .. import fit
from ..core import idtypes
from ..utils import runtime_state
from . import service
from .inspect import (
    SELECTABLE,
    WM_OT_bvh_datablock_list,
    WM_OT_bvh_datablock_users,
    WM_OT_bvh_delete_orphan,
    WM_OT_bvh_select_users,
)
from .pages import PAGE_SIZE, page_count
from .settings import monitor_settings

__all__ = ("HEADERS", "PRIORITY", "Table", "table", "is_alert",
           "draw_header_row", "draw_type_row", "list_lines", "draw_list", "rows_on_one_line")

LIST = WM_OT_bvh_datablock_list.bl_idname
#: header forms of the number columns, longest first (Blender would cut a long one short)
HEADERS = (("Total", "All"), ("Orphans", "Orph."), ("+/-", "±"))
#: which number column stays longest when the sidebar is narrow: +/- (the one that tells of a
#: leak), then Total, then Orphans
PRIORITY = (1, 2, 0)
NAME_MIN_PX = 50.0     # the type column keeps room for its triangle and "Me…" (pixels at scale 1)


def is_alert(name, settings=None):
    """The row of ``name`` grew by at least the alert threshold since the baseline."""
    return service.growth(name) >= (settings or monitor_settings()).alert_threshold


class Table(NamedTuple):
    """The number columns the table shows at this width: ``columns`` ``[(index, header, cells,
    pixels)]`` (:func:`fit.fit_columns`; ``index``: 0 Total, 1 Orphans, 2 +/-), ``rows`` the row
    of each type name in ``cells``, ``width`` the panel's content width in pixels, ``scale`` the
    interface scale."""

    columns: list
    rows: dict
    width: float
    scale: float = 1.0


def table(context, names):
    """:class:`Table` of the types ``names`` (those counted yet), so that both panels' rows
    show the same columns in the same forms."""
    measure, width = fit.text_width(context)
    counted = [(name, service.figures(name)) for name in names]
    counted = [(name, count) for name, count in counted if count is not None]
    cells = ([fit.count_forms(count.total) for _name, count in counted],
             [fit.count_forms(count.orphans) for _name, count in counted],
             [fit.count_forms(service.growth(name), signed=True) for name, _count in counted])
    columns = [(HEADERS[i], cells[i], PRIORITY[i]) for i in range(3)]
    fitted = fit.fit_columns(columns, width, measure, measure.px(fit.CELL_PAD_PX),
                             measure.px(NAME_MIN_PX))
    return Table(fitted, {name: row for row, (name, _count) in enumerate(counted)}, width,
                 measure.scale)


def _split_row(layout, shape, first, texts):
    """One row: ``first(cell)`` draws the name column, ``texts`` the number cells, right-aligned,
    each exactly as wide as ``shape`` says (a fixed width: ``ui_units_x``), so every row's figures
    line up and a cell is never narrower than its text; the name column takes what is left."""
    numbers = [pixels for _index, _header, _cells, pixels in shape.columns]
    width = max(shape.width, 1.0)
    split = layout.split(factor=min(0.95, max(0.05, (width - sum(numbers)) / width)))
    first(split)
    cells = split.row(align=True)
    cells.alignment = 'RIGHT'
    unit = fit.UNIT_PX * shape.scale
    for text, pixels in zip(texts, numbers, strict=True):
        cell = cells.row(align=True)
        cell.ui_units_x = pixels / unit
        cell.alignment = 'RIGHT'
        cell.label(text=text)


def draw_header_row(layout, shape):
    _split_row(layout.row(), shape, lambda cell: cell.label(text="Type"),
               [header for _index, header, _cells, _pixels in shape.columns])


def draw_type_row(layout, context, name, settings, shape):
    """The row of ``name`` in the columns of ``shape`` (a :class:`Table`)."""
    row_index = shape.rows.get(name)
    if row_index is None:
        return False
    alert = is_alert(name, settings)
    row = layout.row()
    row.alert = alert
    opened = name in _open(context)

    def first(split):
        cell = split.row(align=True)
        op = cell.operator(LIST, text="", emboss=False,
                           icon='DISCLOSURE_TRI_DOWN' if opened else 'DISCLOSURE_TRI_RIGHT')
        op.collection, op.action = name, 'TOGGLE'
        cell.label(text=idtypes.label(name))   # the triangle takes the icon's place

    _split_row(row, shape, first,
               [cells[row_index] for _index, _header, cells, _pixels in shape.columns])
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


#: the row's icons: fake user, linked, who uses it, select its users, delete it
ROW_ICONS = 5
ROW_NAME_MIN_PX = 90.0      # below this (pixels at scale 1) a row's name gets a line of its own


def rows_on_one_line(measured, rows):
    """A list row fits on one line (name, users, icons) when the name keeps ROW_NAME_MIN_PX;
    else each row takes two lines and the name the whole width (never "l…")."""
    measure, width = measured
    users = max((measure(f"{info.users:,}") for info in rows), default=0.0)
    needed = (ROW_ICONS * fit.ICON_PX + ROW_NAME_MIN_PX + fit.BOX_PX + fit.CELL_PAD_PX)
    return width >= measure.px(needed) + users + measure.px(fit.CELL_PAD_PX)


def draw_list(layout, context, name):
    box = layout.box()
    view = service.new_list(name)
    if view is None:
        box.label(text="Listing…", icon='TIME')
        return
    measured = fit.text_width(context)
    inner = (measured[0], measured[1] - measured[0].px(fit.BOX_PX))
    for index, text in enumerate(list_lines(view, service.baseline_time())):
        fit.wrap(box, context, text, icon='INFO' if index == 0 else 'TRASH', measured=inner)
    if not view.rows:
        return
    col = box.column(align=True)
    wide = rows_on_one_line(inner, view.rows)
    head = col.split(factor=0.5) if wide else col.row()
    head.label(text="Name")
    if wide:
        cells = head.split(factor=0.3)
        right = cells.row()
        right.alignment = 'RIGHT'
        right.label(text="Users")
    for info in view.rows:
        _draw_row(col, name, info, wide)
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


def _draw_row(layout, name, info, wide=True):
    """name | users | fake user, linked | who uses it, select users, delete (orphans); not
    ``wide``: the name on a line of its own, the rest below it."""
    icon = 'ORPHAN_DATA' if info.orphan else idtypes.icon(name)
    if wide:
        split = layout.split(factor=0.5)
        split.label(text=info.name, icon=icon)
        cells = split.split(factor=0.3)
        users = cells.row()
        users.alignment = 'RIGHT'
        users.label(text=f"{info.users:,}")
        row = cells.row(align=True)
    else:
        layout.label(text=info.name, icon=icon)
        cells = layout.row()
        users = cells.row()
        users.label(text=f"{info.users:,} user{'s' if info.users != 1 else ''}", icon='BLANK1')
        row = cells.row(align=True)
        row.alignment = 'RIGHT'
    row = row.row(align=True)
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
