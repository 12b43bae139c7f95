# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators of the datablock monitor: purge orphans (with a confirmation naming what goes) and
reset the baseline, and :func:`undo_step`, which every operator of the monitor that deletes or
selects uses.  The Leak Check is in :mod:`.leak_check`, the lists' operators in :mod:`.inspect`."""
from typing import NamedTuple

import bpy
from bpy.props import BoolProperty, EnumProperty

from ..core.datablocks import format_counts, purge_orphans, purge_preview
from ..core.idtypes import in_words
from ..names import PURGE, PURGE_ALL, PURGE_MESHES, RESET_BASELINE, label
from ..utils import reports_errors
from . import service

PURGE_TYPE_ITEMS = (
    ('MESH', "Meshes", "Only orphan meshes"),
    ('ALL', "All Types", "Orphans of every datablock type"),
)
NOTHING_TO_PURGE = "Nothing to purge: no orphan data"
LINKED_UNDO = ("Ctrl+Z cannot bring linked data back (nor after Blender's own purge): File › "
               "Revert reloads it.")


NAMES_SHOWN = 3   # names per type in the confirmation, then "and N more"


class PurgePlan(NamedTuple):
    """What each button of the confirmation deletes, worked out before the click:
    ``{collection: [(session_uid, name), …]}`` each (``core.datablocks.purge_preview``)."""

    direct: dict      #: "Delete": the orphans of the chosen types
    cascade: dict     #: "Delete + What Becomes Unused": everything the recursive purge takes
    linked: dict      #: "Delete, Linked Data Too" (empty when the file links no library)


def purge_plan(types, include_linked=False):
    """:class:`PurgePlan` of a purge of ``types`` (``'MESH'`` or ``'ALL'``), as things are now."""
    types = 'ALL' if types == 'ALL' else {types}
    direct = purge_preview(types, include_linked=include_linked)
    cascade = purge_preview(types, recursive=True, include_linked=include_linked) if direct else {}
    linked = {}
    if not include_linked and len(bpy.data.libraries):
        linked = purge_preview(types, recursive=True, include_linked=True)
    return PurgePlan(direct, cascade, linked)


def _extra(more, than):
    """What ``more`` deletes beyond ``than`` (same shape)."""
    out = {}
    for name, items in more.items():
        known = {uid for uid, _ in than.get(name, ())}
        rest = [item for item in items if item[0] not in known]
        if rest:
            out[name] = rest
    return out


def type_lines(preview, shown=NAMES_SHOWN):
    """``["30 meshes: leak, leak.001, leak.002 and 27 more", …]``, largest type first."""
    lines = []
    for name, items in sorted(preview.items(), key=lambda item: (-len(item[1]), item[0])):
        names = [id_name for _uid, id_name in items]
        text = f"{len(names):,} {in_words(name, len(names))}: " + ", ".join(names[:shown])
        if len(names) > shown:
            text += f" and {len(names) - shown:,} more"
        lines.append(text)
    return lines


DELETE = "Delete"
DELETE_CASCADE = "Delete + What Becomes Unused"
DELETE_LINKED = "Delete, Linked Data Too"


def confirmation_sections(plan):
    """The confirmation popup's text, per button: ``[(lines [(text, icon)], button or None)]``
    where a button is ``(text, icon, recursive, include_linked)``; tested headless."""
    direct = [("These unused datablocks will be deleted:", 'TRASH')]
    direct += [(text, 'DOT') for text in type_lines(plan.direct)]
    sections = [(direct, (DELETE, 'TRASH', False, False))]
    cascade = _extra(plan.cascade, plan.direct)
    if cascade:
        lines = [(f"Then unused, deleted too by \"{DELETE_CASCADE}\":", 'ORPHAN_DATA')]
        lines += [(text, 'DOT') for text in type_lines(cascade)]
        sections.append((lines, (DELETE_CASCADE, 'ORPHAN_DATA', True, False)))
    else:
        sections.append(([("Nothing else becomes unused.", 'CHECKMARK')], None))
    linked = _extra(plan.linked, plan.cascade or plan.direct)
    if linked:
        lines = [(f"Linked from libraries, deleted too by \"{DELETE_LINKED}\" (the library "
                  "files stay as they are):", 'LINKED')]
        lines += [(text, 'DOT') for text in type_lines(linked)]
        lines.append((LINKED_UNDO, 'ERROR'))
        sections.append((lines, (DELETE_LINKED, 'LINKED', True, True)))
    return sections


#: the last line of text, above the buttons
KEEP_NOTE = ("Datablocks with a fake user are kept; Ctrl+Z brings back what is local to this "
             "file.", 'INFO')


def confirmation_lines(plan):
    """Every line of the confirmation's text, in order (buttons left out)."""
    return [line for lines, _button in confirmation_sections(plan) for line in lines] + [KEEP_NOTE]


