# SPDX-License-Identifier: GPL-3.0-or-later
"""The geometry cache: object-space trees reused across builds, and the proof that they are current.

How a cached tree is proven current (nothing written into any data, no guessing from memory
addresses alone):

* Evaluated meshes: the key is the evaluated mesh's address and the *geometry stamp* of the object
  whose geometry it is (:func:`evaluated_key`), which the change watch (``watch``) renews whenever
  Blender re-makes that object's evaluated geometry (an edit of any kind, a modifier, shape key or
  geometry-node input, a swapped mesh, a dependency, an animated frame) and never reuses.  So an
  edit always misses the cache, even when the evaluated mesh keeps its address (5.3 keeps it, and
  reports ``session_uid`` 0 for it: ``compat``).  A transform change does not touch the stamp: no
  mesh work is done.  The vertex/polygon/corner counts are checked too.
* Everything else (curves, text, metaballs, surfaces, meshes in edit mode, ``evaluated=False``): the
  tree is keyed on a digest of the triangles themselves, read with ``to_mesh()``.

Entries of geometry that no longer exists (the object's geometry was rebuilt, or the object was
deleted) are dropped after the build that no longer used them, entries unused for a few builds
too, and the least recently used ones while the cache is over its limit in bytes
(:func:`set_limit`); :func:`clear` drops everything, :func:`shutdown` also removes the change
watch.

The latest full build is kept here for the fast paths (``fastpath``: :func:`remember_build`).
Other memories of the core (the BlenderProc drop-in's) register with :func:`add_holder`.
"""
from . import watch

__all__ = ("evaluated_key", "lookup_marked", "store_marked", "lookup", "store",
           "drop_replaced", "touch", "evict", "resized", "add_holder",
           "discard", "clear", "shutdown", "size", "set_limit", "limit", "generation",
           "remember_build", "recent_build", "forget_recent")

_entries = {}
ENTRIES = _entries  # the same dict, read directly by the gatherer's inlined lookup (never rebound)
_by_owner = {}      # owner (see drop_replaced) -> keys of the entries built for it
OWNERS = _by_owner  # the same dict, read by the gatherer's inlined store (never rebound)
_replaced_many = set()  # owners with several trees a build (geometry nodes) rebuilt this build
_recent = None      # fastpath.BuildState of the latest full build, see remember_build
_holders = []       # (size, clear) of other memories the cache reports and clears (add_holder)
_generation = 0
KEEP_GENERATIONS = 8          # entries unused for this many builds are dropped
DEFAULT_LIMIT_BYTES = 1 << 30   # least recently used entries go first beyond this (1 GiB)
_limit_bytes = DEFAULT_LIMIT_BYTES


def check_of(data):
    return (data.as_pointer(), len(data.vertices), len(data.polygons), len(data.loops))


def evaluated_key(data, pointer):
    """Cache key of evaluated mesh ``data``, the geometry of the object with ``as_pointer()``
    ``pointer`` (an instancer for geometry its nodes made): its address and that object's
    geometry stamp (call ``watch.geometry_stamps()`` first)."""
    return ("evaluated", data.as_pointer(), watch.stamp_of(pointer))


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
    watch.remove_hooks()


def size():
    """(trees, triangles, bytes) currently cached (the object-space trees and the holders')."""
    trees, triangles = len(_entries), sum(e.triangles for e in _entries.values())
    nbytes = sum(e.size for e in _entries.values())
    for measure, _empty in _holders:
        more = measure()
        trees, triangles, nbytes = trees + more[0], triangles + more[1], nbytes + more[2]
    return trees, triangles, nbytes


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
