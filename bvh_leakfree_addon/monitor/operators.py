# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators of the datablock monitor: purge orphans (with a confirmation naming what goes) and
reset the baseline.  The Leak Check is in :mod:`.leak_check`."""
import bpy
from bpy.props import BoolProperty, EnumProperty

from ..core.datablocks import (
    collection_label,
    datablock_counts,
    format_counts,
    purge_orphans,
    resolve_types,
)
from ..utils import reports_errors
from . import service

PURGE_TYPE_ITEMS = (
    ('MESH', "Meshes", "Only orphan meshes"),
    ('ALL', "All Types", "Orphans of every datablock type"),
)
NOTHING_TO_PURGE = "Nothing to purge: no orphan data"


def _purge_preview(types, include_linked):
    """``{collection name: orphans a purge would delete now}`` (before any cascade)."""
    names = resolve_types('ALL' if types == 'ALL' else {types})
    counts = datablock_counts(names)
    out = {}
    for name, count in counts.items():
        n = count.orphans if include_linked else count.local_orphans
        if n:
            out[name] = n
    return out


def confirmation_lines(preview):
    """The confirmation popup's text: ``[(text, icon)]``, what will be deleted first."""
    lines = [("These unused datablocks will be deleted:", 'TRASH')]
    for name, count in sorted(preview.items(), key=lambda item: (-item[1], item[0])):
        lines.append((f"{count:,} {collection_label(name, count)}", 'DOT'))
    lines.append(("Datablocks with a fake user are kept; Ctrl+Z undoes.", 'INFO'))
    return lines


def _confirmation(preview, types, include_linked, has_linked):
    """Draw function of the confirmation popup: :func:`confirmation_lines` and one button per
    choice.  Holds ints and strings only (never an ID).  The buttons call the operator with
    EXEC_DEFAULT.
    """
    def draw(menu, _context):
        layout = menu.layout
        for text, icon in confirmation_lines(preview):
            layout.label(text=text, icon=icon)
        layout.separator()
        layout.operator_context = 'EXEC_DEFAULT'
        choices = [("Delete", 'TRASH', False, include_linked),
                   ("Delete + What Becomes Unused", 'ORPHAN_DATA', True, include_linked)]
        if has_linked and not include_linked:
            choices.append(("Delete, Linked Data Too", 'LINKED', True, True))
        for text, icon, recursive, linked in choices:
            op = layout.operator("wm.bvh_purge_orphans", text=text, icon=icon)
            op.types = types
            op.recursive = recursive
            op.include_linked = linked

    return draw


class WM_OT_bvh_purge_orphans(bpy.types.Operator):
    bl_idname = "wm.bvh_purge_orphans"
    bl_label = "Purge Orphan Data"
    bl_description = ("Delete datablocks that have no users (never those with a fake user); "
                      "shows what will go first, Ctrl+Z brings it back")
    # No 'UNDO' flag: the undo steps are pushed by hand around the purge (see _undo_step), and
    # without it there is no redo panel that could widen a purge past its confirmation.
    bl_options = {'REGISTER'}

    types: EnumProperty(
        name="Types", items=PURGE_TYPE_ITEMS, default='ALL',
        description="Which datablock types to purge")
    recursive: BoolProperty(
        name="Recursive", default=False,
        description="Also delete datablocks that become unused because of this purge (e.g. a "
                    "material used only by purged meshes), until none is left")
    include_linked: BoolProperty(
        name="Include Linked", default=False,
        description="Also delete unused datablocks linked from library files (they only leave "
                    "this file; the library files are not changed)")

    @classmethod
    def poll(cls, context):
        if context.window_manager is None:
            cls.poll_message_set("Needs a window manager")
            return False
        return True

    @reports_errors
    def invoke(self, context, event):
        preview = _purge_preview(self.types, self.include_linked)
        if not preview:
            self.report({'INFO'}, NOTHING_TO_PURGE)
            return {'CANCELLED'}
        linked = (_purge_preview(self.types, True) if not self.include_linked else {})
        context.window_manager.popup_menu(
            _confirmation(preview, self.types, self.include_linked, linked != preview),
            title="Purge Orphan Data", icon='ORPHAN_DATA')
        # The popup is not tied to this operator (its buttons run it again with EXEC): disabling
        # the add-on while it is open then cannot leave Blender holding a freed operator type.
        return {'CANCELLED'}

    @reports_errors
    def execute(self, context):
        types = 'ALL' if self.types == 'ALL' else {self.types}
        _undo_step(context, "Before Purge Orphan Data")
        removed = purge_orphans(types, recursive=self.recursive, include_linked=self.include_linked)
        service.tick(force=True)
        if not removed:
            self.report({'INFO'}, NOTHING_TO_PURGE)
            return {'CANCELLED'}
        _undo_step(context, "Purge Orphan Data")
        self.report({'INFO'}, f"Removed {format_counts(removed)}")
        return {'FINISHED'}


def _undo_step(context, message):
    """Store the data as it is now as an undo step.

    Orphans made by scripts or timers since the last undo step (the leaks we purge) are in no step:
    the step before the purge is what lets Ctrl+Z bring them back, the step after is the purge
    itself.  Pushed by hand because Blender ignores an undo push made inside an operator that has
    the 'UNDO' flag (seen in the window: Ctrl+Z then skipped the leaked datablocks).  Needs a
    window (not in ``blender -b``).
    """
    if context.window is not None and bpy.ops.ed.undo_push.poll():
        bpy.ops.ed.undo_push(message=message)


class WM_OT_bvh_reset_baseline(bpy.types.Operator):
    bl_idname = "wm.bvh_reset_baseline"
    bl_label = "Reset Datablock Baseline"
    bl_description = ("Take the current datablock counts as the baseline the Datablocks panel's "
                      "+/- column compares with")
    bl_options = {'REGISTER'}

    @classmethod
    def poll(cls, context):
        return context.window_manager is not None

    @reports_errors
    def execute(self, context):
        service.reset_baseline()
        meshes = service.figures(service.MESHES)
        total = meshes.total if meshes is not None else 0
        self.report({'INFO'}, f"Datablock baseline reset ({total:,} meshes)")
        return {'FINISHED'}


__all__ = ("WM_OT_bvh_purge_orphans", "WM_OT_bvh_reset_baseline", "confirmation_lines")
