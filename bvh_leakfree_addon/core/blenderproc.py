# SPDX-License-Identifier: GPL-3.0-or-later
"""A drop-in for BlenderProc's ``create_bvh_tree_multi_objects``: the same tree, leak-free.

BlenderProc v2.8 (``blenderproc/python/types/MeshObjectUtility.py``) builds, per object in input
order: a copy of the object's *original* mesh (``mesh.copy()``: a new ID in ``bpy.data``; no
modifiers, no shape-key mix), ``mesh.transform()`` by its local-to-world matrix (``matrix_basis``
chained up the parents, see :func:`local2world`; constraints are ignored), ``bm.from_mesh``, then
``bpy.data.meshes.remove``; at the end ``BVHTree.FromBMesh`` (epsilon 0).  Its hits: face index =
the bmesh face index (the objects' polygons concatenated in input order), normal = that polygon's
normal (not the triangle's; not flipped for a negative scale).  Every ``meshes.remove`` scans all
IDs, so the fixed function is quadratic in the object count (~1.8 s for 2,000 small objects).

Here the copy is ``Object.to_mesh()``: a temporary mesh *outside* ``bpy.data`` (so no ID is made,
nothing is removed, no scan), transformed and appended the same way, released by
``to_mesh_clear()`` in ``finally``.  The float operations are Blender's own, the same as
BlenderProc's (``Mesh.transform``, then the mesh's polygon normals read by ``from_mesh``), so the
hits are the same.  ``Mesh.transform`` is called without ``shape_keys``: the temporary mesh shares
the original's shape-key datablock, which must never be modified.

``evaluated=True`` opts into what Blender shows: the evaluated geometry (modifiers, shape keys,
geometry nodes; curves, text, surfaces and metaballs too) placed by the evaluated ``matrix_world``
(constraints included); the numbering and normals follow the same rules, on the evaluated polygons.

The latest tree is remembered in the core's cache (one at a time, freed by ``api.clear_cache()``):
called again with the same objects and options while Blender evaluated nothing (the core's change
watch, see ``watch``), the same tree is returned without any mesh work.
"""
import math

import bpy

import bmesh
from mathutils.bvhtree import BVHTree

from . import cache, fastpath, validate
from .geometry import GEOMETRY_TYPES

__all__ = ("create_bvh_tree_multi_objects", "local2world")


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
    """One world-space ``mathutils.bvhtree.BVHTree`` over ``mesh_objects`` (``bpy.types.Object``s
    or BlenderProc-style wrappers with ``.blender_obj``), as BlenderProc v2.8's function builds it,
    without creating any datablock.  See the module documentation."""
    objects = validate.unwrap_objects(mesh_objects)
    evaluated = bool(evaluated)
    epsilon = validate.epsilon(epsilon)
    given = depsgraph
    stamp = fastpath.stamp_now(given)
    key = (tuple(obj.as_pointer() for obj in objects), evaluated, epsilon, stamp)
    if stamp is not None:
        tree = cache.world_tree(key)
        if tree is not None:
            return tree
    if depsgraph is None and evaluated:
        depsgraph = bpy.context.evaluated_depsgraph_get()
    tree, triangles = _build(_sources(objects, depsgraph, evaluated), epsilon)
    if stamp is not None and stamp == fastpath.stamp_now(given):
        cache.remember_world_tree(key, tree, triangles)   # nothing was evaluated meanwhile
    return tree


def _sources(objects, depsgraph, evaluated):
    """``(object to convert, world matrix)`` per input object, checked (clear errors)."""
    scene = depsgraph.scene if depsgraph is not None else bpy.context.scene
    out = []
    for obj in objects:
        validate.check_in_scene(obj, scene)
        if evaluated:
            src = obj.evaluated_get(depsgraph)
            if not src.is_evaluated:
                raise ValueError(f"object {obj.name!r} has no evaluated geometry: "
                                 f"{validate.not_evaluated_reason(obj, depsgraph)}")
            if src.type not in GEOMETRY_TYPES:
                raise ValueError(f"object {obj.name!r}: {obj.type.lower()} object has no surface "
                                 f"geometry")
            matrix = src.matrix_world.copy()
        else:
            if obj.type != 'MESH':
                if obj.type in GEOMETRY_TYPES:
                    raise TypeError(f"object {obj.name!r} is a {obj.type.lower()} object: "
                                    f"BlenderProc's function takes mesh objects (evaluated=True "
                                    f"converts curves, text, surfaces and metaballs)")
                raise ValueError(f"object {obj.name!r}: {obj.type.lower()} object has no surface "
                                 f"geometry")
            src = obj
            matrix = local2world(obj)
        if not all(math.isfinite(v) and abs(v) < 1e37 for row in matrix for v in row):
            raise ValueError(f"object {obj.name!r} has a non-finite (NaN or infinite) world matrix")
        out.append((src, matrix))
    return out


def _build(sources, epsilon):
    """``(FromBMesh tree, triangles)`` of the transformed meshes appended in order."""
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
