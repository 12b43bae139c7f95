# SPDX-License-Identifier: GPL-3.0-or-later
"""The queries of a ``SceneBVH`` (``bvh``): one ray (``ray_cast``), many (``ray_cast_many``, to a
backend: ``rays`` or ``embree``), a camera's rays (``cast_camera``, ``visibility``), the nearest
point (``nearest``) and the merged world-space tree (``tree``).  They read the build's immutable
top level; what they need of Blender (the depsgraph, to read triangles the build did not keep or
to evaluate a camera) they take from ``SceneBVH._depsgraph``, which proves it alive first."""
import math

import numpy as np
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree

from . import backends, embree, merge, nearest, rays, validate
from .camera import camera_rays
from .linalg import FAR
from .results import Hit, RayResults, alive
from .visibility import visibility

__all__ = ("Queries",)


class Queries:
    """The query methods of ``SceneBVH`` (a mixin: the state is ``SceneBVH``'s)."""

    def ray_cast(self, origin, direction, distance=math.inf):
        """The nearest hit along one ray, as ``Scene.ray_cast`` finds it.

        Args:
            origin: the ray's start, 3 numbers in world space.
            direction: 3 numbers, any non-zero length (normalised here).
            distance: the longest distance to look (world units, > 0; default no limit).

        Returns:
            A :class:`Hit` (``location, normal, index, distance = hit`` unpacks like
            ``BVHTree.ray_cast``'s tuple; ``index`` is the polygon index in the hit object's
            evaluated mesh), or None on a miss.

        Raises:
            ValueError: a non-finite or malformed vector, a zero-length direction, or a distance
                that is not a finite number > 0 (``inf`` is allowed).
            ReferenceError: the object hit was deleted after the build (call :meth:`update`).
        """
        o = validate.vector3(origin, "origin")
        d = validate.direction(direction)
        limit = validate.max_distance(distance)
        found = self._cast(o, d, limit)
        if found is None:
            return None
        return self._hit(*found)

    def _cast(self, o, d, limit):
        idx, tnear = rays.boxes_along(self._top, o, d, limit)
        best = None
        best_t = limit
        sizes = self._top.box_sizes
        for i in idx:
            if tnear[i] > best_t:
                break
            res = self._cast_one(int(i), o, d, best_t, float(rays.far_ahead(tnear[i], sizes[i])))
            if res is not None and res[1] <= best_t:
                best_t = res[1]
                best = res
        return best

    def _cast_one(self, i, o, d, limit, ahead=0.0):
        """Cast into row ``i``'s object space, starting ``ahead`` along the ray (see
        ``rays.far_ahead``): (i, world distance, object-space hit) or None."""
        if ahead:
            o = o + d * ahead
            limit = limit - ahead
        inv = self._top.inv[i]
        lo = inv[:3, :3] @ o + inv[:3, 3]
        ld = inv[:3, :3] @ d
        scale = float(np.linalg.norm(ld))
        if scale == 0.0:
            return None
        obj_limit = min(limit * scale, FAR) if math.isfinite(limit) else FAR
        loc, nor, index, dist = self._top.entries[i].tree.ray_cast(Vector(lo), Vector(ld / scale),
                                                                   obj_limit)
        if loc is None:
            return None
        return (i, dist / scale + ahead, loc, nor, index)

    def _hit(self, i, world_dist, loc, nor, index):
        top = self._top
        entry = top.entries[i]
        mat = top.mat[i]
        polygon = int(entry.tri_poly[index]) if entry.tri_poly is not None else int(index)
        n_obj = entry.hit_normal(index, polygon, loc, nor)
        n_world = top.inv[i][:3, :3].T @ n_obj
        length = float(np.linalg.norm(n_world))
        if length > 0.0:
            n_world /= length
        location = mat[:3, :3] @ np.asarray(loc, dtype=np.float64) + mat[:3, 3]
        return Hit(Vector(location), Vector(n_world), self._object(i), top.instancers[i],
                   polygon, float(world_dist), Matrix(mat.tolist()))

    def _object(self, i):
        j = self._top.obj_index[i]
        return alive(self._top.objects[j], self._top.uids[j])

    def ray_cast_many(self, origins, directions, distance=math.inf, *, backend="auto"):
        """Cast many rays at once: the batched form of :meth:`ray_cast`.

        Args:
            origins: (N, 3) array-like, or one (3,) origin shared by every direction.
            directions: (N, 3) array-like, or one (3,) direction shared by every origin.
            distance: the longest distance to look, for every ray (as in :meth:`ray_cast`).
            backend: ``"mathutils"`` (the object-space trees: :meth:`ray_cast`'s answers),
                ``"embree"`` (Intel Embree, when ``embreex`` is installed: float32, many times
                faster; coordinates are taken relative to the scene's centre so float32 keeps its
                precision, and scenes it cannot represent fall back to mathutils), or ``"auto"``:
                Embree when available and the batch pays for building its scene (or one exists).
                ``api.ray_backends()`` lists what is available.

        Returns:
            A :class:`RayResults` (a dict of numpy arrays, also readable as attributes): ``hit``
            (bool, N), ``location`` and ``normal`` (N, 3), ``distance`` (N), ``object_index``
            (index into :attr:`objects`, -1 on a miss) and ``polygon_index`` (-1 on a miss); its
            ``backend`` attribute names the backend that cast them (a scene Embree's float32
            cannot hold is cast by mathutils whatever was asked: ``stats.embree_fallback``).

        Raises:
            ValueError: bad shapes, NaN or infinity, a zero-length direction, a bad distance or
                backend name.
            RuntimeError: ``backend="embree"`` where Embree is not installed, or after the geometry
                changed (call :meth:`update`; the message names the call).
            ReferenceError: ``backend="embree"`` needs triangles the build did not keep and the
                depsgraph's scene or view layer was removed.
        """
        name = backends.check(backend)
        o, d = validate.ray_arrays(origins, directions)
        limit = validate.max_distance(distance)
        return self._cast_many(o, d, limit, name)

    def _cast_many(self, o, d, limit, backend, what="ray_cast_many"):
        """:class:`RayResults` of validated rays, ``backend`` a checked name; its ``backend``
        attribute: the backend that cast them."""
        top = self._top
        if len(o) and len(top) and top.float32_frame.reason is None and (
                backend == "embree" or (
                    backend == "auto" and backends.embree_pays(top, len(o)))):
            scene = self._embree_scene(required=backend == "embree",
                                       what=f"{what}(backend={backend!r})")
            if scene is not None:
                return RayResults(embree.cast(scene, top, o, d, limit), backend="embree")
        return RayResults(rays.cast_many(top, o, d, limit), backend="mathutils")

    def _embree_scene(self, required, what):
        """The Embree scene of this build (built now when needed), or None when the geometry it
        needs can no longer be read (``required``: the error instead, naming ``what``)."""
        try:
            return embree.scene_for(self._top, lambda: self._merged_arrays(what))
        except (merge.GeometryChanged, ReferenceError):
            if required:
                raise
            return None

    def _merged_arrays(self, what):
        """``merge.merged_arrays`` of this build.  The depsgraph is needed (and proven alive)
        only when some triangles must be read again."""
        top = self._top
        depsgraph = None
        if any(entry.arrays is None for entry in top.entries):
            depsgraph = self._depsgraph(what)
        return merge.merged_arrays(top, self._input, depsgraph, what)

    def cast_camera(self, camera, resolution=None, *, distance=math.inf, backend="auto"):
        """Cast one ray per pixel of ``camera`` (the rays of ``api.camera_rays``).

        Args:
            camera: a camera object.
            resolution: ``(width, height)``, or None for the render resolution × percentage.
            distance: as in :meth:`ray_cast_many`.
            backend: as in :meth:`ray_cast_many`.

        Returns:
            A :class:`RayResults` of :meth:`ray_cast_many`'s arrays shaped (height, width[, 3]),
            row 0 at the top of the image, plus ``depth``: the distance along the camera's view axis
            (what a depth pass holds; ``inf`` on a miss).

        Raises:
            TypeError: ``camera`` is not a camera object.
            ValueError: a bad resolution, distance or backend, or a panoramic camera.
            ReferenceError: the camera, or the depsgraph's scene, was removed.
            RuntimeError: as in :meth:`ray_cast_many`.
        """
        name = backends.check(backend)
        limit = validate.max_distance(distance)
        cam = camera_rays(camera, resolution, self._depsgraph("cast_camera()"))
        h, w = cam.shape
        d = validate.unit_rows(cam.directions.reshape(h * w, 3))   # as ray_cast_many does
        res = self._cast_many(cam.origins.reshape(h * w, 3), d, limit, name, "cast_camera")
        depth = np.full(h * w, np.inf)
        hit = res["hit"]
        depth[hit] = res["distance"][hit] * (d[hit] @ cam.axis)
        out = RayResults({key: value.reshape((h, w) + value.shape[1:])
                          for key, value in res.items()}, backend=res.backend)
        out["depth"] = depth.reshape(h, w)
        return out

    def visibility(self, camera, resolution=None, *, backend="auto"):
        """How each object of the build shows in ``camera``'s image (``core.visibility``).
        Args:
            camera: a camera object; its pixel rays are ``api.camera_rays``'.
            resolution: ``(width, height)``, or None for the render's.
            backend: as :meth:`ray_cast_many`'s.
        Returns:
            dict: ``{object: Visibility(visible, projected, fraction)}``.
        Raises:
            TypeError, ValueError, ReferenceError, RuntimeError: bad camera, resolution, backend.
        """
        return visibility(self, camera_rays(camera, resolution, self._depsgraph("visibility()")),
                          backend)

    def find_nearest(self, point, distance=math.inf):
        """The nearest surface point to ``point``, as ``BVHTree.find_nearest`` finds it, for the
        geometry the build was made from (as :meth:`ray_cast` answers; ``nearest``).

        Args:
            point: 3 numbers in world space.
            distance: the farthest to look (world units, > 0; default no limit).

        Returns:
            A :class:`Hit` (``distance``: from ``point``), or None when nothing is that close.

        Raises:
            ValueError: a non-finite point or a bad distance.
            ReferenceError: the object found was deleted after the build (call :meth:`update`).
        """
        p = validate.vector3(point, "point")
        limit = validate.max_distance(distance)
        return nearest.find_nearest(self, p, limit)

    def _read_arrays(self, rows, what):
        """Read the triangles of ``rows`` again (the build could not); ``GeometryChanged``
        naming ``what`` when they changed since."""
        missing = merge.ensure_arrays(self._top, self._input, self._depsgraph(what), rows)
        if missing:
            raise merge.GeometryChanged(merge.changed_message(what, missing))

    # -- the merged world-space tree ------------------------------------------------------------
    @property
    def tree(self):
        """A ``mathutils.bvhtree.BVHTree`` in world space over every triangle (built on first use).

        Its indices are triangle indices; :meth:`source_of` maps them to (object, polygon index).
        """
        if self._tree is None:
            self._tree = self._build_merged()
        return self._tree

    def source_of(self, index):
        """Where a face index of :attr:`tree` comes from.

        :attr:`tree` numbers triangles over all objects; a :class:`Hit` and BlenderProc's drop-in
        tree give polygon indices instead.

        Args:
            index: a face index :attr:`tree` reported.

        Returns:
            ``(object, polygon_index)``: the original object and the polygon in its evaluated mesh.

        Raises:
            TypeError: ``index`` is not an integer.
            bvh_leakfree_addon.core.validate.FaceIndexError: (a ``ValueError``) not an index of
                :attr:`tree`.
            ReferenceError: the object was deleted after the build.
        """
        if self._tree is None:
            self.tree  # noqa: B018 - builds it
        i, polygon = self._tree_source_item(index)
        return self._object(i), polygon

    def _tree_source_item(self, index):
        starts, polys = self._tree_source
        index = validate.face_index(index, len(polys))
        return int(np.searchsorted(starts, index, side="right") - 1), int(polys[index])

    def _build_merged(self):
        co, tris, polys, starts = self._merged_arrays("SceneBVH.tree")
        self._tree_source = (starts, polys)
        return BVHTree.FromPolygons(co.tolist(), tris.tolist(), all_triangles=True,
                                    epsilon=self._flags[2])
