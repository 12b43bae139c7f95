# SPDX-License-Identifier: GPL-3.0-or-later
"""``build()`` and ``SceneBVH``: a two-level BVH over many objects, leak-free by construction.

Level 1: one BVH tree per distinct piece of evaluated geometry, in object space (shared by linked
duplicates and by every instance of the same object; reused across builds, see ``cache``).
Level 2: world-space bounding boxes of every contributing object or instance, in numpy
(``toplevel``).  A ray is tested against all boxes at once, then cast into each candidate object's
space, nearest box first, stopping when the next box starts beyond the best hit (the way
``Scene.ray_cast`` works).

``SceneBVH.tree`` (one world-space ``BVHTree`` over all triangles) is built on first access.
Batches of rays (``ray_cast_many``, ``cast_camera``, ``visibility``) go to a backend
(``backends``): the object-space trees (``rays``) or an Embree scene built on demand from the
same geometry (``embree``), kept with the immutable top level.
"""
import math
import time

import bpy

import numpy as np
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree

from . import backends, cache, embree, fastpath, gather, merge, rays, validate
from .camera import camera_rays
from .linalg import FAR
from .results import BuildStats, Hit, RayResults, alive
from .toplevel import boxes_of, make_top_level
from .visibility import Visibility, visibility

__all__ = ("build", "SceneBVH", "Hit", "BuildStats", "RayResults", "Visibility")


def build(objects, depsgraph=None, *, evaluated=True, instances=True, epsilon=0.0, reuse=True,
          progress=None):
    """Build a :class:`SceneBVH` over ``objects``: their evaluated geometry in world space.

    One object-space tree per distinct piece of geometry (shared by linked duplicates and
    instances, cached across builds) under a world-space top level; nothing is added to
    ``bpy.data``.  Building again over unchanged objects is nearly free (``stats.unchanged``);
    after moves only the matrices are read again (``stats.transforms_only``).

    Args:
        objects: an iterable of ``bpy.types.Object`` (meshes, curves, text, surfaces, metaballs,
            instancers, …); objects without faces (lights, cameras, empties) are skipped and
            named in ``stats.objects_skipped``.
        depsgraph: the evaluated depsgraph to read (default: the context's).  It is re-checked
            before each later use: one freed since raises ``ReferenceError``.
        evaluated: True: geometry as Blender shows it (modifiers, shape keys, geometry nodes);
            False: the original meshes.  (BlenderProc's drop-in defaults to False, as
            BlenderProc does.)
        instances: include instances (collection instances, particles, geometry-nodes and
            vertex/face instancing) of the objects.
        epsilon: ``BVHTree`` epsilon (≥ 0): how far a ray may pass beside a triangle and still
            hit it.
        reuse: use the tree cache and skip unchanged objects; False rebuilds everything.
        progress: None or ``callable(fraction)``, called with 0…1 while building.

    Returns:
        The :class:`SceneBVH`.

    Raises:
        TypeError: ``objects`` is not an iterable of objects, or ``depsgraph``/``progress`` is of
            the wrong type.
        ValueError: an object is not in the depsgraph's view layer, or a bad ``epsilon``.
        ReferenceError: an object (or the depsgraph) was deleted.
    """
    validate.progress(progress)
    bvh = SceneBVH.__new__(SceneBVH)
    if reuse:
        start = time.perf_counter()
        try:
            flags = (bool(evaluated), bool(instances), float(epsilon))
        except (TypeError, ValueError):
            flags = None   # reported by _init
        state = flags and fastpath.adoptable(objects, depsgraph, flags)
        if state:
            bvh._adopt(state, depsgraph, time.perf_counter() - start)
            if progress is not None:
                progress(1.0)
            return bvh
    bvh._init(objects, depsgraph, evaluated, instances, epsilon)
    bvh._build(reuse=reuse, progress=progress)
    return bvh


