# SPDX-License-Identifier: GPL-3.0-or-later
"""A drop-in for BlenderProc's ``create_bvh_tree_multi_objects``: the same tree, leak-free, fast.

BlenderProc 2.8.0 (``blenderproc/python/types/MeshObjectUtility.py``) builds, per object in input
order: a copy of the object's *original* mesh (``mesh.copy()``: a new ID in ``bpy.data``; no
modifiers, no shape-key mix), ``mesh.transform()`` by its local-to-world matrix (``matrix_basis``
chained up the parents, see :func:`local2world`; constraints are ignored), ``bm.from_mesh``, then
``bpy.data.meshes.remove``; at the end ``BVHTree.FromBMesh`` (epsilon 0).  Its hits: face index =
the bmesh face index (the objects' polygons concatenated in input order), normal = that polygon's
normal (not the triangle's; not flipped for a negative scale).  It reads nothing evaluated, checks
nothing (objects of other scenes or of none build too), and an empty list gives an empty tree.
Every ``meshes.remove`` scans all IDs, so it is quadratic in the object count.

Here (``evaluated=False``, the default) nothing is evaluated and no datablock is made:

* Meshes whose polygons are all triangles (most scanned, CAD and dataset models) never go through
  a bmesh: their vertex positions and corners are read with ``foreach_get`` (and kept, see below),
  moved to world space in numpy with the very float32 operations ``Mesh.transform`` performs, in
  the same order (so the same bits), and the tree is built with ``BVHTree.FromPolygons``
  (``all_triangles=True``).  For triangles that is the tree ``FromBMesh`` builds: the same
  triangles in the same order (a triangle's tessellation is its own corners), indices = face
  indices, normals = ``normal_tri_v3`` of the same coordinates.
* Any other polygon (quads, n-gons) needs bmesh's tessellation and face normals: then every object
  goes ``Object.to_mesh()`` (a temporary mesh outside ``bpy.data``: no ID, nothing to remove, no
  scan) → ``Mesh.transform`` → ``bm.from_mesh``, released by ``to_mesh_clear()`` in ``finally``,
  and ``FromBMesh`` builds the tree.

World matrices are read for all objects at once (``foreach_get`` of ``matrix_basis`` over
``bpy.data.objects``); parented objects compose theirs as BlenderProc does, with ``mathutils``.

What is kept between calls (freed by ``api.clear_cache()``, counted in ``api.cache_info()``): the
latest tree, and the arrays of the meshes read.  Kept arrays are used without reading the meshes
again while nothing can have changed them, proven without evaluating anything: the view layer's
depsgraph flags every mesh edit made since its last evaluation (``Depsgraph.id_type_updated
('MESH')``, read without evaluating), and the core's change watch (``watch``) counts evaluations
that updated a mesh.  Otherwise every mesh is read again and compared with what was kept.  Called
again with the same objects, meshes (the same arrays) and matrices, the latest tree is returned.
(The bmesh path's ``Mesh.transform`` of temporary meshes raises that flag itself, until the next
evaluation: calls after it read and compare.  Writing mesh data with ``foreach_set`` without
``Mesh.update()`` is not flagged on Blender 4.x — Blender itself does not see such an edit — and
kept arrays would not see it either: call ``api.clear_cache()`` after one.)

``evaluated=True`` opts into what Blender shows: the evaluated geometry (modifiers, shape keys,
geometry nodes; curves, text, surfaces and metaballs too) placed by the evaluated ``matrix_world``
(constraints included), through the bmesh path; the depsgraph is evaluated for that, and objects
must be in its scene (checked once per call for all objects).
"""
import bpy

import bmesh
import numpy as np
from mathutils import Matrix
from mathutils.bvhtree import BVHTree

from . import blenderproc_memory as memory
from . import fastpath, handles, validate
from .blenderproc_memory import Source, clear, latest
from .geometry import GEOMETRY_TYPES

