# SPDX-License-Identifier: GPL-3.0-or-later
"""``leak_guard`` and its report: every ``bpy.data`` collection recorded by identity
(:mod:`.identity`) when a block starts and compared when it ends, and what changed said in words,
by name (:func:`change_text`, :meth:`LeakReport.summary`), with the process's memory
(:mod:`.memory`) before and after."""
import contextlib

from .identity import DEFAULT_LIMIT, compare, session_uids, snapshot, users_of, with_users
from .idtypes import in_words, resolve_types
from .memory import BLENDER, memory_change, memory_figure, mib_text, process_rss_bytes
from .numbers import MB, count, signed

__all__ = ("LeakError", "leak_guard", "LeakReport", "change_text", "DEFAULT_LIMIT",
           "MESSAGE_NAMES")

MESSAGE_NAMES = 3       # names per type in the one-line message


# --- What changed, in words ----------------------------------------------------------------------
def change_text(change, max_names=MESSAGE_NAMES):
    """A :class:`.identity.TypeChange` in one line, e.g. ``+3 images (Render.001, Render.002, …;
    all orphans)``."""
    parts = []
    if change.churn:
        added = _names(change.added_ids, change.added, max_names, users=False)
        removed = _plain(change.removed_names, change.removed, max_names)
        return (f"{in_words(change.collection)} churned: {change.added} added "
                f"({added}), {change.removed} removed ({removed}), net 0")
    if change.added:
        inner = _names(change.added_ids, change.added, max_names)
        if change.added_orphans and change.added_orphans == change.added:
            inner += "; all orphans" if change.added > 1 else "; orphan"
        elif change.added_orphans:
            inner += f"; {count(change.added_orphans, 'orphan')}"
        parts.append(f"+{change.added} {in_words(change.collection, change.added)} "
                     f"({inner})")
    if change.removed:
        parts.append(f"−{change.removed} {in_words(change.collection, change.removed)} "
                     f"removed ({_plain(change.removed_names, change.removed, max_names)})")
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