class SceneBVH:
    """Ray casts and nearest-point queries over many objects' evaluated geometry, in world space.

    Create with :func:`build`.  Holds no reference to evaluated data: only original objects,
    object-space trees and numpy arrays, so it stays valid (for the geometry it was built from)
    after the scene changes; call :meth:`update` to follow the scene.

    Two kinds of face index: a :class:`Hit` and :meth:`ray_cast_many` give polygon indices in
    each object's evaluated mesh; :attr:`tree` (one merged ``BVHTree``) numbers triangles over
    all objects, which :meth:`source_of` maps back.  BlenderProc's drop-in tree numbers polygons
    over all objects in input order, as BlenderProc does.

    Attributes:
        objects: the objects ``object_index`` of :meth:`ray_cast_many` refers to (instanced
            objects included), in build order.
        stats: the :class:`BuildStats` of the latest build or update.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("use bvh_leakfree_addon.api.build(objects) to create a SceneBVH")

    # -- state --------------------------------------------------------------------------------
    def _init(self, objects, depsgraph, evaluated, instances, epsilon):
        raw_input = fastpath.as_sequence(objects)
        self._state = None
        self._raw_input = raw_input
        self._input = fastpath.recent_checked(raw_input) or validate.check_objects(objects)
        self._depsgraph_arg = depsgraph
        self._flags = (bool(evaluated), bool(instances), validate.epsilon(epsilon))
        self._tree = None
        self._tree_source = None

    def _adopt(self, state, depsgraph, seconds):
        """Become the (unchanged) build ``state`` of another ``SceneBVH``."""
        self._set_state(state)
        self._raw_input = state.inputs
        self._input = state.objects
        self._flags = state.flags()
        self._depsgraph_arg = depsgraph
        self.stats = state.stats._unchanged_copy(seconds)

    def _set_state(self, state):
        self._state = state
        self._top = state.top
        self.objects = list(state.top.objects)   #: objects that ``object_index`` refers to
        self.stats = state.stats
        self._tree = None
        self._tree_source = None

    def _depsgraph(self):
        if self._depsgraph_arg is not None:
            return self._depsgraph_arg
        return bpy.context.evaluated_depsgraph_get()

    # -- building -----------------------------------------------------------------------------
    def _build(self, reuse=True, progress=None, drop_deleted=False):
        start = time.perf_counter()
        deleted = []
        if drop_deleted:   # update(): objects deleted since the last build leave the BVH
            self._input, deleted = validate.live_objects(self._input)
            if deleted:
                self._raw_input = None   # no longer the caller's list: never adopted for it
        objects = self._input            # validated by _init; liveness is checked while gathering
        evaluated, instances, epsilon = self._flags
        depsgraph = self._depsgraph()
        # read before gathering: whatever changes from now on bumps the count
        stamp = fastpath.stamp_now(self._depsgraph_arg) if evaluated else None
        stats = BuildStats()
        stats.objects_skipped.extend((name, "deleted since the last build") for name in deleted)
        # Box arrays of earlier builds can be reused (a transforms-only rebuild); the latest
        # build itself is let go, so that trees only it used are freed before new ones are built.
        recent = cache.recent_build()
        earlier = [boxes_of(state.top) for state in (self._state, recent) if state is not None]
        previous = self._state if self._state is not None else (
            recent if fastpath.same_inputs(self._raw_input, recent) else None)
        movable = previous.movable if reuse and not deleted and fastpath.movable(
            previous, stamp, self._flags) else None
        del recent, previous
        cache.forget_recent()
        cache.next_generation()
        items = gather.moved_items(movable, depsgraph) if movable is not None else None
        if items is not None:      # only transforms changed: the last build's rows, new matrices
            builder, instancers = None, {}
            stats.objects_skipped.extend(movable.skipped)
            stats.meshes_reused = len(movable.trees)
            stats.transforms_only = True
        else:
            movable = None
            try:
                items, builder, instancers = gather.gather(objects, depsgraph, evaluated,
                                                           instances, epsilon, reuse, stats,
                                                           progress)
            except ReferenceError:
                validate.check_objects(objects)   # names the deleted object
                raise
            if (stamp is not None and not instancers and not items.any_instances
                    and builder.rows is not None and not builder.saw_edit_mode):
                movable = fastpath.Movable(
                    objs=tuple(items.objs), entries=tuple(items.entries), keys=tuple(items.keys),
                    uids=objects.uids()[items.src], skipped=tuple(stats.objects_skipped[len(
                        deleted):]))
        top, used = make_top_level(items, stats, earlier)
        for obj in objects if instancers else ():
            if obj.as_pointer() in instancers and obj.as_pointer() not in used:
                stats.objects_skipped.append((obj.name, "instancer without instanced geometry"))
        stats.objects_used = len(used)
        cache.evict()
        stats.instances = len(top)
        stats.trees = len({id(e) for e in top.entries})
        stats.triangles = int(sum(e.triangles for e in top.entries))
        stats.reused = stats.meshes_rebuilt == 0
        stats.build_seconds = time.perf_counter() - start
        if stamp is None or (builder is not None and builder.saw_edit_mode) or \
                stamp != fastpath.stamp_now(self._depsgraph_arg):
            stamp = None
        state = fastpath.BuildState(inputs=self._raw_input, objects=objects, evaluated=evaluated,
                                    instances=instances, epsilon=epsilon, stamp=stamp, top=top,
                                    stats=stats, movable=movable if stamp is not None else None)
        self._set_state(state)
        fastpath.remember(state)
        if progress is not None:
            progress(1.0)

    def update(self, *, reuse=True, progress=None):
        """Follow the scene: rebuild what changed since the build (nothing, when nothing did).

        Objects deleted since are left out (``stats.objects_skipped`` says so); a depsgraph freed
        since is taken again from the context.

        Args:
            reuse: as in :func:`build`.
            progress: as in :func:`build`.

        Returns:
            This :class:`SceneBVH`, updated.

        Raises:
            TypeError: a bad ``progress``.
            ReferenceError: the scene or view layer of the build was removed.
        """
        validate.progress(progress)
        state = self._state
        if reuse and state.stamp is not None:
            start = time.perf_counter()
            if state.stamp == fastpath.stamp_now(self._depsgraph_arg):
                self.stats = state.stats._unchanged_copy(time.perf_counter() - start)
                if progress is not None:
                    progress(1.0)
                return self
        self._build(reuse=reuse, progress=progress, drop_deleted=True)
        return self

    # -- queries ------------------------------------------------------------------------------
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

    def _candidates(self, o, d, limit):
        """Indices of boxes the ray enters within ``limit``, nearest entry first, and entries."""
        top = self._top
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

    def _cast(self, o, d, limit):
        idx, tnear = self._candidates(o, d, limit)
        best = None
        best_t = limit
        for i in idx:
            if tnear[i] > best_t:
                break
            res = self._cast_one(int(i), o, d, best_t)
            if res is not None and res[1] <= best_t:
                best_t = res[1]
                best = res
        return best

    def _cast_one(self, i, o, d, limit):
        """Cast into row ``i``'s object space: (i, world distance, object-space hit) or None."""
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
        return (i, dist / scale, loc, nor, index)

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
        return alive(self._top.objects[self._top.obj_index[i]])

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
            (index into :attr:`objects`, -1 on a miss) and ``polygon_index`` (-1 on a miss).

        Raises:
            ValueError: bad shapes, NaN or infinity, a zero-length direction, a bad distance or
                backend name.
            RuntimeError: ``backend="embree"`` where Embree is not installed, or after the geometry
                changed (call :meth:`update`).
        """
        name = backends.check(backend)
        o, d = validate.ray_arrays(origins, directions)
        limit = validate.max_distance(distance)
        return RayResults(self._cast_many(o, d, limit, name))

    def _cast_many(self, o, d, limit, backend):
        top = self._top
        if len(o) and len(top) and (backend == "embree" or (
                backend == "auto" and backends.embree_pays(top, len(o)))):
            scene = self._embree_scene(required=backend == "embree")
            if scene is not None:
                return embree.cast(scene, top, o, d, limit)
        return rays.cast_many(top, o, d, limit)

    def _embree_scene(self, required):
        """The Embree scene of this build (built now when needed), or None when the geometry it
        needs is gone (``required``: ``RuntimeError`` instead)."""
        try:
            return embree.scene_for(self._top, self._input, self._depsgraph())
        except merge.GeometryChanged:
            if required:
                raise RuntimeError("the geometry changed since this SceneBVH was built: call "
                                   "update() before casting with the 'embree' backend") from None
            return None

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
        cam = camera_rays(camera, resolution, self._depsgraph())
        h, w = cam.shape
        d = validate.unit_rows(cam.directions.reshape(h * w, 3))   # as ray_cast_many does
        res = self._cast_many(cam.origins.reshape(h * w, 3), d, limit, name)
        depth = np.full(h * w, np.inf)
        hit = res["hit"]
        depth[hit] = res["distance"][hit] * (d[hit] @ cam.axis)
        out = RayResults({key: value.reshape((h, w) + value.shape[1:])
                          for key, value in res.items()})
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
        return visibility(self, camera_rays(camera, resolution, self._depsgraph()), backend)

    def find_nearest(self, point, distance=math.inf):
        """The nearest surface point to ``point``, as ``BVHTree.find_nearest`` finds it.

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
        top = self._top
        if not top.all_similar:
            return self._nearest_merged(p, limit)
        if len(top) == 0:
            return None
        gap = np.maximum(np.maximum(top.wmin - p, p - top.wmax), 0.0)
        lower = np.sqrt((gap * gap).sum(axis=1))
        order = np.argsort(lower, kind="stable")
        best = None
        best_d = limit
        for i in order:
            if lower[i] > best_d:
                break
            i = int(i)
            inv = top.inv[i]
            scale = float(np.cbrt(abs(np.linalg.det(inv[:3, :3]))))
            lp = inv[:3, :3] @ p + inv[:3, 3]
            obj_limit = min(best_d * scale, FAR) if math.isfinite(best_d) else FAR
            loc, nor, index, dist = top.entries[i].tree.find_nearest(Vector(lp), obj_limit)
            if loc is None:
                continue
            wd = dist / scale
            if wd <= best_d:
                best_d = wd
                best = (i, wd, loc, nor, index)
        return None if best is None else self._hit(*best)

    def _nearest_merged(self, p, limit):
        tree = self.tree
        loc, nor, index, dist = tree.find_nearest(Vector(p), min(limit, FAR))
        if loc is None:
            return None
        i, polygon = self._tree_source_item(index)
        n_world = np.asarray(nor, dtype=np.float64)
        return Hit(Vector(loc), Vector(n_world), self._object(i), self._top.instancers[i],
                   polygon, float(dist), Matrix(self._top.mat[i].tolist()))

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
        i = int(np.searchsorted(starts, index, side="right") - 1)
        return i, int(polys[index])

    def _build_merged(self):
        co, tris, polys, starts = merge.merged_arrays(self._top, self._input, self._depsgraph())
        self._tree_source = (starts, polys)
        if len(tris) == 0:
            return BVHTree.FromPolygons([], [], all_triangles=True)
        return BVHTree.FromPolygons(co.tolist(), tris.tolist(), all_triangles=True,
                                    epsilon=self._flags[2])

    def __repr__(self):
        return f"<SceneBVH {self.stats!r}>"