__all__ = ("create_bvh_tree_multi_objects", "local2world", "latest", "Source", "clear",
           "MAX_EXTRA")

#: ``bpy.data.objects`` is read in one batch when it holds at most this many objects per object
#: of the call (plus a constant); else matrices are read object by object
MAX_EXTRA = 4


def local2world(obj):
    """BlenderProc's ``Entity.get_local2world_mat()`` as a ``Matrix``: ``matrix_basis`` composed up
    the parent chain as ``parent.matrix_basis @ matrix_parent_inverse @ m`` (not ``matrix_world``:
    constraints, drivers' results not yet evaluated and bone parents are ignored)."""
    matrix = obj.matrix_basis.copy()
    while obj.parent is not None:
        matrix = obj.parent.matrix_basis @ obj.matrix_parent_inverse @ matrix
        obj = obj.parent
    return matrix


def create_bvh_tree_multi_objects(mesh_objects, *, evaluated=False, depsgraph=None, epsilon=0.0):
    """BlenderProc 2.8.0's ``create_bvh_tree_multi_objects``: the same tree, no datablock made.

    Args:
        mesh_objects: ``bpy.types.Object``s or BlenderProc ``MeshObject``s (anything with
            ``.blender_obj``), in order, duplicates kept; an empty list gives an empty tree.
        evaluated: False (BlenderProc's): the original meshes placed by ``matrix_basis`` up the
            parent chain, nothing evaluated.  True: what Blender shows (modifiers, shape keys,
            curves, text; ``matrix_world``), evaluated in ``depsgraph``.
        depsgraph: for ``evaluated=True`` (default: the context's); anything but a
            ``bpy.types.Depsgraph`` or None is a ``TypeError`` naming it.
        epsilon: the tree's epsilon (BlenderProc's: 0).

    Returns:
        mathutils.bvhtree.BVHTree: one world-space tree; face index = the polygons of the meshes
        concatenated in input order, normal = the polygon's normal (see the module doc).

    Raises:
        TypeError: an item is not a Blender object, or a curve/text object (evaluated=False);
            ``depsgraph`` is not a depsgraph.
        ValueError: an object without a mesh; with ``evaluated=True`` one outside the
            depsgraph's scene or not evaluated; a bad ``epsilon``.
        ReferenceError: an object was deleted.
    """
    handles.check_depsgraph(depsgraph)
    epsilon = validate.epsilon(epsilon)
    if evaluated:
        objects = validate.unwrap_objects(mesh_objects, allow_empty=True)
        return _evaluated_tree(objects, depsgraph, epsilon)
    if mesh_objects is None:
        validate.unwrap_objects(mesh_objects)          # the clear error
    if isinstance(mesh_objects, bpy.types.Object) or hasattr(mesh_objects, "blender_obj"):
        mesh_objects = [mesh_objects]
    return _original_tree(tuple(mesh_objects), epsilon)


# ------------------------------------------------------------------------------------------------
# evaluated=False: BlenderProc's own semantics, nothing evaluated
# ------------------------------------------------------------------------------------------------

def _original_tree(items, epsilon):
    held = memory.unchanged(items, epsilon)
    if held is not None:
        return held                     # proven: nothing was edited or evaluated since
    objects, uids, meshes, parented = _inputs(items)
    proof = memory.proof()
    arrays = memory.mesh_arrays(meshes, proof)
    matrices = _matrices(objects, uids, parented)     # (N, 4, 4) float32, column by column
    key = (tuple(uids), tuple(arrays), matrices.tobytes(), epsilon)
    held = memory.Memory.latest
    if held is not None and held.key == key:
        held.quiet(items, objects)
        return held.tree                          # the same objects, meshes and matrices
    memory.Memory.latest = None       # let the previous tree go before building the next one
    if all(a.triangles is not None for a in arrays):
        tree, source, triangles = _triangle_tree(objects, arrays, matrices, epsilon)
    else:
        tree, triangles = _bmesh_tree(
            [(obj, Matrix(m.T.tolist())) for obj, m in zip(objects, matrices, strict=True)],
            epsilon)
        source = memory.Source(tuple(objects))
    memory.Memory.latest = memory.Latest(key, tree, triangles, source)
    memory.Memory.latest.quiet(items, objects)
    return tree


