# SPDX-License-Identifier: GPL-3.0-or-later
"""Leak accounting by identity: snapshots of ``bpy.data`` (``ID.session_uid`` per collection),
what was added and removed between two of them (by name, with users and orphans), and
``leak_guard`` with its report (memory figures before and after come from ``memory``).

It is over 400 lines because the guard and its report (which formats itself) belong with the
snapshots they compare: the report's text is what users of ``leak_guard`` read first.

Identity, not counts: a loop that creates one image and removes another looks clean when only
sizes are compared; with ``session_uid`` (unique within a session, never reused, kept by undo) the
added and removed IDs are named.  Costs (measured in ``tools/bench_leaks.py``): a snapshot reads
every ``session_uid`` and name of the watched collections (C loops, ~0.3 µs per ID); names, users
and "who uses it" (``bpy.data.user_map`` on the added subset) are only read for what changed, at
most ``limit`` IDs per type.  Nothing here keeps an ID reference beyond the call.
"""
import contextlib
import itertools
import os
from typing import NamedTuple

import bpy

import numpy as np

from .datablocks import NEVER_ORPHANED, collection_label, is_orphan
from .idtypes import id_collection_names
from .memory import BLENDER, memory_change, memory_figure, mib_text, process_rss_bytes

__all__ = ("LeakError", "leak_guard", "LeakReport", "TypeChange", "IdInfo", "Snapshot",
           "snapshot", "session_uids", "new_since", "NewSince", "ids_at", "find_by_uid", "id_info",
           "describe", "users_of", "id_collection_names", "collection_sizes", "process_rss_bytes",
           "DEFAULT_LIMIT")

DEFAULT_LIMIT = 10      # IDs named per type in a report
MESSAGE_NAMES = 3       # names per type in the one-line message


# --- Snapshots -----------------------------------------------------------------------------------
def session_uids(name, size=None):
    """``ID.session_uid`` of every ID of ``bpy.data.<name>``, in collection order (one C loop).
    ``size``: ``len()`` of the collection if the caller just counted it (``len`` walks a list)."""
    collection = getattr(bpy.data, name)
    uids = np.empty(len(collection) if size is None else size, dtype=np.int64)
    if len(uids):
        buffer = np.empty(len(uids), dtype=np.int32)   # RNA int: int32 is the fast path
        collection.foreach_get("session_uid", buffer)
        uids[:] = buffer.view(np.uint32)
    return uids


class Snapshot(NamedTuple):
    """One collection at one moment: its IDs' ``session_uid`` (collection order) and, when asked
    for, their names (same order)."""

    collection: str
    uids: np.ndarray
    names: tuple = None

    def __len__(self):
        return len(self.uids)


def snapshot(name, with_names=True):
    """:class:`Snapshot` of ``bpy.data.<name>`` now."""
    uids = session_uids(name)
    names = tuple(getattr(bpy.data, name).keys()) if with_names else None
    if names is not None and len(names) != len(uids):   # changed in between: read again
        return snapshot(name, with_names)
    return Snapshot(name, uids, names)


def collection_sizes(names=None):
    """``{collection name: len(bpy.data.<name>)}`` (Blender counts a linked list: O(n), in C)."""
    names = id_collection_names() if names is None else names
    return {name: len(getattr(bpy.data, name)) for name in names}


def ids_at(name, indices):
    """The IDs of ``bpy.data.<name>`` at ``indices`` (collection order), in the order given (None
    past the end).

    Indexing a ``bpy.data`` collection walks its list from the start for every item (~30 ns per
    ID passed); one pass that makes every ID up to the largest index (in C, ~60 ns per ID) is
    cheaper from three indices on.  The list is the caller's to drop soon."""
    indices = [int(i) for i in indices]
    if not indices:
        return []
    collection = getattr(bpy.data, name)
    if len(indices) < 3:
        return [_item(collection, i) for i in indices]
    prefix = list(itertools.islice(collection, max(indices) + 1))
    return [prefix[i] if 0 <= i < len(prefix) else None for i in indices]


def _item(collection, index):
    try:
        return collection[index] if index >= 0 else None
    except IndexError:
        return None


def find_by_uid(name, uid):
    """The ID of ``bpy.data.<name>`` with ``session_uid == uid``, or None."""
    hits = np.flatnonzero(session_uids(name) == int(uid))
    if not len(hits):
        return None
    found = ids_at(name, hits[:1])[0]
    return found if found is not None and found.session_uid == int(uid) else None


