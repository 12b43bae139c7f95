# SPDX-License-Identifier: GPL-3.0-or-later
"""``build()`` and ``SceneBVH``: a two-level BVH over many objects, leak-free by construction.

Level 1: one BVH tree per distinct piece of evaluated geometry, in object space (shared by linked
duplicates and by every instance of the same object; reused across builds, see ``cache``).
Level 2: world-space bounding boxes of every contributing object or instance, in numpy
(``toplevel``).  A ray is tested against all boxes at once, then cast into each candidate object's
space, nearest box first, stopping when the next box starts beyond the best hit (the way
``Scene.ray_cast`` works).

A build is planned and finished by ``fastpath``, gathered by ``gather`` (see ``SceneBVH._build``).
The queries are in ``queries``.  ``SceneBVH.tree`` (one world-space ``BVHTree`` over all
triangles) is built on first access.  Batches of rays (``ray_cast_many``, ``cast_camera``,
``visibility``) go to a backend (``backends``): the object-space trees (``rays``) or an Embree
scene built on demand from the same geometry (``embree``), kept with the immutable top level.
"""
import time

import bpy

import numpy as np

from . import fastpath, gather, handles, merge, validate
from .queries import Queries
from .results import BuildStats, Hit, RayResults
from .toplevel import make_top_level
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


def _gather(plan, progress):
    """``(items, builder, instancers)`` of the build ``plan``: the last build's rows with their
    matrices read again when only transforms changed (``plan.moved``; no builder), else every
    object walked."""
    moved = plan.moved
    items = gather.moved_items(moved, plan.depsgraph) if moved is not None else None
    if items is not None:
        plan.stats.objects_skipped.extend(moved.skipped)
        plan.stats.meshes_reused = len(moved.trees)
        plan.stats.transforms_only = True
        return items, None, {}
    plan.moved = None
    evaluated, instances, epsilon = plan.flags
    try:
        return gather.gather(plan.objects, plan.depsgraph, evaluated, instances, epsilon,
                             plan.reuse, plan.stats, progress)
    except ReferenceError:
        validate.check_objects(plan.objects)   # names the deleted object (or stale reference)
        raise


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
        """One build from the live ``depsgraph`` (the one given to ``build()``, or proven alive by
        ``handles``): plan (what the fast path lets go unread) → gather (each row's tree and
        world matrix) → top level (immutable arrays) → finish (the cache's eviction, the stats,
        the state the fast path keeps)."""
        plan = fastpath.plan(self._state, self._raw_input, self._input, self._flags,
                             self._dg.for_stamp(depsgraph), depsgraph, reuse, drop_deleted,
                             time.perf_counter())
        self._input, self._raw_input = plan.objects, plan.inputs
        items, builder, instancers = _gather(plan, progress)
        top = self._top_level(plan, items, instancers)
        rows = fastpath.rows_to_keep(plan, items, builder, instancers)
        self._set_state(fastpath.finish(plan, top, builder is not None and builder.saw_edit_mode,
                                        rows))
        if progress is not None:
            progress(1.0)

    def _top_level(self, plan, items, instancers):
        """The immutable top level of ``items``; instancers that gave no geometry say why; the
        triangles later queries cannot read again are read now: all of them for a foreign
        depsgraph (no view layer's own: never used again), else those ``find_nearest`` needs under
        non-uniform scale."""
        stats = plan.stats
        top, used = make_top_level(items, stats, plan.earlier)
        stats.embree_fallback = top.float32_frame.reason
        for obj in plan.objects if instancers else ():
            if obj.as_pointer() in instancers and obj.as_pointer() not in used:
                stats.objects_skipped.append(
                    (obj.name, gather.no_geometry_reason(obj, plan.depsgraph)))
        stats.objects_used = len(used)
        rows = None if self._dg.foreign else np.nonzero(~top.similar)[0]
        if rows is None or len(rows):
            merge.ensure_arrays(top, plan.objects, plan.depsgraph, rows)
        return top

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
