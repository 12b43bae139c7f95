# SPDX-License-Identifier: GPL-3.0-or-later
"""The Blender data a ``SceneBVH`` goes back to after ``build()``, held so that it can be proven
alive before each use.

A Python wrapper of an ID (an object, a scene) raises ``ReferenceError`` once Blender frees the ID:
it is safe to keep.  A ``Depsgraph`` or a ``ViewLayer`` is no ID: Blender never invalidates its
wrapper, and a wrapper kept after the depsgraph was freed (its scene or view layer removed,
another file loaded) reads freed memory, a segfault.  So a depsgraph is kept as facts that can be
checked again without touching it: the ``session_uid`` and name of its scene (never reused in a
session, kept by undo), the address and name of its view layer, and its own address, compared as
numbers.  Before each use (:meth:`DepsgraphHandle.get`) the scene and view layer are looked up
again in ``bpy.data`` and that view layer's depsgraph is evaluated and handed out (the one given
to ``build()``, or Blender's successor when it freed that one), or the error names what went
away.

A depsgraph that is no view layer's own (a render engine's, say) cannot be looked up: it is used
only during ``build()`` itself, and the build reads everything later queries need from it right
away (:attr:`DepsgraphHandle.foreign`).

Objects given to a build are ID wrappers (safe), but undo and file loads replace every ID, so a
reference can go stale while its object still exists: :func:`stale_message` tells that from a
deleted object, and :func:`object_by_uid` fetches the current one by its ``session_uid``.
"""
import bpy

import numpy as np

__all__ = ("DepsgraphHandle", "check_depsgraph", "owner_of", "evaluated_depsgraph",
           "object_by_uid", "objects_by_uid", "stale_message", "remember_stale", "stale_uid",
           "forget_stale")


def check_depsgraph(value, what="depsgraph"):
    """``value`` when it is None or a ``bpy.types.Depsgraph``, else ``TypeError`` naming the
    parameter ``what``."""
    if value is None or isinstance(value, bpy.types.Depsgraph):
        return value
    hint = " (a scene's depsgraph: bpy.context.evaluated_depsgraph_get())" \
        if isinstance(value, (bpy.types.Scene, bpy.types.ViewLayer)) else ""
    raise TypeError(f"{what} must be a bpy.types.Depsgraph or None, got "
                    f"{type(value).__name__}{hint}")


def owner_of(pointer):
    """``(scene, view layer)`` whose own depsgraph is at address ``pointer``, or None.  Reads
    only the view layers' own depsgraphs, never the one at ``pointer``."""
    for scene in bpy.data.scenes:
        for layer in scene.view_layers:
            own = layer.depsgraph
            if own is not None and own.as_pointer() == pointer:
                return scene, layer
    return None


def _scene_by_uid(uid):
    for scene in bpy.data.scenes:
        if scene.session_uid == uid:
            return scene
    return None


def _layer_of(scene, pointer, name):
    """The view layer of ``scene`` at ``pointer`` (compared as numbers), else the one named
    ``name`` (undo re-reads view layers at new addresses), else None."""
    by_name = None
    for layer in scene.view_layers:
        if layer.as_pointer() == pointer:
            return layer
        if layer.name == name:
            by_name = layer
    return by_name


def evaluated_depsgraph(scene, layer):
    """The depsgraph of ``layer`` of ``scene``, evaluated now."""
    context = bpy.context
    if context.scene == scene and getattr(context, "view_layer", None) == layer:
        return context.evaluated_depsgraph_get()
    with context.temp_override(scene=scene, view_layer=layer):
        return context.evaluated_depsgraph_get()


