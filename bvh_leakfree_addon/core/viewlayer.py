# SPDX-License-Identifier: GPL-3.0-or-later
"""Batch reads of world matrices and bounds for many objects at once, from the view layer.

Reading ``matrix_world`` and ``bound_box`` object by object costs microseconds each (on Blender
4.x, turning a ``Matrix`` into numpy alone is ~8 µs); ``foreach_get`` over
``view_layer.objects`` reads every object's in one C loop (~0.1 µs each).

When the values are right: Blender copies each evaluated object's world matrix and bounds back to
its original object only for the *active* depsgraph, and ``Context.evaluated_depsgraph_get()``
makes the context view layer's depsgraph active and evaluates it.  So the batch is used only for
that depsgraph, right after that call (:func:`rows_for`); any other depsgraph (a render depsgraph,
another view layer's) reads object by object.  The original object's bound box is its evaluated
geometry's (``bound_box`` corner 0 is the minimum, corner 6 the maximum).

Rows are found by ``ID.session_uid`` (unique for the session, never reused).  The cost grows with
the view layer rather than with the object list, so the batch is skipped when the view layer holds
many more objects than are being read (:data:`MAX_EXTRA`).
"""
import bpy

import numpy as np

__all__ = ("Rows", "rows_for", "object_uids", "MAX_EXTRA")

#: batch only when the view layer has at most this many objects per object read (plus a constant)
MAX_EXTRA = 4


class Rows:
    """Where given objects sit in ``view_layer.objects``: ``found`` (bool per object) and their
    ``index`` there (meaningless where not found)."""

    __slots__ = ("collection", "size", "index", "found", "all_found")

    def __init__(self, collection, uids):
        size = len(collection)
        have = np.empty(size, dtype=np.int64)
        collection.foreach_get("session_uid", have)
        order = np.argsort(have, kind="stable")
        pos = np.minimum(np.searchsorted(have, uids, sorter=order), max(size - 1, 0))
        index = order[pos] if size else np.zeros(len(uids), dtype=np.int64)
        self.collection = collection
        self.size = size
        self.index = index
        self.found = (have[index] == uids) if size else np.zeros(len(uids), dtype=bool)
        self.all_found = bool(self.found.all())

    def matrices(self, which=None):
        """float64 (N, 4, 4) world matrices of the objects (``which``: a subset of them)."""
        buf = np.empty(self.size * 16, dtype=np.float32)
        self.collection.foreach_get("matrix_world", buf)
        index = self.index if which is None else self.index[which]
        # foreach_get gives each matrix column by column
        return buf.reshape(self.size, 4, 4)[index].transpose(0, 2, 1).astype(np.float64)

    def bounds(self, which=None):
        """float64 ``(min (N, 3), max (N, 3))`` of the objects' evaluated geometry (object
        space)."""
        buf = np.empty(self.size * 24, dtype=np.float32)
        self.collection.foreach_get("bound_box", buf)
        index = self.index if which is None else self.index[which]
        corners = buf.reshape(self.size, 8, 3)[index]
        return corners[:, 0].astype(np.float64), corners[:, 6].astype(np.float64)


def object_uids(objects):
    """int64 array of the objects' ``session_uid``."""
    return np.fromiter((obj.session_uid for obj in objects), dtype=np.int64, count=len(objects))


def rows_for(depsgraph, uids):
    """:class:`Rows` of ``uids`` in the context view layer when its values are those of
    ``depsgraph`` (the context's own, evaluated and active: see the module), else None.

    Call it before reading any evaluated data of this build: it evaluates the depsgraph (nothing
    to do when it is up to date), which would replace evaluated data read before."""
    context = bpy.context
    view_layer = getattr(context, "view_layer", None)
    if view_layer is None or len(uids) == 0:
        return None
    own = view_layer.depsgraph
    if own is None or own.as_pointer() != depsgraph.as_pointer():
        return None
    collection = view_layer.objects
    if len(collection) > MAX_EXTRA * len(uids) + 256:
        return None
    context.evaluated_depsgraph_get()     # evaluated (nothing to do when up to date) and active
    return Rows(collection, uids)
