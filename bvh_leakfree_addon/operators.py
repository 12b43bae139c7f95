# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators: they call the core (``api``) and report; no drawing here.

``object.bvh_cast_from_cursor`` "Ray Cast from 3D Cursor" builds (or reuses, through the core's
cache) a BVH over the selected objects and casts one ray from the 3D cursor.  Its work is done by
``cast_from_cursor()``, which other operators (the leak check) call too.
"""
import math
import time
from dataclasses import dataclass, field

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty
from mathutils import Vector

from . import api
from .core.geometry import GEOMETRY_TYPES
from .preferences import get_preferences
from .state import CAST_DIRECTION_ITEMS, runtime_state

NO_GEOMETRY_MESSAGE = "Select at least one object with geometry"
ZERO_DIRECTION_MESSAGE = "Custom direction is zero: give it a length"
VIEW_FALLBACK_NOTE = "View direction needs a 3D Viewport: used Cursor -Z"

# Unit axes of the non-view direction modes: (space, axis); space CURSOR rotates by the cursor.
_AXES = {
    'CURSOR_NEG_Z': ('CURSOR', (0.0, 0.0, -1.0)), 'CURSOR_Z': ('CURSOR', (0.0, 0.0, 1.0)),
    'CURSOR_X': ('CURSOR', (1.0, 0.0, 0.0)), 'CURSOR_NEG_X': ('CURSOR', (-1.0, 0.0, 0.0)),
    'CURSOR_Y': ('CURSOR', (0.0, 1.0, 0.0)), 'CURSOR_NEG_Y': ('CURSOR', (0.0, -1.0, 0.0)),
    'GLOBAL_NEG_Z': ('GLOBAL', (0.0, 0.0, -1.0)), 'GLOBAL_Z': ('GLOBAL', (0.0, 0.0, 1.0)),
    'GLOBAL_X': ('GLOBAL', (1.0, 0.0, 0.0)), 'GLOBAL_NEG_X': ('GLOBAL', (-1.0, 0.0, 0.0)),
    'GLOBAL_Y': ('GLOBAL', (0.0, 1.0, 0.0)), 'GLOBAL_NEG_Y': ('GLOBAL', (0.0, -1.0, 0.0)),
}

# Operator settings that fall back to a preference when the caller did not set them.
SETTINGS_FROM_PREFERENCES = {
    "direction": "default_direction",
    "custom_direction": "default_custom_direction",
    "distance": "default_distance",
    "evaluated": "default_evaluated",
    "instances": "default_instances",
    "snap_cursor": "default_snap_cursor",
    "select_hit": "default_select_hit",
}

# Used when the add-on is not enabled (cast_from_cursor from a script that imported the package).
FALLBACK_SETTINGS = {
    "direction": 'VIEW', "custom_direction": (0.0, 0.0, -1.0), "distance": 100.0,
    "evaluated": True, "instances": True, "snap_cursor": False, "select_hit": False,
}



def cast_defaults(context, names=tuple(SETTINGS_FROM_PREFERENCES)):
    """``{setting: value}`` for the cast settings ``names``: from the add-on preferences, or the
    fallbacks when the add-on is not enabled."""
    prefs = get_preferences(context)
    return {name: (getattr(prefs, SETTINGS_FROM_PREFERENCES[name]) if prefs is not None
                   else FALLBACK_SETTINGS[name])
            for name in names}


PROGRESS_DELAY_SECONDS = 0.3  # builds taking longer than this show progress and status text


class CastError(ValueError):
    """Bad input for a cast (message meant for the user)."""


# --- Directions ----------------------------------------------------------------------------------
def view_direction(view_matrix, is_perspective, origin):
    """Direction of a ray from ``origin`` as seen by a viewer with ``view_matrix`` (world → view).

    Perspective: from the eye through ``origin``, away from the eye.  Orthographic (or ``origin`` at
    the eye): along the view axis, into the screen.
    """
    to_world = view_matrix.inverted()
    forward = (to_world.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
    if not is_perspective:
        return forward
    eye = to_world.translation
    away = Vector(origin) - eye
    if away.length <= 1e-6 * max(1.0, eye.length):  # at the eye (within float noise)
        return forward
    return away.normalized()


def _view_region_3d(context):
    """The RegionView3D to take the view from, or None outside a 3D viewport."""
    space = getattr(context, "space_data", None)
    if space is None or space.type != 'VIEW_3D':
        return None
    region = getattr(context, "region", None)
    if region is not None and region.type == 'WINDOW' and context.region_data is not None:
        return context.region_data  # the hovered quad-view region
    return space.region_3d  # e.g. called from the sidebar or a menu in the header


def ray_direction(context, mode, custom_direction):
    """``(unit Vector, note)`` for direction ``mode``; ``note`` is '' or a remark for the report.

    Raises ``CastError`` for a zero custom direction or an unknown mode.
    """
    cursor = context.scene.cursor
    if mode == 'VIEW':
        rv3d = _view_region_3d(context)
        if rv3d is None:
            direction, _ = ray_direction(context, 'CURSOR_NEG_Z', custom_direction)
            return direction, VIEW_FALLBACK_NOTE
        return view_direction(rv3d.view_matrix, rv3d.is_perspective, cursor.location), ""
    if mode == 'CUSTOM':
        direction = Vector(custom_direction)
        if not all(math.isfinite(c) for c in direction) or direction.length < 1e-12:
            raise CastError(ZERO_DIRECTION_MESSAGE)
        return direction.normalized(), ""
    if mode not in _AXES:
        raise CastError(f"Unknown direction {mode!r}")
    space, axis = _AXES[mode]
    direction = Vector(axis)
    if space == 'CURSOR':
        direction = cursor.matrix.to_3x3().normalized() @ direction
    return direction.normalized(), ""


# --- The cast ------------------------------------------------------------------------------------
@dataclass
class CastResult:
    """One ray cast from the 3D cursor: the ray, what it hit, what it cost."""

    origin: Vector
    direction: Vector
    direction_mode: str
    max_distance: float
    hit: bool = False
    location: Vector = None
    normal: Vector = None
    object: object = None        # bpy.types.Object hit (for an instance: the instanced object)
    instancer: object = None     # the selected instancer, for an instance hit
    polygon_index: int = -1
    distance: float = 0.0
    stats: object = None         # SceneBVH.stats
    build_seconds: float = 0.0   # wall time of api.build (cache reuse included)
    cast_seconds: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def object_name(self):
        return _safe_name(self.object)

    @property
    def instancer_name(self):
        return _safe_name(self.instancer)

    @property
    def triangles(self):
        return int(getattr(self.stats, "triangles", 0) or 0)

    @property
    def objects_used(self):
        return _count(getattr(self.stats, "objects_used", 0))

    @property
    def objects_skipped(self):
        return _count(getattr(self.stats, "objects_skipped", ()))

    @property
    def reused(self):
        return bool(getattr(self.stats, "reused", False))

    @property
    def note(self):
        return "; ".join(self.notes)

    def report_text(self):
        """``Hit "Cube" face 12 at (1.00, 0.20, 0.00), 2.31 m (5,120 tris, 3 objects, 1.8 ms)``."""
        ms = (self.build_seconds + self.cast_seconds) * 1000.0
        cost = (f"{self.triangles:,} tris, {self.objects_used:,} "
                f"object{'s' if self.objects_used != 1 else ''}, {ms:.1f} ms")
        if self.hit:
            via = f' via "{self.instancer_name}"' if self.instancer is not None else ""
            x, y, z = self.location
            text = (f'Hit "{self.object_name}"{via} face {self.polygon_index} at '
                    f"({x:.2f}, {y:.2f}, {z:.2f}), {self.distance:.2f} m ({cost})")
        else:
            text = f"No hit within {_format_distance(self.max_distance)} m ({cost})"
        if self.notes:
            text += " - " + self.note
        return text


def _safe_name(obj):
    if obj is None:
        return ""
    try:
        return obj.name
    except ReferenceError:  # removed since the cast
        return ""


def _count(value):
    return value if isinstance(value, int) else len(value)


def _format_distance(value):
    return f"{value:,.6g}" if math.isfinite(value) else "infinite"


def cast_objects(context):
    """The objects a cast uses: the selection (plus the objects in edit mode)."""
    objects = list(context.selected_objects)
    for obj in getattr(context, "objects_in_mode", None) or ():
        if obj not in objects:
            objects.append(obj)
    return objects


def _has_geometry(obj, instances):
    if obj.type in GEOMETRY_TYPES:
        return True
    return instances and obj.instance_type != 'NONE'


def cast_from_cursor(context, *, direction, custom_direction, distance, evaluated, instances,
                     reuse=True, progress=None):
    """Cast one ray from the 3D cursor into the selected objects and return a ``CastResult``.

    Changes nothing in the user's data.  Raises ``CastError`` (a ``ValueError``) with a message for
    the user on bad input: no geometry selected, zero custom direction, ``distance <= 0``.
    ``progress`` is passed to ``api.build`` (callable(fraction) for long builds).
    """
    if not (distance > 0.0):
        raise CastError(f"Distance must be greater than 0 (got {distance})")
    objects = cast_objects(context)
    if not any(_has_geometry(obj, instances) for obj in objects):
        raise CastError(NO_GEOMETRY_MESSAGE)
    ray, note = ray_direction(context, direction, custom_direction)
    origin = context.scene.cursor.location.copy()
    depsgraph = context.evaluated_depsgraph_get()

    start = time.perf_counter()
    try:
        bvh = api.build(objects, depsgraph, evaluated=evaluated, instances=instances,
                        reuse=reuse, progress=progress)
    except ValueError as ex:
        raise CastError(str(ex)) from ex
    built = time.perf_counter()
    if bvh.stats.triangles == 0:
        raise CastError(NO_GEOMETRY_MESSAGE)
    hit = bvh.ray_cast(origin, ray, distance)
    done = time.perf_counter()

    result = CastResult(origin=origin, direction=ray, direction_mode=direction,
                        max_distance=distance, stats=bvh.stats,
                        build_seconds=built - start, cast_seconds=done - built,
                        notes=[note] if note else [])
    if hit is not None:
        result.hit = True
        result.location = Vector(hit.location)
        result.normal = Vector(hit.normal)
        result.object = hit.object
        result.instancer = hit.instancer
        result.polygon_index = hit.polygon_index
        result.distance = hit.distance
    return result


def store_result(context, result):
    """Keep ``result`` for the panel and overlay (WindowManager: never saved in the .blend)."""
    state = runtime_state(context)
    if state is None:
        return
    cast = state.cast
    cast.has_result = True
    cast.hit = result.hit
    cast.ray_origin = result.origin
    cast.ray_direction = result.direction
    cast.direction_mode = result.direction_mode
    cast.max_distance = result.max_distance if math.isfinite(result.max_distance) else 1e30
    cast.object_name = result.object_name
    cast.instancer_name = result.instancer_name
    cast.polygon_index = result.polygon_index
    cast.location = result.location if result.hit else (0.0, 0.0, 0.0)
    cast.normal = result.normal if result.hit else (0.0, 0.0, 0.0)
    cast.distance = result.distance
    cast.triangles = result.triangles
    cast.objects_used = result.objects_used
    cast.objects_skipped = result.objects_skipped
    cast.build_ms = result.build_seconds * 1000.0
    cast.cast_ms = result.cast_seconds * 1000.0
    cast.reused = result.reused
    cast.note = result.note
    cast.report = result.report_text()


def clear_result(context):
    """Forget the last result (file loaded: its objects are gone)."""
    state = runtime_state(context)
    if state is None:
        return
    cast = state.cast
    for name in ("has_result", "hit", "ray_origin", "ray_direction", "direction_mode",
                 "max_distance", "object_name", "instancer_name", "polygon_index", "location",
                 "normal", "distance", "triangles", "objects_used", "objects_skipped", "build_ms",
                 "cast_ms", "reused", "note", "report"):
        cast.property_unset(name)


def snap_cursor_to_hit(scene, result):
    """Move the 3D cursor to the hit and turn its Z axis to the surface normal."""
    rotation = result.normal.to_track_quat('Z', 'Y')
    cursor = scene.cursor
    cursor.location = result.location
    mode = cursor.rotation_mode
    if mode == 'QUATERNION':
        cursor.rotation_quaternion = rotation
    elif mode == 'AXIS_ANGLE':
        axis, angle = rotation.to_axis_angle()
        cursor.rotation_axis_angle = (angle, *axis)
    else:
        cursor.rotation_euler = rotation.to_euler(mode)


def select_hit_object(context, result):
    """Make the hit object (or, for an instance, its instancer) active and selected.

    Returns '' or a note why the selection was left alone.
    """
    if context.mode != 'OBJECT':
        return "selection left alone outside Object Mode"
    target = result.object
    view_layer = context.view_layer
    if target is None or view_layer.objects.get(target.name) != target:
        target = result.instancer  # an instanced object is usually not in the view layer
    if target is None or view_layer.objects.get(target.name) != target:
        return "hit object is not in the view layer: selection left alone"
    if not target.visible_get(view_layer=view_layer) or target.hide_select:
        return f'"{target.name}" cannot be selected: selection left alone'
    target.select_set(True, view_layer=view_layer)
    view_layer.objects.active = target
    return ""


class _BuildProgress:
    """``progress`` callback for api.build: shows progress and status text once a build is slow."""

    def __init__(self, context, delay=PROGRESS_DELAY_SECONDS):
        self.wm = context.window_manager
        self.workspace = getattr(context, "workspace", None)
        self.start = time.perf_counter()
        self.delay = delay
        self.shown = False

    def __call__(self, fraction):
        if not self.shown:
            if time.perf_counter() - self.start < self.delay:
                return
            self.shown = True
            self.wm.progress_begin(0, 100)
            self._status("Building BVH for the ray cast from the 3D cursor...")
        self.wm.progress_update(int(max(0.0, min(1.0, fraction)) * 100))

    def end(self):
        if self.shown:
            self.wm.progress_end()
            self._status(None)
            self.shown = False

    def _status(self, text):
        if self.workspace is not None:
            try:
                self.workspace.status_text_set(text)
            except (AttributeError, RuntimeError, ReferenceError):
                pass


# --- The operator --------------------------------------------------------------------------------
class OBJECT_OT_bvh_cast_from_cursor(bpy.types.Operator):
    """Ray Cast from 3D Cursor (see bl_description); defaults from the add-on preferences."""

    bl_idname = "object.bvh_cast_from_cursor"
    bl_label = "Ray Cast from 3D Cursor"
    bl_description = ("Cast one ray from the 3D cursor into the selected objects and report the "
                      "first hit (object, face, location, normal, distance); the BVH is cached, "
                      "so casting again on an unchanged scene is fast")
    bl_options = {'REGISTER', 'UNDO'}

    # SKIP_SAVE: a fresh invocation takes its defaults from the add-on preferences, not from
    # the last run (F9 redo still keeps the values of the run being redone).
    direction: EnumProperty(
        name="Direction", items=CAST_DIRECTION_ITEMS, default='VIEW', options={'SKIP_SAVE'},
        description="Direction of the ray from the 3D cursor")
    custom_direction: FloatVectorProperty(
        name="Custom Direction", size=3, subtype='XYZ', default=(0.0, 0.0, -1.0),
        options={'SKIP_SAVE'},
        description="World-space direction for the Custom mode (any non-zero length)")
    distance: FloatProperty(
        name="Distance", subtype='DISTANCE', default=100.0, min=1e-6, soft_max=10000.0,
        options={'SKIP_SAVE'}, description="Maximum distance of the ray")
    evaluated: BoolProperty(
        name="Evaluated (Modifiers)", default=True, options={'SKIP_SAVE'},
        description="Cast against evaluated geometry (modifiers, shape keys, geometry nodes) "
                    "instead of the original mesh data")
    instances: BoolProperty(
        name="Instances", default=True, options={'SKIP_SAVE'},
        description="Include instances of selected instancers (collection instances, geometry "
                    "node instances)")
    snap_cursor: BoolProperty(
        name="Snap Cursor to Hit", default=False, options={'SKIP_SAVE'},
        description="Move the 3D cursor to the hit and align its Z axis with the surface normal")
    select_hit: BoolProperty(
        name="Select Hit Object", default=False, options={'SKIP_SAVE'},
        description="Make the object that was hit active and selected")

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            cls.poll_message_set("Needs a scene")
            return False
        if context.mode not in {'OBJECT', 'EDIT_MESH', 'EDIT_CURVE', 'EDIT_SURFACE', 'EDIT_TEXT',
                                'EDIT_METABALL'}:
            cls.poll_message_set("Ray Cast from 3D Cursor works in Object Mode and Edit Mode")
            return False
        return True

    def execute(self, context):
        self._fill_from_preferences(context)
        progress = _BuildProgress(context)
        try:
            result = cast_from_cursor(
                context, direction=self.direction, custom_direction=self.custom_direction,
                distance=self.distance, evaluated=self.evaluated, instances=self.instances,
                progress=progress)
        except CastError as ex:
            self.report({'ERROR'}, str(ex))
            return {'CANCELLED'}
        finally:
            progress.end()
        if result.hit:
            if self.snap_cursor:
                snap_cursor_to_hit(context.scene, result)
            if self.select_hit:
                note = select_hit_object(context, result)
                if note:
                    result.notes.append(note)
        store_result(context, result)
        self.report({'INFO'} if result.hit else {'WARNING'}, result.report_text())
        from . import overlay

        overlay.tag_redraw(context)
        return {'FINISHED'}

    def _fill_from_preferences(self, context):
        """Settings the caller did not give come from the add-on preferences."""
        unset = [name for name in SETTINGS_FROM_PREFERENCES
                 if not self.properties.is_property_set(name)]
        for name, value in cast_defaults(context, unset).items():
            setattr(self, name, value)

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "direction")
        row = layout.row()
        row.active = self.direction == 'CUSTOM'
        row.prop(self, "custom_direction")
        layout.prop(self, "distance")
        layout.prop(self, "evaluated")
        layout.prop(self, "instances")
        layout.prop(self, "snap_cursor")
        layout.prop(self, "select_hit")


CLASSES = (OBJECT_OT_bvh_cast_from_cursor,)


def unregister():
    # The core's cache holds object-space trees built by our casts: free them with the add-on.
    api.shutdown()