class DepsgraphHandle:
    """The depsgraph given to ``build()`` (or None: the context's, fetched anew for each use)."""

    __slots__ = ("given", "foreign", "scene_uid", "scene_name", "layer_pointer", "layer_name",
                 "pointer")

    def __init__(self, depsgraph):
        """``depsgraph``: None, or a depsgraph the caller just passed (see
        :func:`check_depsgraph`)."""
        self.given = depsgraph is not None
        self.foreign = False
        self.scene_uid = self.scene_name = self.layer_name = None
        self.layer_pointer = self.pointer = 0
        if depsgraph is None:
            return
        self.pointer = depsgraph.as_pointer()
        owner = owner_of(self.pointer)
        if owner is None:
            self.foreign = True
            return
        scene, layer = owner
        self.scene_uid = scene.session_uid
        self.scene_name = scene.name
        self.layer_pointer = layer.as_pointer()
        self.layer_name = layer.name

    def get(self, what):
        """The depsgraph to use now for ``what`` (the call, named in errors), evaluated: the
        context's when none was given, else that of the view layer the given one belonged to.
        ``ReferenceError`` in one line naming what went away (the scene, the view layer) or why
        the depsgraph cannot be proven alive."""
        if not self.given:
            return bpy.context.evaluated_depsgraph_get()
        if self.foreign:
            raise ReferenceError(
                f"{what}: the depsgraph given to build() is no view layer's own (a render "
                f"depsgraph?) and may have been freed since: build again with a live depsgraph")
        scene = _scene_by_uid(self.scene_uid)
        if scene is None:
            raise ReferenceError(
                f"{what}: scene {self.scene_name!r}, whose depsgraph this SceneBVH was built "
                f"with, no longer exists (removed, or another file was loaded): build again "
                f"with a depsgraph of a scene that exists")
        self.scene_name = scene.name
        layer = _layer_of(scene, self.layer_pointer, self.layer_name)
        if layer is None:
            raise ReferenceError(
                f"{what}: view layer {self.layer_name!r} of scene {scene.name!r}, whose "
                f"depsgraph this SceneBVH was built with, no longer exists: build again with a "
                f"depsgraph of a view layer that exists")
        self.layer_pointer = layer.as_pointer()
        self.layer_name = layer.name
        # evaluated now, as the context's is: only the active view layer's depsgraph follows the
        # scene by itself (and when the one given to build() was freed, this is its successor)
        own = evaluated_depsgraph(scene, layer)
        self.pointer = own.as_pointer()
        return own

    def for_stamp(self, depsgraph):
        """What the change watch's stamp takes (``fastpath.stamp_now``): the live ``depsgraph``
        from :meth:`get` when one was given, else None (the context's)."""
        return depsgraph if self.given else None


# --- Objects ------------------------------------------------------------------------------------
def objects_by_uid(uids):
    """``{session_uid: object}`` of the objects of ``bpy.data`` among ``uids``."""
    wanted = {int(uid) for uid in uids}
    if not wanted:
        return {}
    collection = bpy.data.objects
    have = np.empty(len(collection), dtype=np.int64)
    if len(have):
        buffer = np.empty(len(have), dtype=np.int32)
        collection.foreach_get("session_uid", buffer)
        have[:] = buffer.view(np.uint32)
    hits = [i for i, uid in enumerate(have.tolist()) if uid in wanted]
    return {collection[i].session_uid: collection[i] for i in hits}


def object_by_uid(uid):
    """The object of ``bpy.data.objects`` whose ``session_uid`` is ``uid``, or None."""
    if uid is None:
        return None
    return objects_by_uid([uid]).get(int(uid))


_stale = {}        # id(stale wrapper) -> (the wrapper, its session_uid): see remember_stale
STALE_KEPT = 1024


def remember_stale(obj, uid):
    """Remember the ``session_uid`` of a stale reference ``obj`` (``update()`` fetched its object
    again), so that a later ``build()`` given that very reference can name the object.  The
    last :data:`STALE_KEPT` are kept (with the wrappers, so that ``id()`` stays theirs)."""
    if len(_stale) >= STALE_KEPT:
        del _stale[next(iter(_stale))]
    _stale[id(obj)] = (obj, int(uid))


def stale_uid(obj):
    """The ``session_uid`` :func:`remember_stale` kept for ``obj``, or None."""
    found = _stale.get(id(obj))
    return found[1] if found is not None and found[0] is obj else None


def forget_stale():
    _stale.clear()


def stale_message(what, uid):
    """Why the Python reference ``what`` (e.g. "item 0 of the object list") to an object whose
    ``session_uid`` was ``uid`` (None: unknown) raises ``ReferenceError``, in one line: a deleted
    object, or a stale reference to one that still exists (undo and file loads replace every
    ID), with where to fetch it again."""
    current = object_by_uid(uid)
    if current is not None:
        return (f"{what}: the reference is stale after undo: fetch the object again, e.g. "
                f"bpy.data.objects[{current.name!r}]")
    if uid is None:
        return (f"{what} has been deleted (removed from bpy.data), or undo or a file load made "
                f"the reference stale: fetch the object again from bpy.data.objects")
    return f"{what} has been deleted (removed from bpy.data)"
