# SPDX-License-Identifier: GPL-3.0-or-later
"""Gathering: every contributing object and instance with its object-space tree and world matrix.

The top level being gathered is :class:`Items` (parallel lists, one row per object or instance);
:class:`Builder` finds each row's tree in the cache (``cache.lookup``, under a key that proves it
current) or builds it and keeps it there (``cache.store``).  This is the hot loop of a build:
per-object Python work is kept minimal (each value read once), world matrices and the bounds of
new trees are read for all objects at once where Blender allows it (``viewlayer``), numpy work
goes to ``toplevel``.
"""
import operator

from . import cache, geometry, validate, viewlayer, watch
from .geometry import GEOMETRY_TYPES
from .instances import has_instances, has_nodes_modifier, walk_instances
from .toplevel import Items

__all__ = ("Builder", "gather", "moved_items", "no_geometry_reason")


def _shows_own_geometry(obj, depsgraph):
    """Instancers (dupli-verts/faces/particles) can hide their own geometry."""
    if not obj.is_instancer:
        return True
    if depsgraph.mode == 'RENDER':
        return obj.show_instancer_for_render
    return obj.show_instancer_for_viewport


def no_geometry_reason(obj, depsgraph):
    """Why an object looked up among instances contributed nothing: an instancer (``is_instancer``)
    whose instances have no faces, or an object whose geometry nodes made no faces: instances
    without faces, or no instances at all (points or curves: it is no instancer)."""
    if obj.is_instancer or not has_nodes_modifier(obj):
        return "instancer without instanced geometry"
    if has_instances(obj.evaluated_get(depsgraph)):
        return "geometry-nodes instances without faces"
    return "only points / curves, no faces (geometry-nodes output)"


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
        # the change watch's geometry stamps (read once: it is put back first if Blender dropped
        # it, which re-makes every stamp)
        self.stamps, self.base_stamp = watch.geometry_stamps()

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
                return self.mesh_entry(src_eval, data, pointer, owner, source, defer_bounds)
            self.saw_edit_mode = True
        elif src_eval.original.mode != 'OBJECT':
            self.saw_edit_mode = True
        # a metaball has no modifiers to leave out, and only its evaluated object has a surface
        use_eval = self.evaluated or src_eval.type == 'META'
        return self._entry_converted(src_eval if use_eval else src_orig, owner, source)

    def mesh_entry(self, src_eval, data, pointer, owner, source, defer_bounds=None):
        """The tree of the evaluated mesh ``data`` of ``src_eval`` (not in Edit Mode): the cached
        one when its key (``cache.evaluated_key``: address, the geometry stamp of the object
        ``pointer``, counts, epsilon) finds one, else built now (``BVHTree.FromObject``) and
        cached for ``owner`` and ``source`` (see :meth:`entry_for`).  None without faces."""
        npoly = len(data.polygons)
        nloop = len(data.loops)
        key = cache.evaluated_key(data.as_pointer(), self.stamps.get(pointer, self.base_stamp),
                                  len(data.vertices), npoly, nloop, self.epsilon)
        entry = cache.lookup(key)
        if entry is not None and (self.use_cache or id(entry) in self.entries_seen):
            return self._reused(entry)     # reuse=False still shares within this build
        if npoly == 0:
            return None
        cache.drop_replaced(owner)
        entry = geometry.entry_from_object(src_eval, self.depsgraph, data, self.epsilon,
                                           bounds=defer_bounds is None, counts=(npoly, nloop))
        if entry.bmin is None:
            self.pending_bounds.append((entry, data, defer_bounds))
        cache.store(key, entry, owner, source)
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
        return self._entry_of_arrays(*arrays, owner, source)

    def _entry_of_arrays(self, co, tris, tri_poly, owner, source):
        key = geometry.content_key(co, tris, tri_poly, self.epsilon)
        entry = cache.lookup(key)
        if entry is not None and (self.use_cache or id(entry) in self.entries_seen):
            return self._reused(entry)
        cache.drop_replaced(owner)
        entry = geometry.entry_from_arrays(co, tris, tri_poly, self.epsilon)
        cache.store(key, entry, owner, source)
        return self._rebuilt(entry)

    def entry_for_mesh(self, mesh, owner, source):
        """The tree of a mesh made by geometry nodes, read from a geometry set (no object of its
        own: built from its triangles).  A geometry set hands out a copy with a new
        ``session_uid`` each time, so the tree is keyed on a digest of its triangles.  None when
        it has no faces."""
        if len(mesh.polygons) == 0:
            return None
        co, tris, tri_poly = geometry.mesh_arrays(mesh)
        return self._entry_of_arrays(co, tris, tri_poly, owner, source)

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
    builder = Builder(depsgraph, evaluated, epsilon, use_cache, stats)
    items = Items()
    instancers = {}
    uids = objects.uids() if hasattr(objects, "uids") else viewlayer.object_uids(objects)
    rows = viewlayer.rows_for(depsgraph, uids)    # before any evaluated data is read
    if rows is not None and rows.all_found:
        builder.rows = rows
    try:
        _gather_objects(builder, objects, instances, items, instancers, progress)
        items.uids = uids[items.src]
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
    items.uids = movable.uids
    items.instancers = [None] * len(items.objs)
    items.batch = rows.matrices()
    cache.touch_all(movable.trees)
    return items


