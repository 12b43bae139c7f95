# SPDX-License-Identifier: GPL-3.0-or-later
"""Gathering: every contributing object and instance with its object-space tree and world matrix.

The top level being gathered is :class:`Items` (parallel lists, one row per object or instance);
:class:`Builder` finds each row's tree in the cache (proven current, see ``cache``) or builds it.
This is the hot loop of a build: per-object Python work is kept minimal (each value read once),
world matrices and the bounds of new trees are read for all objects at once where Blender allows
it (``viewlayer``), numpy work goes to ``toplevel``.
"""
import operator

from mathutils.bvhtree import BVHTree

from . import cache, geometry, validate, viewlayer, watch
from .geometry import GEOMETRY_TYPES, GeomEntry
from .toplevel import Items

__all__ = ("Builder", "gather", "moved_items")


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


class Builder:
    """One build: finds or builds each object-space tree, and counts what it did."""

    def __init__(self, depsgraph, evaluated, epsilon, use_cache, stats):
        self.depsgraph = depsgraph
        self.evaluated = evaluated
        self.epsilon = float(epsilon)
        self.use_cache = use_cache
        self.stats = stats
        self.entries_seen = {}
        # (entry, evaluated mesh, input index) of new trees whose bounds are read in one go
        self.pending_bounds = []
        self.saw_edit_mode = False  # edit-mode geometry can change without any depsgraph update
        self.rows = None            # viewlayer.Rows of the input objects, when batch reads work

    def entry_for(self, src_eval, src_orig, pointer, source, defer_bounds=None):
        """The object-space tree of ``src_eval``'s geometry (an evaluated or temporary instance
        object), from the cache when proven current.  None when it has no faces.  ``pointer``:
        the ``as_pointer()`` of the object whose geometry this is; ``src_orig`` None: geometry
        made by geometry nodes (see ``cache.drop_replaced``); ``source``: the original object
        whose geometry this is (see ``cache.store``).  ``defer_bounds``: the input index
        of an input object, whose new tree's bounds :meth:`finish` reads with the others'."""
        if src_orig is None:
            owner = (pointer, "generated")
        else:
            owner = (pointer, "evaluated" if self.evaluated else "original")
        if self.evaluated and src_eval.type == 'MESH':
            data = src_eval.data
            if not data.is_editmode:
                return self._entry_marked(src_eval, data, pointer, owner, source, defer_bounds)
            self.saw_edit_mode = True
        elif src_eval.original.mode != 'OBJECT':
            self.saw_edit_mode = True
        return self._entry_converted(src_eval if self.evaluated else src_orig, owner, source)

    def _entry_marked(self, src_eval, data, pointer, owner, source, defer_bounds):
        check = cache.check_of(data)
        entry = cache.lookup_marked(data, pointer, self.epsilon, check)
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
        cache.drop_replaced(owner)
        entry = geometry.entry_from_object(src_eval, self.depsgraph, data, self.epsilon,
                                           bounds=defer_bounds is None)
        if entry.bmin is None:
            self.pending_bounds.append((entry, data, defer_bounds))
        cache.store_marked(data, pointer, entry, owner, check, source)
        return self._rebuilt(entry)

    def finish(self):
        """Complete deferred work (bounds of new trees) while the evaluated meshes are current.

        Entries are cached as soon as they are built (so linked duplicates share them); if the
        bounds cannot be completed they are dropped from the cache again, never left half-made.
        Returns ``(bmin, bmax)`` arrays (K, 3) of the K new trees when read in one go, else None.
        """
        pending = self.pending_bounds
        boxes = None
        try:
            if pending and self.rows is not None:
                boxes = self.rows.bounds([index for _entry, _mesh, index in pending])
                for (entry, _mesh, _index), a, b in zip(pending, boxes[0].tolist(),
                                                        boxes[1].tolist(), strict=True):
                    entry.bmin = a     # lists: cheaper to make than array views, and to stack
                    entry.bmax = b
            else:
                geometry.fill_bounds([(entry, mesh) for entry, mesh, _index in pending])
        except BaseException:
            self.abandon()
            raise
        self.pending_bounds = []
        return boxes

    def abandon(self):
        """The build failed: uncache the trees whose bounds were never completed."""
        cache.discard([entry for entry, _mesh, _index in self.pending_bounds])
        self.pending_bounds = []

    def _entry_converted(self, src, owner, source):
        arrays = _triangles(src)
        if arrays is None:
            return None
        co, tris, tri_poly = arrays
        key = geometry.content_key(co, tris, tri_poly, self.epsilon)
        entry = cache.lookup(key)
        if entry is not None and (self.use_cache or id(entry) in self.entries_seen):
            return self._reused(entry)
        cache.drop_replaced(owner)
        entry = geometry.entry_from_arrays(co, tris, tri_poly, self.epsilon)
        cache.store(key, entry, owner, source)
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


