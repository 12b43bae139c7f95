# SPDX-License-Identifier: GPL-3.0-or-later
"""The geometry cache: object-space trees reused across builds, and the proof that they are current.

It is over 400 lines because the change watch (the proof) still lives beside the trees it vouches
for; it is the next piece to move into a module of its own.

How a cached tree is proven current (nothing written into any data, no guessing from memory
addresses alone):

* Evaluated meshes: the key is the evaluated mesh's address and the *geometry stamp* of the object
  whose geometry it is (:func:`evaluated_key`).  The change watch (below) reads every evaluation's
  ``DepsgraphUpdate`` list and gives each object reported with ``is_updated_geometry`` the number
  of that evaluation as its stamp; objects it has not seen change since it was (re)installed share
  the stamp of the installation.  Blender reports the object so whenever its evaluated geometry is
  re-made: mesh edits of every kind (``bmesh.to_mesh``, ``foreach_set``, vertex or attribute
  writes, ``Mesh.transform``, leaving Edit Mode), shape keys, modifier and geometry-node inputs, a
  swapped mesh, a dependency (checked on 4.2, 4.5, 5.2 and 5.3).  A new stamp never equals an old
  one, so an edit always misses the cache, even when the evaluated mesh keeps its address (5.3
  keeps it, and reports ``session_uid`` 0 for it: ``compat``).  A transform change does not touch
  the stamp: no mesh work is done.  The vertex/polygon/corner counts are checked too.  Undo, redo
  and file loads re-make every stamp (:func:`geometry_stamps`).
* Everything else (curves, text, metaballs, surfaces, meshes in edit mode, ``evaluated=False``): the
  tree is keyed on a digest of the triangles themselves, read with ``to_mesh()``.

Entries of geometry that no longer exists (the object's geometry was rebuilt, or the object was
deleted) are dropped after the build that no longer used them, entries unused for a few builds
too, and the least recently used ones while the cache is over its limit in bytes
(:func:`set_limit`); :func:`clear` drops everything, :func:`shutdown` also removes the change
watch.

The change watch (the geometry stamps above, and the fast paths, see ``fastpath``): one callback
in each of ``bpy.app.handlers`` ``depsgraph_update_post``, ``frame_change_post``, ``undo_post``,
``redo_post`` and ``load_post`` counts everything Blender evaluates, in two counters: evaluations
that changed nothing but objects' transforms (:func:`transforms_only`: *moves*) and everything
else (*changes*).  A build
remembers both counts.  Both the same at the next build of the same objects (same depsgraph, list
and flags, object mode): Blender evaluated nothing in between, so the evaluated data the build
read is still what the depsgraph holds and the per-object walk is skipped.  Only the moves count
differs: every evaluated mesh is still the one the build read, only world matrices need reading
again.  The callbacks are added lazily by :func:`change_count`, never persistent: if they went
missing (Blender clears non-persistent handlers on file load and factory reset, :func:`shutdown`
removes them) they are added again and the changes count jumps, so every earlier count is treated
as "unknown changes".

The latest tree of the BlenderProc drop-in (``blenderproc``) is kept here too, one at a time.
"""
import atexit

import bpy

import numpy as np

from .geometry import TREE_BYTES_PER_TRIANGLE

__all__ = ("evaluated_key", "geometry_stamps", "lookup_marked", "store_marked", "lookup", "store",
           "drop_replaced", "touch", "evict", "resized", "world_tree", "remember_world_tree",
           "discard", "clear", "shutdown", "size", "set_limit", "limit", "generation",
           "runtime_hooks_active", "change_count", "move_count", "transforms_only",
           "remove_hooks", "remember_build",
           "recent_build", "forget_recent")

_entries = {}
ENTRIES = _entries  # the same dict, read directly by the gatherer's inlined lookup (never rebound)
_by_owner = {}      # owner (see drop_replaced) -> keys of the entries built for it
OWNERS = _by_owner  # the same dict, read by the gatherer's inlined store (never rebound)
_replaced_many = set()  # owners with several trees a build (geometry nodes) rebuilt this build
_changes = 0        # bumped by the watch: anything evaluated but moves (or loaded, undone) since
_moves = 0          # bumped by the watch: evaluations that changed only objects' transforms
_stamps = {}        # object pointer -> geometry stamp (the evaluation that last re-made it)
_evaluations = 0    # numbers the evaluations with geometry changes (and the watch's installations)
_base_stamp = 0     # the stamp of objects not seen changing since the watch was installed
MIN_PRUNE = 1 << 16  # stamps of deleted objects are dropped once this many objects are stamped
_prune_at = MIN_PRUNE
_recent = None      # fastpath.BuildState of the latest full build, see remember_build
_world = None       # (key, tree, triangles) of the latest BlenderProc drop-in tree (blenderproc.py)
WATCHED_HANDLERS = ("depsgraph_update_post", "frame_change_post", "undo_post", "redo_post",
                    "load_post")
