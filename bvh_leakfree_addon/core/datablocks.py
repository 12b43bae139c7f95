# SPDX-License-Identifier: GPL-3.0-or-later
"""Datablock accounting: per-type totals and orphans, and a safe batch purge of orphans.

An *orphan* is an ID with zero users.  A fake user counts as a user (``ID.users`` includes it), so
an ID with a fake user is never an orphan and never purged.  Root IDs (window managers, workspaces,
screens, scenes, libraries) and viewer images (Render Result, Viewer Node) are never orphans, as in
Blender's own File › Clean Up.

Keys are the ``bpy.data`` collection names (``"meshes"``, ``"materials"``, …), the same names
``leak_guard`` reports.  Where a type is asked for, Blender's ID type codes (``'MESH'``,
``'MATERIAL'``, …, ``ID.id_type``) are accepted too.

Nothing here keeps an ID reference beyond the call: IDs can be freed by undo or file load at any
time.
"""
from collections import namedtuple

import bpy

import numpy as np

from .identity import session_uids
from .idtypes import NEVER_ORPHANED, id_collection_names, in_words, is_orphan, resolve_types

__all__ = ("DatablockCount", "datablock_counts", "count_type", "orphans", "purge_orphans",
           "purge_preview", "resolve_types", "format_counts")


class DatablockCount(namedtuple("DatablockCount", "total orphans local linked linked_orphans")):
    """Figures of one ID type, as :func:`datablock_counts` gives them.

    Attributes:
        total: IDs in the collection (local and linked).
        orphans: IDs without users and without a fake user, local and linked.
        local: IDs of this file.
        linked: IDs linked from libraries.
        linked_orphans: linked IDs without users.
    """

    __slots__ = ()

    @property
    def local_orphans(self):
        """Orphans of this file: what a purge without ``include_linked`` removes."""
        return self.orphans - self.linked_orphans


def format_counts(counts):
    """``{'meshes': 37, 'materials': 4}`` → ``'37 meshes, 4 materials'`` (largest first)."""
    items = sorted(((n, c) for n, c in counts.items() if c), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} {in_words(name, count)}" for name, count in items)


def _user_counts(collection):
    """``ID.users`` of every ID of ``collection`` in one C call (``foreach_get``), as numpy ints."""
    users = np.empty(len(collection), dtype=np.int32)
    if len(users):
        collection.foreach_get("users", users)
    return users


def _count(name, has_libraries):
    collection = getattr(bpy.data, name)
    if name in NEVER_ORPHANED or (name == "images" and len(collection)):
        return _count_by_loop(name, collection, has_libraries)
    users = _user_counts(collection)
    total = len(users)
    orphan_total = int(np.count_nonzero(users == 0))
    linked = linked_orphans = 0
    if has_libraries and total:
        for id_ in collection:
            if id_.library is not None:
                linked += 1
                linked_orphans += id_.users == 0
    return DatablockCount(total, orphan_total, total - linked, linked, linked_orphans)


def _count_by_loop(name, collection, has_libraries):
    total = orphan_total = linked = linked_orphans = 0
    for id_ in collection:
        total += 1
        is_linked = has_libraries and id_.library is not None
        linked += is_linked
        if is_orphan(name, id_):
            orphan_total += 1
            linked_orphans += is_linked
    return DatablockCount(total, orphan_total, total - linked, linked, linked_orphans)


def count_type(name, has_libraries=None):
    """``DatablockCount`` of one ``bpy.data`` collection name (no type-name resolution: the cheap
    path for the live monitor).  ``has_libraries``: pass ``len(bpy.data.libraries) > 0`` if
    known."""
    if has_libraries is None:
        has_libraries = len(bpy.data.libraries) > 0
    return _count(name, has_libraries)


def datablock_counts(types=None):
    """How many IDs each type has, and how many are orphans.

    Cost: O(n) in C per type (``len`` walks Blender's list; users are read with ``foreach_get``);
    only files with linked libraries pay a Python loop, for the local/linked split.

    Args:
        types: None or ``'ALL'`` (every ID collection), a ``bpy.data`` collection name
            (``'meshes'``) or an ID type code (``'MESH'``), or an iterable of them.

    Returns:
        ``{collection name: DatablockCount}``, in the order asked (every collection: Blender's).

    Raises:
        ValueError: an unknown type name.
    """
    has_libraries = len(bpy.data.libraries) > 0
    return {name: _count(name, has_libraries) for name in resolve_types(types)}


def orphans(id_type, *, include_linked=False):
    """The orphan IDs of one type: no users, no fake user (root IDs and viewer images never).

    Args:
        id_type: one collection name (``'meshes'``) or ID type code (``'MESH'``).
        include_linked: also orphans linked from libraries.

    Returns:
        A new list of the IDs.  Don't keep it: undo, a file load or a purge frees IDs at any time.

    Raises:
        ValueError: not exactly one known type (``'ALL'`` or a list is refused).
    """
    if not isinstance(id_type, str) or id_type == "ALL":
        raise ValueError("orphans() takes one ID type, e.g. 'MESH' or 'meshes'")
    (name,) = resolve_types(id_type)
    return _orphans_of(name, include_linked)


