# SPDX-License-Identifier: GPL-3.0-or-later
"""``build()`` and ``SceneBVH``: a two-level BVH over many objects, leak-free by construction.

Level 1: one BVH tree per distinct piece of evaluated geometry, in object space (shared by linked
duplicates and by every instance of the same object; reused across builds, see ``cache``).
Level 2: world-space bounding boxes of every contributing object or instance, in numpy.  A ray is
tested against all boxes at once, then cast into each candidate object's space, nearest box first,
stopping when the next box starts beyond the best hit (the way ``Scene.ray_cast`` works).

``SceneBVH.tree`` (one world-space ``BVHTree`` over all triangles) is built on first access.
"""
import math
import operator
import time

import bpy
import numpy as np
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree

from . import cache, geometry
from .geometry import GEOMETRY_TYPES, GeomEntry

__all__ = ("build", "SceneBVH", "Hit", "BuildStats", "RayResults")


class Hit:
    """One ray or nearest-point result, in world space."""

    __slots__ = ("location", "normal", "object", "instancer", "polygon_index", "distance",
                 "matrix_world")

    def __init__(self, location, normal, obj, instancer, polygon_index, distance, matrix_world):
        self.location = location            #: Vector, world space
        self.normal = normal                #: unit Vector, world space, as Scene.ray_cast reports
        self.object = obj                   #: original bpy.types.Object whose geometry was hit
        self.instancer = instancer          #: selected instancer of that instance, else None
        self.polygon_index = polygon_index  #: polygon index in that object's evaluated mesh
        self.distance = distance            #: world units from the origin
        self.matrix_world = matrix_world    #: world matrix of the object or instance hit

    def __repr__(self):
        inst = f" via {self.instancer.name!r}" if self.instancer is not None else ""
        return (f"<Hit {self.object.name!r}{inst} polygon {self.polygon_index} "
                f"at {tuple(round(v, 5) for v in self.location)} distance {self.distance:.5g}>")


