# SPDX-License-Identifier: GPL-3.0-or-later
"""The change watch: what Blender re-evaluated since a build, for the cache's proof (``cache``) and
the fast paths (``fastpath``).  Nothing is written into any data.

One callback in each of ``bpy.app.handlers`` ``depsgraph_update_post``, ``frame_change_post``,
``undo_post``, ``redo_post`` and ``load_post`` keeps:

* *Geometry stamps*: every evaluation whose ``DepsgraphUpdate`` list reports objects with
  ``is_updated_geometry`` (read in bulk) gets a new number, and those objects get it as their stamp;
  objects not seen changing since the watch was (re)installed share the stamp of the installation.
  Blender reports the object so whenever its evaluated geometry is re-made: mesh edits of every
  kind (``bmesh.to_mesh``, ``foreach_set``, vertex or attribute writes, ``Mesh.transform``, leaving
  Edit Mode), shape keys, modifier and geometry-node inputs, a swapped mesh, a dependency, an
  animated frame (``frame_change_post`` lists its updates) — checked on 4.2, 4.5, 5.2 and 5.3.  A
  stamp is never given twice, so the cache keys evaluated meshes on their address and their
  object's stamp (:func:`stamp_of`).  Undo, redo and file loads re-make every stamp.
* A count of evaluations that updated a mesh (:func:`mesh_change_count`, for the BlenderProc
  drop-in's kept arrays: see ``blenderproc``), frame changes that may have, undos and loads.
* Two counts of everything Blender evaluates: evaluations that changed nothing but objects'
  transforms (:func:`transforms_only`: *moves*) and everything else (*changes*).  A build
  remembers both counts.  Both the same at the next build of the same objects (same depsgraph,
  list and flags, object mode): Blender evaluated nothing in between, so the evaluated data the
  build read is still what the depsgraph holds and the per-object walk is skipped.  Only the moves
  count differs: every evaluated mesh is still the one the build read, only world matrices need
  reading again.

The callbacks are added lazily by :func:`change_count` (and :func:`geometry_stamps`), never
persistent: if they went missing (Blender clears non-persistent handlers on file load and factory
reset, :func:`remove_hooks` removes them) they are added again, the changes count jumps and every
stamp is re-made, so every earlier count and stamp is treated as "unknown changes".  They are
removed at interpreter exit too (``atexit``): the ``bpy`` module 4.2 segfaults, and 4.5 hangs,
when it exits with a Python callback still in ``bpy.app.handlers``.
"""
import atexit

import bpy

import numpy as np

__all__ = ("WATCHED_HANDLERS", "geometry_stamps", "stamp_of", "change_count", "move_count",
           "mesh_change_count", "transforms_only", "remove_hooks", "runtime_hooks_active")

WATCHED_HANDLERS = ("depsgraph_update_post", "frame_change_post", "undo_post", "redo_post",
                    "load_post")
_changes = 0        # anything evaluated but moves (or loaded, undone) since the watch began
_moves = 0          # evaluations that changed only objects' transforms
_mesh_changes = 0   # evaluations that updated a mesh (or loads, undos)
_stamps = {}        # object pointer -> geometry stamp (the evaluation that last re-made it)
_evaluations = 0    # numbers the evaluations with geometry changes (and the watch's installations)
_base_stamp = 0     # the stamp of objects not seen changing since the watch was installed
MIN_PRUNE = 1 << 16  # stamps of deleted objects are dropped once this many objects are stamped
_prune_at = MIN_PRUNE


def geometry_stamps():
    """``(stamps, base)``: the geometry stamp of each object (by ``as_pointer()``) the watch saw
    change, and the stamp of every other object (see the module).  Installs the watch where it is
    missing, which re-makes every stamp (changes it did not see are unknown)."""
    change_count()
    if len(_stamps) > _prune_at:
        _prune_stamps()
    return _stamps, _base_stamp


def _prune_stamps():
    """Forget the stamps of deleted objects (a long session creates and deletes many).  A new
    object at a forgotten address is stamped when it is first evaluated, like any new object."""
    global _prune_at
    alive = {obj.as_pointer() for obj in bpy.data.objects}
    for pointer in [p for p in _stamps if p not in alive]:
        del _stamps[pointer]
    _prune_at = max(MIN_PRUNE, 2 * len(_stamps))


def stamp_of(pointer):
    """The geometry stamp of the object with ``as_pointer()`` ``pointer`` (read
    :func:`geometry_stamps` first in a build)."""
    return _stamps.get(pointer, _base_stamp)


def _restamp():
    """Give every object a new geometry stamp (changes may have gone unseen)."""
    global _evaluations, _base_stamp
    _evaluations += 1
    _base_stamp = _evaluations
    _stamps.clear()


def _stamp_geometry(updates):
    """Give the objects whose geometry this evaluation re-made (``is_updated_geometry``, read in
    bulk) a new geometry stamp; True when there were any."""
    global _evaluations
    flags = np.empty(len(updates), dtype=bool)
    updates.foreach_get("is_updated_geometry", flags)
    if not flags.any():
        return False
    _evaluations += 1
    stamp = _evaluations
    object_type = bpy.types.Object
    for update, geometry in zip(updates, flags.tolist(), strict=True):
        if geometry:
            id_ = update.id
            if isinstance(id_, object_type):
                _stamps[id_.original.as_pointer()] = stamp
    return True


