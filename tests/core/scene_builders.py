"""Scenes for the core tests (real bpy).  Every builder returns the objects to pass to build().

Builders use low-level data API calls (no operators where avoidable) so they are fast and behave the
same on every Blender version (differences go through ``core.compat``).
"""
import contextlib
import math

import bpy

import bmesh
import numpy as np
from mathutils import Matrix, Vector

from bvh_leakfree_addon.core import compat


def link(obj, collection=None):
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def ico_mesh(name="ico", subdivisions=2, radius=1.0):
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_icosphere(bm, subdivisions=subdivisions, radius=radius)
        bm.to_mesh(me)
    finally:
        bm.free()
    return me


def grid_mesh(name="grid", x=6, y=6, size=2.0, bumpy=True):
    """A grid of quads; ``bumpy`` makes most quads non-planar (their two triangles differ)."""
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_grid(bm, x_segments=x, y_segments=y, size=size)
        if bumpy:
            for v in bm.verts:
                v.co.z = 0.3 * math.sin(2.1 * v.co.x + 0.7) * math.cos(1.7 * v.co.y)
        bm.to_mesh(me)
    finally:
        bm.free()
    return me


def cube_mesh(name="cube", size=1.0):
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_cube(bm, size=size)
        bm.to_mesh(me)
    finally:
        bm.free()
    return me


def mesh_object(name, mesh, location=(0, 0, 0), rotation=(0, 0, 0), scale=(1, 1, 1),
                collection=None):
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    obj.rotation_euler = rotation
    obj.scale = scale
    return link(obj, collection)


def curve_object(name, location):
    cu = bpy.data.curves.new(name, 'CURVE')
    cu.dimensions = '3D'
    spline = cu.splines.new('BEZIER')
    spline.bezier_points.add(2)
    for i, p in enumerate(spline.bezier_points):
        p.co = (i * 1.0, math.sin(i), 0.2 * i)
        p.handle_left_type = p.handle_right_type = 'AUTO'
    cu.bevel_depth = 0.25
    cu.bevel_resolution = 2
    cu.use_fill_caps = True
    obj = bpy.data.objects.new(name, cu)
    obj.location = location
    return link(obj)


def text_object(name, location, body="Hi!"):
    cu = bpy.data.curves.new(name, 'FONT')
    cu.body = body
    cu.extrude = 0.15
    obj = bpy.data.objects.new(name, cu)
    obj.location = location
    obj.rotation_euler = (0.4, 0.1, 0.2)
    return link(obj)


def metaball_object(name, location):
    mb = bpy.data.metaballs.new(name)
    mb.resolution = 0.25
    for offset in ((0, 0, 0), (0.8, 0.2, 0.1)):
        el = mb.elements.new()
        el.co = offset
        el.radius = 0.9
    obj = bpy.data.objects.new(name, mb)
    obj.location = location
    return link(obj)


def surface_object(name, location):
    """A NURBS surface sphere (operator: a surface's v-resolution can't be set from the data
    API)."""
    bpy.ops.surface.primitive_nurbs_surface_sphere_add(radius=0.8, location=location)
    obj = bpy.context.active_object
    obj.name = name
    return obj


def gn_instances_object(name, location, radius_input=0.35):
    """A plane whose geometry-nodes modifier instances a cone on each vertex (4 instances),
    with a float input driving the cone radius."""
    me = grid_mesh(name + "_pts", x=1, y=1, size=1.5, bumpy=False)
    obj = mesh_object(name, me, location)
    ng = bpy.data.node_groups.new(name + "_nodes", "GeometryNodeTree")
    ng.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    ng.interface.new_socket("Radius", in_out="INPUT", socket_type="NodeSocketFloat")
    ng.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    gin = ng.nodes.new("NodeGroupInput")
    gout = ng.nodes.new("NodeGroupOutput")
    iop = ng.nodes.new("GeometryNodeInstanceOnPoints")
    cone = ng.nodes.new("GeometryNodeMeshCone")
    cone.inputs["Depth"].default_value = 0.8
    ng.links.new(gin.outputs[0], iop.inputs["Points"])
    ng.links.new(cone.outputs[0], iop.inputs["Instance"])
    ng.links.new(gin.outputs[1], cone.inputs["Radius Bottom"])
    ng.links.new(iop.outputs[0], gout.inputs[0])
    mod = obj.modifiers.new("instances", 'NODES')
    mod.node_group = ng
    set_gn_input(obj, radius_input)
    return obj


