# SPDX-License-Identifier: GPL-3.0-or-later
"""The pages of the Datablocks panel's lists: what is new in one collection since the baseline
(a ``core.identity.Snapshot``), newest first, :data:`PAGE_SIZE` rows at a time, as plain facts
(no ID reference)."""
from typing import NamedTuple

import numpy as np

from ..core.identity import absent, id_info, ids_at, session_uids

__all__ = ("PAGE_SIZE", "NewSince", "new_since", "page_count")

PAGE_SIZE = 8                # rows per page of a list


def page_count(new):
    """Pages a list of ``new`` rows has (one, empty, when there is nothing new)."""
    return max(1, -(-new // PAGE_SIZE))


class NewSince(NamedTuple):
    """What is new in one collection since a baseline snapshot (see :func:`new_since`)."""

    collection: str
    new: int                    #: IDs there now that the baseline did not have
    removed: int                #: baseline IDs that are gone
    removed_names: tuple        #: the first few of them
    start: int                  #: index of ``rows[0]`` among the new IDs (newest first)
    rows: tuple                 #: ``IdInfo`` of the new IDs ``start`` … ``start + count``


def new_since(baseline, start=0, count=PAGE_SIZE, removed_names=3, uids=None):
    """The IDs of ``baseline.collection`` that are new since ``baseline``, newest first: how many,
    and the facts of ``count`` of them from ``start`` on (a page of the panel's list); and how
    many baseline IDs are gone.  Cost: one ``session_uid`` read (C; ``uids``: the caller's, just
    read) and a pass over the collection up to the last ID shown."""
    name = baseline.collection
    uids = session_uids(name) if uids is None else uids
    new = np.flatnonzero(absent(uids, baseline.uids))
    gone = np.flatnonzero(absent(baseline.uids, uids))
    newest = new[np.argsort(-uids[new], kind="stable")]
    start = max(0, min(int(start), (len(newest) - 1) // max(1, count) * count))
    ids = ids_at(name, newest[start:start + count])
    rows = tuple(id_info(name, id_) for id_ in ids if id_ is not None)
    names = ()
    if baseline.names is not None:
        names = tuple(baseline.names[i] for i in gone[:removed_names])
    return NewSince(name, len(new), len(gone), names, start, rows)
