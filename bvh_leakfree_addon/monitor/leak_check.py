# SPDX-License-Identifier: GPL-3.0-or-later
"""The Leak Check: runs something many times under ``leak_guard`` and reports what grew, by name,
and how Blender's own memory and the process's RSS moved.

* ``object.bvh_leak_check`` ("Leak Check: Add-on's Cast") runs the add-on's own cold build + cast
  on the selection: it checks the add-on, not the artist's scene (``cursor_ray``, the ray from the
  cursor both features use, with the cast's settings from the preferences);
* ``wm.bvh_leak_check_script`` runs a Text datablock (a script in the Text Editor).  The script
  runs only when the user asks (a click, or an explicit operator call), never on load or from a
  timer; each run in a fresh namespace, as Text › Run Script does.  An error raised by the script
  stops the check and is reported (line and message; the traceback goes to the console), with
  what had grown so far.  The add-on changes no data of its own: what changes is what the script
  changes, and Ctrl+Z takes it back (undo steps pushed by hand, before and after).

Either check stops at Ctrl+C (``KeyboardInterrupt``, the only way out of a script's endless loop)
or ``sys.exit()`` with one line, keeping what it saw so far.  A script that loads a file (which
replaces every datablock the check compares) stops it with one line, and a Leak Check cannot be
started while one runs (a script running the Leak Check on itself would never end).

Menu entries (F3 finds them under "leak"): File › Clean Up (both) and the Text Editor's Text menu.
"""
import builtins
import sys
import time
import traceback

import bpy
from bpy.props import IntProperty, StringProperty

from ..core.idtypes import in_words
from ..core.leaks import change_text, leak_guard
from ..core.memory import BLENDER, memory_change, memory_figure, mib_text, process_rss_bytes
from ..core.numbers import MB, count, duration
from ..cursor_ray import CastError, cast_from_cursor, inputs_of
from ..names import LEAK_CHECK, LEAK_CHECK_SCRIPT, label
from ..utils import get_preferences, reports_errors, runtime_state
from . import service
from .operators import undo_step
from .runs import Progress, Stopped, one_at_a_time, stop_text, watch_loads
from .state import store_leak_check

__all__ = ("OBJECT_OT_bvh_leak_check", "WM_OT_bvh_leak_check_script", "report_lines",
           "draw_cleanup_entries", "draw_text_menu_entry", "register", "unregister")

NAMES_IN_LINES = 3


def report_lines(report, runs):
    """What grew (or churned, or went) by name, one type per line, with the per-run figure when
    the runs added the same number each time."""
    out = []
    for change in report.ordered():
        line = change_text(change, NAMES_IN_LINES)
        if change.net > 0 and runs > 1 and change.added % runs == 0:
            line += f" = {change.added // runs} per run"
        out.append(line)
    return out


def _growth_text(report):
    return ", ".join(f"{in_words(name)} +{n}" for name, n in sorted(report.growth.items()))


class Baseline:
    """The memory figures a check compares with, taken after its first run (one-time allocations,
    e.g. the BVH's first tree, are not a leak)."""

    def __init__(self):
        self.rss = None
        self.memory = None

    def take(self):
        self.rss = process_rss_bytes()
        self.memory = memory_figure()


def memory_text(before, after, rss_before, rss_after):
    """``"Blender memory +0.0 MiB, RSS +0.4 MiB"``: Blender's own figure (what follows
    datablocks) first, the RSS beside it; a part that is unknown is left out."""
    parts = []
    change = memory_change(before, after)
    if change is not None and before.source == BLENDER:
        parts.append(f"{before.label} {mib_text(*change, signed=True)}")
    elif after is not None and after.note:
        parts.append(after.note)
    if rss_before is not None and rss_after is not None:
        parts.append(f"RSS {mib_text(rss_after - rss_before, signed=True)}")
    return ", ".join(parts)


def _finish(context, report, *, runs, started, baseline, error="", **values):
    """Store the result for the panel, refresh the monitor, report in one line."""
    seconds = time.perf_counter() - started
    rss_after = process_rss_bytes()
    rss_mb = ((rss_after - baseline.rss) / MB
              if baseline.rss is not None and rss_after is not None else 0.0)
    memory = memory_text(baseline.memory, memory_figure(), baseline.rss, rss_after)
    growth = _growth_text(report)
    lines = report_lines(report, runs)
    store_leak_check(context, iterations=runs, growth=growth, lines="\n".join(lines),
                     rss_mb=rss_mb, memory=memory, seconds=seconds, error=error, **values)
    service.tick(force=True)
    return seconds, memory, growth, lines