def set_gn_input(obj, value):
    """Set the cone radius input of ``gn_instances_object``'s modifier (as the modifier panel
    does; how depends on the Blender version: ``core.compat``)."""
    mod = obj.modifiers["instances"]
    socket = next(item for item in mod.node_group.interface.items_tree
                  if item.item_type == 'SOCKET' and item.in_out == 'INPUT'
                  and item.socket_type == 'NodeSocketFloat')
    compat.set_modifier_input(mod, socket.identifier, value)


def collection_instance(name, location, source_objects):
    """An empty instancing a collection that is excluded from the view layer."""
    scene = bpy.context.scene
    coll = bpy.data.collections.new(name + "_src")
    scene.collection.children.link(coll)
    for obj in source_objects:
        for c in list(obj.users_collection):
            c.objects.unlink(obj)
        coll.objects.link(obj)
    bpy.context.view_layer.layer_collection.children[coll.name].exclude = True
    empty = bpy.data.objects.new(name, None)
    empty.instance_type = 'COLLECTION'
    empty.instance_collection = coll
    empty.location = location
    empty.rotation_euler = (0.0, 0.3, 0.5)
    return link(empty)


_SEES_SURFACES = []


def scene_ray_cast_sees_surfaces():
    """Blender 4.2's ``Scene.ray_cast`` ignores NURBS surfaces (4.5 and 5.0 see them): probe once.

    The probe resets to factory settings afterwards (removing the probe object and then iterating
    the view layer crashed Blender 4.2), so call it before building a scene.
    """
    if not _SEES_SURFACES:
        surface_object("probe_surface", (0, 0, 0))
        depsgraph = bpy.context.evaluated_depsgraph_get()
        hit = bpy.context.scene.ray_cast(depsgraph, Vector((0.2, 0.1, 10)), Vector((0, 0, -1)))
        _SEES_SURFACES.append(bool(hit[0]))
        bpy.ops.wm.read_factory_settings(use_empty=True)
    return _SEES_SURFACES[0]


def mixed_scene(surface=True):
    """Every geometry rule in one scene (similarity transforms only: see nonuniform_scene).

    Returns (objects to build, scene size).
    """
    objs = []
    # Modifiers: subdivision + bevel + array + solidify; shape key.
    a = mesh_object("mod_subsurf", cube_mesh("c1"), (0, 0, 0), (0.2, 0.3, 0.4))
    a.modifiers.new("sub", 'SUBSURF').levels = 1
    a.modifiers.new("bev", 'BEVEL').width = 0.1
    objs.append(a)
    b = mesh_object("mod_array", ico_mesh("i1", 1, 0.5), (4, 0, 0))
    arr = b.modifiers.new("arr", 'ARRAY')
    arr.count = 3
    arr.relative_offset_displace = (1.3, 0.4, 0)
    objs.append(b)
    c = mesh_object("solid_grid", grid_mesh("g1"), (0, 4, 0), (0.3, 0, 0))
    c.modifiers.new("sol", 'SOLIDIFY').thickness = 0.2
    objs.append(c)
    d = mesh_object("shape_keyed", grid_mesh("g2", bumpy=False), (0, -4, 0))
    d.shape_key_add(name="Basis")
    key = d.shape_key_add(name="Bump")
    for i, point in enumerate(key.data):
        point.co.z += 0.4 * math.sin(i * 0.9)
    key.value = 0.8
    objs.append(d)
    # Non-planar quads, rotated, uniformly scaled.
    objs.append(mesh_object("bumpy", grid_mesh("g3"), (-4, 0, 0), (0.5, -0.2, 1.0), (1.3,) * 3))
    # Linked duplicates.
    shared = ico_mesh("shared", 2, 0.7)
    for i in range(3):
        objs.append(mesh_object(f"linked{i}", shared, (-4 + 1.6 * i, -4, 1), (0, 0.4 * i, 0)))
    # Negative uniform-magnitude scale (a mirror) with rotation.
    objs.append(mesh_object("mirrored", ico_mesh("i2", 2, 0.8), (4, 4, 0), (0.3, 0.6, 0.1),
                            (-1.0, 1.0, 1.0)))
    # Parenting: child of a rotated, scaled empty (the empty is not built).
    parent = link(bpy.data.objects.new("parent_empty", None))
    parent.location = (4, -4, 0)
    parent.rotation_euler = (0.0, 0.0, 0.7)
    parent.scale = (0.8, 0.8, 0.8)
    child = mesh_object("child", cube_mesh("c2", 1.2), (1.0, 0.5, 0.2), (0.3, 0.0, 0.0))
    child.parent = parent
    objs.append(child)
    # Curves, text, metaball, NURBS surface.
    objs.append(curve_object("curve", (-6, 3, 0)))
    objs.append(text_object("text", (-2, 6, 0)))
    objs.append(metaball_object("meta", (6, -1, 2)))
    if surface:
        objs.append(surface_object("surface", (-6, -3, 1)))
    # Instances: a collection instance (source excluded) and geometry-node instances.
    src1 = mesh_object("inst_src_ico", ico_mesh("i3", 1, 0.6), (0, 0, 0))
    src2 = mesh_object("inst_src_grid", grid_mesh("g4"), (1.5, 0, 0), scale=(0.5,) * 3)
    objs.append(collection_instance("coll_inst", (2, 7, 1), [src1, src2]))
    objs.append(gn_instances_object("gn_inst", (7, 5, -1)))
    return objs, 16.0