def _inputs(items):
    """``(objects, their session UIDs, their meshes, indices of the parented ones)``, each value
    read once; clear errors for anything BlenderProc's function fails on too."""
    object_type, mesh_type = bpy.types.Object, bpy.types.Mesh
    objects, uids, meshes, parented = [], [], [], []
    for i, item in enumerate(items):
        obj = item if type(item) is object_type else getattr(item, "blender_obj", item)
        if type(obj) is not object_type and not isinstance(obj, object_type):
            validate.unwrap_objects(items)                # raises the clear error
        try:
            uid = obj.session_uid
        except ReferenceError:
            raise ReferenceError(f"item {i} of the object list has been deleted (removed from "
                                 f"bpy.data)") from None
        data = obj.data
        if type(data) is not mesh_type:
            raise _not_a_mesh(obj)
        if obj.parent is not None:
            parented.append(i)
        objects.append(obj)
        uids.append(uid)
        meshes.append(data)
    return objects, uids, meshes, parented


def _not_a_mesh(obj):
    """The error for an object without a mesh (BlenderProc's function fails on it too)."""
    if obj.type in GEOMETRY_TYPES:
        return TypeError(f"object {obj.name!r} is a {obj.type.lower()} object: BlenderProc's "
                         f"function takes mesh objects (evaluated=True converts curves, text, "
                         f"surfaces and metaballs)")
    return ValueError(f"object {obj.name!r}: {obj.type.lower()} object has no surface geometry")


def _matrices(objects, uids, parented):
    """BlenderProc's local-to-world matrices of ``objects`` (session UIDs ``uids``): float32
    (N, 4, 4), each matrix column by column (``out[i, c]`` is column ``c``)."""
    n = len(objects)
    out = np.empty((n, 4, 4), dtype=np.float32)
    if n == 0:
        return out
    collection = bpy.data.objects
    size = len(collection)
    if size <= MAX_EXTRA * n + 256:
        have = np.empty(size, dtype=np.int64)
        collection.foreach_get("session_uid", have)
        order = np.argsort(have, kind="stable")
        uids = np.asarray(uids, dtype=np.int64)
        index = order[np.minimum(np.searchsorted(have, uids, sorter=order), size - 1)]
        if (have[index] == uids).all():
            buf = np.empty(size * 16, dtype=np.float32)
            collection.foreach_get("matrix_basis", buf)
            out[:] = buf.reshape(size, 4, 4)[index]
            parented = parented or ()
            for i in parented:
                out[i] = np.array(local2world(objects[i]), dtype=np.float32).T
            return out
    for i, obj in enumerate(objects):
        out[i] = np.array(local2world(obj), dtype=np.float32).T
    return out


def _triangle_tree(objects, arrays, matrices, epsilon):
    """The tree of meshes whose polygons are all triangles (see the module doc)."""
    key = tuple(map(id, arrays))
    found = memory.Memory.sets.get(key)
    if found is None or found.meshes != tuple(arrays):
        found = memory.TriangleSet(arrays)
        memory.Memory.sets = {key: found}
    world = _to_world(found.co, found.counts, matrices)
    tree = BVHTree.FromPolygons(world.tolist(), found.tris_list, all_triangles=True,
                                epsilon=epsilon)
    return tree, memory.Source(tuple(objects), world, found.tris), len(found.tris)