class OBJECT_OT_bvh_leak_check(bpy.types.Operator):
    bl_idname = "object.bvh_leak_check"
    bl_label = LEAK_CHECK
    bl_description = ("Check this add-on, not your scene: build a fresh BVH and cast from the 3D "
                      "cursor many times on the selection, then report which datablocks that "
                      "added or removed, by name, and how memory moved.  To check a script of "
                      f"yours, use {LEAK_CHECK_SCRIPT}")
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

    @reports_errors
    def execute(self, context):
        prefs = get_preferences(context)
        if prefs is None:
            raise ValueError("the add-on is not enabled (its cast settings are missing)")
        with one_at_a_time():
            return self._check(context, inputs_of(prefs.cast))

    def _check(self, context, cast):
        """``cast``: the cast's inputs (never snaps or selects: the scene stays)."""
        started = time.perf_counter()
        baseline, done, ray, stopped = Baseline(), 0, None, ""
        progress = Progress(context, self.iterations)
        try:
            with leak_guard(raise_on_leak=False) as report:
                try:
                    for i in range(self.iterations):
                        ray = cast_from_cursor(context, reuse=False, **cast)
                        done = i + 1
                        if i == 0:  # after the first run: one-time allocations are not a leak
                            baseline.take()
                        progress.update(done)
                except (KeyboardInterrupt, SystemExit) as ex:
                    stopped = stop_text(ex, done)
        except CastError as ex:
            self.report({'ERROR'}, f"{LEAK_CHECK}: {ex}")
            return {'CANCELLED'}
        finally:
            progress.end()
        objects = ray.stats.objects_used if ray is not None else 0
        seconds, memory, growth, lines = _finish(
            context, report, runs=max(done, 1), started=started, baseline=baseline,
            error=stopped, source='CAST', objects=objects, script="")
        if stopped:
            self.report({'WARNING'}, f"Leak check {stopped} of {count(self.iterations, 'run')}" +
                        (f": {'; '.join(lines)}" if lines else ": no datablock growth so far"))
            return {'CANCELLED'}
        text = (f"{LEAK_CHECK}: {self.iterations} builds + casts on {count(objects, 'object')} "
                f"in {duration(seconds)}: ")
        if growth:
            self.report({'WARNING'}, text + f"datablocks grew ({growth}): {'; '.join(lines)}; "
                                            f"{memory}")
        else:
            self.report({'INFO'}, text + f"the add-on added no datablock; {memory}")
        return {'FINISHED'}


class ScriptError(Exception):
    """The script raised: the message says where."""


def _compile(text):
    try:
        return compile(text.as_string(), text.name, "exec")
    except SyntaxError as ex:
        raise ScriptError(f"'{text.name}' has a syntax error at line {ex.lineno}: {ex.msg}") \
            from None


def _run(code, text_name, run, runs):
    """One run of the script in a fresh namespace; its errors become :class:`ScriptError`."""
    namespace = {"__name__": "__main__", "__file__": text_name, "__builtins__": builtins}
    try:
        exec(code, namespace)   # noqa: S102 - the user's own script, run on the user's click
    except (KeyboardInterrupt, SystemExit) as ex:
        raise Stopped(stop_text(ex, run - 1)) from None
    except Exception as ex:
        traceback.print_exc(file=sys.stderr)
        frames = [f for f in traceback.extract_tb(ex.__traceback__) if f.filename == text_name]
        where = f" at line {frames[-1].lineno}" if frames else ""
        raise ScriptError(f"'{text_name}' raised {type(ex).__name__}{where} on run {run} of "
                          f"{runs}: {ex}") from None
    finally:
        namespace.clear()


def _after_load(operator, context, error, done, name, started):
    """The script loaded a file: the datablocks compared are gone, only the reason is reported.
    A factory reset also disables the add-on, and then ``operator`` is freed memory: it is not
    touched, the reason goes to the console (and to the panel, when the add-on is still on)."""
    message = f"Leak check stopped: {error}"
    if runtime_state(context) is not None:
        store_leak_check(context, iterations=done, growth="", lines="", rss_mb=0.0,
                         seconds=time.perf_counter() - started, error=error, source='TEXT',
                         objects=0, script=name)
    if type(operator).is_registered:
        operator.report({'ERROR'}, message)
    else:
        print(message, file=sys.stderr)
    return {'CANCELLED'}


