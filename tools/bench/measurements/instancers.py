"""12 instancers: ``instancer_builds`` builds (1,000) over each kind of instancer — vertex, face,
collection and particle instances, geometry-nodes instances of an object and of geometry the
nodes made — each build after a change (the instancer moved a little), so every one walks the
instances.  Per kind, in a fresh process: the Python ``ID`` objects alive (``gc``) and the RSS held
(after ``common.trim_heap``) before and after the loop.  Blender wraps each temporary instance
object in a new Python object it never frees (docs/known-blender-issues.md); the add-on reads
instances without touching them where Blender allows it.  ``tests/core/test_instancers.py``
builds the same scenes (:data:`KINDS`) a few hundred times.
"""
import gc
import time

from .. import common
from ..figures import mb, ms, row
from ..measurement import Measurement

FULL = {"instancer_builds": 1000, "instancer_warmup": 20}
TINY = {"instancer_builds": 6, "instancer_warmup": 2}
WRAPPERS_TARGET = 0            # Python ID objects left behind by the whole loop
HELD_TARGET_MB = 5.0           # RSS held after the loop (warm-up excluded)


def _grid(name, segments, size=10.0):
    import bpy

    import bmesh
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_grid(bm, x_segments=segments, y_segments=segments, size=size)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    return mesh


def _ico(name, radius):
    import bpy

    import bmesh
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_icosphere(bm, subdivisions=1, radius=radius)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    return mesh


def _object(name, mesh, location=(0.0, 0.0, 0.0), collection=None):
    import bpy
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def _child_instancer(name, kind, segments):
    grid = _object(name, _grid(name, segments))
    child = _object(name + "Child", _ico(name + "Child", 0.1))
    child.parent = grid
    grid.instance_type = kind
    return grid


def vertex_instances():
    """225 instances of an icosphere on a grid's vertices."""
    return _child_instancer("Verts", 'VERTS', 14)


def face_instances():
    """225 instances on a grid's faces."""
    return _child_instancer("Faces", 'FACES', 15)


def collection_instances():
    """An empty instancing a collection of 15 icospheres, excluded from the view layer."""
    import bpy
    scene = bpy.context.scene
    coll = bpy.data.collections.new("Source")
    scene.collection.children.link(coll)
    for i in range(15):
        _object(f"Src{i}", _ico(f"Src{i}", 0.2), (0.5 * i, 0.0, 0.0), coll)
    bpy.context.view_layer.layer_collection.children[coll.name].exclude = True
    empty = bpy.data.objects.new("Collection", None)
    empty.instance_type = 'COLLECTION'
    empty.instance_collection = coll
    scene.collection.objects.link(empty)
    return empty


def particle_instances():
    """200 particles rendered as an icosphere."""
    import bpy
    emitter = _object("Emitter", _grid("Emitter", 4))
    child = _object("Particle", _ico("Particle", 0.1), (0.0, 0.0, -20.0))
    settings = emitter.modifiers.new("particles", 'PARTICLE_SYSTEM').particle_system.settings
    settings.count = 200
    settings.frame_start = settings.frame_end = 1
    settings.render_type = 'OBJECT'
    settings.instance_object = child
    settings.physics_type = 'NO'
    bpy.context.scene.frame_set(1)
    return emitter


def _nodes(name, instance):
    """A grid whose geometry nodes put ``instance(tree)`` on each of its 225 vertices."""
    import bpy
    grid = _object(name, _grid(name, 14))
    tree = bpy.data.node_groups.new(name, "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    gin = tree.nodes.new("NodeGroupInput")
    gout = tree.nodes.new("NodeGroupOutput")
    on_points = tree.nodes.new("GeometryNodeInstanceOnPoints")
    tree.links.new(gin.outputs[0], on_points.inputs["Points"])
    tree.links.new(instance(tree), on_points.inputs["Instance"])
    tree.links.new(on_points.outputs[0], gout.inputs[0])
    grid.modifiers.new("nodes", 'NODES').node_group = tree
    return grid


def nodes_object_instances():
    """Geometry nodes: 225 instances of an icosphere object (Object Info, as instance)."""
    source = _object("NodesSource", _ico("NodesSource", 0.1), (0.0, 0.0, -20.0))

    def info(tree):
        node = tree.nodes.new("GeometryNodeObjectInfo")
        node.inputs["Object"].default_value = source
        node.inputs["As Instance"].default_value = True
        return node.outputs["Geometry"]
    return _nodes("NodesObject", info)


def nodes_generated_instances():
    """Geometry nodes: 225 instances of a cone the nodes make."""
    return _nodes("NodesCone", lambda tree: tree.nodes.new("GeometryNodeMeshCone").outputs[0])


KINDS = {
    "vertex": vertex_instances,
    "face": face_instances,
    "collection": collection_instances,
    "particles": particle_instances,
    "nodes-object": nodes_object_instances,
    "nodes-generated": nodes_generated_instances,
}


def wrappers():
    """Python ``bpy.types.ID`` objects alive now."""
    import bpy
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, bpy.types.ID))


def plan(_cfg):
    return [(f"instancers-{kind}", "instancers", [kind]) for kind in KINDS]


def job(ctx, kind):
    import bpy
    cfg = ctx.cfg
    core = common.api()
    common.factory_reset()
    obj = KINDS[kind]()
    n = cfg["instancer_builds"]
    for i in range(cfg["instancer_warmup"]):
        obj.location.x = 0.001 * (i % 7)
        bvh = core.build([obj])
    common.trim_heap()
    before_ids, before_held = wrappers(), common.rss_bytes()
    start = time.perf_counter()
    for i in range(n):
        obj.location.x = 0.001 * (i % 7)     # a change: every build walks the instances
        bvh = core.build([obj])
    seconds = (time.perf_counter() - start) / n
    rows = bvh.stats.instances
    del bvh
    common.trim_heap()
    after_ids, after_held = wrappers(), common.rss_bytes()
    held = None if before_held is None else after_held - before_held
    return {"kind": kind, "builds": n, "rows": rows, "wrappers": after_ids - before_ids,
            "held_bytes": held, "build_seconds": seconds,
            "geometry_sets": hasattr(bpy.types.Object, "evaluated_geometry")}


def rows(jobs, _cfg):
    out = []
    for kind in KINDS:
        got = jobs.get(f"instancers-{kind}")
        if not got:
            continue
        held = got["held_bytes"]
        met = got["wrappers"] <= WRAPPERS_TARGET and held is not None and \
            held < HELD_TARGET_MB * 2**20
        words = (f"{got['builds']:,} builds of {got['rows']} rows, each after a move: "
                 f"{got['wrappers']:+,} Python ID objects, RSS held {mb(held)} more, "
                 f"{ms(got['build_seconds'])} a build")
        if not met and kind == "nodes-generated" and not got["geometry_sets"]:
            words += ("; cause: this Blender has no Object.evaluated_geometry(), so the "
                      "temporary instance objects Blender never frees are the only way to "
                      "geometry the nodes made (docs/known-blender-issues.md)")
        out.append(row("12 instancers: builds over instances", f"{kind}: {got['rows']} rows",
                       f"{got['wrappers']:+,} wrappers", f"RSS held {mb(held)} more",
                       words, f"0 wrappers, RSS held < {HELD_TARGET_MB:g} MB", met,
                       key=f"instancers.{kind}"))
    return out


MEASUREMENT = Measurement("instancers", rows, FULL, TINY, plan=plan, jobs={"instancers": job})
