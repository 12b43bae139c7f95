# SPDX-License-Identifier: GPL-3.0-or-later
"""Runtime-only state on the WindowManager (never saved into the user's .blend).

``bpy.context.window_manager.bvh_leakfree`` holds the last cast result (``.cast``, for the panel and
overlay) and the datablock monitor's figures (``.monitor``).  WindowManager properties are not
written to .blend files.
"""
import bpy
from bpy.props import PointerProperty
from bpy.props import (  # cast result
    BoolProperty, FloatProperty, FloatVectorProperty, IntProperty, StringProperty,
)


# --- Cast result (operators.py writes, ui.py / overlay.py read) ----------------------------------
# Direction modes of the cast operator; preferences.py (default_direction) uses the same items.
# Scripts depend on these identifiers: never rename one.
CAST_DIRECTION_ITEMS = (
    ('VIEW', "View", "From the viewer through the 3D cursor, away from the eye (orthographic views: "
     "along the view axis); outside a 3D Viewport this falls back to Cursor -Z"),
    ('CURSOR_NEG_Z', "Cursor -Z", "Along the 3D cursor's local -Z axis"),
    ('CURSOR_Z', "Cursor +Z", "Along the 3D cursor's local +Z axis"),
    ('CURSOR_X', "Cursor +X", "Along the 3D cursor's local +X axis"),
    ('CURSOR_NEG_X', "Cursor -X", "Along the 3D cursor's local -X axis"),
    ('CURSOR_Y', "Cursor +Y", "Along the 3D cursor's local +Y axis"),
    ('CURSOR_NEG_Y', "Cursor -Y", "Along the 3D cursor's local -Y axis"),
    ('GLOBAL_NEG_Z', "Global -Z", "Straight down, along the world -Z axis"),
    ('GLOBAL_Z', "Global +Z", "Straight up, along the world +Z axis"),
    ('GLOBAL_X', "Global +X", "Along the world +X axis"),
    ('GLOBAL_NEG_X', "Global -X", "Along the world -X axis"),
    ('GLOBAL_Y', "Global +Y", "Along the world +Y axis"),
    ('GLOBAL_NEG_Y', "Global -Y", "Along the world -Y axis"),
    ('CUSTOM', "Custom", "Along the Custom Direction vector (world space)"),
)


def _show_overlay_get(self):
    from . import overlay  # imported late: overlay imports this module's runtime_state

    return overlay.is_enabled()


def _show_overlay_set(self, value):
    from . import overlay

    overlay.set_enabled(value)


class BVHCastResultState(bpy.types.PropertyGroup):
    """The last 'Ray Cast from 3D Cursor' result (written by operators.store_result)."""

    has_result: BoolProperty(name="Has Result", description="A ray has been cast since the file "
                             "was loaded")
    hit: BoolProperty(name="Hit", description="The last ray hit a surface")
    ray_origin: FloatVectorProperty(name="Ray Origin", subtype='TRANSLATION', size=3,
                                    description="Start of the last ray (the 3D cursor)")
    ray_direction: FloatVectorProperty(name="Ray Direction", subtype='DIRECTION', size=3,
                                       description="Unit direction of the last ray (world space)")
    direction_mode: StringProperty(name="Direction Mode",
                                   description="Direction option the last ray was cast with")
    max_distance: FloatProperty(name="Maximum Distance", subtype='DISTANCE',
                                description="Maximum distance of the last ray")
    object_name: StringProperty(name="Object", description="Name of the object that was hit")
    instancer_name: StringProperty(name="Instancer",
                                   description="Selected instancer whose instance was hit, if any")
    polygon_index: IntProperty(name="Face", default=-1,
                               description="Index of the face hit in the object's evaluated mesh")
    location: FloatVectorProperty(name="Location", subtype='TRANSLATION', size=3,
                                  description="Hit location (world space)")
    normal: FloatVectorProperty(name="Normal", subtype='DIRECTION', size=3,
                                description="Surface normal at the hit (world space, unit length)")
    distance: FloatProperty(name="Distance", subtype='DISTANCE',
                            description="Distance from the ray origin to the hit")
    triangles: IntProperty(name="Triangles", description="Triangles in the BVH that was cast into")
    objects_used: IntProperty(name="Objects", description="Objects whose geometry was in the BVH")
    objects_skipped: IntProperty(name="Skipped", description="Selected objects without geometry")
    build_ms: FloatProperty(name="Build Time", description="Time to build or reuse the BVH (ms)")
    cast_ms: FloatProperty(name="Cast Time", description="Time to cast the ray (ms)")
    reused: BoolProperty(name="Reused", description="The BVH came from the cache unchanged")
    note: StringProperty(name="Note", description="Remark about the last cast (e.g. a direction "
                         "fallback)")
    report: StringProperty(name="Report", description="The report text of the last cast")
    show_overlay: BoolProperty(
        name="Show Overlay",
        description="Draw the last ray, its hit point and the surface normal in the 3D Viewport",
        get=_show_overlay_get, set=_show_overlay_set)


# --- Datablock monitor (monitor.py writes, ui_monitor.py reads) ----------------------------------
class BVHMonitorState(bpy.types.PropertyGroup):
    """The last leak check's result.  The live figures themselves are plain Python ints held by
    monitor.py (written only when they change, never an ID reference)."""

    leak_check_done: bpy.props.BoolProperty(
        name="Leak Check Done", description="A leak check has run since the file was loaded")
    leak_check_clean: bpy.props.BoolProperty(
        name="No Growth", description="The last leak check saw no datablock growth")
    leak_check_iterations: bpy.props.IntProperty(
        name="Iterations", description="Builds + casts done by the last leak check")
    leak_check_objects: bpy.props.IntProperty(
        name="Objects", description="Selected objects the last leak check cast against")
    leak_check_growth: bpy.props.StringProperty(
        name="Datablock Growth",
        description="Per-type datablock growth seen by the last leak check (empty: none)")
    leak_check_rss_mb: bpy.props.FloatProperty(
        name="RSS Growth", description="Growth of the process's resident memory during the last "
        "leak check, in MB (negative: it shrank)")
    leak_check_seconds: bpy.props.FloatProperty(
        name="Duration", description="Wall time of the last leak check, in seconds")


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
