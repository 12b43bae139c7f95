# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor's runtime state on the WindowManager (never saved): the last Leak Check's result.
The live figures themselves are plain ints held by :mod:`.service`."""
import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, StringProperty

from ..utils import runtime_state

__all__ = ("MonitorState", "store_leak_check", "clear_leak_check")


class MonitorState(bpy.types.PropertyGroup):
    """The last leak check's result (``window_manager.bvh_leakfree.monitor``)."""

    leak_check_done: BoolProperty(
        name="Leak Check Done", description="A leak check has run since the file was loaded")
    leak_check_clean: BoolProperty(
        name="No Growth", description="The last leak check saw no datablock growth")
    leak_check_iterations: IntProperty(
        name="Iterations", description="Builds + casts done by the last leak check")
    leak_check_objects: IntProperty(
        name="Objects", description="Selected objects the last leak check cast against")
    leak_check_growth: StringProperty(
        name="Datablock Growth",
        description="Per-type datablock growth seen by the last leak check (empty: none)")
    leak_check_rss_mb: FloatProperty(
        name="RSS Growth", description="Growth of the process's resident memory during the last "
        "leak check, in MB (negative: it shrank)")
    leak_check_seconds: FloatProperty(
        name="Duration", description="Wall time of the last leak check, in seconds")


def store_leak_check(context, *, iterations, objects, growth, rss_mb, seconds):
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


def clear_leak_check(context):
    """Forget the last leak check (a file was loaded): every property back to its default."""
    state = runtime_state(context)
    if state is None:
        return
    for prop in state.monitor.bl_rna.properties:
        if prop.identifier != "rna_type":
            state.monitor.property_unset(prop.identifier)
