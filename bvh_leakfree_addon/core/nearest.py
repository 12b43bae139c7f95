# SPDX-License-Identifier: GPL-3.0-or-later
"""``SceneBVH.find_nearest``: the nearest surface point, for the geometry the build was made from
(as ``ray_cast`` answers, whatever changed in the scene since).

Rows are visited nearest world box first, stopping when the next box is farther than the best
point so far.  A row under a similarity transform (rotation × uniform scale) is searched in its
object-space tree: the nearest point there is the nearest in the world.  Under a non-uniform
transform it is not, so such a row gets a world-space tree of its own, made on first use from the
triangles the build read (``merge.ensure_arrays`` at build time), around the row's own centre so
that float32 keeps its precision far from the world origin.
"""
import math

import numpy as np
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree

from . import merge
from .linalg import FAR
from .results import Hit

__all__ = ("find_nearest",)


def find_nearest(bvh, p, limit):
    """The ``Hit`` nearest to ``p`` (float64 (3,)) within ``limit`` in the ``SceneBVH`` ``bvh``,
    or None."""
    top = bvh._top
    if len(top) == 0:
        return None
    gap = np.maximum(np.maximum(top.wmin - p, p - top.wmax), 0.0)
    lower = np.sqrt((gap * gap).sum(axis=1))
    order = np.argsort(lower, kind="stable")
    similar = top.similar
    best = None
    best_d = limit
    for i in order:
        if lower[i] > best_d:
            break
        i = int(i)
        found = _in_row(bvh, i, p, best_d) if similar[i] else _in_world_row(bvh, i, p, best_d)
        if found is not None and found[0] <= best_d:
            best_d, best = found
    return None if best is None else best()


def _in_row(bvh, i, p, best_d):
    """``(world distance, make Hit)`` of the nearest point of row ``i`` (a similarity), or
    None."""
    inv = bvh._top.inv[i]
    scale = float(np.cbrt(abs(np.linalg.det(inv[:3, :3]))))
    lp = inv[:3, :3] @ p + inv[:3, 3]
    obj_limit = min(best_d * scale, FAR) if math.isfinite(best_d) else FAR
    loc, nor, index, dist = bvh._top.entries[i].tree.find_nearest(Vector(lp), obj_limit)
    if loc is None:
        return None
    wd = dist / scale
    return wd, (lambda: bvh._hit(i, wd, loc, nor, index))


def _in_world_row(bvh, i, p, best_d):
    """As :func:`_in_row` for a row under a non-uniform transform (its own world-space tree)."""
    tree, center, polys = _world_row_tree(bvh, i)
    if tree is None:
        return None
    loc, nor, index, dist = tree.find_nearest(Vector(p - center), min(best_d, FAR))
    if loc is None:
        return None
    top = bvh._top
    location = Vector(np.asarray(loc, dtype=np.float64) + center)
    return dist, (lambda: Hit(location, Vector(nor), bvh._object(i), top.instancers[i],
                              int(polys[index]), float(dist), Matrix(top.mat[i].tolist())))


def _world_row_tree(bvh, i):
    """``(tree or None, centre, tri → polygon)`` of row ``i``, made once per ``SceneBVH``."""
    found = bvh._row_trees.get(i)
    if found is None:
        top = bvh._top
        entry = top.entries[i]
        if entry.arrays is None:
            bvh._read_arrays([i], "find_nearest()")
        co, tris, polys = merge.world_triangles(entry, top.mat[i])
        center = 0.5 * (co.min(axis=0) + co.max(axis=0)) if len(co) else np.zeros(3)
        tree = BVHTree.FromPolygons((co - center).tolist(), tris.tolist(), all_triangles=True,
                                    epsilon=bvh._flags[2]) if len(tris) else None
        found = bvh._row_trees[i] = (tree, center, polys)
    return found
