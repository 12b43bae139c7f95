# SPDX-License-Identifier: GPL-3.0-or-later
"""``build()`` and ``SceneBVH``: a two-level BVH over many objects, leak-free by construction.

Level 1: one BVH tree per distinct piece of evaluated geometry, in object space (shared by linked
duplicates and by every instance of the same object; reused across builds, see ``cache``).
Level 2: world-space bounding boxes of every contributing object or instance, in numpy
(``toplevel``).  A ray is tested against all boxes at once, then cast into each candidate object's
space, nearest box first, stopping when the next box starts beyond the best hit (the way
``Scene.ray_cast`` works).

The queries are in ``queries``.  ``SceneBVH.tree`` (one world-space ``BVHTree`` over all
triangles) is built on first access.  Batches of rays (``ray_cast_many``, ``cast_camera``,
``visibility``) go to a backend (``backends``): the object-space trees (``rays``) or an Embree
scene built on demand from the same geometry (``embree``), kept with the immutable top level.
"""
import time

import bpy

import numpy as np

from . import cache, fastpath, gather, handles, merge, validate
from .queries import Queries
from .results import BuildStats, Hit, RayResults
from .toplevel import boxes_of, make_top_level
from .visibility import Visibility

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
    handles.check_depsgraph(depsgraph)
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
    live = depsgraph if depsgraph is not None else bpy.context.evaluated_depsgraph_get()
    bvh._build(live, reuse=reuse, progress=progress)
    return bvh


class SceneBVH(Queries):
    """Ray casts and nearest-point queries over many objects' evaluated geometry, in world space.

    Create with :func:`build`.  Holds no reference to evaluated data: only original objects,
    object-space trees and numpy arrays, so it stays valid (for the geometry it was built from)
    after the scene changes; call :meth:`update` to follow the scene.  The depsgraph given to
    ``build()`` is kept as numbers and looked up again before each use (``handles``): a query
    that needs it after its scene or view layer went away raises one ``ReferenceError`` line
    naming what went away, never reads freed memory.

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
        self._input = fastpath.recent_checked(raw_input) or validate.check_objects(
            objects, fastpath.known_uid)
        self._dg = handles.DepsgraphHandle(depsgraph)
        self._flags = (bool(evaluated), bool(instances), validate.epsilon(epsilon))
        self._tree = None
        self._tree_source = None
        self._row_trees = {}

    def _adopt(self, state, depsgraph, seconds):
        """Become the (unchanged) build ``state`` of another ``SceneBVH``."""
        self._set_state(state)
        self._raw_input = state.inputs
        self._input = state.objects
        self._flags = state.flags()
        self._dg = handles.DepsgraphHandle(depsgraph)
        self.stats = state.stats._unchanged_copy(seconds)

    def _set_state(self, state):
        self._state = state
        self._top = state.top
        self.objects = list(state.top.objects)   #: objects that ``object_index`` refers to
        self.stats = state.stats
        self._tree = None
        self._tree_source = None
        self._row_trees = {}

    def _depsgraph(self, what):
        """The depsgraph to use now, proven alive (``handles``; ``what``: the call, for
        errors)."""
        return self._dg.get(what)

    # -- building -----------------------------------------------------------------------------
    def _build(self, depsgraph, reuse=True, progress=None, drop_deleted=False):
        """Build from the live ``depsgraph`` (the one given to ``build()``, or proven alive by
        ``handles``)."""
        start = time.perf_counter()
        deleted = []
        if drop_deleted:   # update(): objects deleted since the last build leave the BVH
            objects, deleted, refetched = validate.live_objects(self._input)
            if deleted or refetched:
                self._input = objects
                self._raw_input = None   # no longer the caller's list: never adopted for it
        objects = self._input            # validated by _init; liveness is checked while gathering
        evaluated, instances, epsilon = self._flags
        stamp_arg = self._dg.for_stamp(depsgraph)
        # read before gathering: whatever changes from now on bumps the count
        stamp = fastpath.stamp_now(stamp_arg) if evaluated else None
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
                validate.check_objects(objects)   # names the deleted object (or stale reference)
                raise
            if (stamp is not None and not instancers and not items.any_instances
                    and builder.rows is not None and not builder.saw_edit_mode):
                movable = fastpath.Movable(
                    objs=tuple(items.objs), entries=tuple(items.entries), keys=tuple(items.keys),
                    uids=objects.uids()[items.src], skipped=tuple(stats.objects_skipped[len(
                        deleted):]))
        top, used = make_top_level(items, stats, earlier)
        stats.embree_fallback = top.float32_frame.reason
        for obj in objects if instancers else ():
            if obj.as_pointer() in instancers and obj.as_pointer() not in used:
                stats.objects_skipped.append((obj.name, gather.no_geometry_reason(obj, depsgraph)))
        stats.objects_used = len(used)
        cache.evict()
        stats.instances = len(top)
        stats.trees = len({id(e) for e in top.entries})
        stats.triangles = int(sum(e.triangles for e in top.entries))
        stats.reused = stats.meshes_rebuilt == 0
        stats.build_seconds = time.perf_counter() - start
        if stamp is None or (builder is not None and builder.saw_edit_mode) or \
                stamp != fastpath.stamp_now(stamp_arg):
            stamp = None
        # what later queries cannot re-read: a foreign depsgraph (no view layer's own) is never
        # used again, and find_nearest under non-uniform scale needs the build's triangles
        rows = None if self._dg.foreign else np.nonzero(~top.similar)[0]
        if rows is None or len(rows):
            merge.ensure_arrays(top, objects, depsgraph, rows)
        state = fastpath.BuildState(inputs=self._raw_input, objects=objects, evaluated=evaluated,
                                    instances=instances, epsilon=epsilon, stamp=stamp, top=top,
                                    stats=stats, movable=movable if stamp is not None else None)
        self._set_state(state)
        fastpath.remember(state)
        if progress is not None:
            progress(1.0)

    def update(self, *, reuse=True, progress=None):
        """Follow the scene: rebuild what changed since the build (nothing, when nothing did).

        Objects deleted since are left out (``stats.objects_skipped`` says so); references made
        stale by undo are fetched again (by ``session_uid``); the depsgraph is the context's, or
        the one given to :func:`build` found again (``handles``: evaluated now, Blender's new one
        for that view layer when it freed the old).

        Args:
            reuse: as in :func:`build`.
            progress: as in :func:`build`.

        Returns:
            This :class:`SceneBVH`, updated.

        Raises:
            TypeError: a bad ``progress``.
            ReferenceError: the scene or view layer of the depsgraph given to :func:`build` was
                removed (or another file loaded), or that depsgraph was no view layer's own (a
                render engine's: build again).
        """
        validate.progress(progress)
        state = self._state
        start = time.perf_counter()
        depsgraph = self._depsgraph("update()")
        if reuse and state.stamp is not None and \
                state.stamp == fastpath.stamp_now(self._dg.for_stamp(depsgraph)):
            self.stats = state.stats._unchanged_copy(time.perf_counter() - start)
            if progress is not None:
                progress(1.0)
            return self
        self._build(depsgraph, reuse=reuse, progress=progress, drop_deleted=True)
        return self

    def __repr__(self):
        return f"<SceneBVH {self.stats!r}>"