def _absent(uids, other):
    """Mask of the ``uids`` not in ``other`` (numpy's ``isin`` sorts: for small collections, the
    common case of the panel's lists, a Python set is ten times cheaper)."""
    if len(uids) + len(other) <= 2048:
        known = set(other.tolist())
        return np.array([uid not in known for uid in uids.tolist()], dtype=bool)
    return ~np.isin(uids, other, assume_unique=True)


# --- What an ID is and who uses it ---------------------------------------------------------------
class IdInfo(NamedTuple):
    """Plain facts about one ID (no reference to it)."""

    collection: str
    session_uid: int
    name: str
    users: int
    fake_user: bool
    linked: bool
    orphan: bool
    used_by: tuple = ()     #: ``("Mesh 'Cube'", …)``: who uses it, sorted (filled when asked)


def describe(id_):
    """``Material 'Ground'`` (``[lib.blend]`` added for linked data)."""
    text = f"{id_.bl_rna.name} '{id_.name}'"
    if id_.library is not None:
        text += f" [{os.path.basename(id_.library.filepath) or id_.library.name}]"
    return text


def id_info(name, id_, used_by=()):
    return IdInfo(name, int(id_.session_uid), id_.name, int(id_.users), bool(id_.use_fake_user),
                  id_.library is not None, is_orphan(name, id_), tuple(used_by))


def users_of(ids):
    """``{session_uid: ("Mesh 'Cube'", …)}`` for ``ids``: who uses each one (one
    ``bpy.data.user_map`` over the subset; the walk is over every ID, in C)."""
    ids = [id_ for id_ in ids if id_ is not None]
    if not ids:
        return {}
    found = bpy.data.user_map(subset=set(ids))
    return {int(id_.session_uid): tuple(sorted(describe(user) for user in users))
            for id_, users in found.items()}


# --- What changed in one collection --------------------------------------------------------------
class TypeChange(NamedTuple):
    """What changed in one collection between two snapshots."""

    collection: str
    added: int                  #: IDs there now that were not there before
    removed: int                #: IDs there before that are gone
    added_ids: tuple = ()       #: :class:`IdInfo` of the first ``limit`` added (as created)
    removed_names: tuple = ()   #: names of the first ``limit`` removed
    added_orphans: int = 0      #: how many of the added are orphans

    @property
    def net(self):
        return self.added - self.removed

    @property
    def churn(self):
        """IDs were replaced one for one: the size did not change, the contents did."""
        return self.added > 0 and self.added == self.removed

    def text(self, max_names=MESSAGE_NAMES):
        """One line, e.g. ``+3 images (Render.001, Render.002, …; all orphans)``."""
        parts = []
        if self.churn:
            added = _names(self.added_ids, self.added, max_names, users=False)
            removed = _plain(self.removed_names, self.removed, max_names)
            return (f"{self.collection.replace('_', ' ')} churned: {self.added} added "
                    f"({added}), {self.removed} removed ({removed}), net 0")
        if self.added:
            inner = _names(self.added_ids, self.added, max_names)
            if self.added_orphans and self.added_orphans == self.added:
                inner += "; all orphans" if self.added > 1 else "; orphan"
            elif self.added_orphans:
                inner += f"; {self.added_orphans} orphan{'s' if self.added_orphans > 1 else ''}"
            parts.append(f"+{self.added} {collection_label(self.collection, self.added)} "
                         f"({inner})")
        if self.removed:
            parts.append(f"−{self.removed} {collection_label(self.collection, self.removed)} "
                         f"removed ({_plain(self.removed_names, self.removed, max_names)})")
        return ", ".join(parts)


def _plain(names, total, max_names):
    shown = list(names[:max_names])
    return ", ".join(shown + (["…"] if total > len(shown) else []))


def _names(infos, total, max_names, users=True):
    shown = []
    for info in infos[:max_names]:
        text = info.name
        if users and info.used_by:
            more = len(info.used_by) - 1
            text += f" ← {info.used_by[0]}" + (f" +{more} more" if more else "")
        shown.append(text)
    return ", ".join(shown + (["…"] if total > len(shown) else []))


def compare(before, after_uids, limit=DEFAULT_LIMIT, who_uses=True):
    """:class:`TypeChange` between ``before`` (a :class:`Snapshot` with names) and the
    collection's ``session_uid`` array now (``after_uids``, collection order), or None when
    nothing changed.  Reads the added IDs themselves (names, users, orphans) and, with
    ``who_uses``, who uses the first ``limit`` of them that are not orphans."""
    change, used = _compare(before, after_uids, limit)
    if change is not None and used and who_uses:
        change = _with_users(change, users_of(used))
    return change


