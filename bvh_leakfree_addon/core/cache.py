# SPDX-License-Identifier: GPL-3.0-or-later
"""The geometry cache: object-space trees reused across builds, and the proof that they are current.

How a cached tree is proven current (no handler, nothing written into any data, no guessing from
memory addresses):

* Evaluated meshes: the key is the evaluated mesh's ``ID.session_uid``.  Blender hands out session
  UIDs from one counter that only grows for the whole session (across file loads too), and gives the
  evaluated mesh a new one whenever its geometry is re-evaluated or re-copied (mesh edit, modifier
  or geometry-node input change, shape key, edit-mode edit, dependency change), even when the new
  mesh lands at the same address.  A transform change does not re-evaluate geometry: the UID stays,
  no mesh work is done.  The pointer and the vertex/polygon/corner counts are checked too.
* Everything else (curves, text, metaballs, surfaces, meshes in edit mode, ``evaluated=False``): the
  tree is keyed on a digest of the triangles themselves, read with ``to_mesh()``.

Entries of geometry that no longer exists (the object's geometry was rebuilt, or the object was
deleted) are dropped after the build that no longer used them, entries unused for a few builds
too, and the least recently used ones while the cache is over its limit in bytes
(:func:`set_limit`); :func:`clear` drops everything, :func:`shutdown` also removes the change
watch.

The change watch (the fast paths, see ``fastpath``): one callback in each of ``bpy.app.handlers``
``depsgraph_update_post``, ``frame_change_post``, ``undo_post``, ``redo_post`` and ``load_post``
counts everything Blender evaluates, in two counters: evaluations that changed nothing but
objects' transforms (:func:`transforms_only`: *moves*) and everything else (*changes*).  A build
remembers both counts.  Both the same at the next build of the same objects (same depsgraph, list
and flags, object mode): Blender evaluated nothing in between, so the evaluated data the build
read is still what the depsgraph holds and the per-object walk is skipped.  Only the moves count
differs: every evaluated mesh is still the one the build read, only world matrices need reading
again.  The callbacks are added lazily by :func:`change_count`, never persistent: if they went
missing (Blender clears non-persistent handlers on file load and factory reset, :func:`shutdown`
removes them) they are added again and the changes count jumps, so every earlier count is treated
as "unknown changes".

Other memories of the core (the BlenderProc drop-in's) register with :func:`add_holder`; the
watch also counts evaluations that updated a mesh (:func:`mesh_change_count`, see ``blenderproc``).
"""
import bpy

import numpy as np

