# SPDX-License-Identifier: GPL-3.0-or-later
"""The geometry cache: object-space trees reused across builds, and the proof that they are current.

How a cached tree is proven current (no handler, no guessing from memory addresses):

* Evaluated meshes: after building a tree for an evaluated mesh, a unique token is written as an ID
  property into that *evaluated* mesh (never into user data).  Blender rebuilds or re-copies the
  evaluated mesh whenever its geometry is re-evaluated (mesh edit, modifier or geometry-node input
  change, shape key, edit-mode edit, dependency change) and the fresh copy carries no token.  So a
  token found on an evaluated mesh means: this exact evaluated mesh has not been re-evaluated since
  the tree was built.  A transform change does not re-evaluate geometry: the token survives, no mesh
  work is done.  The pointer and the vertex/polygon/corner counts are checked too, and a token is
  never trusted when the *original* data carries one (it could have been copied there, e.g. by a
  "Convert to Mesh" of an evaluated object).
* Everything else (curves, text, metaballs, surfaces, meshes in edit mode, ``evaluated=False``): the
  tree is keyed on a digest of the triangles themselves, read with ``to_mesh()``.

Entries unused for a few builds are dropped; :func:`clear` drops everything.
"""
import itertools
import os

__all__ = ("MARK", "lookup_marked", "store_marked", "lookup", "store", "touch", "evict", "clear",
           "size", "runtime_hooks_active")

MARK = "_bvh_leakfree_cache_token"
_NONCE = f"{os.getpid():x}{id(object()):x}"
_counter = itertools.count(1)
_entries = {}
_generation = 0
KEEP_GENERATIONS = 8          # entries unused for this many builds are dropped
MAX_TRIANGLES = 20_000_000    # and stale entries are dropped first when the cache grows beyond this


def check_of(data):
    return (data.as_pointer(), len(data.vertices), len(data.polygons), len(data.loops))


def lookup_marked(data, original_data, epsilon):
    """The cached entry proven current for evaluated mesh ``data``, or None."""
    try:
        token = data.get(MARK)
    except (TypeError, AttributeError):
        return None
    if token is None:
        return None
    entry = _entries.get(token)
    if entry is None or entry.epsilon != epsilon:
        return None
    if original_data is not None and original_data.get(MARK) is not None:
        return None   # the token was copied into user data: it proves nothing
    if entry.check != check_of(data):
        return None
    return entry


def store_marked(data, entry):
    """Remember ``entry`` for evaluated mesh ``data`` by writing a fresh token into ``data``.

    Returns False (entry not cached) when the evaluated data cannot hold the token.
    """
    token = f"{_NONCE}-{next(_counter)}"
    try:
        data[MARK] = token
    except (TypeError, AttributeError, RuntimeError, KeyError):
        return False
    entry.key = token
    entry.check = check_of(data)
    entry.last_used = _generation
    _entries[token] = entry
    return True


def lookup(key):
    return _entries.get(key)


def store(key, entry):
    entry.key = key
    entry.last_used = _generation
    _entries[key] = entry


def touch(entry):
    entry.last_used = _generation


def next_generation():
    """Start a build: entries used from now on are stamped with the new generation."""
    global _generation
    _generation += 1
    return _generation


def evict():
    """Drop entries not used recently; keep the cache's triangle count bounded."""
    stale = [key for key, e in _entries.items() if e.last_used < _generation - KEEP_GENERATIONS]
    for key in stale:
        del _entries[key]
    total = sum(e.triangles for e in _entries.values())
    if total > MAX_TRIANGLES:
        for key, entry in sorted(_entries.items(), key=lambda kv: kv[1].last_used):
            if entry.last_used >= _generation or total <= MAX_TRIANGLES:
                break
            total -= entry.triangles
            del _entries[key]


def clear():
    """Forget every cached tree (tokens left on evaluated meshes then match nothing)."""
    _entries.clear()


def size():
    """(entries, triangles) currently cached."""
    return len(_entries), sum(e.triangles for e in _entries.values())


def runtime_hooks_active():
    """This module owns no runtime hook (no handler, timer or draw callback)."""
    return []