class WM_OT_bvh_leak_check_script(bpy.types.Operator):
    bl_idname = "wm.bvh_leak_check_script"
    bl_label = label(LEAK_CHECK_SCRIPT)
    bl_description = ("Run a script from the Text Editor several times and report which "
                      "datablocks it added or removed, by name, who uses them, and how memory "
                      "moved.  What the script added stays in the file: Ctrl+Z takes it back")
    bl_options = {'REGISTER'}   # undo steps pushed by hand: no redo panel re-running the script

    text: StringProperty(
        name="Script", description="The Text datablock to run (a script in the Text Editor)")
    iterations: IntProperty(
        name="Runs", default=10, min=1, soft_max=100, max=10000,
        description="How many times to run the script")

    @classmethod
    def poll(cls, context):
        if not bpy.data.texts:
            cls.poll_message_set("No script: write or open one in the Text Editor")
            return False
        return True

    @reports_errors
    def invoke(self, context, _event):
        if not self.text:
            edited = getattr(context, "edit_text", None)
            state = runtime_state(context)
            last = state.monitor.leak_check_script if state is not None else ""
            self.text = (edited.name if edited is not None
                         else last if last in bpy.data.texts else bpy.data.texts[0].name)
        return context.window_manager.invoke_props_dialog(self, width=320)

    def draw(self, _context):
        layout = self.layout
        layout.prop_search(self, "text", bpy.data, "texts", icon='TEXT')
        layout.prop(self, "iterations")
        layout.label(text="Runs the script, under a leak guard.", icon='INFO')

    @reports_errors
    def execute(self, context):
        with one_at_a_time():
            return self._check(context)

    def _check(self, context):
        text = bpy.data.texts.get(self.text)
        if text is None:
            self.report({'ERROR'}, f"{label(LEAK_CHECK_SCRIPT)}: no script named '{self.text}' "
                                   "in this file")
            return {'CANCELLED'}
        name = text.name
        try:
            code = _compile(text)
        except ScriptError as ex:
            self.report({'ERROR'}, f"{label(LEAK_CHECK_SCRIPT)}: {ex}")
            return {'CANCELLED'}
        del text     # the script may remove or rename it
        runs = self.iterations     # read now: a file the script loads may take this operator
        started = time.perf_counter()
        baseline, error, done, stopped = Baseline(), "", 0, ""
        undo_step(context, f"Before {label(LEAK_CHECK_SCRIPT)}")
        progress = Progress(context, runs)
        try:
            with watch_loads() as loads, leak_guard(raise_on_leak=False) as report:
                for run in range(1, runs + 1):
                    try:
                        _run(code, name, run, runs)
                    except ScriptError as ex:
                        error = str(ex)
                    except Stopped as ex:
                        stopped = str(ex)
                    if loads[0]:
                        error = (f"'{name}' loaded a file on run {run} of {runs}, which replaces "
                                 f"every datablock the check compares: leave the loading out of "
                                 f"the script to check it")
                    if error or stopped:
                        break
                    done = run
                    if run == 1:
                        baseline.take()
                    progress.update(run)
        finally:
            progress.end()
            undo_step(context, f"{label(LEAK_CHECK_SCRIPT)} '{name}'")
        if loads[0]:
            return _after_load(self, context, error, done, name, started)
        seconds, memory, growth, lines = _finish(
            context, report, runs=max(done, 1), started=started, baseline=baseline,
            error=error or stopped, source='TEXT', objects=0, script=name)
        if error:
            self.report({'ERROR'}, f"{label(LEAK_CHECK_SCRIPT)} stopped: {error}" +
                        (f" (so far: {'; '.join(lines)})" if lines else ""))
            return {'CANCELLED'}
        if stopped:
            self.report({'WARNING'}, f"Leak check of '{name}' {stopped}" +
                        (f": {'; '.join(lines)}" if lines else ": no datablock added or removed "
                                                               "so far"))
            return {'CANCELLED'}
        text = (f"{label(LEAK_CHECK_SCRIPT)}: {count(done, 'run')} of '{name}' in "
                f"{duration(seconds)}: ")
        if lines:
            kind = 'WARNING' if growth else 'INFO'
            kept = "; still in the file (Ctrl+Z removes it)" if growth else ""
            self.report({kind}, text + "; ".join(lines) + f"{kept}; {memory}")
        else:
            self.report({'INFO'}, text + f"no datablock added or removed; {memory}")
        return {'FINISHED'}


# --- Menu entries (F3 search finds what is in a menu) --------------------------------------------
def draw_cleanup_entries(self, _context):
    """File › Clean Up: the Leak Check of the add-on's cast and of a script (the purge's entry is
    drawn by the panels module just before)."""
    layout = self.layout
    layout.operator_context = 'INVOKE_DEFAULT'
    layout.operator(OBJECT_OT_bvh_leak_check.bl_idname, text=LEAK_CHECK, icon='VIEWZOOM')
    layout.operator(WM_OT_bvh_leak_check_script.bl_idname, text=LEAK_CHECK_SCRIPT, icon='TEXT')


def draw_text_menu_entry(self, context):
    """Text Editor › Text: run the edited script under the Leak Check."""
    layout = self.layout
    layout.separator()
    layout.operator_context = 'INVOKE_DEFAULT'
    op = layout.operator(WM_OT_bvh_leak_check_script.bl_idname, text=LEAK_CHECK_SCRIPT,
                         icon='TEXT')
    text = getattr(context, "edit_text", None)
    op.text = text.name if text is not None else ""


MENUS = (("TOPBAR_MT_file_cleanup", draw_cleanup_entries), ("TEXT_MT_text", draw_text_menu_entry))


def register():
    for menu, draw in MENUS:
        getattr(bpy.types, menu).append(draw)


def unregister():
    for menu, draw in MENUS:
        cls = getattr(bpy.types, menu, None)
        if cls is not None:
            cls.remove(draw)

