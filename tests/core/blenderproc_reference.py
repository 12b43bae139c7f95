"""BlenderProc v2.8's ``create_bvh_tree_multi_objects``, step by step, for the equivalence tests.

Own code, written from a description of BlenderProc's function (``blenderproc/python/types/
MeshObjectUtility.py``, tag ``v.2.8.0``; unchanged since).  Per object, in input order: copy the
object's original mesh (a new ID in ``bpy.data.meshes``), ``mesh.transform()`` by BlenderProc's
``get_local2world_mat()`` (``matrix_basis`` up the parent chain), ``bm.from_mesh``, then
``bpy.data.meshes.remove`` (the v2.8 fix of the leak).  Then ``BVHTree.FromBMesh`` (epsilon 0).
"""
import bpy

import bmesh
from mathutils import Matrix
from mathutils.bvhtree import BVHTree


class MeshObjectLike:
    """What BlenderProc's ``MeshObject`` wrapper offers the function (``.blender_obj``)."""

    def __init__(self, blender_obj):
        self.blender_obj = blender_obj

    def get_mesh(self):
        return self.blender_obj.data

    def get_local2world_mat(self):
        obj = self.blender_obj
        matrix = obj.matrix_basis
        while obj.parent is not None:
            matrix = obj.parent.matrix_basis @ obj.matrix_parent_inverse @ matrix
            obj = obj.parent
        return matrix


def create_bvh_tree_multi_objects(mesh_objects):
    """The reference: copy → transform → bmesh → ``FromBMesh`` → remove (takes wrappers)."""
    bm = bmesh.new()
    for mesh_obj in mesh_objects:
        mesh = mesh_obj.get_mesh().copy()
        mesh.transform(Matrix(mesh_obj.get_local2world_mat()))
        bm.from_mesh(mesh)
        bpy.data.meshes.remove(mesh)
    tree = BVHTree.FromBMesh(bm)
    bm.free()
    return tree


def face_source(objects):
    """The reference's face numbering: ``index -> (object, polygon)`` (polygons of the original
    meshes concatenated in input order)."""
    table = []
    for obj in objects:
        table += [(obj, p) for p in range(len(obj.data.polygons))]
    return table.__getitem__
