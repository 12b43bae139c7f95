# SPDX-License-Identifier: GPL-3.0-or-later
"""The triangles of a build in world space: the merged soup behind ``SceneBVH.tree`` and the Embree
backend (built only when asked for), and a row's own world-space triangles (``find_nearest`` under
non-uniform scale).

Trees built by ``BVHTree.FromObject`` keep no triangle arrays (that is what makes cold builds
fast).  When they are wanted, their arrays are read again from the evaluated meshes, found by their
cache key (address and geometry stamp: a mesh re-evaluated since the build is never mistaken for
the one the tree was built from: the caller gets a clear error and should call ``update()``).
Objects deleted since the build are skipped (their triangles, if not read before, count as
changed).
"""
import numpy as np

from . import cache, instances, watch
from .geometry import mesh_arrays

__all__ = ("merged_arrays", "ensure_arrays", "world_triangles", "GeometryChanged",
           "changed_message")


class GeometryChanged(RuntimeError):
    """A mesh a build used was re-evaluated since, and its triangles were never read."""


def changed_message(what, missing=()):
    """The one-line message of :class:`GeometryChanged` for the call ``what`` (``missing``: the
    entries whose triangles could not be read)."""
    if any(entry.source is not None and not _alive(entry.source) for entry in missing):
        return (f"{what}: objects this SceneBVH was built from were deleted since (or another "
                f"file was loaded) and their triangles were not read then: call update() first")
    return (f"{what}: the geometry changed since this SceneBVH was built and its triangles were "
            f"not read then: call update() first")


def world_triangles(entry, mat):
    """``(world co (V, 3) float64, tris (T, 3), tri → polygon (T,))`` of ``entry`` (arrays read)
    under the world matrix ``mat``; a mirror's winding is reversed so that the normals face the
    way ``Scene.ray_cast`` (and ``SceneBVH.ray_cast``) report them."""
    co, tris, tri_poly = entry.arrays
    world = co.astype(np.float64) @ mat[:3, :3].T + mat[:3, 3]
    tris = tris.astype(np.int64)
    if np.linalg.det(mat[:3, :3]) < 0.0:
        tris = tris[:, ::-1]
    return world, tris, tri_poly


def merged_arrays(top, objects, depsgraph, what="SceneBVH.tree"):
    """(world co (V, 3) float64, tris (T, 3), tri → polygon (T,), first triangle of each row) of
    the ``TopLevel`` ``top``, built from the input ``objects`` with ``depsgraph`` (only needed,
    and only read, when some entry keeps no arrays).  ``GeometryChanged`` naming ``what`` when some
    triangles can no longer be read."""
    missing = ensure_arrays(top, objects, depsgraph)
    if missing:
        raise GeometryChanged(changed_message(what, missing))
    cos, triss, polys, starts = [], [], [], []
    v_off = 0
    t_off = 0
    for i, entry in enumerate(top.entries):
        co, tris, tri_poly = world_triangles(entry, top.mat[i])
        cos.append(co)
        triss.append(tris + v_off)
        polys.append(tri_poly)
        starts.append(t_off)
        v_off += len(co)
        t_off += len(tris)
    if not cos:
        return (np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64))
    return (np.concatenate(cos), np.concatenate(triss), np.concatenate(polys),
            np.asarray(starts, dtype=np.int64))


def ensure_arrays(top, objects, depsgraph, rows=None):
    """Read the triangle arrays of the entries of ``rows`` of ``top`` (all rows when None) that
    keep none, from the evaluated meshes of ``depsgraph``.  Returns the entries that could not
    be read (their mesh was re-evaluated, or its object deleted)."""
    entries = top.entries if rows is None else [top.entries[int(i)] for i in rows]
    missing = {}
    for entry in entries:
        if entry.arrays is None:
            missing.setdefault(entry.key, {})[id(entry)] = entry
    if missing and depsgraph is not None:
        _refetch(top, objects, depsgraph, missing)
    return [entry for group in missing.values() for entry in group.values()]


def _take(data, pointer, missing):
    """Read ``data``'s triangles (the geometry of the object ``pointer``) into the missing
    entries built from it (the key and the check both match)."""
    key = cache.evaluated_key(data, pointer)
    group = missing.get(key)
    if not group:
        return
    check = cache.check_of(data)
    found = [entry for entry in group.values() if entry.check == check]
    if not found:
        return
    arrays = mesh_arrays(data)
    for entry in found:
        entry.arrays = arrays
        cache.resized(entry)
        del group[id(entry)]
    if not group:
        del missing[key]


def _alive(obj):
    try:
        obj.as_pointer()
    except ReferenceError:
        return False
    return True


def _refetch(top, objects, depsgraph, missing):
    watch.geometry_stamps()     # a watch Blender dropped since is put back: keys then all differ
    # the objects whose geometry it is first (usually one per entry), then every input object
    sources = {id(e.source): e.source for group in missing.values() for e in group.values()
               if e.source is not None}.values()
    for obj in (*sources, *objects):
        if not missing:
            return
        if not _alive(obj):
            continue
        obj_eval = obj.evaluated_get(depsgraph)
        if obj_eval.is_evaluated and obj_eval.type == 'MESH':
            _take(obj_eval.data, obj.as_pointer(), missing)
    if missing and any(inst is not None for inst in top.instancers):
        wanted = {inst.as_pointer(): inst for inst in top.instancers
                  if inst is not None and _alive(inst)}
        instances.instanced_meshes(
            depsgraph, wanted,
            lambda mesh, pointer: _take(mesh, pointer, missing) if missing else None)