_generation = 0
KEEP_GENERATIONS = 8          # entries unused for this many builds are dropped
DEFAULT_LIMIT_BYTES = 1 << 30   # least recently used entries go first beyond this (1 GiB)
_limit_bytes = DEFAULT_LIMIT_BYTES


def check_of(data):
    return (data.as_pointer(), len(data.vertices), len(data.polygons), len(data.loops))


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


def evaluated_key(data, pointer):
    """Cache key of evaluated mesh ``data``, the geometry of the object with ``as_pointer()``
    ``pointer`` (an instancer for geometry its nodes made): its address and that object's
    geometry stamp (read :func:`geometry_stamps` first)."""
    return ("evaluated", data.as_pointer(), _stamps.get(pointer, _base_stamp))


def lookup_marked(data, pointer, epsilon, check=None):
    """The cached entry proven current for evaluated mesh ``data`` of the object ``pointer`` (see
    :func:`evaluated_key`), or None (``check``: ``check_of(data)`` when the caller has it)."""
    entry = _entries.get(evaluated_key(data, pointer))
    if entry is None or entry.epsilon != epsilon or \
            entry.check != (check if check is not None else check_of(data)):
        return None
    return entry


def store_marked(data, pointer, entry, owner, check=None, source=None):
    """Remember ``entry`` for evaluated mesh ``data`` of the object ``pointer`` (see
    :func:`evaluated_key`), built for ``owner`` (see :func:`drop_replaced`) from the geometry of
    ``source`` (see :func:`store`)."""
    entry.check = check if check is not None else check_of(data)
    store(evaluated_key(data, pointer), entry, owner, source)


def lookup(key):
    return _entries.get(key)


def drop_replaced(owner):
    """``owner``'s geometry is about to get a new tree: its trees not used in this build belong to
    geometry that no longer exists (an evaluated mesh's key holds a geometry stamp, never reused).

    ``owner`` is ``(object pointer, slot)``.  Slots ``'evaluated'`` and ``'original'`` hold one
    piece of geometry per object: its old trees go now, before the new tree is built, so the new
    tree can take their memory (a re-evaluated mesh never holds two trees).  Slot
    ``'generated'`` (geometry made by geometry nodes, several pieces per object) is settled after
    the build (:func:`evict`), when all of this build's pieces are known."""
    if owner[1] == "generated":
        _replaced_many.add(owner)
        return
    for key in [k for k in _by_owner.get(owner, ()) if _entries[k].last_used < _generation]:
        _delete(key)


def store(key, entry, owner, source=None):
    """Remember ``entry`` under ``key``, built for the object ``owner`` (see
    :func:`drop_replaced`).  ``source``: the original object whose geometry it is; once that
    object is deleted, the entry is dropped by the next :func:`evict` that does not use it."""
    entry.key = key
    entry.owner = owner
    entry.source = source
    entry.last_used = _generation
    if key in _entries:
        _delete(key)
    entry.size = entry.nbytes
    _entries[key] = entry
    keys = _by_owner.get(owner)
    if keys is None:
        _by_owner[owner] = {key}
    else:
        keys.add(key)


def resized(entry):
    """``entry`` took on arrays (``merge``): count its new size."""
    entry.size = entry.nbytes


def _delete(key):
    entry = _entries.pop(key)
    keys = _by_owner.get(entry.owner)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del _by_owner[entry.owner]


def _deleted(obj):
    """True when ``obj`` (an original object, or None) has been removed from ``bpy.data``."""
    if obj is None:
        return False
    try:
        obj.as_pointer()
    except ReferenceError:
        return True
    return False


def touch(entry):
    entry.last_used = _generation


def generation():
    """The current build's generation (what :func:`touch` stamps)."""
    return _generation


def next_generation():
    """Start a build: entries used from now on are stamped with the new generation."""
    global _generation
    _generation += 1
    return _generation


def evict():
    """After a build: drop what was not used recently, then the least recently used entries while
    the cache holds more than its limit.  Entries used in this build stay even above the limit
    (the new ``SceneBVH`` holds them anyway).  Trees of replaced geometry went in
    :func:`drop_replaced` (or go here, for geometry nodes' pieces); trees of objects deleted
    since go here too.
    """
    current = _generation
    oldest = current - KEEP_GENERATIONS
    replaced = _replaced_many
    stale = []
    for key, e in _entries.items():
        if e.last_used >= current:
            continue
        if e.last_used < oldest or e.owner in replaced or _deleted(e.source):
            stale.append(key)
    for key in stale:
        _delete(key)
    replaced.clear()
    total = sum(e.size for e in _entries.values())
    if total > _limit_bytes:
        for key, entry in sorted(_entries.items(), key=lambda kv: kv[1].last_used):
            if entry.last_used >= current or total <= _limit_bytes:
                break
            total -= entry.size
            _delete(key)


