# SPDX-License-Identifier: GPL-3.0-or-later
"""The geometry cache: object-space trees reused across builds, and the proof that they are current.

How a cached tree is proven current (no handler, nothing written into any data, no guessing from
memory addresses):

* Evaluated meshes: the key is the evaluated mesh's ``ID.session_uid``.  Blender hands out session
  UIDs from one counter that only grows for the whole session (across file loads too), and gives the
  evaluated mesh a new one whenever its geometry is re-evaluated or re-copied (mesh edit, modifier or
  geometry-node input change, shape key, edit-mode edit, dependency change), even when the new mesh
  lands at the same address.  A transform change does not re-evaluate geometry: the UID stays, no
  mesh work is done.  The pointer and the vertex/polygon/corner counts are checked too.
* Everything else (curves, text, metaballs, surfaces, meshes in edit mode, ``evaluated=False``): the
  tree is keyed on a digest of the triangles themselves, read with ``to_mesh()``.

Entries unused for a few builds are dropped; :func:`clear` drops everything.
"""
__all__ = ("evaluated_key", "lookup_marked", "store_marked", "lookup", "store", "touch", "evict", "discard", "clear",
           "size", "runtime_hooks_active")

_entries = {}
_generation = 0
KEEP_GENERATIONS = 8          # entries unused for this many builds are dropped
MAX_TRIANGLES = 20_000_000    # and stale entries are dropped first when the cache grows beyond this


def check_of(data):
    return (data.as_pointer(), len(data.vertices), len(data.polygons), len(data.loops))


def evaluated_key(data):
    """Cache key of evaluated mesh ``data``: its session UID (new on every re-evaluation)."""
    return ("evaluated", data.session_uid)


def lookup_marked(data, epsilon):
    """The cached entry proven current for evaluated mesh ``data``, or None."""
    entry = _entries.get(evaluated_key(data))
    if entry is None or entry.epsilon != epsilon or entry.check != check_of(data):
        return None
    return entry


def store_marked(data, entry):
    """Remember ``entry`` for evaluated mesh ``data`` (keyed on its session UID)."""
    key = evaluated_key(data)
    entry.key = key
    entry.check = check_of(data)
    entry.last_used = _generation
    _entries[key] = entry


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


def discard(entries):
    """Drop these entries (e.g. a build failed before they were complete)."""
    for entry in entries:
        if entry.key is not None and _entries.get(entry.key) is entry:
            del _entries[entry.key]


def clear():
    """Forget every cached tree."""
    _entries.clear()


def size():
    """(entries, triangles) currently cached."""
    return len(_entries), sum(e.triangles for e in _entries.values())


def runtime_hooks_active():
    """This module owns no runtime hook (no handler, timer or draw callback)."""
    return []
