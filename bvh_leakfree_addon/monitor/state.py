# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor's runtime state on the WindowManager (never saved): which lists of new datablocks
are open and on which page, and the last Leak Check's result.  The live figures themselves are
plain values held by :mod:`.service`."""
import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    IntVectorProperty,
    StringProperty,
)

from ..core import idtypes
from ..utils import reset_properties, runtime_state
from .settings import LISTABLE

__all__ = ("MonitorState", "store_leak_check", "clear_leak_check", "open_lists",
           "LEAK_CHECK_SOURCES", "show_first_page")

LEAK_CHECK_SOURCES = (
    ('CAST', "Build + Cast", "The add-on's own BVH build and cast from the 3D cursor"),
    ('TEXT', "Script", "A script from the Text Editor (a Text datablock)"),
)


class MonitorState(bpy.types.PropertyGroup):
    """Lists and the last leak check (``window_manager.bvh_leakfree.monitor``)."""

    expanded: EnumProperty(
        name="Open Lists", options={'ENUM_FLAG'},
        items=[(name, idtypes.label(name), f"List the {idtypes.label(name).lower()} that are new "
                "since the baseline") for name in LISTABLE],
        default=set(),
        description="Datablock types whose list of new datablocks is open in the Datablocks panel")
    pages: IntVectorProperty(
        name="List Pages", size=len(LISTABLE), min=0,
        description="The page each list of new datablocks shows (first page: 0)")

    leak_check_done: BoolProperty(
        name="Leak Check Done", description="A leak check has run since the file was loaded")
    leak_check_clean: BoolProperty(
        name="No Growth", description="The last leak check saw no datablock growth")
    leak_check_source: EnumProperty(
        name="Source", items=LEAK_CHECK_SOURCES, default='CAST',
        description="What the last leak check ran")
    leak_check_script: StringProperty(
        name="Script", description="The Text datablock the last script leak check ran")
    leak_check_iterations: IntProperty(
        name="Iterations", description="Runs done by the last leak check")
    leak_check_objects: IntProperty(
        name="Objects", description="Selected objects the last leak check cast against")
    leak_check_growth: StringProperty(
        name="Datablock Growth",
        description="Per-type datablock growth seen by the last leak check, in one line (empty: "
                    "none)")
    leak_check_lines: StringProperty(
        name="Details", description="What the last leak check saw added or removed, one type "
        "per line, with names")
    leak_check_error: StringProperty(
        name="Error", description="The error that stopped the last leak check (empty: none)")
    leak_check_rss_mb: FloatProperty(
        name="RSS Growth", description="Growth of the process's resident memory during the last "
        "leak check, in MiB (negative: it shrank)")
    leak_check_memory: StringProperty(
        name="Memory", description="How Blender's own memory and the process's RSS moved during "
        "the last leak check, in words (e.g. 'Blender memory +0.0 MiB, RSS +0.4 MiB')")
    leak_check_seconds: FloatProperty(
        name="Duration", description="Wall time of the last leak check, in seconds")


def open_lists(context=None):
    """``{collection name: page}`` of the lists open in the panel (none without the add-on's
    state)."""
    state = runtime_state(context)
    if state is None:
        return {}
    mon = state.monitor
    expanded = mon.expanded
    if not expanded:
        return {}
    return {name: mon.pages[LISTABLE.index(name)] for name in LISTABLE if name in expanded}


def show_first_page(context, name):
    """Show the first page of the list of ``name`` (new datablocks arrived: newest first, they are
    there)."""
    state = runtime_state(context)
    if state is not None:
        state.monitor.pages[LISTABLE.index(name)] = 0


def store_leak_check(context, **values):
    """Keep the last leak check's result (``growth`` empty: clean)."""
    state = runtime_state(context)
    if state is None:
        return
    mon = state.monitor
    mon.leak_check_done = True
    mon.leak_check_clean = not values.get("growth") and not values.get("error")
    for key, value in values.items():
        setattr(mon, "leak_check_" + key, value)


def clear_leak_check(context):
    """Forget the last leak check (a file was loaded): its properties back to their defaults."""
    state = runtime_state(context)
    if state is not None:
        reset_properties(state.monitor, lambda name: name.startswith("leak_check_"))