def _gather_objects(builder, objects, instances, items, instancers, progress):
    """Every input object's own geometry (instances come later, from the depsgraph).

    The common case (an evaluated mesh object in object mode) goes straight to
    ``Builder.mesh_entry``, each value read once; everything else through ``Builder.entry_for``.
    World matrices are read here only when no batch read is possible.
    """
    depsgraph = builder.depsgraph
    skipped = builder.stats.objects_skipped
    n = len(objects)
    step = max(1, n // 20)
    keys = getattr(objects, "keys", None) or [obj.as_pointer() for obj in objects]
    marked = builder.evaluated
    mesh_entry = builder.mesh_entry
    entry_for = builder.entry_for
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
        key = keys[i]
        # instancers (collection, verts, faces, particles: ``is_instancer``) and objects with a
        # geometry-nodes modifier (which may output instances) are looked up among instances
        wants_instances = instances and (obj_eval.is_instancer or
                                         has_nodes_modifier(obj_eval))
        if wants_instances:
            instancers[key] = obj
            if not _shows_own_geometry(obj_eval, depsgraph):
                continue
        kind = obj_eval.type
        if kind not in GEOMETRY_TYPES:
            if not wants_instances:
                skipped.append((obj.name, f"{obj.type.lower()} object has no surface geometry"))
            continue
        try:
            data = obj_eval.data if marked and kind == 'MESH' else None
            if data is not None and not data.is_editmode:
                entry = mesh_entry(obj_eval, data, key, (key, "evaluated"), obj, i)
            else:
                entry = entry_for(obj_eval, obj, key, obj, defer_bounds=i)
        except ValueError as ex:   # e.g. no evaluated mesh for an object disabled in viewports
            skipped.append((obj.name, f"no evaluated geometry ({ex})"))
            continue
        if entry is None:
            if not wants_instances:
                skipped.append((obj.name, "no faces"))
            continue
        objs_append(obj)
        entries_append(entry)
        keys_append(key)
        src_append(i)
        if per_row:
            matrices_append(to_row(obj_eval.matrix_world))
    items.instancers.extend([None] * len(items.objs))


def _gather_instances(builder, instancers, items):
    """Instances of the given instancers (``instances``: without a Python object per instance
    where Blender allows it).  A temporary instance object is only valid during its iteration
    step, so its tree is found right then."""

    def add(source, instancer, src, src_orig, key, matrices):
        if src.type not in GEOMETRY_TYPES:
            return
        try:
            entry = builder.entry_for(src, src_orig, key, source)
        except ValueError:
            return
        if entry is None:
            return
        items.any_instances = True
        for matrix in matrices:
            items.add(source, instancer, entry, matrix, key)

    def temporary(instancer, src, src_orig, matrix):
        if src_orig is None:    # geometry made by geometry nodes: no original data
            if builder.evaluated:
                add(instancer, instancer, src, None, instancer.as_pointer(), (matrix,))
            return
        add(src_orig, instancer, src, src_orig, src_orig.as_pointer(), (matrix,))

    groups, pieces = walk_instances(builder.depsgraph, instancers, temporary)
    for group in groups:
        add(group.src_orig, group.instancer, group.src, group.src_orig,
            group.src_orig.as_pointer(), group.matrices)
    if not builder.evaluated:
        return
    for piece in pieces:
        key = piece.instancer.as_pointer()
        entry = builder.entry_for_mesh(piece.mesh, (key, "generated"), piece.instancer)
        if entry is None:
            continue
        items.any_instances = True
        for matrix in piece.matrices:
            items.add(piece.instancer, piece.instancer, entry, geometry.matrix_row_of(matrix),
                      key)