def _triangles(src):
    """``(co, tris, tri_poly)`` of ``src``'s mesh, or None without faces.  A mesh object in Edit
    Mode taken without modifiers is read from its edit-mode bmesh (the current, unsaved edits:
    its mesh data is what it was on entering Edit Mode); anything else through ``to_mesh()``."""
    if src.type == 'MESH' and not src.is_evaluated and src.data.is_editmode:
        return geometry.edit_mesh_arrays(src.data)
    mesh = geometry.to_mesh(src)
    try:
        if mesh is None or len(mesh.polygons) == 0:
            return None
        return geometry.mesh_arrays(mesh)
    finally:
        geometry.to_mesh_clear(src)


def gather(objects, depsgraph, evaluated, instances, epsilon, use_cache, stats, progress):
    """Every contributing object and instance with its tree and world matrix (the hot loop:
    keep per-object Python work minimal, numpy work goes to ``toplevel``)."""
    watch.geometry_stamps()     # the watch that stamps geometry changes is in place
    builder = Builder(depsgraph, evaluated, epsilon, use_cache, stats)
    items = Items()
    instancers = {}
    uids = objects.uids() if hasattr(objects, "uids") else viewlayer.object_uids(objects)
    rows = viewlayer.rows_for(depsgraph, uids)    # before any evaluated data is read
    if rows is not None and rows.all_found:
        builder.rows = rows
    try:
        _gather_objects(builder, objects, instances, items, instancers, progress)
        if builder.rows is not None:
            items.batch = builder.rows.matrices(items.src)
    except BaseException:
        builder.abandon()
        raise
    new = [entry for entry, _mesh, _index in builder.pending_bounds]
    boxes = builder.finish()
    if boxes is not None and len(new) == len(items.entries) and all(
            map(operator.is_, new, items.entries)):
        items.boxes = boxes   # a cold build: every row's box was just read, in row order
    if instancers:
        _gather_instances(builder, instancers, items)
        if len(items.entries) > len(new):
            items.boxes = None
    return items, builder, instancers


def moved_items(movable, depsgraph):
    """The rows of an earlier build (``fastpath.Movable``) with their world matrices read again in
    one batch, their trees stamped as used; None when the batch read is not possible (then the
    caller walks every object)."""
    rows = viewlayer.rows_for(depsgraph, movable.uids)
    if rows is None or not rows.all_found:
        return None
    items = Items()
    items.objs = list(movable.objs)
    items.entries = list(movable.entries)
    items.keys = list(movable.keys)
    items.src = list(range(len(items.objs)))
    items.instancers = [None] * len(items.objs)
    items.batch = rows.matrices()
    generation = cache.generation()
    for entry in movable.trees:
        entry.last_used = generation
    return items