def set_limit(limit_bytes):
    """Most memory (bytes) the cache keeps beyond the trees of the latest build; None: no
    limit."""
    global _limit_bytes
    if limit_bytes is None or limit_bytes == float("inf"):
        _limit_bytes = float("inf")
        return
    try:
        limit = int(limit_bytes)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"the cache limit must be a number of bytes, got {limit_bytes!r}") \
            from None
    if limit < 0:
        raise ValueError(f"the cache limit must be >= 0 bytes, got {limit}")
    _limit_bytes = limit
    evict()


def limit():
    """The cache's limit in bytes (``float('inf')``: none)."""
    return _limit_bytes


def discard(entries):
    """Drop these entries (e.g. a build failed before they were complete)."""
    for entry in entries:
        if entry.key is not None and _entries.get(entry.key) is entry:
            _delete(entry.key)


def clear():
    """Forget every cached tree and the latest build (the next build starts cold)."""
    global _recent, _world
    _entries.clear()
    _by_owner.clear()
    _replaced_many.clear()
    _recent = None
    _world = None


def world_tree(key):
    """The drop-in's tree remembered under ``key`` (see ``blenderproc``), or None."""
    if _world is not None and _world[0] == key:
        return _world[1]
    return None


def remember_world_tree(key, tree, triangles):
    """Keep the latest drop-in tree (one at a time, counted in :func:`size`), unless it alone is
    over the cache limit.

    Released at interpreter exit (``atexit``, added with the first such tree, removed by
    :func:`shutdown`): the ``bpy`` module checks Blender's allocations when it exits, before module
    globals are freed, and a tree still held then is reported as "Not freed memory blocks" — a leak
    report nobody caused."""
    global _world
    _world = None
    if triangles * TREE_BYTES_PER_TRIANGLE <= _limit_bytes:
        atexit.unregister(_drop_world_tree)
        atexit.register(_drop_world_tree)
        _world = (key, tree, triangles)


def _drop_world_tree():
    global _world
    _world = None


def shutdown():
    """:func:`clear`, and remove the change watch (the next build adds it again, as "unknown
    changes") and the exit hook of :func:`remember_world_tree`."""
    clear()
    remove_hooks()
    atexit.unregister(_drop_world_tree)


def size():
    """(trees, triangles, bytes) currently cached (the object-space trees and the drop-in's)."""
    trees, triangles = len(_entries), sum(e.triangles for e in _entries.values())
    nbytes = sum(e.size for e in _entries.values())
    if _world is not None:
        trees, triangles = trees + 1, triangles + _world[2]
        nbytes += _world[2] * TREE_BYTES_PER_TRIANGLE
    return trees, triangles, nbytes


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
    """The change watch (undo, redo, load): count one possible change, re-make every stamp."""
    global _changes
    _changes += 1
    _restamp()


def _on_frame(_scene, depsgraph=None):
    """The change watch (``frame_change_post``): count one possible change and stamp what the
    new frame re-made (animated shape keys, modifiers, drivers: listed in its updates)."""
    global _changes
    _changes += 1
    try:
        _stamp_geometry(depsgraph.updates)
    except Exception:  # noqa: BLE001 - never let the watch miss a change
        _restamp()


def _on_update(_scene, depsgraph):
    """The change watch (``depsgraph_update_post``): stamp the objects whose geometry changed and
    count one evaluation, as a move when only objects' transforms changed (see
    :func:`transforms_only`), else as a possible change."""
    global _changes, _moves
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
    global _changes
    handlers = bpy.app.handlers
    missing = False
    for name in WATCHED_HANDLERS:
        callbacks = getattr(handlers, name)
        callback = _callback(name)
        if callback not in callbacks:
            callbacks.append(callback)
            missing = True
            _changes += 1
    if missing:
        _restamp()
    return _changes


def move_count():
    """How many evaluations changed only objects' transforms (read after :func:`change_count`)."""
    return _moves


def remove_hooks():
    """Remove the change watch from every handler list (idempotent)."""
    global _changes
    handlers = bpy.app.handlers
    for name in WATCHED_HANDLERS:
        callbacks = getattr(handlers, name)
        for callback in (_on_change, _on_update, _on_frame):
            while callback in callbacks:
                callbacks.remove(callback)
    _changes += 1


def forget_recent():
    """Stop holding the latest full build (a new full build is starting: the trees only that
    build used must not stay alive through this one)."""
    global _recent
    _recent = None


def remember_build(state):
    """Keep the latest full build (a ``fastpath.BuildState``) so ``build()`` with the same object
    list can adopt it when nothing changed."""
    global _recent
    _recent = state


def recent_build():
    """The latest full build's ``BuildState``, or None."""
    return _recent


def runtime_hooks_active():
    """Names of the live app handlers of the change watch."""
    handlers = bpy.app.handlers
    return [f"bpy.app.handlers.{name}" for name in WATCHED_HANDLERS
            if _callback(name) in getattr(handlers, name)]