__all__ = ("evaluated_key", "lookup_marked", "store_marked", "lookup", "store", "drop_replaced",
           "touch", "evict", "resized", "add_holder", "mesh_change_count",
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
_recent = None      # fastpath.BuildState of the latest full build, see remember_build
_mesh_changes = 0   # bumped by the watch: evaluations that updated a mesh (or loads, undos)
_holders = []       # (size, clear) of other memories the cache reports and clears (add_holder)
WATCHED_HANDLERS = ("depsgraph_update_post", "frame_change_post", "undo_post", "redo_post",
                    "load_post")
_generation = 0
KEEP_GENERATIONS = 8          # entries unused for this many builds are dropped
DEFAULT_LIMIT_BYTES = 1 << 30   # least recently used entries go first beyond this (1 GiB)
_limit_bytes = DEFAULT_LIMIT_BYTES


def check_of(data):
    return (data.as_pointer(), len(data.vertices), len(data.polygons), len(data.loops))


def evaluated_key(data):
    """Cache key of evaluated mesh ``data``: its session UID (new on every re-evaluation)."""
    return ("evaluated", data.session_uid)


def lookup_marked(data, epsilon, check=None):
    """The cached entry proven current for evaluated mesh ``data``, or None (``check``:
    ``check_of(data)`` when the caller has it already)."""
    entry = _entries.get(("evaluated", data.session_uid))
    if entry is None or entry.epsilon != epsilon or \
            entry.check != (check if check is not None else check_of(data)):
        return None
    return entry


def store_marked(data, entry, owner, check=None, source=None):
    """Remember ``entry`` for evaluated mesh ``data`` (keyed on its session UID), built for
    ``owner`` (see :func:`drop_replaced`) from the geometry of ``source`` (see :func:`store`)."""
    entry.check = check if check is not None else check_of(data)
    store(evaluated_key(data), entry, owner, source)


def lookup(key):
    return _entries.get(key)


def drop_replaced(owner):
    """``owner``'s geometry is about to get a new tree: its trees not used in this build belong to
    geometry that no longer exists (an evaluated mesh's key, its session UID, is never reused).

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
    """Forget every cached tree and the latest build (the next build starts cold), and empty the
    registered holders (:func:`add_holder`)."""
    global _recent
    _entries.clear()
    _by_owner.clear()
    _replaced_many.clear()
    _recent = None
    for _size, empty in _holders:
        empty()


def add_holder(size, empty):
    """Register another memory: ``size()`` -> ``(trees, triangles, bytes)`` (added to
    :func:`size`), ``empty()`` frees it (:func:`clear`, :func:`shutdown`).  Idempotent."""
    if (size, empty) not in _holders:
        _holders.append((size, empty))


def shutdown():
    """:func:`clear`, and remove the change watch (the next build adds it again, as "unknown
    changes")."""
    clear()
    remove_hooks()


def size():
    """(trees, triangles, bytes) currently cached (the object-space trees and the holders')."""
    trees, triangles = len(_entries), sum(e.triangles for e in _entries.values())
    nbytes = sum(e.size for e in _entries.values())
    for measure, _empty in _holders:
        more = measure()
        trees, triangles, nbytes = trees + more[0], triangles + more[1], nbytes + more[2]
    return trees, triangles, nbytes


def _on_change(*args):
    """The change watch (frame change, undo, redo, load): count one possible change, and a mesh
    change unless the frame's depsgraph says no mesh was updated."""
    global _changes, _mesh_changes
    _changes += 1
    if not (len(args) == 2 and isinstance(args[1], bpy.types.Depsgraph)) or \
            _meshes_updated(args[1]):
        _mesh_changes += 1


def _meshes_updated(depsgraph):
    """False only when ``depsgraph`` says that its evaluation updated no mesh (its per-type flags
    are cleared after the post handlers ran)."""
    try:
        return bool(depsgraph.id_type_updated('MESH'))
    except Exception:  # noqa: BLE001 - never let the watch miss a change
        return True


def _on_update(_scene, depsgraph):
    """The change watch (``depsgraph_update_post``): count one evaluation, as a move when only
    objects' transforms changed (see :func:`transforms_only`), else as a possible change; and as
    a mesh change when it updated a mesh."""
    global _changes, _moves, _mesh_changes
    try:
        only_moved = transforms_only(depsgraph.updates)
    except Exception:  # noqa: BLE001 - never let the watch miss a change
        only_moved = False
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
    when that transform changes (checked on 4.2, 4.5 and 5.0), so "transforms only" means that no
    evaluated mesh changed.  Anything else (an ID updated without a transform: a collection, the
    scene, a selection) counts as a possible change.
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


def _callback(name):
    return _on_update if name == "depsgraph_update_post" else _on_change


def change_count():
    """How many possible changes (evaluations other than moves, frame changes, undos, loads) the
    watch has seen.

    Installs the watch where it is missing (first use, or Blender dropped it: file load, factory
    reset); a missing watch may have missed changes, so the count then jumps.
    """
    global _changes, _mesh_changes
    handlers = bpy.app.handlers
    for name in WATCHED_HANDLERS:
        callbacks = getattr(handlers, name)
        callback = _callback(name)
        if callback not in callbacks:
            callbacks.append(callback)
            _changes += 1
            _mesh_changes += 1
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
    """Remove the change watch from every handler list (idempotent)."""
    global _changes, _mesh_changes
    handlers = bpy.app.handlers
    for name in WATCHED_HANDLERS:
        callbacks = getattr(handlers, name)
        for callback in (_on_change, _on_update):
            while callback in callbacks:
                callbacks.remove(callback)
    _changes += 1
    _mesh_changes += 1


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
