# SPDX-License-Identifier: GPL-3.0-or-later
"""The merged world-space triangle soup behind ``SceneBVH.tree`` (built only when asked for).

Trees built by ``BVHTree.FromObject`` keep no triangle arrays (that is what makes cold builds
fast).  When the merged tree is wanted, their arrays are read again from the evaluated meshes,
found by their cache key (address and geometry stamp: a mesh re-evaluated since the build is never
mistaken for the one the tree was built from: the caller gets a clear error and should call
``update()``).
"""
import numpy as np

from . import cache, watch
from .geometry import mesh_arrays

__all__ = ("merged_arrays", "GeometryChanged")


class GeometryChanged(RuntimeError):
    """A mesh a build used was re-evaluated since, and its triangles were never read."""


def merged_arrays(top, objects, depsgraph):
    """(world co (V, 3) float64, tris (T, 3), tri → polygon (T,), first triangle of each row) of
    the ``TopLevel`` ``top``, built from the input ``objects`` with ``depsgraph``."""
    missing = {e.key: e for e in top.entries if e.arrays is None}
    if missing:
        _refetch(top, objects, depsgraph, missing)
    cos, triss, polys, starts = [], [], [], []
    v_off = 0
    t_off = 0
    for i, entry in enumerate(top.entries):
        co, tris, tri_poly = entry.arrays
        mat = top.mat[i]
        cos.append(co.astype(np.float64) @ mat[:3, :3].T + mat[:3, 3])
        tris = tris.astype(np.int64) + v_off
        if np.linalg.det(mat[:3, :3]) < 0.0:
            # A mirror flips the winding; reverse it so the merged tree's normals face the way
            # Scene.ray_cast (and SceneBVH.ray_cast) report them.
            tris = tris[:, ::-1]
        triss.append(tris)
        polys.append(tri_poly)
        starts.append(t_off)
        v_off += len(co)
        t_off += len(tris)
    if not cos:
        return (np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64))
    return (np.concatenate(cos), np.concatenate(triss), np.concatenate(polys),
            np.asarray(starts, dtype=np.int64))


def _take(data, pointer, missing):
    key = cache.evaluated_key(data, pointer)
    entry = missing.get(key)
    if entry is None or entry.check != cache.check_of(data):
        return
    entry.arrays = mesh_arrays(data)
    cache.resized(entry)
    del missing[key]


def _refetch(top, objects, depsgraph, missing):
    watch.geometry_stamps()     # a watch Blender dropped since is put back: keys then all differ
    for obj in objects:
        obj_eval = obj.evaluated_get(depsgraph)
        if obj_eval.type == 'MESH':
            _take(obj_eval.data, obj.as_pointer(), missing)
        if not missing:
            return
    if any(inst is not None for inst in top.instancers):
        wanted = {inst.as_pointer() for inst in top.instancers if inst is not None}
        # Never break out of this loop: an unfinished depsgraph iterator leaks (Blender 4.2).
        for inst in depsgraph.object_instances:
            if not missing or not inst.is_instance or inst.parent is None:
                continue
            if inst.parent.original.as_pointer() not in wanted:
                continue
            src = inst.object
            if src.type == 'MESH':
                _take(src.data, src.original.as_pointer(), missing)
    if missing:
        raise GeometryChanged("the geometry changed since this SceneBVH was built; call update() "
                              "before using .tree")
