# SPDX-License-Identifier: GPL-3.0-or-later
"""``SceneBVH.ray_cast_many``: many rays through the two-level structure at once.

The answers are those of ``SceneBVH.ray_cast`` called ray by ray, computed in bulk:

1. Candidates: every ray against every world box (the single-ray slab test, in numpy, in chunks
   small enough to stay in cache), kept per ray in order of box entry (ties by item index).
2. Rounds: round ``k`` casts every ray still running into its ``k``-th candidate, unless that box
   starts beyond the ray's best hit so far (then the ray is done), with the best distance so far
   as the limit and the same "``<=`` replaces" rule.  These are the single-ray path's casts with
   the same arguments (up to the last bit of float64 rounding before they become C floats), so the
   same answers.  Within a round the casts are grouped by tree and run as
   ``map(tree.ray_cast, …)`` over plain lists (no Python bytecode per cast); the origins and
   directions of all pairs are moved into object space at once.
3. The winners are converted to world space in numpy (location by the matrix, normal by the
   inverse transpose, triangle → polygon index, triangle normals of non-triangle polygons).

Where the time goes: the C casts (``BVHTree.ray_cast``, ~1 µs each on S1's 5,120-triangle
spheres, and a ray that misses casts into every box it crosses) are most of it; per ray, the rest
is a few hundred nanoseconds of numpy and list conversion.  With thousands of objects the
brute-force slab test (rays × boxes) dominates instead.
"""
import gc
import itertools
from operator import itemgetter

import numpy as np

from .linalg import FAR
from .results import alive

__all__ = ("cast_many", "empty_results", "boxes_along", "far_ahead", "FAR_AHEAD")

#: rays × boxes per slab-test chunk (float64 temporaries of this many elements stay in cache)
PAIR_BUDGET = 1 << 16
#: rays cast together: larger batches go in slices of this many (the per-cast result tuples and
#: candidate lists of 1M rays at once took ~1 GB; a slice keeps ~60 MB, at the same speed)
RAY_SLICE = 1 << 16
#: up to this many boxes, candidates are ordered by a per-row argsort of the dense chunk
DENSE_SORT_MAX = 64
#: rays whose row box starts more than this many box sizes ahead are moved closer first
FAR_AHEAD = 64.0

_get_loc_nor = itemgetter(0, 1)
_get_index = itemgetter(2)
_get_dist = itemgetter(3)