def _compare(before, after_uids, limit):
    """The change and the named added IDs that have users (for one ``user_map`` later)."""
    name = before.collection
    added_mask = _absent(after_uids, before.uids)
    removed_mask = _absent(before.uids, after_uids)
    added, removed = int(np.count_nonzero(added_mask)), int(np.count_nonzero(removed_mask))
    if not added and not removed:
        return None, []
    removed_names = ()
    if removed and before.names is not None:
        removed_names = tuple(before.names[i] for i in np.flatnonzero(removed_mask)[:limit])
    infos, orphans, used = (), 0, []
    if added:
        infos, orphans, used = _added_infos(name, after_uids, added_mask, limit)
    return TypeChange(name, added, removed, infos, removed_names, orphans), used


def _added_infos(name, uids, added_mask, limit):
    """IdInfo of the first ``limit`` added IDs (in the order they were created), how many added
    are orphans, and the named ones that have users."""
    indices = np.flatnonzero(added_mask)
    first = indices[np.argsort(uids[indices], kind="stable")][:limit]
    ids = [id_ for id_ in ids_at(name, first) if id_ is not None]
    orphans = 0
    if name not in NEVER_ORPHANED:
        collection = getattr(bpy.data, name)
        users = np.empty(len(collection), dtype=np.int32)
        if len(users) == len(uids):
            collection.foreach_get("users", users)
            orphans = int(np.count_nonzero(users[indices] == 0))
        if name == "images" and orphans:   # viewer images have no users by design
            orphans = sum(is_orphan(name, id_) for id_ in ids_at(name, indices) if id_)
    infos = tuple(id_info(name, id_) for id_ in ids)
    return infos, orphans, [id_ for id_ in ids if id_.users]


def _with_users(change, used):
    return change._replace(added_ids=tuple(info._replace(used_by=used.get(info.session_uid, ()))
                                           for info in change.added_ids))


class NewSince(NamedTuple):
    """What is new in one collection since a baseline :class:`Snapshot` (see :func:`new_since`)."""

    collection: str
    new: int                    #: IDs there now that the baseline did not have
    removed: int                #: baseline IDs that are gone
    removed_names: tuple        #: the first few of them
    start: int                  #: index of ``rows[0]`` among the new IDs (newest first)
    rows: tuple                 #: :class:`IdInfo` of the new IDs ``start`` … ``start + count``


