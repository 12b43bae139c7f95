# SPDX-License-Identifier: GPL-3.0-or-later
"""``object.bvh_cast_from_cursor`` "Ray Cast from 3D Cursor": translates between the user and the
service — settings in, a report and the stored result out."""
import bpy

from ..cursor_ray import inputs_of
from ..names import CAST, label
from ..utils import reports_errors, tag_redraw
from .result import report_text
from .service import (
    BuildProgress,
    CastError,
    cast_from_cursor,
    select_hit_object,
    snap_cursor_to_hit,
)
from .settings import RAY_OPTIONS, CastSettings, cast_settings, operator_properties
from .state import store_result

__all__ = ("OBJECT_OT_bvh_cast_from_cursor",)

CAST_MODES = {'OBJECT', 'EDIT_MESH', 'EDIT_CURVE', 'EDIT_SURFACE', 'EDIT_TEXT', 'EDIT_METABALL'}


class OBJECT_OT_bvh_cast_from_cursor(bpy.types.Operator):
    """Ray Cast from 3D Cursor; settings not given come from the add-on preferences."""

    bl_idname = "object.bvh_cast_from_cursor"
    bl_label = label(CAST)
    bl_description = ("Cast one ray from the 3D cursor into the selected objects (in Edit Mode: "
                      "also the objects being edited; unselected objects are not hit) and report "
                      "the first hit: object, distance, face, location, normal")
    bl_options = {'REGISTER', 'UNDO'}

    __annotations__ = operator_properties()   # the ray options of CastSettings

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            cls.poll_message_set("Needs a scene")
            return False
        if context.mode not in CAST_MODES:
            cls.poll_message_set(f"{CAST} works in Object Mode and Edit Mode")
            return False
        return True

    @reports_errors
    def execute(self, context):
        self._fill_from_preferences(context)
        progress = BuildProgress(context)
        try:
            result = cast_from_cursor(context, progress=progress, **inputs_of(self))
        except CastError as ex:
            self.report({'ERROR'}, str(ex))
            return {'CANCELLED'}
        finally:
            progress.end()
        if result.hit:
            if self.snap_cursor:
                snap_cursor_to_hit(context.scene, result)
            if self.select_hit:
                result.add_note(select_hit_object(context, result))
        stored = store_result(context, result)
        # the report reads what the panel shows: the stored result when there is one
        self.report({'INFO'} if result.hit else {'WARNING'}, report_text(stored or result))
        tag_redraw(context)
        return {'FINISHED'}

    def _fill_from_preferences(self, context):
        """Settings the caller did not give come from the add-on preferences."""
        settings = cast_settings(context)
        for name in RAY_OPTIONS:
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(settings, name))

    def draw(self, context):
        CastSettings.draw(self, self.layout, overlay='NONE')
