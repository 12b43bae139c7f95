# SPDX-License-Identifier: GPL-3.0-or-later
"""The top level of a ``SceneBVH``: one row per contributing object or instance, as immutable
arrays.

:class:`TopLevel` is what the queries (``SceneBVH``, ``rays``, ``merge``) read: the row's
object-space tree, its world matrix and inverse, its object-space and world-space boxes.  It never
changes once made, so a build that changed nothing can hand the very same one to the next
``SceneBVH`` and two ``SceneBVH`` objects can share it.
"""
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import geometry, linalg

__all__ = ("Items", "TopLevel", "make_top_level")


class Items:
    """The top level being gathered: parallel lists, one row per object or instance."""

    __slots__ = ("objs", "instancers", "entries", "matrices", "keys", "any_instances", "src",
                 "batch", "boxes", "uids")

    def __init__(self):
        self.objs = []
        self.instancers = []
        self.entries = []
        self.matrices = []   # geometry.matrix_row() of the rows not in ``batch``
        self.keys = []       # as_pointer() of each row's object
        self.src = []        # input index of each object row (the rows before any instance)
        self.batch = None    # float64 (len(src), 4, 4) world matrices of the object rows, or None
        self.boxes = None    # (bmin, bmax) (N, 3) of every row when read in one go, or None
        self.uids = None     # int64 (len(src),) session_uid of the object rows' objects, or None
        self.any_instances = False

    def matrix_array(self):
        """float64 (N, 4, 4) world matrices of every row; ``ValueError`` naming the first
        non-finite one."""
        rest = geometry.read_matrices(self.matrices, self.describe, first=len(self.src)) \
            if self.batch is not None else geometry.read_matrices(self.matrices, self.describe)
        if self.batch is None:
            return rest
        geometry.check_finite(self.batch, self.describe)
        return self.batch if not len(rest) else np.concatenate([self.batch, rest])

    def add(self, obj, instancer, entry, matrix, key):
        """One row; ``matrix`` as made by ``geometry.matrix_row`` (a copy, or bytes)."""
        self.objs.append(obj)
        self.instancers.append(instancer)
        self.entries.append(entry)
        self.matrices.append(matrix)
        self.keys.append(key)

    def describe(self, i):
        if self.instancers[i] is not None:
            return f"an instance of {self.instancers[i].name!r}"
        return f"object {self.objs[i].name!r}"


@dataclass(frozen=True, eq=False)
class TopLevel:
    """Rows of the top level (arrays are read-only)."""

    entries: tuple         #: ``GeomEntry`` (object-space tree) of each row
    instancers: tuple      #: the selected instancer of each row, None for an object's own geometry
    objects: tuple         #: the distinct original objects, in input order
    obj_index: np.ndarray  #: (N,) row → index into ``objects``
    mat: np.ndarray        #: (N, 4, 4) world matrices
    inv: np.ndarray        #: (N, 4, 4) their inverses (never singular: singular rows are dropped)
    bmin: np.ndarray       #: (N, 3) object-space boxes
    bmax: np.ndarray
    wmin: np.ndarray       #: (N, 3) world-space boxes
    wmax: np.ndarray
    pad: float             #: slack added to the world boxes in the slab test
    uids: tuple            #: ``session_uid`` of each of ``objects`` (None: not known)

    def __len__(self):
        return len(self.entries)

    @cached_property
    def box_sizes(self):
        """(N,) the largest side of each row's world box."""
        return (self.wmax - self.wmin).max(axis=1) if len(self.wmin) else np.zeros(0)

    @cached_property
    def float32_frame(self):
        """Where a float32 backend works for these rows (``linalg.float32_frame``)."""
        return linalg.float32_frame(self.wmin, self.wmax)

    @cached_property
    def similar(self):
        """(N,) bool: the row's matrix is a similarity (see ``linalg.similarities``)."""
        return linalg.similarities(self.mat)


def _read_only(*arrays):
    for array in arrays:
        array.flags.writeable = False
    return arrays


def boxes_of(top):
    """What a later build needs of ``top`` to reuse its box arrays: ``(entry keys, bmin, bmax)``
    (keys, not entries: the trees themselves need not stay alive for this)."""
    return tuple(entry.key for entry in top.entries), top.bmin, top.bmax