def boxes_along(top, o, d, limit):
    """One ray (the single-ray path): indices of the boxes it enters within ``limit``, nearest
    entry first, and every box's entry distance."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        safe = np.where(np.abs(d) < 1e-300, np.copysign(1e-300, d), d)
        inv = 1.0 / safe
        t1 = (top.wmin - top.pad - o) * inv
        t2 = (top.wmax + top.pad - o) * inv
        tnear = np.minimum(t1, t2).max(axis=1)
        tfar = np.maximum(t1, t2).min(axis=1)
    ok = (tfar >= np.maximum(tnear, 0.0)) & (tnear <= limit)
    idx = np.nonzero(ok)[0]
    if len(idx) > 1:
        idx = idx[np.argsort(tnear[idx], kind="stable")]
    return idx, tnear


def empty_results(n):
    """Arrays for ``n`` rays that all missed."""
    return {
        "hit": np.zeros(n, dtype=bool),
        "location": np.full((n, 3), np.nan),
        "normal": np.full((n, 3), np.nan),
        "distance": np.full(n, np.inf),
        "object_index": np.full(n, -1, dtype=np.int64),
        "polygon_index": np.full(n, -1, dtype=np.int64),
    }


def cast_many(top, origins, directions, limit):
    """Nearest hits of rays into the ``TopLevel`` ``top``: validated float64 (N, 3) ``origins``,
    unit ``directions`` (N, 3), one world ``limit``.  Returns the ``ray_cast_many`` dict of arrays.

    The garbage collector is paused meanwhile (restored after): the casts create hundreds of
    thousands of short-lived tuples and vectors, no cycles, and collections cost ~30 % here.
    """
    n = len(origins)
    out = empty_results(n)
    if n == 0 or len(top) == 0:
        return out
    if n > RAY_SLICE:
        for a in range(0, n, RAY_SLICE):
            part = cast_many(top, origins[a:a + RAY_SLICE], directions[a:a + RAY_SLICE], limit)
            for key, value in part.items():
                out[key][a:a + RAY_SLICE] = value
        return out
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        pair_ray, pair_item, pair_tnear = _candidates(top, origins, directions, limit)
        if len(pair_ray):
            best_t, best_item, best_res = _rounds(top, origins, directions, limit, pair_ray,
                                                  pair_item, pair_tnear)
            _fill(top, out, best_t, best_item, best_res)
    finally:
        if was_enabled:
            gc.enable()
    return out


# ------------------------------------------------------------------------------------------------
# 1. Candidates
# ------------------------------------------------------------------------------------------------

def _candidates(top, o, d, limit):
    """(ray, item, box entry distance) of every box each ray enters within ``limit``, sorted by
    ray, then entry distance, then item (the single-ray path's order)."""
    m = len(top)
    lo = (top.wmin - top.pad).T.copy()      # (3, M): per axis, contiguous
    hi = (top.wmax + top.pad).T.copy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        safe = np.where(np.abs(d) < 1e-300, np.copysign(1e-300, d), d)
        inv = 1.0 / safe
    chunk = max(1, PAIR_BUDGET // m)
    dense = m <= DENSE_SORT_MAX
    rays, items, tnears = [], [], []
    for start in range(0, len(o), chunk):
        stop = min(start + chunk, len(o))
        tnear, ok = _slab_chunk(lo, hi, o[start:stop], inv[start:stop], limit)
        r, i, t = _dense_sorted(tnear, ok) if dense else _pairs(tnear, ok)
        if len(r):
            rays.append(r + start)
            items.append(i)
            tnears.append(t)
    if not rays:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    ray = np.concatenate(rays)
    item = np.concatenate(items)
    tnear = np.concatenate(tnears)
    if dense:
        return ray, item, tnear
    order = np.lexsort((item, tnear, ray))
    return ray[order], item[order], tnear[order]


def _slab_chunk(lo, hi, o, inv, limit):
    """Slab test of a chunk of rays against all boxes (the single-ray formula, per axis):
    (entry distances (C, M), which boxes are entered within ``limit``)."""
    tnear = tfar = None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for ax in range(3):
            oa = o[:, ax, None]
            ia = inv[:, ax, None]
            t1 = lo[ax] - oa
            t1 *= ia
            t2 = hi[ax] - oa
            t2 *= ia
            near = np.minimum(t1, t2)
            np.maximum(t1, t2, out=t1)
            if tnear is None:
                tnear, tfar = near, t1
            else:
                np.maximum(tnear, near, out=tnear)
                np.minimum(tfar, t1, out=tfar)
    ok = tfar >= np.maximum(tnear, 0.0)
    ok &= tnear <= limit
    return tnear, ok


def _pairs(tnear, ok):
    r, i = np.nonzero(ok)
    return r, i, tnear[r, i]


def _dense_sorted(tnear, ok):
    """Candidate pairs already in (ray, entry distance, item) order: a stable argsort per row."""
    count = ok.sum(axis=1)
    if not count.any():
        return _pairs(tnear, ok)
    masked = np.where(ok, tnear, np.inf)
    order = np.argsort(masked, axis=1, kind="stable")
    keep = np.arange(tnear.shape[1]) < count[:, None]
    items = order[keep]
    rays = np.repeat(np.arange(len(count)), count)
    return rays, items, masked[rays, items]


# ------------------------------------------------------------------------------------------------
# 2. Rounds of casts
# ------------------------------------------------------------------------------------------------

def _tree_groups(entries):
    """(tree index of each item, bound ``ray_cast`` of each distinct tree)."""
    index = {}
    casts = []
    of_item = np.empty(len(entries), dtype=np.int64)
    for i, entry in enumerate(entries):
        k = index.get(id(entry))
        if k is None:
            k = index[id(entry)] = len(casts)
            casts.append(entry.tree.ray_cast)
        of_item[i] = k
    return of_item, casts


def _rounds(top, o, d, limit, pair_ray, pair_item, pair_tnear):
    """Cast candidates in entry order, round by round.  Returns (best world distance, best item
    (-1: miss), the list of every cast's result and each ray's position of its best in it)."""
    n = len(o)
    tree_of_item, casts = _tree_groups(top.entries)
    inv3 = np.ascontiguousarray(top.inv[:, :3, :3])
    inv_t = np.ascontiguousarray(top.inv[:, :3, 3])
    sizes = top.box_sizes
    counts = np.bincount(pair_ray, minlength=n)
    first = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    best_t = np.full(n, float(limit))
    best_item = np.full(n, -1, dtype=np.int64)
    best_pos = np.full(n, -1, dtype=np.int64)
    results = []
    active = np.nonzero(counts)[0]
    k = 0
    while len(active):
        p = first[active] + k
        go = pair_tnear[p] <= best_t[active]  # else: the box starts beyond the best hit: done
        if not go.all():
            active = active[go]
            p = p[go]
            if not len(active):
                break
        items = pair_item[p]
        ahead = far_ahead(pair_tnear[p], sizes[items])
        world, pos = _cast_pairs(o[active], d[active], best_t[active], items, inv3, inv_t,
                                 tree_of_item[items], casts, results, ahead)
        better = world <= best_t[active]      # NaN (no hit) compares False
        if better.any():
            rays = active[better]
            best_t[rays] = world[better]
            best_item[rays] = items[better]
            best_pos[rays] = pos[better]
        k += 1
        active = active[counts[active] > k]
    hit = best_item >= 0
    picked = list(map(results.__getitem__, best_pos[hit].tolist()))
    return best_t, best_item, picked


def far_ahead(tnear, size):
    """How far to move rays along before casting into a row: a ray whose row box starts more
    than :data:`FAR_AHEAD` box sizes ahead starts one box size before it instead (in float64),
    so that the C cast's float32 origin is as precise as the geometry; 0 for the others."""
    with np.errstate(invalid="ignore"):
        return np.where(tnear > FAR_AHEAD * size, tnear - size, 0.0)


def _cast_pairs(o, d, bound, items, inv3, inv_t, trees, casts, results, ahead=None):
    """Cast each (ray, item) pair in the item's object space with the world limit ``bound``,
    starting ``ahead`` (world units, per pair: ``far_ahead``) along the ray; append the tree's
    result tuples to ``results``.

    Returns (world distance, NaN on a miss; position of each pair's result in ``results``).
    """
    if ahead is not None and ahead.any():
        o = o + d * ahead[:, None]
        bound = bound - ahead
    else:
        ahead = None
    m = inv3[items]
    lo = np.einsum("pij,pj->pi", m, o)
    lo += inv_t[items]
    ld = np.einsum("pij,pj->pi", m, d)
    scale = np.sqrt(np.einsum("pi,pi->p", ld, ld))
    ld /= scale[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        obj_limit = np.where(np.isfinite(bound), bound * scale, FAR)
    np.minimum(obj_limit, FAR, out=obj_limit)
    order = np.argsort(trees, kind="stable")
    sorted_trees = trees[order]
    cuts = (np.flatnonzero(sorted_trees[1:] != sorted_trees[:-1]) + 1).tolist()
    lo_l = lo[order].tolist()
    ld_l = ld[order].tolist()
    lim_l = obj_limit[order].tolist()
    base = len(results)
    part = []
    start = 0
    for stop in itertools.chain(cuts, (len(order),)):
        part += map(casts[sorted_trees[start]], lo_l[start:stop], ld_l[start:stop],
                    lim_l[start:stop])
        start = stop
    results += part
    dist = np.array(list(map(_get_dist, part)), dtype=np.float64)   # None → NaN
    world = np.empty(len(order))
    world[order] = dist / scale[order]
    if ahead is not None:
        world += ahead
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(base, base + len(order))
    return world, pos


# ------------------------------------------------------------------------------------------------
# 3. Winners to world space
# ------------------------------------------------------------------------------------------------

def _fill(top, out, best_t, best_item, res):
    rays = np.nonzero(best_item >= 0)[0]
    h = len(rays)
    if not h:
        return
    items = best_item[rays]
    flat = np.fromiter(itertools.chain.from_iterable(
        itertools.chain.from_iterable(map(_get_loc_nor, res))), dtype=np.float64, count=6 * h)
    flat = flat.reshape(h, 2, 3)
    loc = flat[:, 0]
    nor = flat[:, 1].copy()
    index = np.fromiter(map(_get_index, res), dtype=np.int64, count=h)
    polygon = index.copy()
    special = [k for k in np.unique(items).tolist()
               if top.entries[k].tri_poly is not None or top.entries[k].has_ngons]
    for k in special:
        entry = top.entries[k]
        rows = np.nonzero(items == k)[0]
        if entry.tri_poly is not None:
            polygon[rows] = entry.tri_poly[index[rows]]
        if entry.has_ngons:
            _triangle_normals(entry, rows, index, polygon, res, nor)
    object_index = top.obj_index[items]
    for j in np.unique(object_index).tolist():
        alive(top.objects[j], top.uids[j])
    mat = top.mat[items]
    inv = top.inv[items]
    world_loc = np.einsum("pij,pj->pi", mat[:, :3, :3], loc) + mat[:, :3, 3]
    world_nor = np.einsum("pji,pj->pi", inv[:, :3, :3], nor)
    length = np.sqrt(np.einsum("pi,pi->p", world_nor, world_nor))
    np.divide(world_nor, length[:, None], out=world_nor, where=length[:, None] > 0.0)
    out["hit"][rays] = True
    out["location"][rays] = world_loc
    out["normal"][rays] = world_nor
    out["distance"][rays] = best_t[rays]
    out["object_index"][rays] = object_index
    out["polygon_index"][rays] = polygon


def _triangle_normals(entry, rows, index, polygon, res, nor):
    """Normals of the triangle hit, for meshes with non-triangle polygons (as ``_hit`` does)."""
    for r in rows.tolist():
        nor[r] = entry.hit_normal(int(index[r]), int(polygon[r]), res[r][0], nor[r])