def _gather_objects(builder, objects, instances, items, instancers, progress):
    """Every input object's own geometry (instances come later, from the depsgraph).

    The common case (an evaluated mesh object in object mode: the cache's proof, and a new tree
    built right here when it fails) is inlined, each value read once; everything else goes through
    ``Builder.entry_for``.  World matrices are read here only when no batch read is possible.
    """
    depsgraph = builder.depsgraph
    stats = builder.stats
    skipped = stats.objects_skipped
    n = len(objects)
    step = max(1, n // 20)
    keys = getattr(objects, "keys", None) or [obj.as_pointer() for obj in objects]
    marked = builder.evaluated
    epsilon = builder.epsilon
    use_cache = builder.use_cache
    seen = builder.entries_seen
    cached = cache.ENTRIES
    owners = cache.OWNERS
    stamps, base_stamp = watch.geometry_stamps()
    generation = cache.generation()
    from_object = BVHTree.FromObject
    pending = builder.pending_bounds
    per_row = builder.rows is None
    to_row = geometry.matrix_row
    objs_append = items.objs.append
    entries_append = items.entries.append
    matrices_append = items.matrices.append
    keys_append = items.keys.append
    src_append = items.src.append
    for i, obj in enumerate(objects):
        if progress is not None and i % step == 0:
            progress(0.9 * i / n)
        obj_eval = obj.evaluated_get(depsgraph)
        if not obj_eval.is_evaluated:
            skipped.append((obj.name, validate.not_evaluated_reason(obj, depsgraph)))
            continue
        wants_instances = instances and (obj_eval.is_instancer or (
            len(obj_eval.modifiers) > 0 and _has_nodes_modifier(obj_eval)))
        if wants_instances:
            instancers[keys[i]] = obj
            if not _shows_own_geometry(obj_eval, depsgraph):
                continue
        elif marked and obj_eval.type == 'MESH':
            # the common case, each value read once (the same steps as Builder._entry_marked)
            data = obj_eval.data
            if not data.is_editmode:
                npoly = len(data.polygons)
                nloop = len(data.loops)
                address = data.as_pointer()
                check = (address, len(data.vertices), npoly, nloop)
                key = ("evaluated", address, stamps.get(keys[i], base_stamp))
                entry = found = cached.get(key)
                if entry is not None and entry.epsilon == epsilon and entry.check == check and (
                        use_cache or id(entry) in seen):
                    # proven current (reuse=False still shares within this build)
                    entry.last_used = generation
                    if id(entry) not in seen:
                        seen[id(entry)] = entry
                        stats.meshes_reused += 1
                elif npoly == 0:
                    skipped.append((obj.name, "no faces"))
                    continue
                else:
                    owner = (keys[i], "evaluated")
                    if owner in owners:
                        cache.drop_replaced(owner)
                    try:
                        if nloop == 3 * npoly:   # all triangles: the tree's normals are theirs
                            entry = GeomEntry(from_object(obj_eval, depsgraph, epsilon=epsilon),
                                              None, None, npoly, epsilon)
                        else:
                            entry = geometry.entry_from_object(obj_eval, depsgraph, data,
                                                               epsilon, bounds=False)
                    except ValueError as ex:
                        skipped.append((obj.name, f"no evaluated geometry ({ex})"))
                        continue
                    if entry.bmin is None:
                        pending.append((entry, data, i))
                    entry.check = check
                    if found is None:     # what cache.store does for a new key, inlined
                        entry.key, entry.owner, entry.source = key, owner, obj
                        entry.last_used = generation
                        entry.size = entry.nbytes
                        cached[key] = entry
                        owned = owners.get(owner)
                        if owned is None:
                            owners[owner] = {key}
                        else:
                            owned.add(key)
                    else:
                        cache.store(key, entry, owner, obj)
                    seen[id(entry)] = entry
                    stats.meshes_rebuilt += 1
                objs_append(obj)
                entries_append(entry)
                keys_append(keys[i])
                src_append(i)
                if per_row:
                    matrices_append(to_row(obj_eval.matrix_world))
                continue
        if obj_eval.type not in GEOMETRY_TYPES:
            if not wants_instances:
                skipped.append((obj.name, f"{obj.type.lower()} object has no surface geometry"))
            continue
        try:
            entry = builder.entry_for(obj_eval, obj, keys[i], obj, defer_bounds=i)
        except ValueError as ex:   # e.g. no evaluated mesh for an object disabled in viewports
            skipped.append((obj.name, f"no evaluated geometry ({ex})"))
            continue
        if entry is None:
            if not wants_instances:
                skipped.append((obj.name, "no faces"))
            continue
        objs_append(obj)
        entries_append(entry)
        keys_append(keys[i])
        src_append(i)
        if per_row:
            matrices_append(to_row(obj_eval.matrix_world))
    items.instancers.extend([None] * len(items.objs))


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
        entry = builder.entry_for(src, None if generated else src_orig, src_orig.as_pointer(),
                                  src_orig)
    except ValueError:
        return
    if entry is None:
        return
    items.any_instances = True
    items.add(src_orig, instancer, entry, geometry.matrix_row(inst.matrix_world, copy=True),
              src_orig.as_pointer())