def nonuniform_scene():
    """Non-uniform and negative non-uniform scales, with rotation and a sheared parent."""
    objs = []
    objs.append(mesh_object("squash", ico_mesh("n1", 2, 1.0), (0, 0, 0), (0.3, 0.2, 0.1),
                            (1.0, 2.0, 0.5)))
    objs.append(mesh_object("neg_squash", ico_mesh("n2", 2, 1.0), (4, 0, 0), (0.3, 0.2, 0.1),
                            (1.0, 2.0, -0.5)))
    objs.append(mesh_object("bumpy_stretch", grid_mesh("n3"), (0, 4, 0), (0.4, 0.0, 0.7),
                            (2.0, 0.7, 1.5)))
    parent = link(bpy.data.objects.new("np_parent", None))
    parent.location = (4, 4, 0)
    parent.scale = (1.5, 0.6, 1.0)
    child = mesh_object("sheared_child", cube_mesh("n4", 1.0), (0, 0, 0), (0.5, 0.3, 0.6))
    child.parent = parent
    objs.append(child)
    return objs, 8.0


def ico_grid(count, subdivisions, spacing=3.0):
    """``count`` icospheres, each with its own mesh (S1–S3-style benchmark scenes, small)."""
    base = ico_mesh("ico_base", subdivisions)
    side = max(1, int(math.ceil(count ** (1 / 3))))
    objs = []
    for i in range(count):
        me = base if i == 0 else base.copy()
        x, y, z = i % side, (i // side) % side, i // (side * side)
        objs.append(mesh_object(f"ico{i}", me, (x * spacing, y * spacing, z * spacing)))
    return objs


def visible_only(objects):
    """Hide every other object of the view layer so ``Scene.ray_cast`` sees only ``objects``
    (and the instances of the instancers among them)."""
    keep = {o.name for o in objects}
    view_layer = bpy.context.view_layer
    view_layer.update()
    others = [obj for obj in view_layer.objects if obj.name not in keep]  # hide_set resyncs
    for obj in others:
        with contextlib.suppress(RuntimeError):   # in an excluded collection: already invisible
            obj.hide_set(True)


def random_rays(n, size, seed, center=(0, 0, 0), objects=None):
    """Rays from a box around the scene towards random points inside it, or (``objects``) near
    random objects' origins, so that many of them hit."""
    rng = np.random.default_rng(seed)
    c = np.asarray(center, dtype=np.float64)
    origins = c + rng.uniform(-size, size, (n, 3))
    if objects:
        centers = np.array([o.matrix_world.translation for o in objects])
        targets = centers[rng.integers(0, len(centers), n)] + rng.normal(0.0, 0.7, (n, 3))
    else:
        targets = c + rng.uniform(-0.5 * size, 0.5 * size, (n, 3))
    directions = targets - origins
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    return origins, directions


def scene_ray_cast(origins, directions, depsgraph=None):
    """Blender's own ``Scene.ray_cast`` for every ray: (hit, location, normal, index, object)."""
    scene = bpy.context.scene
    depsgraph = depsgraph or bpy.context.evaluated_depsgraph_get()
    out = []
    for o, d in zip(origins, directions, strict=False):
        ok, loc, nor, index, obj, _mat = scene.ray_cast(depsgraph, Vector(o), Vector(d))
        out.append((ok, loc, nor, index, obj))
    return out


_ = Matrix