def _on_change(*_args):
    """The change watch (undo, redo, load): count one possible change and mesh change, re-make
    every stamp."""
    global _changes, _mesh_changes
    _changes += 1
    _mesh_changes += 1
    _restamp()


def _on_frame(_scene, depsgraph=None):
    """The change watch (``frame_change_post``): count one possible change, and a mesh change
    unless the frame's depsgraph says no mesh was updated; stamp what the new frame re-made
    (animated shape keys, modifiers, drivers: listed in its updates)."""
    global _changes, _mesh_changes
    _changes += 1
    if not isinstance(depsgraph, bpy.types.Depsgraph) or _meshes_updated(depsgraph):
        _mesh_changes += 1
    try:
        _stamp_geometry(depsgraph.updates)
    except Exception:  # noqa: BLE001 - never let the watch miss a change
        _restamp()


def _meshes_updated(depsgraph):
    """False only when ``depsgraph`` says that its evaluation updated no mesh (its per-type flags
    are cleared after the post handlers ran)."""
    try:
        return bool(depsgraph.id_type_updated('MESH'))
    except Exception:  # noqa: BLE001 - never let the watch miss a change
        return True


def _on_update(_scene, depsgraph):
    """The change watch (``depsgraph_update_post``): stamp the objects whose geometry changed and
    count one evaluation, as a move when only objects' transforms changed (see
    :func:`transforms_only`), else as a possible change; and as a mesh change when it updated a
    mesh."""
    global _changes, _moves, _mesh_changes
    try:
        updates = depsgraph.updates
        only_moved = not _stamp_geometry(updates) and transforms_only(updates)
    except Exception:  # noqa: BLE001 - never let the watch miss a change
        only_moved = False
        _restamp()
    if only_moved:
        _moves += 1
    else:
        _changes += 1
        if _meshes_updated(depsgraph):
            _mesh_changes += 1


def transforms_only(updates):
    """True when every update of an evaluation is a transform and none touches geometry or
    shading (``DepsgraphUpdate`` flags, read in bulk).

    A geometry that depends on another object's transform (a Boolean cutter, a Shrinkwrap or
    Displace target, a driver, an armature) is reported as a geometry update of its own object
    when that transform changes (checked on 4.2, 4.5, 5.0, 5.2 and 5.3), so "transforms only"
    means that no evaluated mesh changed.  Anything else (an ID updated without a transform: a
    collection, the scene, a selection) counts as a possible change.
    """
    n = len(updates)
    flags = np.empty(n, dtype=bool)
    updates.foreach_get("is_updated_transform", flags)
    if not flags.all():
        return False
    updates.foreach_get("is_updated_geometry", flags)
    if flags.any():
        return False
    updates.foreach_get("is_updated_shading", flags)
    return not flags.any()


_CALLBACKS = {"depsgraph_update_post": _on_update, "frame_change_post": _on_frame}


def _callback(name):
    return _CALLBACKS.get(name, _on_change)


def change_count():
    """How many possible changes (evaluations other than moves, frame changes, undos, loads) the
    watch has seen.

    Installs the watch where it is missing (first use, or Blender dropped it: file load, factory
    reset); a missing watch may have missed changes, so the count then jumps and every geometry
    stamp is re-made.
    """
    global _changes, _mesh_changes
    handlers = bpy.app.handlers
    missing = False
    for name in WATCHED_HANDLERS:
        callbacks = getattr(handlers, name)
        callback = _callback(name)
        if callback not in callbacks:
            callbacks.append(callback)
            missing = True
            _changes += 1
            _mesh_changes += 1
    if missing:
        _restamp()
        atexit.unregister(_remove_callbacks)   # one entry, run before the bpy module's own
        atexit.register(_remove_callbacks)
    return _changes


def mesh_change_count():
    """How many evaluations updated a mesh (plus frame changes that may have, undos, redos and
    loads), installing the watch where it is missing (the count then jumps, as in
    :func:`change_count`)."""
    change_count()
    return _mesh_changes


def move_count():
    """How many evaluations changed only objects' transforms (read after :func:`change_count`)."""
    return _moves


def remove_hooks():
    """Remove the change watch from every handler list, and its exit hook (idempotent)."""
    _remove_callbacks()
    atexit.unregister(_remove_callbacks)


def _remove_callbacks():
    global _changes, _mesh_changes
    handlers = bpy.app.handlers
    for name in WATCHED_HANDLERS:
        callbacks = getattr(handlers, name)
        for callback in (_on_change, _on_update, _on_frame):
            while callback in callbacks:
                callbacks.remove(callback)
    _changes += 1
    _mesh_changes += 1


def runtime_hooks_active():
    """Names of the live app handlers of the change watch."""
    handlers = bpy.app.handlers
    return [f"bpy.app.handlers.{name}" for name in WATCHED_HANDLERS
            if _callback(name) in getattr(handlers, name)]
