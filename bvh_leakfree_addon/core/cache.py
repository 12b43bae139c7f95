# SPDX-License-Identifier: GPL-3.0-or-later
"""The geometry cache: object-space trees reused across builds, each under a key that proves it
current.  Builds find a tree with :func:`lookup` and keep a new one with :func:`store`.

How a cached tree is proven current (nothing written into any data, no guessing from memory
addresses alone):

* Evaluated meshes: the key is the evaluated mesh's address and the *geometry stamp* of the object
  whose geometry it is (:func:`evaluated_key`, the one place it is spelt), which the change watch
  (``watch``) renews whenever Blender re-makes that object's evaluated geometry (an edit of any
  kind, a modifier, shape key or geometry-node input, a swapped mesh, a dependency, an animated
  frame) and never reuses.  So an
  edit always misses the cache, even when the evaluated mesh keeps its address (5.3 keeps it, and
  reports ``session_uid`` 0 for it: ``compat``).  A transform change does not touch the stamp: no
  mesh work is done.  The vertex, polygon and corner counts are in the key too.
* Everything else (curves, text, metaballs, surfaces, meshes in edit mode, ``evaluated=False``): the
  tree is keyed on a digest of the triangles themselves, read with ``to_mesh()``
  (``geometry.content_key``).

Entries of geometry that no longer exists (the object's geometry was rebuilt, or the object was
deleted) are dropped after the build that no longer used them, entries unused for a few builds
too, and the least recently used ones while the cache is over its limit in bytes
(:func:`set_limit`); :func:`clear` drops everything.

Other memories of the core register with :func:`add_holder`, so that :func:`clear` empties them
and :func:`size` counts them: the fast path's latest build (``fastpath``), the BlenderProc drop-in's
latest tree (``blenderproc_memory``).
"""
__all__ = ("evaluated_key", "lookup", "store", "drop_replaced", "touch", "touch_all", "evict",
           "resized", "add_holder", "discard", "clear", "size", "set_limit", "limit",
           "next_generation")

_entries = {}       # key -> GeomEntry
_by_owner = {}      # owner (see drop_replaced) -> keys of the entries built for it
_replaced_many = set()  # owners with several trees a build (geometry nodes) rebuilt this build
_holders = []       # (size, clear) of other memories the cache reports and clears (add_holder)
_generation = 0
KEEP_GENERATIONS = 8          # entries unused for this many builds are dropped
DEFAULT_LIMIT_BYTES = 1 << 30   # least recently used entries go first beyond this (1 GiB)
_limit_bytes = DEFAULT_LIMIT_BYTES


def evaluated_key(address, stamp, vertices, polygons, corners, epsilon):
    """The cache key of an evaluated mesh's tree: the mesh's address (``as_pointer()``), the
    geometry stamp of the object whose geometry it is (``watch.stamp_of``; for geometry nodes'
    pieces, the instancer's), its vertex, polygon and corner counts, and the tree's epsilon."""
    return ("evaluated", address, stamp, vertices, polygons, corners, epsilon)


#: ``lookup(key)``: the tree cached under ``key`` (:func:`evaluated_key` or
#: ``geometry.content_key``), or None.  The key proves the tree current, so a lookup is one read
#: of the store (the dict's own ``get``: the walk calls it for every object).
lookup = _entries.get


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
    keys = _by_owner.get(owner)
    if keys:
        for key in [k for k in keys if _entries[k].last_used < _generation]:
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
    """``entry`` is used by the build under way (kept by :func:`evict`)."""
    entry.last_used = _generation


def touch_all(entries):
    """:func:`touch` each of ``entries`` (a moves-only rebuild reuses every tree of the last)."""
    generation = _generation
    for entry in entries:
        entry.last_used = generation


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
    """Forget every cached tree (the next build starts cold), and empty the registered holders
    (:func:`add_holder`)."""
    _entries.clear()
    _by_owner.clear()
    _replaced_many.clear()
    for _size, empty in _holders:
        empty()


def add_holder(size, empty):
    """Register another memory: ``size()`` -> ``(trees, triangles, bytes)`` (added to
    :func:`size`), ``empty()`` frees it (:func:`clear`, :func:`shutdown`).  Idempotent."""
    if (size, empty) not in _holders:
        _holders.append((size, empty))


def size():
    """(trees, triangles, bytes) currently cached (the object-space trees and the holders')."""
    trees, triangles = len(_entries), sum(e.triangles for e in _entries.values())
    nbytes = sum(e.size for e in _entries.values())
    for measure, _empty in _holders:
        more = measure()
        trees, triangles, nbytes = trees + more[0], triangles + more[1], nbytes + more[2]
    return trees, triangles, nbytes