def _confirmation(plan, types, include_linked):
    """Draw function of the confirmation popup: every section's text first, then the buttons
    (the popup opens with a button under the mouse, and its tooltip opens below it: text placed
    below a button would be hidden).  Holds ints and strings only (never an ID).  The buttons call
    the operator with EXEC_DEFAULT; each has a tooltip of its own (:meth:`description`)."""
    sections = confirmation_sections(plan)

    def draw(menu, _context):
        layout = menu.layout
        layout.operator_context = 'EXEC_DEFAULT'
        for index, (lines, _button) in enumerate(sections):
            if index:
                layout.separator()
            for text, icon in lines:
                layout.label(text=text, icon=icon)
        layout.label(text=KEEP_NOTE[0], icon=KEEP_NOTE[1])
        layout.separator()
        for _lines, button in sections:
            if button is not None:
                text, icon, recursive, linked = button
                op = layout.operator("wm.bvh_purge_orphans", text=text, icon=icon)
                op.types = types
                op.recursive = recursive
                op.include_linked = linked or include_linked
                op.confirmed = True

    return draw


def purge_title(types):
    """The confirmation's title: the name of the button that opened it (without its "…")."""
    return label(PURGE_ALL if types == 'ALL' else PURGE_MESHES)


def purge_description(types, recursive, include_linked, confirmed):
    """The tooltip of each purge button: the sidebar's and File › Clean Up's (which list first) and
    each of the confirmation's buttons (which delete), each saying what it does."""
    if not confirmed:
        what = "every unused datablock" if types == 'ALL' else "the unused meshes"
        return (f"List {what} by name, then delete them when you confirm; the confirmation also "
                "shows what would become unused (unlike File › Clean Up › Purge Unused Data…, "
                "which counts per type).  A fake user keeps a datablock; Ctrl+Z brings back what "
                "was deleted")
    if include_linked:
        return ("Delete the listed orphans, what becomes unused, and unused data linked from "
                "library files (they only leave this file; the library files are not changed)")
    if recursive:
        return ("Delete the listed orphans and, after them, what becomes unused because of it "
                "(e.g. a material only they used): everything the confirmation lists")
    return "Delete only the orphans listed first; what becomes unused by it stays"


class WM_OT_bvh_purge_orphans(bpy.types.Operator):
    bl_idname = "wm.bvh_purge_orphans"
    bl_label = PURGE
    bl_description = ("Delete datablocks that have no users (never those with a fake user); "
                      "shows what will go first; Ctrl+Z brings back what was local to the file, "
                      "not linked data")
    # No 'UNDO' flag: the undo steps are pushed by hand around the purge (see undo_step), and
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
    confirmed: BoolProperty(
        name="Confirmed", default=False, options={'HIDDEN', 'SKIP_SAVE'},
        description="Run from the confirmation's buttons (their tooltips say what each deletes)")

    @classmethod
    def description(cls, _context, properties):
        return purge_description(properties.types, properties.recursive,
                                 properties.include_linked, properties.confirmed)

    @classmethod
    def poll(cls, context):
        if context.window_manager is None:
            cls.poll_message_set("Needs a window manager")
            return False
        return True

    @reports_errors
    def invoke(self, context, event):
        plan = purge_plan(self.types, self.include_linked)
        if not plan.direct:
            self.report({'INFO'}, NOTHING_TO_PURGE)
            return {'CANCELLED'}
        context.window_manager.popup_menu(
            _confirmation(plan, self.types, self.include_linked),
            title=purge_title(self.types), icon='ORPHAN_DATA')
        # The popup is not tied to this operator (its buttons run it again with EXEC): disabling
        # the add-on while it is open then cannot leave Blender holding a freed operator type.
        return {'CANCELLED'}

    @reports_errors
    def execute(self, context):
        types = 'ALL' if self.types == 'ALL' else {self.types}
        undo_step(context, f"Before {PURGE}")
        removed = purge_orphans(types, recursive=self.recursive, include_linked=self.include_linked)
        service.tick(force=True)
        if not removed:
            self.report({'INFO'}, NOTHING_TO_PURGE)
            return {'CANCELLED'}
        undo_step(context, PURGE)
        linked = "; linked data: Ctrl+Z cannot bring it back, File › Revert reloads it" \
            if self.include_linked else ""
        self.report({'INFO'}, f"Removed {format_counts(removed)}{linked}")
        return {'FINISHED'}


def undo_step(context, message):
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
    bl_label = RESET_BASELINE
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


__all__ = ("WM_OT_bvh_purge_orphans", "WM_OT_bvh_reset_baseline", "PurgePlan", "purge_plan",
           "confirmation_sections", "confirmation_lines", "type_lines", "undo_step",
           "purge_title", "purge_description")
