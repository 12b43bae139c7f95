# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators of the datablock monitor: purge orphans, reset the baseline, leak check."""
import time

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty

from . import monitor
from .core.datablocks import collection_label, datablock_counts, format_counts, purge_orphans, resolve_types
from .core.leaks import leak_guard, process_rss_bytes
from .state import runtime_state

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


def _confirmation(preview, types, include_linked, has_linked):
    """Draw function of the confirmation popup: per-type list and one button per choice.

    Holds ints and strings only (never an ID).  The buttons call the operator with EXEC_DEFAULT.
    """
    def draw(menu, _context):
        layout = menu.layout
        layout.label(text="These unused datablocks will be deleted:", icon='TRASH')
        for name, count in sorted(preview.items(), key=lambda item: (-item[1], item[0])):
            layout.label(text=f"{count:,} {collection_label(name, count)}", icon='DOT')
        layout.label(text="Datablocks with a fake user are kept; Ctrl+Z undoes.", icon='INFO')
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
    bl_options = {'REGISTER', 'UNDO'}

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

    def execute(self, context):
        types = 'ALL' if self.types == 'ALL' else {self.types}
        _push_undo_before(context)
        removed = purge_orphans(types, recursive=self.recursive, include_linked=self.include_linked)
        monitor.tick(force=True)
        if not removed:
            self.report({'INFO'}, NOTHING_TO_PURGE)
            return {'CANCELLED'}
        self.report({'INFO'}, f"Removed {format_counts(removed)}")
        return {'FINISHED'}


def _push_undo_before(context):
    """Store the data as it is now as an undo step of its own.

    Blender pushes an operator's undo step *after* execute; Ctrl+Z then returns to the previous
    step.  Orphans made by scripts or timers since that step (the leaks we purge) are in no step, so
    without this push Ctrl+Z could not bring them back.  Needs a window (not in ``blender -b``).
    """
    if context.window is not None and bpy.ops.ed.undo_push.poll():
        bpy.ops.ed.undo_push(message="Before Purge Orphan Data")


class WM_OT_bvh_reset_baseline(bpy.types.Operator):
    bl_idname = "wm.bvh_reset_baseline"
    bl_label = "Reset Datablock Baseline"
    bl_description = ("Take the current datablock counts as the baseline the Datablocks panel's "
                      "+/- column compares with")
    bl_options = {'REGISTER'}

    @classmethod
    def poll(cls, context):
        return context.window_manager is not None

    def execute(self, context):
        monitor.reset_baseline()
        meshes = monitor.figures(monitor.MESHES)
        total = meshes.total if meshes is not None else 0
        self.report({'INFO'}, f"Datablock baseline reset ({total:,} meshes)")
        return {'FINISHED'}


class OBJECT_OT_bvh_leak_check(bpy.types.Operator):
    bl_idname = "object.bvh_leak_check"
    bl_label = "BVH Leak Check"
    bl_description = ("Build a fresh BVH and cast from the 3D cursor many times on the selection "
                      "(with the Ray Cast from 3D Cursor settings), then report how much each "
                      "datablock type and the process's memory grew")
    bl_options = {'REGISTER'}

    iterations: IntProperty(
        name="Iterations", default=100, min=1, soft_max=1000, max=100000,
        description="How many cold builds + casts to run")

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            cls.poll_message_set("Needs a scene")
            return False
        if not context.selected_objects and not getattr(context, "objects_in_mode", None):
            cls.poll_message_set("Select the objects to cast against")
            return False
        return True

    def execute(self, context):
        from . import operators

        settings = operators.cast_defaults(
            context, ("direction", "custom_direction", "distance", "evaluated", "instances"))
        settings["custom_direction"] = tuple(settings["custom_direction"])
        wm = context.window_manager
        started = time.perf_counter()
        rss_before = None
        wm.progress_begin(0, self.iterations)
        try:
            with leak_guard(raise_on_leak=False) as report:
                for i in range(self.iterations):
                    result = operators.cast_from_cursor(context, reuse=False, **settings)
                    if i == 0:  # after the first run: one-time allocations are not a leak
                        rss_before = process_rss_bytes()
                    wm.progress_update(i + 1)
        except operators.CastError as ex:
            self.report({'ERROR'}, f"Leak check: {ex}")
            return {'CANCELLED'}
        finally:
            wm.progress_end()
        rss_after = process_rss_bytes()
        seconds = time.perf_counter() - started
        rss_mb = ((rss_after - rss_before) / 2 ** 20
                  if rss_before is not None and rss_after is not None else 0.0)
        growth = ", ".join(f"{name.replace('_', ' ')} +{n}"
                           for name, n in sorted(report.growth.items()))
        _store(context, self.iterations, result.objects_used, growth, rss_mb, seconds)
        monitor.tick(force=True)
        text = (f"Leak check: {self.iterations} builds + casts on {result.objects_used} "
                f"object{'s' if result.objects_used != 1 else ''} in {seconds:.1f} s: ")
        if growth:
            self.report({'WARNING'}, text + f"datablocks grew ({growth}), RSS {rss_mb:+.1f} MB")
        else:
            self.report({'INFO'}, text + f"no datablock growth, RSS {rss_mb:+.1f} MB")
        return {'FINISHED'}


def _store(context, iterations, objects, growth, rss_mb, seconds):
    state = runtime_state(context)
    if state is None:
        return
    mon = state.monitor
    mon.leak_check_done = True
    mon.leak_check_clean = not growth
    mon.leak_check_iterations = iterations
    mon.leak_check_objects = objects
    mon.leak_check_growth = growth
    mon.leak_check_rss_mb = rss_mb
    mon.leak_check_seconds = seconds


CLASSES = (WM_OT_bvh_purge_orphans, WM_OT_bvh_reset_baseline, OBJECT_OT_bvh_leak_check)