class RayResults(dict):
    """``ray_cast_many`` results: a dict of numpy arrays, also readable as attributes
    (``res["hit"]`` or ``res.hit``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class BuildStats:
    """What a build did.  ``reused`` is True when no geometry had to be rebuilt; ``unchanged``
    is True when Blender evaluated nothing since the previous build of the same objects, so not
    even the per-object walk was done (see ``cache``: the change watch)."""

    __slots__ = ("objects_used", "objects_skipped", "instances", "triangles", "build_seconds",
                 "reused", "meshes_rebuilt", "meshes_reused", "trees", "unchanged")

    def __init__(self):
        self.objects_used = 0
        self.objects_skipped = []   # (name, reason)
        self.instances = 0          # entries in the top level (objects + instances)
        self.triangles = 0          # world-space triangles (instances counted each time)
        self.build_seconds = 0.0
        self.reused = False
        self.meshes_rebuilt = 0
        self.meshes_reused = 0
        self.trees = 0              # distinct object-space trees
        self.unchanged = False

    def unchanged_copy(self, seconds):
        """The stats of a build skipped because nothing changed since the one these describe."""
        out = BuildStats()
        for name in ("objects_used", "instances", "triangles", "trees"):
            setattr(out, name, getattr(self, name))
        out.objects_skipped = list(self.objects_skipped)
        out.meshes_reused = self.meshes_reused + self.meshes_rebuilt
        out.reused = out.unchanged = True
        out.build_seconds = seconds
        return out

    def __repr__(self):
        return (f"<BuildStats used={self.objects_used} skipped={len(self.objects_skipped)} "
                f"instances={self.instances} triangles={self.triangles} "
                f"rebuilt={self.meshes_rebuilt} reused={self.meshes_reused} "
                f"{self.build_seconds * 1e3:.2f} ms>")


# ------------------------------------------------------------------------------------------------
# Input validation
# ------------------------------------------------------------------------------------------------

class _ObjectList(list):
    """Checked objects; ``keys`` holds their ``as_pointer()`` values, in the same order."""

    __slots__ = ("keys",)


def _check_objects(objects):
    """A de-duplicated list of live ``bpy.types.Object``; clear errors for anything else."""
    if objects is None:
        raise ValueError("no objects given: pass a list of Blender objects")
    object_type = bpy.types.Object
    if isinstance(objects, object_type):
        objects = [objects]
    out = _ObjectList()
    keys = out.keys = []
    seen = set()
    for i, obj in enumerate(objects):
        if type(obj) is not object_type and not isinstance(obj, object_type):
            raise TypeError(f"item {i} of the object list is a {type(obj).__name__}, "
                            f"not a Blender object")
        try:
            key = obj.as_pointer()   # raises ReferenceError for a removed object
        except ReferenceError:
            raise ReferenceError(f"item {i} of the object list has been deleted "
                                 f"(removed from bpy.data)") from None
        if key not in seen:
            seen.add(key)
            out.append(obj)
            keys.append(key)
    if not out:
        raise ValueError("the object list is empty: give at least one object to build a BVH of")
    return out


def _vector3(value, what):
    try:
        v = np.asarray(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a 3D vector, got {value!r}") from None
    if not np.isfinite(v).all():
        raise ValueError(f"{what} contains NaN or infinity: {tuple(v)}")
    return v


def _direction(value):
    d = _vector3(value, "direction")
    length = float(np.linalg.norm(d))
    if length == 0.0 or not math.isfinite(length):
        raise ValueError("direction has zero length: a ray needs a direction")
    return d / length


def _max_distance(distance):
    try:
        distance = float(distance)
    except (TypeError, ValueError):
        raise ValueError(f"distance must be a number, got {distance!r}") from None
    if math.isnan(distance):
        raise ValueError("distance is NaN")
    if distance <= 0.0:
        raise ValueError(f"distance must be greater than 0, got {distance}")
    return distance


# ------------------------------------------------------------------------------------------------
# Gathering
# ------------------------------------------------------------------------------------------------

class _Items:
    """The top level being gathered: parallel lists, one row per object or instance."""

    __slots__ = ("objs", "instancers", "entries", "matrices", "keys", "any_instances")

    def __init__(self):
        self.objs = []
        self.instancers = []
        self.entries = []
        self.matrices = []   # geometry.matrix_row() of each; converted to numpy in one go
        self.keys = []       # as_pointer() of each row's object
        self.any_instances = False

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


def _has_nodes_modifier(obj):
    """Instancers (collection, verts, faces, particles: ``is_instancer``) and objects with a
    geometry-nodes modifier (which may output instances) are looked up in the depsgraph's
    instance list."""
    return any(mod.type == 'NODES' for mod in obj.modifiers)


def _shows_own_geometry(obj, depsgraph):
    """Instancers (dupli-verts/faces/particles) can hide their own geometry."""
    if not obj.is_instancer:
        return True
    if depsgraph.mode == 'RENDER':
        return obj.show_instancer_for_render
    return obj.show_instancer_for_viewport


class _Builder:
    """One build: finds or builds each object-space tree, and counts what it did."""

    def __init__(self, depsgraph, evaluated, epsilon, use_cache, stats):
        self.depsgraph = depsgraph
        self.evaluated = evaluated
        self.epsilon = float(epsilon)
        self.use_cache = use_cache
        self.stats = stats
        self.entries_seen = {}
        self.pending_bounds = []   # (entry, evaluated mesh) of new trees, bounds read in one go
        self.saw_edit_mode = False  # edit-mode geometry can change without any depsgraph update

    def entry_for(self, src_eval, src_orig, defer_bounds=False):
        """The object-space tree of ``src_eval``'s geometry (an evaluated or temporary instance
        object), from the cache when proven current.  None when it has no faces."""
        if self.evaluated and src_eval.type == 'MESH':
            data = src_eval.data
            if not data.is_editmode:
                return self._entry_marked(src_eval, data, src_orig, defer_bounds)
            self.saw_edit_mode = True
        elif src_eval.original.mode != 'OBJECT':
            self.saw_edit_mode = True
        return self._entry_converted(src_eval if self.evaluated else src_orig)

    def _entry_marked(self, src_eval, data, src_orig, defer_bounds):
        check = cache.check_of(data)
        entry = cache.lookup_marked(data, self.epsilon, check)
        if entry is not None and (self.use_cache or id(entry) in self.entries_seen):
            # reuse=False still shares within this build
            cache.touch(entry)
            seen = self.entries_seen
            if id(entry) not in seen:
                seen[id(entry)] = entry
                self.stats.meshes_reused += 1
            return entry
        if check[2] == 0:    # no polygons
            return None
        entry = geometry.entry_from_object(src_eval, self.depsgraph, data, self.epsilon,
                                           bounds=not defer_bounds)
        if entry.bmin is None:
            self.pending_bounds.append((entry, data))
        cache.store_marked(data, entry, check)
        return self._rebuilt(entry)

    def finish(self):
        """Complete deferred work (bounds of new trees) while the evaluated meshes are current.

        Entries are cached as soon as they are built (so linked duplicates share them); if the
        bounds cannot be completed they are dropped from the cache again, never left half-made.
        """
        try:
            geometry.fill_bounds(self.pending_bounds)
        except BaseException:
            self.abandon()
            raise
        self.pending_bounds = []

    def abandon(self):
        """The build failed: uncache the trees whose bounds were never completed."""
        cache.discard([entry for entry, _mesh in self.pending_bounds])
        self.pending_bounds = []

    def _entry_converted(self, src):
        mesh = geometry.to_mesh(src)
        try:
            if mesh is None or len(mesh.polygons) == 0:
                return None
            co, tris, tri_poly = geometry.mesh_arrays(mesh)
        finally:
            geometry.to_mesh_clear(src)
        key = geometry.content_key(co, tris, tri_poly, self.epsilon)
        entry = cache.lookup(key)
        if entry is not None and (self.use_cache or id(entry) in self.entries_seen):
            return self._reused(entry)
        entry = geometry.entry_from_arrays(co, tris, tri_poly, self.epsilon)
        cache.store(key, entry)
        return self._rebuilt(entry)

    def _reused(self, entry):
        cache.touch(entry)
        if id(entry) not in self.entries_seen:
            self.entries_seen[id(entry)] = entry
            self.stats.meshes_reused += 1
        return entry

    def _rebuilt(self, entry):
        self.entries_seen[id(entry)] = entry
        self.stats.meshes_rebuilt += 1
        return entry


def _gather(objects, depsgraph, evaluated, instances, epsilon, use_cache, stats, progress):
    """Every contributing object and instance with its tree and world matrix (the hot loop:
    keep per-object Python work minimal, numpy work goes to ``_set_items``)."""
    builder = _Builder(depsgraph, evaluated, epsilon, use_cache, stats)
    items = _Items()
    instancers = {}
    try:
        _gather_objects(builder, objects, instances, items, instancers, progress)
    except BaseException:
        builder.abandon()
        raise
    builder.finish()
    if instancers:
        _gather_instances(builder, instancers, items)
    return items, builder, instancers


def _gather_objects(builder, objects, instances, items, instancers, progress):
    """Every input object's own geometry (instances come later, from the depsgraph).

    The common case (an evaluated mesh already in the cache: a transforms-only rebuild) is
    inlined: the same checks as ``_Builder._entry_marked``, without its call overhead.
    """
    depsgraph = builder.depsgraph
    stats = builder.stats
    skipped = stats.objects_skipped
    n = len(objects)
    step = max(1, n // 20)
    keys = getattr(objects, "keys", None) or [obj.as_pointer() for obj in objects]
    marked = builder.evaluated
    entry_marked = builder._entry_marked
    epsilon = builder.epsilon
    use_cache = builder.use_cache
    seen = builder.entries_seen
    cached = cache.ENTRIES
    generation = cache.generation()
    to_row = geometry.matrix_row
    objs_append = items.objs.append
    entries_append = items.entries.append
    matrices_append = items.matrices.append
    keys_append = items.keys.append
    first_row = len(items.objs)
    for i, obj in enumerate(objects):
        if progress is not None and i % step == 0:
            progress(0.9 * i / n)
        obj_eval = obj.evaluated_get(depsgraph)
        if not obj_eval.is_evaluated:
            raise ValueError(f"object {obj.name!r} is not in the view layer being evaluated "
                             f"(another scene, or its collection is excluded)")
        wants_instances = instances and (obj_eval.is_instancer or (
            len(obj_eval.modifiers) > 0 and _has_nodes_modifier(obj_eval)))
        if wants_instances:
            instancers[keys[i]] = obj
            if not _shows_own_geometry(obj_eval, depsgraph):
                continue
        elif marked and obj_eval.type == 'MESH':
            # the common case, kept short: an evaluated mesh (the same as entry_for)
            data = obj_eval.data
            if not data.is_editmode:
                entry = cached.get(("evaluated", data.session_uid))
                if entry is not None and entry.epsilon == epsilon and entry.check == (
                        data.as_pointer(), len(data.vertices), len(data.polygons),
                        len(data.loops)) and (use_cache or id(entry) in seen):
                    # proven current: what cache.lookup_marked + touch would do
                    entry.last_used = generation
                    if id(entry) not in seen:
                        seen[id(entry)] = entry
                        stats.meshes_reused += 1
                else:
                    try:
                        entry = entry_marked(obj_eval, data, obj, True)
                    except ValueError as ex:
                        skipped.append((obj.name, f"no evaluated geometry ({ex})"))
                        continue
                    if entry is None:
                        skipped.append((obj.name, "no faces"))
                        continue
                objs_append(obj)
                entries_append(entry)
                matrices_append(to_row(obj_eval.matrix_world))
                keys_append(keys[i])
                continue
        if obj_eval.type not in GEOMETRY_TYPES:
            if not wants_instances:
                skipped.append((obj.name, f"{obj.type.lower()} object has no surface geometry"))
            continue
        try:
            entry = builder.entry_for(obj_eval, obj, defer_bounds=True)
        except ValueError as ex:   # e.g. no evaluated mesh for an object disabled in viewports
            skipped.append((obj.name, f"no evaluated geometry ({ex})"))
            continue
        if entry is None:
            if not wants_instances:
                skipped.append((obj.name, "no faces"))
            continue
        objs_append(obj)
        entries_append(entry)
        matrices_append(to_row(obj_eval.matrix_world))
        keys_append(keys[i])
    items.instancers.extend([None] * (len(items.objs) - first_row))


def _gather_instances(builder, instancers, items):
    """Instances of the given instancers, read while the depsgraph iterator holds them (the
    temporary instance objects are only valid during their iteration step).

    The iterator is always run to its end, also after an error (re-raised afterwards): leaving a
    depsgraph instance iterator unfinished leaks its memory (seen in Blender 4.2).
    """
    failure = None
    for inst in builder.depsgraph.object_instances:
        if failure is not None:
            continue
        try:
            _take_instance(builder, instancers, items, inst)
        except BaseException as ex:  # noqa: BLE001 - re-raised once the iterator is finished
            failure = ex
    if failure is not None:
        raise failure


def _take_instance(builder, instancers, items, inst):
    if not inst.is_instance:
        return
    parent = inst.parent
    if parent is None:
        return
    instancer = instancers.get(parent.original.as_pointer())
    if instancer is None:
        return
    src = inst.object
    if src.type not in GEOMETRY_TYPES:
        return
    src_orig = src.original
    generated = src_orig.as_pointer() == instancer.as_pointer()
    if generated and not builder.evaluated:
        return   # geometry made by geometry nodes has no original data
    try:
        entry = builder.entry_for(src, None if generated else src_orig)
    except ValueError:
        return
    if entry is None:
        return
    items.any_instances = True
    items.add(src_orig, instancer, entry, geometry.matrix_row(inst.matrix_world, copy=True),
              src_orig.as_pointer())


# ------------------------------------------------------------------------------------------------
# The scene BVH
# ------------------------------------------------------------------------------------------------

def build(objects, depsgraph=None, *, evaluated=True, instances=True, epsilon=0.0, reuse=True,
          progress=None):
    """Build a :class:`SceneBVH` over ``objects`` (see the module and ``api`` docs)."""
    bvh = SceneBVH.__new__(SceneBVH)
    if reuse and bvh._adopt_recent(objects, depsgraph, evaluated, instances, epsilon):
        if progress is not None:
            progress(1.0)
        return bvh
    bvh._init(objects, depsgraph, evaluated, instances, epsilon)
    bvh._build(reuse=reuse, progress=progress)
    return bvh


def _stamp_now(depsgraph_arg):
    """``(change count, depsgraph pointer)`` when the change watch can vouch for the depsgraph,
    else None.

    Only the context's own depsgraph qualifies, and only after ``evaluated_depsgraph_get()``:
    that evaluates whatever is tagged, which fires the watch for every pending change.  Outside
    object mode edits can bypass the depsgraph (edit-mode bmesh, sculpting): never vouched for.
    """
    context = bpy.context
    view_layer = getattr(context, "view_layer", None)
    if view_layer is None:
        return None
    if depsgraph_arg is not None:
        own = view_layer.depsgraph
        if own is None or own.as_pointer() != depsgraph_arg.as_pointer():
            return None
    current = context.evaluated_depsgraph_get()
    if context.mode != 'OBJECT':
        return None
    return (cache.change_count(), current.as_pointer())


def _recent_checked(raw_input):
    """The checked object list of the latest full build when ``raw_input`` is the very same
    list (same Python objects, same order), else None.  Type checks and de-duplication depend
    only on those objects; a since deleted object raises ``ReferenceError`` while gathering, and
    ``_build`` then names it with ``_check_objects`` as the first check would have."""
    recent = cache.recent_build()
    if recent is None or raw_input is None:
        return None
    inputs, state = recent
    if len(inputs) != len(raw_input) or not all(map(operator.is_, raw_input, inputs)):
        return None
    return state["_input"]


def _as_sequence(objects):
    """The object list as passed, as a tuple, when it can be compared later; else None."""
    if isinstance(objects, bpy.types.Object):
        return (objects,)
    if type(objects) in (list, tuple):
        return tuple(objects)
    return None


class SceneBVH:
    """Ray casts and nearest-point queries over many objects' evaluated geometry, in world space.

    Create with :func:`build`.  Holds no reference to evaluated data: only original objects,
    object-space trees and numpy arrays, so it stays valid (for the geometry it was built from)
    after the scene changes; call :meth:`update` to follow the scene.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("use bvh_leakfree_addon.api.build(objects) to create a SceneBVH")

    def _adopt_recent(self, objects, depsgraph, evaluated, instances, epsilon):
        """Become a copy of the latest full build when it was made from the very same object
        list (same Python objects, same order) with the same flags and nothing changed since.
        Returns False (and changes nothing) otherwise."""
        start = time.perf_counter()
        recent = cache.recent_build()
        if recent is None:
            return False
        inputs, state = recent
        if isinstance(objects, bpy.types.Object):
            objects = (objects,)
        if type(objects) not in (list, tuple) or len(objects) != len(inputs) or \
                not all(map(operator.is_, objects, inputs)):
            return False
        try:
            flags = (bool(evaluated), bool(instances), float(epsilon))
        except (TypeError, ValueError):
            return False
        if flags != (state["_evaluated"], state["_instances"], state["_epsilon"]):
            return False
        stamp = state["_stamp"]
        if stamp is None or stamp != _stamp_now(depsgraph):
            return False
        self.__dict__.update(state)
        self._depsgraph_arg = depsgraph
        self.stats = state["stats"].unchanged_copy(time.perf_counter() - start)
        return True

    def _init(self, objects, depsgraph, evaluated, instances, epsilon):
        self._raw_input = _as_sequence(objects)
        self._stamp = None
        self._input = _recent_checked(self._raw_input) or _check_objects(objects)
        self._depsgraph_arg = depsgraph
        self._evaluated = bool(evaluated)
        self._instances = bool(instances)
        epsilon = float(epsilon)
        if not math.isfinite(epsilon) or epsilon < 0.0:
            raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon}")
        self._epsilon = epsilon
        self._tree = None
        self._tree_source = None

    # -- building -----------------------------------------------------------------------------
    def _depsgraph(self):
        if self._depsgraph_arg is not None:
            return self._depsgraph_arg
        return bpy.context.evaluated_depsgraph_get()

    def _build(self, reuse=True, progress=None):
        start = time.perf_counter()
        objects = self._input            # validated by _init; liveness is checked while gathering
        depsgraph = self._depsgraph()
        # read before gathering: whatever changes from now on bumps the count
        stamp = _stamp_now(self._depsgraph_arg) if self._evaluated else None
        self._stamp = None
        stats = BuildStats()
        cache.next_generation()
        try:
            items, builder, instancers = _gather(objects, depsgraph, self._evaluated,
                                                 self._instances, self._epsilon, reuse, stats,
                                                 progress)
        except ReferenceError:
            _check_objects(objects)      # names the deleted object
            raise
        used = self._set_items(items, stats)
        for obj in objects if instancers else ():
            if obj.as_pointer() in instancers and obj.as_pointer() not in used:
                stats.objects_skipped.append((obj.name, "instancer without instanced geometry"))
        stats.objects_used = len(used)
        cache.evict()
        stats.instances = len(self._entries)
        stats.trees = len({id(e) for e in self._entries})
        stats.triangles = int(sum(e.triangles for e in self._entries))
        stats.reused = stats.meshes_rebuilt == 0
        stats.build_seconds = time.perf_counter() - start
        self.stats = stats
        self._tree = None
        self._tree_source = None
        if stamp is not None and not builder.saw_edit_mode and stamp == _stamp_now(
                self._depsgraph_arg):
            self._stamp = stamp
            if self._raw_input is not None:
                cache.remember_build(self._raw_input, dict(self.__dict__))
        if progress is not None:
            progress(1.0)

    def update(self, *, reuse=True, progress=None):
        """Follow the scene: rebuild what changed (nothing, when nothing did).  Returns self."""
        if reuse and self._stamp is not None:
            start = time.perf_counter()
            if self._stamp == _stamp_now(self._depsgraph_arg):
                self.stats = self.stats.unchanged_copy(time.perf_counter() - start)
                if progress is not None:
                    progress(1.0)
                return self
        self._build(reuse=reuse, progress=progress)
        return self

    def _set_items(self, items, stats):
        """Numpy arrays of the top level; returns the pointers of the objects used."""
        mat = geometry.read_matrices(items.matrices, items.describe) if items.matrices else \
            np.zeros((0, 4, 4))
        cof, det = _cofactors(mat)
        keep = ~geometry.singular(mat, det) if len(mat) else np.zeros(0, dtype=bool)
        if not keep.all():
            for i in np.nonzero(~keep)[0]:
                if items.instancers[i] is None:
                    stats.objects_skipped.append((items.objs[i].name,
                                                  "zero scale (flat world matrix)"))
            rows = np.nonzero(keep)[0].tolist()
            mat, cof, det = mat[keep], cof[keep], det[keep]
        else:
            rows = None
        pick = (lambda seq: seq) if rows is None else (lambda seq: [seq[i] for i in rows])
        previous = (self.__dict__, (cache.recent_build() or (None, None))[1])
        previous = [(state["_entries"], state["_bmin"], state["_bmax"]) for state in previous
                    if state is not None and "_bmin" in state]
        self._entries = pick(items.entries)
        self._instancers = pick(items.instancers)
        item_objs = pick(items.objs)
        item_keys = pick(items.keys)
        n = len(self._entries)
        if not items.any_instances:
            # one row per object (the input list is de-duplicated): no mapping to work out
            objects = list(item_objs)
            used = set(item_keys)
            obj_index = np.arange(n, dtype=np.int64)
        else:
            objects = []
            index = {}
            used = set()
            obj_index = np.empty(n, dtype=np.int64)
            for i, obj in enumerate(item_objs):
                key = item_keys[i]
                j = index.get(key)
                if j is None:
                    j = index[key] = len(objects)
                    objects.append(obj)
                obj_index[i] = j
                inst = self._instancers[i]
                used.add(key if inst is None else inst.as_pointer())
        self.objects = objects
        self._obj_index = obj_index
        if n:
            inv = _affine_inverse(mat, cof, det)   # never singular: see geometry.singular()
            bmin, bmax = _entry_boxes(self._entries, previous)
        else:
            inv = np.zeros((0, 4, 4))
            bmin = bmax = np.zeros((0, 3))
        self._bmin, self._bmax = bmin, bmax
        self._mat = mat
        self._inv = inv
        self._wmin, self._wmax = _world_boxes(mat, bmin, bmax)
        self._pad = 1e-6 * max(1.0, float(np.abs(np.concatenate([self._wmin, self._wmax]))
                                          .max(initial=0.0)))
        self._similar = None   # computed by find_nearest when first needed
        return used

    @property
    def _all_similar(self):
        if self._similar is None:
            self._similar = _all_similarities(self._mat)
        return self._similar

    # -- queries ------------------------------------------------------------------------------
    def ray_cast(self, origin, direction, distance=math.inf):
        """Nearest hit along the ray within ``distance`` (world units), or None."""
        o = _vector3(origin, "origin")
        d = _direction(direction)
        limit = _max_distance(distance)
        found = self._cast(o, d, limit)
        if found is None:
            return None
        return self._hit(*found)

    def _candidates(self, o, d, limit):
        """Indices of boxes the ray enters within ``limit``, nearest entry first, and entries."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            safe = np.where(np.abs(d) < 1e-300, np.copysign(1e-300, d), d)
            inv = 1.0 / safe
            t1 = (self._wmin - self._pad - o) * inv
            t2 = (self._wmax + self._pad - o) * inv
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
        """Cast into item ``i``'s object space: (i, world distance, object-space hit) or None."""
        inv = self._inv[i]
        lo = inv[:3, :3] @ o + inv[:3, 3]
        ld = inv[:3, :3] @ d
        scale = float(np.linalg.norm(ld))
        if scale == 0.0:
            return None
        obj_limit = limit * scale if math.isfinite(limit) else 3.0e38
        loc, nor, index, dist = self._entries[i].tree.ray_cast(Vector(lo), Vector(ld / scale),
                                                               min(obj_limit, 3.0e38))
        if loc is None:
            return None
        return (i, dist / scale, loc, nor, index)

    def _hit(self, i, world_dist, loc, nor, index):
        entry = self._entries[i]
        mat = self._mat[i]
        polygon = int(entry.tri_poly[index]) if entry.tri_poly is not None else int(index)
        tri_normal = entry.triangle_normal(index, polygon, loc) if entry.has_ngons else None
        n_obj = np.asarray(tri_normal if tri_normal is not None else nor, dtype=np.float64)
        if tri_normal is not None and float(np.dot(n_obj, np.asarray(nor))) < 0.0:
            n_obj = -n_obj  # never flip relative to what the tree reported
        n_world = self._inv[i][:3, :3].T @ n_obj
        length = float(np.linalg.norm(n_world))
        if length > 0.0:
            n_world /= length
        location = mat[:3, :3] @ np.asarray(loc, dtype=np.float64) + mat[:3, 3]
        return Hit(Vector(location), Vector(n_world), self._object(i), self._instancers[i],
                   polygon, float(world_dist), Matrix(mat.tolist()))

    def _object(self, i):
        obj = self.objects[self._obj_index[i]]
        try:
            obj.name  # noqa: B018
        except ReferenceError:
            raise ReferenceError("the object hit was deleted after build(); call update()") \
                from None
        return obj

    def ray_cast_many(self, origins, directions, distance=math.inf):
        """Cast many rays: ``origins`` (N, 3), ``directions`` (N, 3) or one (3,) vector.

        Returns a :class:`RayResults` (a dict of numpy arrays, also readable as attributes):
        ``hit`` (bool), ``location``, ``normal`` (N, 3),
        ``distance``, ``object_index`` (index into :attr:`objects`, -1 on a miss) and
        ``polygon_index`` (-1 on a miss).
        """
        o = np.asarray(origins, dtype=np.float64)
        if o.ndim != 2 or o.shape[1] != 3:
            raise ValueError(f"origins must have shape (N, 3), got {o.shape}")
        d = np.asarray(directions, dtype=np.float64)
        if d.shape == (3,):
            d = np.broadcast_to(d, o.shape)
        if d.shape != o.shape:
            raise ValueError(f"directions must have shape {o.shape} or (3,), got {d.shape}")
        if not (np.isfinite(o).all() and np.isfinite(d).all()):
            raise ValueError("origins or directions contain NaN or infinity")
        lengths = np.linalg.norm(d, axis=1)
        if (lengths == 0.0).any():
            raise ValueError("a direction has zero length: every ray needs a direction")
        d = d / lengths[:, None]
        limit = _max_distance(distance)
        from .rays import cast_many   # batched: the same casts as ray_cast, grouped per tree
        return RayResults(cast_many(self, o, d, limit))

    def find_nearest(self, point, distance=math.inf):
        """Nearest surface point within ``distance`` of ``point``, or None."""
        p = _vector3(point, "point")
        limit = _max_distance(distance)
        if not self._all_similar:
            return self._nearest_merged(p, limit)
        if len(self._entries) == 0:
            return None
        gap = np.maximum(np.maximum(self._wmin - p, p - self._wmax), 0.0)
        lower = np.sqrt((gap * gap).sum(axis=1))
        order = np.argsort(lower, kind="stable")
        best = None
        best_d = limit
        for i in order:
            if lower[i] > best_d:
                break
            i = int(i)
            inv = self._inv[i]
            scale = float(np.cbrt(abs(np.linalg.det(inv[:3, :3]))))
            lp = inv[:3, :3] @ p + inv[:3, 3]
            obj_limit = best_d * scale if math.isfinite(best_d) else 3.0e38
            loc, nor, index, dist = self._entries[i].tree.find_nearest(Vector(lp),
                                                                       min(obj_limit, 3.0e38))
            if loc is None:
                continue
            wd = dist / scale
            if wd <= best_d:
                best_d = wd
                best = (i, wd, loc, nor, index)
        return None if best is None else self._hit(*best)

    def _nearest_merged(self, p, limit):
        tree = self.tree
        loc, nor, index, dist = tree.find_nearest(Vector(p), min(limit, 3.0e38))
        if loc is None:
            return None
        i, polygon = self._tree_source_item(index)
        n_world = np.asarray(nor, dtype=np.float64)
        return Hit(Vector(loc), Vector(n_world), self._object(i), self._instancers[i], polygon,
                   float(dist), Matrix(self._mat[i].tolist()))

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
        """``(object, polygon_index)`` for a face index reported by :attr:`tree`."""
        if self._tree is None:
            self.tree  # noqa: B018 - builds it
        i, polygon = self._tree_source_item(index)
        return self._object(i), polygon

    def _tree_source_item(self, index):
        starts, polys = self._tree_source
        index = int(index)
        if index < 0 or index >= len(polys):
            raise IndexError(f"face index {index} is not in this tree (0..{len(polys) - 1})")
        i = int(np.searchsorted(starts, index, side="right") - 1)
        return i, int(polys[index])

    def _build_merged(self):
        from .merge import merged_arrays
        co, tris, polys, starts = merged_arrays(self)
        self._tree_source = (starts, polys)
        if len(tris) == 0:
            return BVHTree.FromPolygons([], [], all_triangles=True)
        return BVHTree.FromPolygons(co.tolist(), tris.tolist(), all_triangles=True,
                                    epsilon=self._epsilon)

    def __repr__(self):
        return f"<SceneBVH {self.stats!r}>"


