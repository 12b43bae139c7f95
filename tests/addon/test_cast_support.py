"""Scene builders and snapshots shared by the cast/overlay/ui tests (no tests in here).

Real bpy only: objects are made with bpy.data and bmesh, as a user's script would.
"""
import sys

import bpy

import bmesh
from helpers import ADDON_MODULE, id_collection_sizes
from mathutils import Euler, Matrix, Vector


def mesh_object(name, builder, *, location=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0),
                scale=(1.0, 1.0, 1.0), collection=None, **kwargs):
    """A mesh object linked to the scene, its mesh made by ``bmesh.ops.<builder>(**kwargs)``."""
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        getattr(bmesh.ops, builder)(bm, **kwargs)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    obj.rotation_euler = rotation
    obj.scale = scale
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def cube(name="Cube", size=2.0, **kwargs):
    return mesh_object(name, "create_cube", size=size, **kwargs)


def sphere(name="Sphere", radius=5.0, subdivisions=3, **kwargs):
    return mesh_object(name, "create_icosphere", subdivisions=subdivisions, radius=radius,
                       **kwargs)


def select_only(*objects, active=None):
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    for obj in objects:
        obj.select_set(True)
    bpy.context.view_layer.objects.active = active or (objects[0] if objects else None)
    bpy.context.view_layer.update()


def set_cursor(location=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0)):
    cursor = bpy.context.scene.cursor
    cursor.location = location
    cursor.rotation_mode = 'XYZ'
    cursor.rotation_euler = rotation


def cast_state():
    return bpy.context.window_manager.bvh_leakfree.cast


def cast_report():
    """The last cast's report, as the operator reported it (rendered from the stored state)."""
    return sys.modules[ADDON_MODULE + ".cast.result"].report_text(cast_state())


def scene_ray_cast(origin, direction, distance=1e9):
    """Blender's own answer: (hit, location, normal, index, object)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    hit, location, normal, index, obj, _matrix = bpy.context.scene.ray_cast(
        depsgraph, Vector(origin), Vector(direction), distance=distance)
    return hit, location, normal, index, obj


def user_data_snapshot():
    """Everything a cast must leave alone (without snap/select): objects, meshes, selection."""
    view_layer = bpy.context.view_layer
    objects = {}
    for obj in bpy.data.objects:
        objects[obj.name] = (
            obj.type, tuple(map(tuple, obj.matrix_world)), obj.data.name if obj.data else None,
            obj.select_get(view_layer=view_layer) if obj.name in view_layer.objects else None,
            obj.hide_get() if obj.name in view_layer.objects else None, obj.hide_viewport,
            obj.users, len(obj.modifiers), obj.mode,
        )
    meshes = {}
    for mesh in bpy.data.meshes:
        coords = [0.0] * (3 * len(mesh.vertices))
        mesh.vertices.foreach_get("co", coords)
        meshes[mesh.name] = (tuple(coords), len(mesh.polygons), mesh.users, mesh.is_editmode)
    active = view_layer.objects.active
    cursor = bpy.context.scene.cursor
    return {
        "objects": objects, "meshes": meshes, "active": active.name if active else None,
        "cursor": (tuple(cursor.location), tuple(cursor.rotation_euler)),
        "sizes": id_collection_sizes(),
    }


def rotation_matrix(euler):
    return Euler(euler).to_matrix()


__all__ = ["mesh_object", "cube", "sphere", "select_only", "set_cursor", "cast_state",
           "cast_report", "scene_ray_cast", "user_data_snapshot", "rotation_matrix", "Matrix",
           "Vector"]