def _orphans_of(name, include_linked):
    if name in NEVER_ORPHANED:
        return []
    collection = getattr(bpy.data, name)
    users = _user_counts(collection)
    if not np.count_nonzero(users == 0):
        return []
    return [id_ for id_ in collection
            if is_orphan(name, id_) and (include_linked or id_.library is None)]


def _purgeable(names):
    return [name for name in names if name not in NEVER_ORPHANED]


def purge_orphans(types=frozenset({"MESH"}), *, recursive=False, include_linked=False):
    """Delete the orphans of ``types`` in one batch.

    Never removes an ID with users or a fake user.  :func:`purge_preview` says beforehand what
    will go.  Uses ``bpy.data.batch_remove``: one pass over Blender's ID relations per batch, where
    a ``remove()`` per ID scans all IDs each time.

    Args:
        types: as in :func:`datablock_counts` (``'ALL'`` for every type); default meshes.
        recursive: also delete IDs of any type that became orphans because of this purge (a
            material used only by purged meshes, …), batch after batch until none is left; IDs
            that were orphans before the call and are not of ``types`` stay.
        include_linked: also delete linked orphans (they come back when the file is reloaded).

    Returns:
        ``{collection name: IDs removed}``, counted by identity: what is gone afterwards,
        including IDs Blender frees with their owner (the shape keys of a purged mesh).

    Raises:
        ValueError: an unknown type name.
    """
    targets = _purgeable(resolve_types(types))
    every = _purgeable(id_collection_names())
    kept_orphans = set()
    if recursive:  # orphans the caller did not ask for: a cascade must not take them
        target_set = set(targets)
        kept_orphans = {(name, id_.session_uid) for name in every if name not in target_set
                        for id_ in _orphans_of(name, include_linked)}
    before = {name: session_uids(name) for name in every}
    batch = {name: _orphans_of(name, include_linked) for name in targets}
    while any(batch.values()):
        ids = [id_ for group in batch.values() for id_ in group]
        batch = None
        bpy.data.batch_remove(ids)
        del ids  # references to freed IDs: drop them at once
        if not recursive:
            break
        batch = {name: [id_ for id_ in _orphans_of(name, include_linked)
                        if (name, id_.session_uid) not in kept_orphans] for name in every}
    removed = {}
    for name, uids in before.items():
        gone = int(np.count_nonzero(~np.isin(uids, session_uids(name), assume_unique=True)))
        if gone:
            removed[name] = gone
    return removed


def purge_preview(types=frozenset({"MESH"}), *, recursive=False, include_linked=False):
    """What :func:`purge_orphans` with the same arguments would delete now, without deleting.

    The recursive cascade is worked out on ``bpy.data.user_map``: an ID goes once every ID that
    uses it goes (and it has no fake user, and is local unless ``include_linked``); IDs Blender
    frees with their owner (shape keys) go with it.  Cost: one ``user_map`` (all IDs, in C) and a
    Python loop over the IDs that have users.

    Args:
        types: as in :func:`purge_orphans`.
        recursive: as in :func:`purge_orphans`.
        include_linked: as in :func:`purge_orphans`.

    Returns:
        ``{collection name: [(session_uid, name), …]}``, sorted by name.

    Raises:
        ValueError: an unknown type name.
    """
    targets = _purgeable(resolve_types(types))
    going = {}   # session_uid -> (collection, name)
    for name in targets:
        for id_ in _orphans_of(name, include_linked):
            going[id_.session_uid] = (name, id_.name)
    if going and recursive:
        _cascade(going, include_linked)
    elif going:
        _owned(going, {})
    out = {}
    for uid, (name, id_name) in going.items():
        out.setdefault(name, []).append((uid, id_name))
    return {name: sorted(items, key=lambda item: (item[1], item[0]))
            for name, items in sorted(out.items())}


def _cascade(going, include_linked):
    """Add to ``going`` every ID that has users only among ``going``, until none is left."""
    candidates = {}
    for name in _purgeable(id_collection_names()):
        for id_ in getattr(bpy.data, name):
            if (id_.users and not id_.use_fake_user and id_.session_uid not in going
                    and (include_linked or id_.library is None)):
                candidates[id_.session_uid] = (name, id_)
    users = {id_.session_uid: frozenset(user.session_uid for user in found)
             for id_, found in bpy.data.user_map(
                 subset={id_ for _name, id_ in candidates.values()}).items()}
    pending = {uid: (name, id_.name, users.get(uid, frozenset()))
               for uid, (name, id_) in candidates.items()}
    candidates = None
    _owned(going, pending)
    changed = True
    while changed:
        changed = False
        for uid, (name, id_name, used_by) in list(pending.items()):
            if used_by and used_by.issubset(going):
                going[uid] = (name, id_name)
                del pending[uid]
                changed = True


def _owned(going, pending):
    """Shape keys go with the mesh, curve or lattice that owns them."""
    for key in bpy.data.shape_keys:
        owner = key.user
        if owner is not None and owner.session_uid in going:
            going[key.session_uid] = ("shape_keys", key.name)
            pending.pop(key.session_uid, None)
