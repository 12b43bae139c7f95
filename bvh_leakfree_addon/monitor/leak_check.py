# SPDX-License-Identifier: GPL-3.0-or-later
"""``object.bvh_leak_check``: runs the cast's build + cast many times under ``leak_guard`` and
reports what grew.  The one place the monitor uses the cast (the declared direction: monitor →
cast)."""
import time

import bpy
from bpy.props import IntProperty

from ..cast.service import CastError, cast_from_cursor
from ..cast.settings import cast_inputs, cast_settings
from ..core.leaks import leak_guard, process_rss_bytes
from ..utils import reports_errors
from . import service
from .state import store_leak_check

__all__ = ("OBJECT_OT_bvh_leak_check",)

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

    @reports_errors
    def execute(self, context):
        cast = cast_inputs(cast_settings(context))   # never snaps or selects: the scene stays
        wm = context.window_manager
        started = time.perf_counter()
        rss_before = None
        wm.progress_begin(0, self.iterations)
        try:
            with leak_guard(raise_on_leak=False) as report:
                for i in range(self.iterations):
                    result = cast_from_cursor(context, reuse=False, **cast)
                    if i == 0:  # after the first run: one-time allocations are not a leak
                        rss_before = process_rss_bytes()
                    wm.progress_update(i + 1)
        except CastError as ex:
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
        store_leak_check(context, iterations=self.iterations, objects=result.objects_used,
                         growth=growth, rss_mb=rss_mb, seconds=seconds)
        service.tick(force=True)
        text = (f"Leak check: {self.iterations} builds + casts on {result.objects_used} "
                f"object{'s' if result.objects_used != 1 else ''} in {seconds:.1f} s: ")
        if growth:
            self.report({'WARNING'}, text + f"datablocks grew ({growth}), RSS {rss_mb:+.1f} MB")
        else:
            self.report({'INFO'}, text + f"no datablock growth, RSS {rss_mb:+.1f} MB")
        return {'FINISHED'}
