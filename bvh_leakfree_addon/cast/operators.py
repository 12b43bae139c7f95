# SPDX-License-Identifier: GPL-3.0-or-later
"""``object.bvh_cast_from_cursor`` "Ray Cast from 3D Cursor": translates between the user and the
service — settings in, a report and the stored result out — and decides whether the cast is an
undo step (:mod:`.undo`): only a cast that changes something is one.

An operator's undo step is fixed by its type (Blender pushes one after every run of an operator
with ``'UNDO'``, and only those have an Adjust Last Operation panel), so there are two types with
the one name: the cast the buttons, menus and F3 run (no undo step), and, when its hit would snap
the cursor or change the selection, the same cast as an undo step
(``object.bvh_cast_from_cursor_step``, internal), which the cast runs for it and which F9 then
adjusts.  A cast that changes nothing is like Blender's own cursor placement: no undo step, and F9
still offers the last step there was."""
import bpy

from ..cursor_ray import inputs_of
from ..names import CAST, label
from ..utils import reports_errors, runtime_state, tag_redraw
from . import undo
from .result import report_text
from .service import (
    BuildProgress,
    CastError,
    cast_from_cursor,
    select_hit_object,
    selection_changes,
    selection_target,
    snap_changes,
    snap_cursor_to_hit,
)
from .settings import RAY_OPTIONS, CastSettings, cast_settings, operator_properties
from .state import store_failure, store_result

__all__ = ("OBJECT_OT_bvh_cast_from_cursor", "OBJECT_OT_bvh_cast_from_cursor_step",
           "changes_something", "mode_words")

CAST_MODES = {'OBJECT', 'EDIT_MESH', 'EDIT_CURVE', 'EDIT_SURFACE', 'EDIT_TEXT', 'EDIT_METABALL'}
DESCRIPTION = ("Cast one ray from the 3D cursor into the selected objects (in Edit Mode: also the "
               "objects being edited; unselected objects are not hit) and report the first hit: "
               "object, distance, face, location, normal.  An undo step only when it snaps the "
               "cursor or selects")


def mode_words(mode):
    """``Context.mode`` as the interface names it: ``EDIT_LATTICE`` → "Lattice Edit Mode",
    ``PAINT_WEIGHT`` → "Weight Paint Mode", ``PARTICLE`` → "Particle Edit Mode"."""
    kind, _, rest = mode.partition("_")
    if kind == "EDIT" and rest:
        return f"{rest.replace('_', ' ').title()} Edit Mode"
    if kind == "PAINT" and rest:
        return f"{rest.replace('_', ' ').title()} Paint Mode"
    if mode == "PARTICLE":
        return "Particle Edit Mode"
    return f"{mode.replace('_', ' ').title()} Mode"


def changes_something(context, result, snap_cursor, select_hit):
    """The cast ``result`` with these On Hit options would change the scene: move the cursor or
    the selection."""
    if not result.hit:
        return False
    return ((snap_cursor and snap_changes(context.scene, result))
            or (select_hit and selection_changes(context, result)))


class _Cast:
    """What both cast operators share: poll, the settings, the cast, storing and reporting."""

    bl_label = label(CAST)
    bl_description = DESCRIPTION

    __annotations__ = operator_properties()   # the ray options of CastSettings

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            cls.poll_message_set("Needs a scene")
            return False
        if context.mode not in CAST_MODES:
            cls.poll_message_set(f"{CAST} works in Object Mode and in Edit Mode of meshes, "
                                 f"curves, surfaces, text and metaballs, not in "
                                 f"{mode_words(context.mode)}")
            return False
        return True

    def _fill_from_preferences(self, context):
        """Settings the caller did not give come from the add-on preferences."""
        settings = cast_settings(context)
        for name in RAY_OPTIONS:
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(settings, name))

    def _cast(self, context):
        """The result, or None after reporting why there is none (the box says so too)."""
        progress = BuildProgress(context)
        try:
            return cast_from_cursor(context, progress=progress, **inputs_of(self))
        except CastError as ex:
            store_failure(context, str(ex))
            self.report({'ERROR'}, str(ex))
            tag_redraw(context)
            return None
        finally:
            progress.end()

    def _finish(self, context, result):
        stored = store_result(context, result)
        # the report reads what the panel shows: the stored result when there is one
        self.report({'INFO'} if result.hit else {'WARNING'}, report_text(stored or result))
        tag_redraw(context)
        return {'FINISHED'}

    def draw(self, context):
        CastSettings.draw(self, self.layout, overlay='NONE')


class OBJECT_OT_bvh_cast_from_cursor(_Cast, bpy.types.Operator):
    """Ray Cast from 3D Cursor; settings not given come from the add-on preferences."""

    bl_idname = "object.bvh_cast_from_cursor"
    bl_options = {'REGISTER'}    # no undo step of its own: see the module

    @reports_errors
    def execute(self, context):
        self._fill_from_preferences(context)
        result = self._cast(context)
        if result is None:
            return {'CANCELLED'}
        if self.select_hit and result.hit:
            target, note = selection_target(context, result)
            if target is None:
                result.add_note(note)       # e.g. outside Object Mode: nothing to change
        if changes_something(context, result, self.snap_cursor, self.select_hit):
            values = {name: getattr(self, name) for name in RAY_OPTIONS}
            values["custom_direction"] = tuple(values["custom_direction"])
            # undo=True: a step of its own, and the Adjust Last Operation panel, as a click would
            done = bpy.ops.object.bvh_cast_from_cursor_step('EXEC_DEFAULT', True, **values)
            # its report stays with it (Blender shows a report made inside another operator in
            # no status bar): this one says it, from what the box shows
            state = runtime_state(context)
            if state is not None and state.cast.has_result:
                self.report({'INFO'} if state.cast.hit else {'WARNING'}, report_text(state.cast))
            return done
        return self._finish(context, result)


class OBJECT_OT_bvh_cast_from_cursor_step(_Cast, bpy.types.Operator):
    """The cast as an undo step: run by the cast when its hit changes something, and by F9."""

    bl_idname = "object.bvh_cast_from_cursor_step"
    bl_options = {'REGISTER', 'UNDO', 'INTERNAL'}

    @reports_errors
    def execute(self, context):
        self._fill_from_preferences(context)
        state = runtime_state(context)
        before = undo.snapshot(state.cast) if state is not None else {}
        cursor_before = undo.cursor_pose(context.scene)
        result = self._cast(context)
        if result is None:
            return {'CANCELLED'}
        if result.hit:
            if self.snap_cursor:
                snap_cursor_to_hit(context.scene, result)
            if self.select_hit:
                result.add_note(select_hit_object(context, result))
        finished = self._finish(context, result)
        undo.record(context, before, cursor_before)
        return finished