def _to_world(co, counts, matrices):
    """``co`` (V, 3) float32 moved by each object's matrix (``counts`` vertices each): per vertex
    ``((x * c0 + y * c1) + z * c2) + c3`` in float32, the operations and order of Blender's
    ``Mesh.transform`` (``mul_m4_v3``), so the very same bits."""
    out = np.empty_like(co)
    if len(co) == 0:
        return out
    cols = matrices[:, :, :3]                 # (N, 4 columns, 3 rows)
    if len(counts) <= 64:
        start = 0
        for k, count in enumerate(counts.tolist()):
            stop = start + count
            c = co[start:stop]
            m = cols[k]
            np.multiply(c[:, 0:1], m[0], out=out[start:stop])
            out[start:stop] += c[:, 1:2] * m[1]
            out[start:stop] += c[:, 2:3] * m[2]
            out[start:stop] += m[3]
            start = stop
        return out
    per_vertex = np.repeat(cols, counts, axis=0)          # (V, 4, 3)
    np.multiply(co[:, 0:1], per_vertex[:, 0], out=out)
    out += co[:, 1:2] * per_vertex[:, 1]
    out += co[:, 2:3] * per_vertex[:, 2]
    out += per_vertex[:, 3]
    return out


# ------------------------------------------------------------------------------------------------
# evaluated=True, and polygons other than triangles: through a bmesh
# ------------------------------------------------------------------------------------------------

def _evaluated_tree(objects, depsgraph, epsilon):
    given = depsgraph
    stamp = fastpath.stamp_now(given)
    if depsgraph is None:
        depsgraph = bpy.context.evaluated_depsgraph_get()
    key = ("evaluated", tuple(obj.session_uid for obj in objects), epsilon, stamp)
    held = memory.Memory.latest
    if stamp is not None and held is not None and held.key == key:
        return held.tree
    memory.Memory.latest = None
    sources = _evaluated_sources(objects, depsgraph)
    tree, triangles = _bmesh_tree(sources, epsilon)
    if stamp is not None and stamp == fastpath.stamp_now(given):   # nothing evaluated meanwhile
        memory.Memory.latest = memory.Latest(key, tree, triangles, memory.Source(tuple(objects)))
    return tree


def _evaluated_sources(objects, depsgraph):
    """``(evaluated object, world matrix)`` per input object, checked (clear errors); the scene
    membership of all objects is checked at once."""
    scene = depsgraph.scene
    members = scene.objects
    have = np.empty(len(members), dtype=np.int64)
    members.foreach_get("session_uid", have)
    uids = np.fromiter((obj.session_uid for obj in objects), dtype=np.int64, count=len(objects))
    inside = np.isin(uids, have)
    out = []
    for obj, ok in zip(objects, inside.tolist(), strict=True):
        if not ok:
            raise ValueError(f"object {obj.name!r} is not in scene {scene.name!r} (it is in "
                             f"another scene, or in none): build with that scene's depsgraph")
        src = obj.evaluated_get(depsgraph)
        if not src.is_evaluated:
            raise ValueError(f"object {obj.name!r} has no evaluated geometry: "
                             f"{validate.not_evaluated_reason(obj, depsgraph)}")
        if src.type not in GEOMETRY_TYPES:
            raise ValueError(f"object {obj.name!r}: {obj.type.lower()} object has no surface "
                             f"geometry")
        out.append((src, src.matrix_world.copy()))
    return out


def _bmesh_tree(sources, epsilon):
    """``(FromBMesh tree, triangles)`` of the meshes of ``(object, world matrix)`` pairs, each
    transformed and appended in order (BlenderProc's steps, the copy made outside ``bpy.data``)."""
    bm = bmesh.new()
    triangles = 0
    try:
        for src, matrix in sources:
            mesh = src.to_mesh()
            try:
                if mesh is None:
                    continue
                mesh.transform(matrix)   # never shape_keys=True: the key is the original's
                bm.from_mesh(mesh)
                triangles += len(mesh.loops) - 2 * len(mesh.polygons)
            finally:
                src.to_mesh_clear()
        return BVHTree.FromBMesh(bm, epsilon=epsilon), triangles
    finally:
        bm.free()