_NEXT = np.array([1, 2, 0])
_AFTER = np.array([2, 0, 1])


def _cofactors(mat):
    """Cofactor matrices and determinants of the 3×3 parts of many 4×4 matrices.

    ``cof[i, j] = a[i+1, j+1] a[i+2, j+2] - a[i+1, j+2] a[i+2, j+1]`` (indices mod 3), by fancy
    indexing: a handful of whole-array operations, much cheaper than ``np.cross`` or a batched
    ``np.linalg.det`` / ``inv`` at a few hundred matrices.
    """
    a = mat[:, :3, :3]
    r1 = a[:, _NEXT]
    r2 = a[:, _AFTER]
    cof = r1[:, :, _NEXT] * r2[:, :, _AFTER] - r1[:, :, _AFTER] * r2[:, :, _NEXT]
    det = (a[:, 0] * cof[:, 0]).sum(axis=1)
    return cof, det


def _affine_inverse(mat, cof=None, det=None):
    """Inverse of many affine 4×4 matrices (vectorised adjugate; ``cof``, ``det``: from
    :func:`_cofactors` when the caller has them)."""
    if cof is None:
        cof, det = _cofactors(mat)
    inv3 = cof.transpose(0, 2, 1) / det[:, None, None]
    out = np.zeros_like(mat)
    out[:, :3, :3] = inv3
    out[:, :3, 3] = -np.matmul(inv3, mat[:, :3, 3, None])[:, :, 0]
    out[:, 3, 3] = 1.0
    return out


