# SPDX-License-Identifier: GPL-3.0-or-later
"""Runtime-only state on the WindowManager (never saved into the user's .blend).

``bpy.context.window_manager.bvh_leakfree`` holds the last cast result (``.cast``, for the panel and
overlay) and the datablock monitor's figures (``.monitor``).  WindowManager properties are not
written to .blend files.
"""
import bpy
from bpy.props import PointerProperty


# --- Cast result (operators.py writes, ui.py / overlay.py read) ----------------------------------
class BVHCastResultState(bpy.types.PropertyGroup):
    """The last 'Ray Cast from 3D Cursor' result."""


# --- Datablock monitor (monitor.py writes, ui_monitor.py reads) ----------------------------------
class BVHMonitorState(bpy.types.PropertyGroup):
    """Figures of the live datablock monitor."""


class BVHRuntimeState(bpy.types.PropertyGroup):
    cast: PointerProperty(type=BVHCastResultState, name="Last Cast",
                          description="Result of the last ray cast from the 3D cursor")
    monitor: PointerProperty(type=BVHMonitorState, name="Datablock Monitor",
                             description="Live datablock counts")


def register():
    bpy.types.WindowManager.bvh_leakfree = PointerProperty(
        type=BVHRuntimeState,
        name="BVH Leak-Free State",
        description="Runtime state of the BVH Leak-Free add-on (not saved)",
    )


def unregister():
    del bpy.types.WindowManager.bvh_leakfree


def runtime_state(context=None):
    """``window_manager.bvh_leakfree`` or None when the add-on is not registered."""
    context = context or bpy.context
    return getattr(context.window_manager, "bvh_leakfree", None)


CLASSES = (BVHCastResultState, BVHMonitorState, BVHRuntimeState)
