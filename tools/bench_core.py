"""Issue-3 benchmark: the core's cold build, transforms-only rebuild and re-cast vs the fixed
copy–transform–bmesh reference, measured in the same run.

    .venv/bpy-5.0/bin/python tools/bench_core.py [--repeat 5] [--quick]

Scenes (icospheres, one mesh per object): S1 20 × 5,120 tris, S2 200 × 320, S3 2,000 × 20,
S4 1 × 327,680.  Everything here is importable (``make_scene``, ``reference_copy_fixed``, ``time_best``,
``bench_scene``, ``per_object_costs``) so the full benchmark suite can reuse it.
"""
import argparse
import json
import math
import os
import sys
import time

import bpy  # first: the bpy module makes bmesh and mathutils importable
import bmesh  # noqa: E402
import numpy as np  # noqa: E402
from mathutils.bvhtree import BVHTree  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from bvh_leakfree_addon import api  # noqa: E402

# name: (objects, icosphere subdivisions); triangles per object = 20 * 4 ** (subdivisions - 1)
SCENES = {
    "S1": (20, 5),
    "S2": (200, 3),
    "S3": (2000, 1),
    "S4": (1, 8),
}


def reset():
    bpy.ops.wm.read_factory_settings(use_empty=True)


def make_scene(count, subdivisions, spacing=2.5):
    """``count`` icospheres (radius 1), each with its own mesh, on a 3D grid.  Fast: one bmesh
    build, then ``Mesh.copy()`` and data-API linking."""
    base = bpy.data.meshes.new("ico")
    bm = bmesh.new()
    try:
        bmesh.ops.create_icosphere(bm, subdivisions=subdivisions, radius=1.0)
        bm.to_mesh(base)
    finally:
        bm.free()
    side = max(1, math.ceil(count ** (1 / 3)))
    collection = bpy.context.scene.collection
    objects = []
    for i in range(count):
        mesh = base if i == 0 else base.copy()
        obj = bpy.data.objects.new(f"ico{i}", mesh)
        obj.location = (i % side * spacing, i // side % side * spacing, i // (side * side) * spacing)
        obj.rotation_euler = (0.1 * i, 0.2, 0.05 * i)
        collection.objects.link(obj)
        objects.append(obj)
    bpy.context.view_layer.update()
    return objects


def reference_copy_fixed(objects):
    """BlenderProc's ``create_bvh_tree_multi_objects`` pattern, fixed not to leak: copy each mesh,
    transform it to world space, append it to one bmesh, remove the copy; build from the bmesh."""
    bpy.context.evaluated_depsgraph_get()   # same footing as api.build: flush pending updates
    bm = bmesh.new()
    try:
        for obj in objects:
            mesh = obj.data.copy()
            try:
                mesh.transform(obj.matrix_world)
                bm.from_mesh(mesh)
            finally:
                bpy.data.meshes.remove(mesh)
        return BVHTree.FromBMesh(bm)
    finally:
        bm.free()


def time_best(fn, repeat, setup=None):
    """Best wall time of ``fn()`` over ``repeat`` runs (``setup()`` untimed before each)."""
    best = math.inf
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _mover(objects, flush=True):
    """Setup step: move every object; with ``flush`` also let Blender evaluate the move (its own
    depsgraph work, the same for every method, reported separately as "depsgraph")."""
    state = {"step": 0}

    def move():
        state["step"] += 1
        delta = 0.01 if state["step"] % 2 else -0.01
        for obj in objects:
            obj.location.x += delta
        if flush:
            bpy.context.evaluated_depsgraph_get()
    return move


def bench_scene(name, repeat=5, with_reference=True):
    """Times for one scene: dict of seconds (and the ratios vs the reference)."""
    count, subdivisions = SCENES[name]
    reset()
    objects = make_scene(count, subdivisions)
    ref_repeat = max(1, min(repeat, 3)) if count >= 2000 else repeat
    out = {"scene": name, "objects": count, "triangles": count * 20 * 4 ** (subdivisions - 1)}

    def cold():
        api.build(objects, reuse=False)

    out["cold"] = time_best(cold, repeat, setup=api.clear_cache)
    move = _mover(objects)
    bvh = api.build(objects)
    out["transforms"] = time_best(lambda: bvh.update(), repeat, setup=move)
    out["depsgraph"] = time_best(bpy.context.evaluated_depsgraph_get, repeat,
                                 setup=_mover(objects, flush=False))
    assert bvh.stats.meshes_rebuilt == 0, bvh.stats
    origin = np.array([-5.0, -5.0, -5.0])
    direction = np.array([1.0, 1.0, 1.0])

    def recast_build():
        api.build(objects).ray_cast(origin, direction)

    def recast_update():
        bvh.update().ray_cast(origin, direction)

    out["recast_build"] = time_best(recast_build, repeat * 3)
    out["recast_update"] = time_best(recast_update, repeat * 3)
    out["one_ray"] = time_best(lambda: bvh.ray_cast(origin, direction), repeat * 20)
    if with_reference:
        out["ref_cold"] = time_best(lambda: reference_copy_fixed(objects), ref_repeat)
        out["ref_transforms"] = time_best(lambda: reference_copy_fixed(objects), ref_repeat,
                                          setup=move)
        out["ratio_cold"] = out["ref_cold"] / out["cold"]
        out["ratio_transforms"] = out["ref_transforms"] / out["transforms"]
    api.clear_cache()
    return out


def per_object_costs(counts=(200, 2000, 20000), repeat=3):
    """Cold build and transforms-only rebuild cost per object (S3-like objects, 20 tris)."""
    rows = []
    for count in counts:
        reset()
        objects = make_scene(count, 1)
        cold = time_best(lambda: api.build(objects, reuse=False), repeat, setup=api.clear_cache)
        bvh = api.build(objects)
        transforms = time_best(lambda: bvh.update(), repeat, setup=_mover(objects))
        rows.append({"objects": count, "cold_us_per_object": cold / count * 1e6,
                     "transforms_us_per_object": transforms / count * 1e6})
        api.clear_cache()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no 20,000 objects")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else args.repeat
    print(f"Blender {bpy.app.version_string}, best of {repeat}")
    results = {"blender": bpy.app.version_string, "scenes": [], "per_object": []}
    print("cold: build from scratch; moved: rebuild after moving every object (Blender's own "
          "depsgraph evaluation of the move, the same for both, excluded and shown as 'deps');")
    print("re-cast: build() or update() on the unchanged scene + one ray; 1 ray: ray_cast only")
    print(f"{'scene':5} {'cold ms':>9} {'ref ms':>9} {'ratio':>7} | {'moved ms':>9} {'ref ms':>9} "
          f"{'ratio':>8} {'deps ms':>8} | {'re-cast build ms':>16} {'update ms':>9} "
          f"{'1 ray ms':>8}")
    for name in SCENES:
        r = bench_scene(name, repeat)
        results["scenes"].append(r)
        print(f"{name:5} {r['cold'] * 1e3:9.2f} {r['ref_cold'] * 1e3:9.2f} {r['ratio_cold']:6.1f}x | "
              f"{r['transforms'] * 1e3:9.2f} {r['ref_transforms'] * 1e3:9.2f} "
              f"{r['ratio_transforms']:7.1f}x {r['depsgraph'] * 1e3:8.2f} | "
              f"{r['recast_build'] * 1e3:16.3f} "
              f"{r['recast_update'] * 1e3:9.3f} {r['one_ray'] * 1e3:8.3f}")
    counts = (200, 2000) if args.quick else (200, 2000, 20000)
    print("per object (20-triangle icospheres):")
    for row in per_object_costs(counts, repeat=2 if args.quick else 3):
        results["per_object"].append(row)
        print(f"  {row['objects']:6d} objects: cold {row['cold_us_per_object']:6.2f} µs/object, "
              f"transforms-only {row['transforms_us_per_object']:6.2f} µs/object")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
    return results


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:])