def _entry_boxes(entries, previous):
    """``(bmin, bmax)`` (N, 3) of the entries' object-space boxes.  ``previous``:
    ``(entries, bmin, bmax)`` of earlier builds; their arrays are reused when made for the very
    same entry objects in the same order (a transforms-only rebuild).  An entry's box never
    changes once the entry is built."""
    for prev, bmin, bmax in previous:
        if len(prev) == len(entries) and all(map(operator.is_, prev, entries)):
            return bmin, bmax
    bmin = np.array([e.bmin for e in entries], dtype=np.float64)
    bmax = np.array([e.bmax for e in entries], dtype=np.float64)
    bmin.flags.writeable = False
    bmax.flags.writeable = False
    return bmin, bmax


def _all_similarities(mat):
    """True when every matrix is rotation × uniform scale (± mirror) + translation: then the
    nearest point in object space is the nearest point in world space."""
    if len(mat) == 0:
        return True
    m = mat[:, :3, :3]
    gram = np.einsum("nki,nkj->nij", m, m)          # MᵀM = s² I for a similarity
    s2 = np.trace(gram, axis1=1, axis2=2) / 3.0
    err = np.abs(gram - s2[:, None, None] * np.eye(3)).max(axis=(1, 2))
    return bool((err <= 1e-5 * s2).all())


def _world_boxes(mat, bmin, bmax):
    """World-space AABBs of object-space boxes under 4×4 matrices (vectorised)."""
    if len(mat) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    center = 0.5 * (bmin + bmax)
    half = 0.5 * (bmax - bmin)
    wc = np.matmul(mat[:, :3, :3], center[:, :, None])[:, :, 0] + mat[:, :3, 3]
    wh = np.matmul(np.abs(mat[:, :3, :3]), half[:, :, None])[:, :, 0]
    return wc - wh, wc + wh


_ = GeomEntry  # re-exported for type references
