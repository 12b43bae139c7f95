# SPDX-License-Identifier: GPL-3.0-or-later
"""Input validation for the core: every public entry point checks its arguments here first, so bad
input fails early with a ``TypeError``/``ValueError``/``ReferenceError`` whose message names the
problem (never a deep error from Blender or numpy)."""
import math

import bpy

import numpy as np

from .handles import object_by_uid, remember_stale, stale_message

__all__ = ("ObjectList", "check_objects", "unwrap_objects", "check_in_scene",
           "not_evaluated_reason", "live_objects",
           "vector3", "unit_rows", "direction", "max_distance", "epsilon", "face_index",
           "FaceIndexError", "progress", "ray_arrays")


class ObjectList(list):
    """Checked objects; ``keys`` holds their ``as_pointer()`` values, in the same order."""

    __slots__ = ("keys", "_uids")

    def uids(self):
        """int64 array of the objects' ``session_uid`` (read once per list)."""
        try:
            return self._uids
        except AttributeError:
            self._uids = np.fromiter((obj.session_uid for obj in self), dtype=np.int64,
                                     count=len(self))
            return self._uids


def check_objects(objects, known_uid=None):
    """A de-duplicated :class:`ObjectList` of live ``bpy.types.Object``; clear errors for anything
    else.  ``known_uid(obj)``: the ``session_uid`` an earlier build read for that very Python
    object, or None (names the object again when its reference went stale after undo)."""
    if objects is None:
        raise ValueError("no objects given: pass a list of Blender objects")
    object_type = bpy.types.Object
    if isinstance(objects, object_type):
        objects = [objects]
    out = ObjectList()
    keys = out.keys = []
    seen = set()
    for i, obj in enumerate(objects):
        if type(obj) is not object_type and not isinstance(obj, object_type):
            raise TypeError(f"item {i} of the object list is a {type(obj).__name__}, "
                            f"not a Blender object")
        try:
            key = obj.as_pointer()   # raises ReferenceError for a removed object
        except ReferenceError:
            raise ReferenceError(stale_message(f"item {i} of the object list",
                                               _uid_of(objects, i, obj, known_uid))) from None
        if key not in seen:
            seen.add(key)
            out.append(obj)
            keys.append(key)
    if not out:
        raise ValueError("the object list is empty: give at least one object to build a BVH of")
    return out


def _uid_of(objects, i, obj, known_uid):
    uids = getattr(objects, "_uids", None)
    if uids is not None and i < len(uids):
        return int(uids[i])
    return known_uid(obj) if known_uid is not None else None


def unwrap_objects(items, allow_empty=False):
    """BlenderProc-style input: a list of ``bpy.types.Object`` or of wrappers holding one in
    ``.blender_obj`` (BlenderProc's ``MeshObject``), in order, duplicates kept.  The same errors as
    :func:`check_objects` (an empty list is one unless ``allow_empty``)."""
    if items is None:
        raise ValueError("no objects given: pass a list of Blender objects")
    object_type = bpy.types.Object
    if isinstance(items, object_type) or hasattr(items, "blender_obj"):
        items = [items]
    out = []
    for i, item in enumerate(items):
        obj = item if type(item) is object_type or isinstance(item, object_type) \
            else getattr(item, "blender_obj", item)
        if not isinstance(obj, object_type):
            what = type(item).__name__
            if obj is not item:
                what += f" whose blender_obj is a {type(obj).__name__}"
            raise TypeError(f"item {i} of the object list is a {what}, not a Blender object")
        try:
            obj.as_pointer()   # raises ReferenceError for a removed object
        except ReferenceError:
            raise ReferenceError(stale_message(f"item {i} of the object list", None)) from None
        out.append(obj)
    if not out and not allow_empty:
        raise ValueError("the object list is empty: give at least one object to build a BVH of")
    return out


def check_in_scene(obj, scene):
    """``ValueError`` when ``obj`` is not in ``scene`` (another scene's object, or none's)."""
    if not any(user == scene for user in obj.users_scene):
        raise ValueError(f"object {obj.name!r} is not in scene {scene.name!r} (it is in another "
                         f"scene, or in none): build with that scene's depsgraph")


def not_evaluated_reason(obj, depsgraph):
    """Why Blender did not evaluate ``obj`` in ``depsgraph`` (it is then skipped), or
    ``ValueError`` when it is not in that depsgraph's scene at all (an error, not a skip)."""
    check_in_scene(obj, depsgraph.scene)
    if depsgraph.mode == 'RENDER' and obj.hide_render:
        return "disabled in renders (hide_render): Blender does not evaluate it"
    if depsgraph.mode != 'RENDER' and obj.hide_viewport:
        return "disabled in viewports (hide_viewport): Blender does not evaluate it"
    layers = _layer_collections(depsgraph.view_layer.layer_collection)
    for collection in obj.users_collection:
        layer = layers.get(collection.as_pointer())
        if layer is not None and layer.exclude:
            return (f"its collection {collection.name!r} is excluded from view layer "
                    f"{depsgraph.view_layer.name!r}")
        if collection.hide_viewport and depsgraph.mode != 'RENDER':
            return f"its collection {collection.name!r} is disabled in viewports"
    return f"not evaluated in view layer {depsgraph.view_layer.name!r}"


