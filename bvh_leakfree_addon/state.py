# SPDX-License-Identifier: GPL-3.0-or-later
"""Runtime-only state: ``window_manager.bvh_leakfree`` joins each feature's state group.
WindowManager properties are never written to .blend files."""
import bpy
from bpy.props import PointerProperty

from .cast.state import CastResultState
from .monitor.state import MonitorState

__all__ = ("BVHRuntimeState", "CLASSES", "register", "unregister")


class BVHRuntimeState(bpy.types.PropertyGroup):
    cast: PointerProperty(type=CastResultState, name="Last Cast",
                          description="Result of the last ray cast from the 3D cursor")
    monitor: PointerProperty(type=MonitorState, name="Datablock Monitor",
                             description="The last leak check's result")


CLASSES = (BVHRuntimeState,)


def register():
    bpy.types.WindowManager.bvh_leakfree = PointerProperty(
        type=BVHRuntimeState, name="BVH Leak-Free State",
        description="Runtime state of the BVH Leak-Free add-on (not saved)")


def unregister():
    del bpy.types.WindowManager.bvh_leakfree
