# SPDX-License-Identifier: GPL-3.0-or-later
"""``SceneBVH.visibility``: for every object of a build, how many of a camera's pixel rays see it
first and how many cross it at any depth.

* ``visible``: the rays whose nearest hit is on the object (one ``ray_cast_many`` of every pixel
  ray: Embree where installed, else the object-space trees).
* ``projected``: the rays that cross the object anywhere, in front of or behind other objects.
  Each row of the build (an object, or an instance of one) is tested only against the rays of the
  pixels its world box can cover (:meth:`camera.CameraRays.window`), each against that row's
  triangles alone: an Embree scene of the row's world triangles (kept with the build, like the
  merged Embree scene), or the row's object-space tree.  Rays of several instances of one object
  count once; a ray that sees the object first always counts as crossing it.
* ``fraction``: ``visible / projected`` (0.0 when not projected): how much of the object the
  image shows, 1.0 when nothing hides any of it.
"""
import math
import weakref
from collections import namedtuple

import numpy as np

from . import backends, embree_soup, merge, validate

__all__ = ("Visibility", "visibility", "first_objects")

#: what :func:`visibility` gives per object
Visibility = namedtuple("Visibility", ("visible", "projected", "fraction"))
Visibility.__doc__ = """How an object shows in a camera's image.

Attributes:
    visible: pixels whose ray hits it first.
    projected: pixels whose ray crosses it at any depth.
    fraction: visible / projected (0.0 when not projected).
"""

_row_scenes = weakref.WeakKeyDictionary()    # TopLevel -> {row: embree_soup.SoupScene}


def visibility(bvh, cam, backend):
    """``{object: Visibility}`` for every object of the ``SceneBVH`` ``bvh``, given the camera's
    rays ``cam`` (``camera.CameraRays``) and a ``backend`` name (checked here)."""
    backend = backends.check(backend)
    top = bvh._top
    n_obj = len(top.objects)
    h, w = cam.shape
    o = cam.origins.reshape(h * w, 3)
    d = validate.unit_rows(cam.directions.reshape(h * w, 3))
    first, use_embree = first_objects(bvh, o, d, backend)
    seen = first >= 0
    visible = np.bincount(first[seen], minlength=n_obj) if seen.any() else np.zeros(n_obj, int)
    crossing = [[] for _ in range(n_obj)]
    for j in np.unique(first[seen]).tolist():
        crossing[j].append(np.nonzero(first == j)[0])
    if len(top):
        arrays = _row_arrays(bvh) if use_embree else None
        for row in range(len(top)):
            rays = _candidates(cam, top, row, h, w)
            if len(rays):
                hits = _row_hits(top, row, cam, rays, arrays)
                crossing[int(top.obj_index[row])].append(hits)
    out = {}
    for j, obj in enumerate(top.objects):
        projected = len(np.unique(np.concatenate(crossing[j]))) if crossing[j] else 0
        shown = int(visible[j])
        out[obj] = Visibility(shown, projected, shown / projected if projected else 0.0)
    return out


def first_objects(bvh, origins, directions, backend="auto"):
    """``(object index (into bvh.objects) each ray hits first, -1 on a miss; whether Embree
    answered)`` for float64 ``origins`` and unit ``directions`` (N, 3), no limit: only the
    primitive is asked of Embree, faster than ``ray_cast_many``'s full record."""
    top = bvh._top
    use_embree = top.float32_frame.reason is None and (backend == "embree" or (
        backend == "auto" and backends.embree_pays(top, len(origins))))
    scene = bvh._embree_scene(required=backend == "embree", what="visibility()") \
        if use_embree and len(top) else None
    if scene is not None:
        return embree_soup.first_objects(scene, origins, directions), True
    return bvh._cast_many(origins, directions, math.inf, "mathutils")["object_index"], False


def _candidates(cam, top, row, h, w):
    """Flat indices of the rays that may meet row ``row``'s world box."""
    lo = top.wmin[row] - top.pad
    hi = top.wmax[row] + top.pad
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])])
    window = cam.window(corners)
    if window is None:
        return np.arange(h * w)
    rows, cols = window
    grid = np.arange(h * w).reshape(h, w)[rows, cols]
    return grid.reshape(-1)


def _row_arrays(bvh):
    """``(world vertices, triangles, first triangle of each row, first vertex of each row)`` of
    the ``SceneBVH`` ``bvh``, read once (``merge.merged_arrays``); None when they can no longer
    be read (the geometry changed since the build, or the depsgraph it needs went away: the
    trees answer instead)."""
    top = bvh._top
    try:
        co, tris, _polys, starts = bvh._merged_arrays("visibility()")
    except (merge.GeometryChanged, ReferenceError):
        return None
    vstarts = np.zeros(len(top) + 1, dtype=np.int64)
    np.cumsum([len(entry.arrays[0]) for entry in top.entries], out=vstarts[1:])
    return co, tris, np.append(starts, len(tris)), vstarts


def _row_hits(top, row, cam, rays, arrays):
    """The rays of ``rays`` (flat indices) that cross row ``row``'s geometry at any depth."""
    o = cam.origins.reshape(-1, 3)[rays]
    d = cam.directions.reshape(-1, 3)[rays]
    if arrays is not None:
        scene = _row_scene(top, row, arrays)
        dist = embree_soup.soup_distances(scene, o, d)
        return rays[np.isfinite(dist)]
    inv = top.inv[row]
    lo = o @ inv[:3, :3].T + inv[:3, 3]
    ld = d @ inv[:3, :3].T
    ld /= np.linalg.norm(ld, axis=1)[:, None]
    found = [r[0] is not None for r in map(top.entries[row].tree.ray_cast, lo.tolist(),
                                           ld.tolist())]
    return rays[np.asarray(found, dtype=bool)]


def _row_scene(top, row, arrays):
    """The Embree scene of row ``row``'s world triangles (built once per build and row)."""
    scenes = _row_scenes.get(top)
    if scenes is None:
        scenes = _row_scenes[top] = {}
    scene = scenes.get(row)
    if scene is None:
        co, tris, tstarts, vstarts = arrays
        v0, v1 = int(vstarts[row]), int(vstarts[row + 1])
        scene = scenes[row] = embree_soup.soup_scene(
            co[v0:v1], tris[int(tstarts[row]):int(tstarts[row + 1])] - v0)
    return scene