def make_top_level(items, stats, earlier=()):
    """The :class:`TopLevel` of gathered ``items`` (:class:`Items`) and the ``as_pointer()`` keys
    of the input objects it uses (an instancer counts as used when one of its instances is).

    Rows with a singular world matrix are dropped (listed in ``stats.objects_skipped``).
    ``earlier``: :func:`boxes_of` earlier top levels, whose box arrays are reused when made for
    the same geometry in the same order (a transforms-only rebuild).
    """
    mat = items.matrix_array()
    cof, det = linalg.cofactors(mat)
    keep = ~linalg.singular(mat, det) if len(mat) else np.zeros(0, dtype=bool)
    rows = None
    if not keep.all():
        for i in np.nonzero(~keep)[0]:
            if items.instancers[i] is None:
                stats.objects_skipped.append((items.objs[i].name,
                                              "zero scale (flat world matrix)"))
        rows = np.nonzero(keep)[0].tolist()
        mat, cof, det = mat[keep], cof[keep], det[keep]

    def pick(seq):
        return seq if rows is None else [seq[i] for i in rows]

    entries = tuple(pick(items.entries))
    instancers = tuple(pick(items.instancers))
    row_uids = list(items.uids.tolist()) if items.uids is not None else [None] * len(items.src)
    row_uids += [None] * (len(items.objs) - len(row_uids))
    objects, obj_index, used, uids = _object_table(pick(items.objs), pick(items.keys),
                                                   pick(row_uids), instancers,
                                                   items.any_instances)
    n = len(entries)
    if n:
        inv = linalg.affine_inverse(mat, cof, det)
        if items.boxes is not None:
            bmin, bmax = _read_only(*(box if rows is None else box[rows] for box in items.boxes))
        else:
            bmin, bmax = _entry_boxes(entries, earlier)
    else:
        inv = np.zeros((0, 4, 4))
        bmin = bmax = np.zeros((0, 3))
    wmin, wmax = linalg.world_boxes(mat, bmin, bmax)
    pad = 1e-6 * max(1.0, float(np.abs(np.concatenate([wmin, wmax])).max(initial=0.0)))
    _read_only(obj_index, mat, inv, wmin, wmax)
    top = TopLevel(entries=entries, instancers=instancers, objects=tuple(objects),
                   obj_index=obj_index, mat=mat, inv=inv, bmin=bmin, bmax=bmax, wmin=wmin,
                   wmax=wmax, pad=pad, uids=tuple(uids))
    return top, used


def _object_table(objs, keys, row_uids, instancers, any_instances):
    """(distinct objects, row → object index, keys of the input objects used, ``session_uid``
    of each distinct object).  ``row_uids``: each row's object's uid where already read."""
    n = len(objs)
    if not any_instances:
        # one row per object (the input list is de-duplicated): no mapping to work out
        return list(objs), np.arange(n, dtype=np.int64), set(keys), row_uids
    objects = []
    uids = []
    index = {}
    used = set()
    obj_index = np.empty(n, dtype=np.int64)
    for i, obj in enumerate(objs):
        key = keys[i]
        j = index.get(key)
        if j is None:
            j = index[key] = len(objects)
            objects.append(obj)
            uids.append(row_uids[i] if row_uids[i] is not None else obj.session_uid)
        obj_index[i] = j
        inst = instancers[i]
        used.add(key if inst is None else inst.as_pointer())
    return objects, obj_index, used, uids


def _entry_boxes(entries, earlier):
    """``(bmin, bmax)`` (N, 3) of the entries' object-space boxes.  The arrays of an earlier top
    level are reused when made for the same geometry (the same cache keys) in the same order: a
    key names one piece of geometry, whose box never changes."""
    keys = None
    for earlier_keys, bmin, bmax in earlier:
        if len(earlier_keys) == len(entries):
            keys = keys or tuple(entry.key for entry in entries)
            if earlier_keys == keys:
                return bmin, bmax
    bmin = np.array([e.bmin for e in entries], dtype=np.float64)
    bmax = np.array([e.bmax for e in entries], dtype=np.float64)
    return _read_only(bmin, bmax)