# --- leak_guard ----------------------------------------------------------------------------------
class LeakReport:
    """What :func:`leak_guard` saw, by identity: yielded by it, or ``LeakError.report``.

    Made by ``leak_guard`` only; filled in when the block ends.

    Attributes:
        names: the watched collections (``('meshes', …)``).
        limit: IDs named per type.
        changes: ``{collection: TypeChange}`` of every watched collection where IDs were added or
            removed (names, orphans, who uses the added ones).
        growth: ``{collection: net growth}`` of the collections that grew: a leak.
        churn: ``{collection: IDs replaced}`` where as many were added as removed (net 0).
        before: ``{collection: size}`` when the block started.
        after: ``{collection: size}`` when it ended (None before).
        rss_before: the process's RSS in bytes when the block started (None where the platform
            gives no figure).
        rss_after: the same when it ended.
        memory_before: Blender's own memory when the block started (a ``MemoryFigure``: what
            Blender's status bar shows, which follows datablocks where the RSS wobbles; the RSS
            with a note when Blender's figure cannot be read; None when neither is known).
        memory_after: the same when it ended.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("a LeakReport is made by leak_guard(): "
                        "`with api.leak_guard(raise_on_leak=False) as report: ...`")

    @classmethod
    def _open(cls, names, limit):
        report = cls.__new__(cls)
        report._start(names, limit)
        return report

    def _start(self, names, limit):
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

    def _close(self):
        if self._snapshots is None:     # closed already
            return
        after = {name: session_uids(name) for name in self.names}
        self.after = {name: len(uids) for name, uids in after.items()}
        changes, used = [], []
        for name in self.names:
            change, named = compare(self._snapshots[name], after[name], self.limit)
            if change is not None:
                changes.append(change)
                used += named
        who = users_of(used) if used else {}   # one user_map for every type at once
        del used
        self.changes = {c.collection: with_users(c, who) if who else c for c in changes}
        self._snapshots = None
        self.growth = {name: c.net for name, c in self.changes.items() if c.net > 0}
        self.churn = {name: c.added for name, c in self.changes.items() if c.churn}
        self.rss_after = process_rss_bytes()
        self.memory_after = memory_figure()

    @property
    def leaked(self):
        """True when a watched collection grew inside the block."""
        return bool(self.growth)

    @property
    def rss_growth(self):
        """Bytes the process's RSS grew by inside the block (None when unknown)."""
        if self.rss_before is None or self.rss_after is None:
            return None
        return self.rss_after - self.rss_before

    @property
    def memory_growth(self):
        """Bytes Blender's own memory grew by inside the block.

        Returns:
            An int (negative when it shrank), or None when unknown or when a reading fell back to
            the RSS (see ``memory_before``).

        Raises:
            Nothing.
        """
        change = memory_change(self.memory_before, self.memory_after)
        return None if change is None or self.memory_before.source != BLENDER else change[0]

    def memory_text(self):
        """Blender's memory change in words.

        Returns:
            ``"Blender memory +8.4 MiB"`` (a change within the figure's resolution reads
            ``+0.0``), or '' when unknown.

        Raises:
            Nothing.
        """
        change = memory_change(self.memory_before, self.memory_after)
        if change is None or self.memory_before.source != BLENDER:
            return ""
        return f"{self.memory_before.label} {mib_text(*change, signed=True)}"

    def ordered(self):
        """The changes, most telling first.

        Returns:
            The :class:`TypeChange` values: growth first (largest first), then churn, then
            removals.

        Raises:
            Nothing.
        """
        def order(change):
            return (0 if change.net > 0 else 1 if change.churn else 2, -abs(change.net),
                    change.collection)
        return sorted(self.changes.values(), key=order)

    def lines(self, max_names=MESSAGE_NAMES):
        """What changed, in words, one line per changed collection.

        Args:
            max_names: IDs named per line (the rest are counted: ``…``).

        Returns:
            A list of lines in :meth:`ordered` order, e.g. ``+3 images (Render.001, …; all
            orphans)``.

        Raises:
            Nothing.
        """
        return [change_text(change, max_names) for change in self.ordered()]

    def summary(self, max_names=MESSAGE_NAMES):
        """Everything in one line, as ``LeakError``'s message gives it.

        Args:
            max_names: IDs named per type.

        Returns:
            ``+3 images (…); −1 mesh removed (…); Blender memory +0.4 MiB; RSS +1.2 MB``, or
            ``no datablock added or removed`` and the memory figures.

        Raises:
            Nothing.
        """
        parts = self.lines(max_names) or ["no datablock added or removed"]
        if self.memory_text():
            parts.append(self.memory_text())
        if self.rss_growth is not None:
            parts.append(f"RSS {signed(self.rss_growth / MB)} MB")
        return "; ".join(parts)

    def __repr__(self):
        return f"<LeakReport growth={self.growth!r} churn={self.churn!r}>"


class LeakError(RuntimeError):
    """Raised by :func:`leak_guard` when ID collections grew inside the guarded block.

    Attributes:
        report: the :class:`LeakReport`.
        growth: its ``{collection: net growth}``.
    """

    def __init__(self, report):
        self.report = report
        self.growth = dict(report.growth)
        super().__init__(f"bpy.data grew inside leak_guard: {report.summary()}")


@contextlib.contextmanager
def leak_guard(collections=None, *, raise_on_leak=True, limit=DEFAULT_LIMIT):
    """A context manager that records ``bpy.data`` by identity and compares on exit.

    Every ID's ``session_uid`` is recorded when the block starts, so an ID removed and another
    added under the same name count as a change.  A collection that grew is a leak: ``LeakError``
    names the added IDs, which are orphans and who uses the others, the removed ones and the
    process's memory change.  IDs replaced one for one (same size, other IDs) are reported as
    churn, not raised.  Works around any code, not only this package's::

        with api.leak_guard() as report:
            my_blenderproc_loop()

    Args:
        collections: None (every ``bpy.data`` ID collection), or the ones to watch: a collection
            name (``'meshes'``), an ID type code (``'MESH'``), or an iterable of them.
        raise_on_leak: raise ``LeakError`` on growth; False: only record it in the report.
        limit: IDs named per type (a whole number ≥ 0); the rest are counted.

    Yields:
        The :class:`LeakReport`, filled in when the block ends.

    Raises:
        LeakError: a watched collection grew and ``raise_on_leak`` is true (not raised when the
            block itself raises: that exception propagates unchanged, the report still filled in).
        ValueError: an unknown collection or type, or a bad ``limit``.
    """
    names = resolve_types(collections)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number ≥ 0, not {limit!r}")
    report = LeakReport._open(names, limit)
    failed = False
    try:
        yield report
    except BaseException:
        failed = True
        raise
    finally:
        report._close()
        if report.leaked and raise_on_leak and not failed:
            raise LeakError(report)