def new_since(baseline, start=0, count=DEFAULT_LIMIT, removed_names=3, uids=None):
    """The IDs of ``baseline.collection`` that are new since ``baseline``, newest first: how many,
    and the facts of ``count`` of them from ``start`` on (a page of the panel's list); and how
    many baseline IDs are gone.  Cost: one ``session_uid`` read (C; ``uids``: the caller's, just
    read) and a pass over the collection up to the last ID shown."""
    name = baseline.collection
    uids = session_uids(name) if uids is None else uids
    new = np.flatnonzero(_absent(uids, baseline.uids))
    gone = np.flatnonzero(_absent(baseline.uids, uids))
    newest = new[np.argsort(-uids[new], kind="stable")]
    start = max(0, min(int(start), (len(newest) - 1) // max(1, count) * count))
    ids = ids_at(name, newest[start:start + count])
    rows = tuple(id_info(name, id_) for id_ in ids if id_ is not None)
    names = ()
    if baseline.names is not None:
        names = tuple(baseline.names[i] for i in gone[:removed_names])
    return NewSince(name, len(new), len(gone), names, start, rows)


# --- leak_guard ----------------------------------------------------------------------------------
class LeakReport:
    """What ``leak_guard`` saw, by identity.

    * ``changes``: ``{collection: TypeChange}`` of every watched collection where IDs were added or
      removed (names, orphans, who uses the added ones);
    * ``growth``: ``{collection: net growth}`` of the collections that grew (a leak), as before;
    * ``churn``: ``{collection: IDs replaced}`` where as many were added as removed (net 0);
    * ``before``/``after``: sizes; ``rss_before``/``rss_after``: process memory in bytes (None
      where the platform gives no figure);
    * ``memory_before``/``memory_after``: Blender's own memory (``core.memory.MemoryFigure``: what
      the status bar shows, which follows datablocks where the RSS wobbles), or the RSS with a
      note when Blender's figure cannot be read.
    """

    def __init__(self, names, limit=DEFAULT_LIMIT):
        self.names = tuple(names)
        self.limit = limit
        self.rss_before = process_rss_bytes()
        self.memory_before = memory_figure()
        self.memory_after = None
        self._snapshots = {name: snapshot(name) for name in self.names}
        self.before = {name: len(snap) for name, snap in self._snapshots.items()}
        self.after = None
        self.rss_after = None
        self.changes = {}
        self.growth = {}
        self.churn = {}

    def close(self):
        after = {name: session_uids(name) for name in self.names}
        self.after = {name: len(uids) for name, uids in after.items()}
        changes, used = [], []
        for name in self.names:
            change, named = _compare(self._snapshots[name], after[name], self.limit)
            if change is not None:
                changes.append(change)
                used += named
        who = users_of(used) if used else {}   # one user_map for every type at once
        del used
        self.changes = {c.collection: _with_users(c, who) if who else c for c in changes}
        self._snapshots = None
        self.growth = {name: c.net for name, c in self.changes.items() if c.net > 0}
        self.churn = {name: c.added for name, c in self.changes.items() if c.churn}
        self.rss_after = process_rss_bytes()
        self.memory_after = memory_figure()

    @property
    def leaked(self):
        return bool(self.growth)

    @property
    def rss_growth(self):
        """Bytes the process's RSS grew by inside the block (None when unknown)."""
        if self.rss_before is None or self.rss_after is None:
            return None
        return self.rss_after - self.rss_before

    @property
    def memory_growth(self):
        """Bytes Blender's own memory grew by inside the block (None when unknown, or when one of
        the two readings fell back to the RSS): see ``memory_before``."""
        change = memory_change(self.memory_before, self.memory_after)
        return None if change is None or self.memory_before.source != BLENDER else change[0]

    def memory_text(self):
        """``"Blender memory +8.4 MiB"`` (within its resolution: ``+0.0``), or '' when unknown."""
        change = memory_change(self.memory_before, self.memory_after)
        if change is None or self.memory_before.source != BLENDER:
            return ""
        return f"{self.memory_before.label} {mib_text(*change, signed=True)}"

    def ordered(self):
        """The changes, growth first (largest first), then churn, then removals."""
        def order(change):
            return (0 if change.net > 0 else 1 if change.churn else 2, -abs(change.net),
                    change.collection)
        return sorted(self.changes.values(), key=order)

    def lines(self, max_names=MESSAGE_NAMES):
        """One line per changed collection, in :meth:`ordered` order."""
        return [change.text(max_names) for change in self.ordered()]

    def summary(self, max_names=MESSAGE_NAMES):
        """Everything in one line: ``+3 images (…); −1 mesh removed (…); Blender memory +0.4 MiB;
        RSS +1.2 MB``."""
        parts = self.lines(max_names) or ["no datablock added or removed"]
        if self.memory_text():
            parts.append(self.memory_text())
        if self.rss_growth is not None:
            parts.append(f"RSS {round(self.rss_growth / 2 ** 20, 1) + 0.0:+.1f} MB")
        return "; ".join(parts)

    def __repr__(self):
        return f"<LeakReport growth={self.growth!r} churn={self.churn!r}>"


class LeakError(RuntimeError):
    """Raised by ``leak_guard`` when ID collections grew inside the guarded block; ``report`` is
    the :class:`LeakReport`, ``growth`` its ``{collection: net growth}``."""

    def __init__(self, report):
        self.report = report
        self.growth = dict(report.growth)
        super().__init__(f"bpy.data grew inside leak_guard: {report.summary()}")


@contextlib.contextmanager
def leak_guard(collections=None, *, raise_on_leak=True, limit=DEFAULT_LIMIT):
    """Record every ``bpy.data`` ID collection (or the named ones) by identity and compare on
    exit.

    A collection whose size grew is a leak: ``LeakError`` names the added IDs (``limit`` per type),
    which are orphans and who uses the others, the removed ones and the RSS change; with
    ``raise_on_leak=False`` the yielded :class:`LeakReport` records it.  IDs replaced one for one
    (same size, other IDs) are reported as churn, not raised.  An exception raised inside the
    block propagates unchanged; the report is still filled in.

        with leak_guard() as report:
            my_blenderproc_loop()
    """
    if isinstance(collections, str):
        collections = (collections,)
    names = id_collection_names() if collections is None else tuple(collections)
    known = set(id_collection_names())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"not bpy.data ID collections: {', '.join(map(str, unknown))}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number ≥ 0, not {limit!r}")
    report = LeakReport(names, limit)
    failed = False
    try:
        yield report
    except BaseException:
        failed = True
        raise
    finally:
        report.close()
        if report.leaked and raise_on_leak and not failed:
            raise LeakError(report)