def _layer_collections(layer):
    """``{collection pointer: LayerCollection}`` of a view layer's collection tree."""
    found = {layer.collection.as_pointer(): layer}
    for child in layer.children:
        found.update(_layer_collections(child))
    return found


def live_objects(objects):
    """``(ObjectList of the objects still alive, names of the deleted ones, number fetched
    again)``.  A stale reference to an object that still exists (undo, a file reload) is
    replaced by the current object, found by the ``session_uid`` an earlier build read
    (``objects.uids()``); a deleted object's name is no longer readable, so it is named by its
    position."""
    alive = ObjectList()
    alive.keys = []
    deleted = []
    refetched = 0
    uids = getattr(objects, "_uids", None)
    seen = set()
    for i, obj in enumerate(objects):
        try:
            key = obj.as_pointer()
        except ReferenceError:
            current = object_by_uid(int(uids[i])) if uids is not None else None
            if current is None:
                deleted.append(f"item {i} of the object list")
                continue
            remember_stale(obj, uids[i])
            obj = current
            key = obj.as_pointer()
            refetched += 1
        if key not in seen:
            seen.add(key)
            alive.append(obj)
            alive.keys.append(key)
    return alive, deleted, refetched


def vector3(value, what):
    """``value`` as a finite float64 (3,) array."""
    try:
        v = np.asarray(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a 3D vector, got {value!r}") from None
    if not np.isfinite(v).all():
        raise ValueError(f"{what} contains NaN or infinity: {tuple(v)}")
    return v


def unit_rows(d):
    """Rows of the finite (N, 3) array ``d`` scaled to unit length; ``ValueError`` when a row is
    zero.  Scaled by each row's largest component first, so that any finite direction works, however
    large or small its components (1e200 or 1e-300: their squares would overflow or vanish)."""
    a = np.abs(d)
    scale = np.maximum(np.maximum(a[:, 0], a[:, 1]), a[:, 2])   # 20× faster than .max(axis=1)
    if (scale == 0.0).any():
        raise ValueError("a direction has zero length: every ray needs a direction" if len(d) > 1
                         else "direction has zero length: a ray needs a direction")
    d = d / scale[:, None]
    return d / np.sqrt(np.einsum("ij,ij->i", d, d))[:, None]


def direction(value):
    """``value`` as a unit float64 (3,) direction."""
    return unit_rows(vector3(value, "direction")[None, :])[0]


def max_distance(distance):
    """A ray's maximum distance: a number > 0 (``math.inf`` for no limit)."""
    try:
        distance = float(distance)
    except (TypeError, ValueError):
        raise ValueError(f"distance must be a number, got {distance!r}") from None
    if math.isnan(distance):
        raise ValueError("distance must be a number greater than 0 (math.inf: no limit), got "
                         "NaN")
    if distance <= 0.0:
        raise ValueError(f"distance must be greater than 0, got {distance}")
    return distance


def epsilon(value):
    """The BVH epsilon: a finite number >= 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"epsilon must be a number, got {value!r}") from None
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"epsilon must be a finite number >= 0, got {value}")
    return value


class FaceIndexError(IndexError, ValueError):
    """A face index that is not in the tree (an ``IndexError``, and a ``ValueError`` like every
    other bad argument)."""


def face_index(value, count):
    """``value`` as an index into ``count`` faces."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"a face index must be an integer, got {value!r}")
    index = int(value)
    if not 0 <= index < count:
        raise FaceIndexError(f"face index {index} is not in this tree (0..{count - 1})")
    return index


def progress(value):
    """``progress`` is None or callable(fraction)."""
    if value is not None and not callable(value):
        raise TypeError(f"progress must be None or callable(fraction), got {type(value).__name__}")


def ray_arrays(origins, directions):
    """``(origins (N, 3), unit directions (N, 3))`` as float64 arrays.  Either side may be one
    (3,) vector shared by every ray of the other (one origin, many directions: a fan of rays; many
    origins, one direction: parallel rays); one of each is a batch of one."""
    o = np.asarray(origins, dtype=np.float64)
    d = np.asarray(directions, dtype=np.float64)
    if o.shape == (3,):
        o = o[None, :] if d.shape == (3,) else o
    elif o.ndim != 2 or o.shape[1] != 3:
        raise ValueError(f"origins must have shape (N, 3) or (3,), got {o.shape}")
    if d.ndim == 2 and o.shape == (3,):
        if d.shape[1] != 3:
            raise ValueError(f"directions must have shape (N, 3) or (3,), got {d.shape}")
        o = np.broadcast_to(o, d.shape)
    if d.shape == (3,):
        d = np.broadcast_to(d, o.shape)
    if d.shape != o.shape:
        raise ValueError(f"directions must have shape {o.shape} or (3,), got {d.shape}")
    if not (np.isfinite(o).all() and np.isfinite(d).all()):
        raise ValueError("origins or directions contain NaN or infinity")
    return o, unit_rows(d)
