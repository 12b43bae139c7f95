"""make demo: install the built zip into a throwaway Blender user dir, enable it, build a small
scene, run the add-on and print what a user would want to see.

Runs in the bpy module of the interpreter that runs it (the Makefile uses the Blender 5.0 venv):

1. install + enable the extension with Blender's own installer;
2. a demo scene (icospheres with modifiers, a linked duplicate, a ground plane), all selected;
3. "Ray Cast from 3D Cursor": five casts in four directions, printing the operator's own
   reports;
4. the datablock monitor's figures before and after a deliberately leaky loop (the old
   copy–transform–bmesh pattern that never removes its copies), and after purging the orphans;
5. the same number of builds through the add-on's API inside ``leak_guard``: nothing grows;
6. camera ray maps (examples/camera_maps.py): a depth map and an object-index map of the demo
   scene cast on each available backend, written to ``build/demo/`` as PNG files and previewed
   here as text.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

USER_DIR = tempfile.mkdtemp(prefix="bvh_leakfree_demo_")
os.environ["BLENDER_USER_RESOURCES"] = USER_DIR  # must be set before the first `import bpy`

import bpy  # noqa: E402

import addon_utils  # noqa: E402
import bmesh  # noqa: E402
from mathutils.bvhtree import BVHTree  # noqa: E402

MODULE = "bl_ext.user_default.bvh_leakfree_addon"
LEAKY_ITERATIONS = 10
ROOT = Path(__file__).resolve().parent.parent
MAPS_DIR = ROOT / "build" / "demo"
MAPS_RESOLUTION = (640, 360)
sys.path.insert(0, str(ROOT / "examples"))
import camera_maps  # noqa: E402


def heading(text):
    print(f"\n== {text}", flush=True)


def install_and_enable(zip_path):
    heading(f"Installing {zip_path.name} into a throwaway user dir ({USER_DIR})")
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=False)
    if result != {'FINISHED'}:
        sys.exit(f"demo: install failed: {result}")
    module = addon_utils.enable(MODULE, default_set=True)
    if module is None:
        sys.exit("demo: the add-on did not enable")
    print(f"Blender {bpy.app.version_string}: enabled {MODULE} "
          f"({len(module.classes())} classes registered)")
    return module


def demo_scene():
    heading("Demo scene")
    for i in range(6):
        bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=2, radius=0.8,
                                              location=(i * 2.0 - 5, 0, 1))
        obj = bpy.context.object
        obj.name = f"Sphere.{i:02d}"
        if i % 2:
            mod = obj.modifiers.new("Subdivision", 'SUBSURF')
            mod.levels = 1
    twin = bpy.data.objects.new("Sphere.linked", bpy.data.objects["Sphere.00"].data)
    twin.location = (0, 3, 1)
    bpy.context.scene.collection.objects.link(twin)
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    for obj in bpy.context.scene.objects:
        obj.select_set(True)
    print(f"{len(bpy.context.selected_objects)} objects selected "
          f"(6 icospheres, 3 with a Subdivision modifier, 1 linked duplicate, 1 ground plane)")


def cast(direction, location):
    scene = bpy.context.scene
    scene.cursor.location = location
    print(f"bpy.ops.object.bvh_cast_from_cursor(direction={direction!r}), "
          f"cursor at {tuple(round(v, 2) for v in location)}:", flush=True)
    bpy.ops.object.bvh_cast_from_cursor(direction=direction)  # Blender prints the report
    sys.stdout.flush()


def demo_cast():
    heading("Ray Cast from 3D Cursor (the operator, as a script or pipeline calls it)")
    cast('GLOBAL_NEG_Z', (-4.9, 0.1, 5.0))
    cast('GLOBAL_NEG_Z', (-2.9, 0.1, 5.0))
    cast('GLOBAL_X', (-9.0, 0.0, 1.0))
    cast('GLOBAL_Z', (0.0, 0.0, 5.0))
    cast('VIEW', (0.0, 3.0, 5.0))


def monitor_line(monitor, label):
    """The Datablocks panel's own figures (the monitor's tick, forced so it's current)."""
    monitor.tick(force=True)
    meshes = monitor.figures("meshes")
    print(f"  {label:<44} meshes {meshes.total:>5} total {meshes.orphans:>5} orphans "
          f"{monitor.growth('meshes'):>+5d} since baseline", flush=True)


def leaky_copy_pattern(objects):
    """BlenderProc's create_bvh_tree_multi_objects before its fix: the copies are never removed."""
    bm = bmesh.new()
    for obj in objects:
        mesh = obj.data.copy()
        mesh.transform(obj.matrix_world)
        bm.from_mesh(mesh)
    tree = BVHTree.FromBMesh(bm)
    bm.free()
    return tree


def demo_monitor(module, api):
    heading("Datablock monitor (sidebar › BVH › Datablocks): a leaky loop, then purge")
    monitor = module.monitor.service
    objects = [o for o in bpy.context.scene.objects if o.type == 'MESH']
    bpy.ops.wm.bvh_reset_baseline()
    monitor_line(monitor, "baseline")
    for _ in range(LEAKY_ITERATIONS):
        leaky_copy_pattern(objects)
    monitor_line(monitor, f"after {LEAKY_ITERATIONS} builds with the old copy pattern")
    print("bpy.ops.wm.bvh_purge_orphans(types='MESH'):", flush=True)
    bpy.ops.wm.bvh_purge_orphans(types='MESH')
    sys.stdout.flush()
    monitor_line(monitor, "after Purge Orphan Meshes")

    heading(f"The same {LEAKY_ITERATIONS} builds (plus a cast each) with the add-on's API, "
            "in leak_guard")
    depsgraph = bpy.context.evaluated_depsgraph_get()
    start = time.perf_counter()
    with api.leak_guard() as report:
        for _ in range(LEAKY_ITERATIONS):
            scene_bvh = api.build(objects, depsgraph, reuse=False)
            hit = scene_bvh.ray_cast((0.0, 0.0, 5.0), (0.0, 0.0, -1.0))
    took = (time.perf_counter() - start) / LEAKY_ITERATIONS
    print(f"  {LEAKY_ITERATIONS} × api.build({len(objects)} objects, reuse=False) + ray_cast "
          f"straight down from (0, 0, 5): {scene_bvh.stats.triangles:,} triangles, "
          f"{took * 1e3:.1f} ms each; hit "
          + (f"{hit.object.name!r} at {hit.distance:.2f} m" if hit else "nothing"), flush=True)
    monitor_line(monitor, "after the add-on's builds")
    print(f"  leak_guard: {report.summary()}", flush=True)

    heading("Leak Check (the panel's button): 100 fresh builds + casts on the selection")
    print("bpy.ops.object.bvh_leak_check(iterations=100):", flush=True)
    bpy.ops.object.bvh_leak_check(iterations=100)
    sys.stdout.flush()


def demo_camera_maps(api):
    heading("Camera ray maps (examples/camera_maps.py): SceneBVH.cast_camera on each backend")
    camera = camera_maps.add_camera()
    objects = camera_maps.scene_objects()
    width, height = MAPS_RESOLUTION
    with api.leak_guard():
        for backend in api.ray_backends():
            api.clear_cache()     # cold: build + Embree scene (if any) + cast
            res, bvh, paths, seconds = camera_maps.write_maps(
                api, objects, camera, MAPS_DIR, MAPS_RESOLUTION, backend)
            print(f"  {backend:>9}: {width}×{height} rays, {int(res.hit.sum()):,} hits, "
                  f"{seconds * 1e3:.0f} ms (cold build + cast), depth "
                  f"{float(res.depth[res.hit].min()):.2f}–{float(res.depth[res.hit].max()):.2f} m")
    print(camera_maps.ascii_preview(res.depth))
    for name, path in paths.items():
        print(f"  {name}: {path.relative_to(ROOT)}")
    print(f"  ({len(bpy.data.images)} images in bpy.data: the PNG files are written by numpy and "
          f"zlib)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zip", required=True)
    args = parser.parse_args()
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        module = install_and_enable(Path(args.zip).resolve())
        from importlib import import_module

        api = import_module(MODULE + ".api")
        demo_scene()
        demo_cast()
        demo_monitor(module, api)
        demo_camera_maps(api)
        addon_utils.disable(MODULE, default_set=True)
        print(f"\nDemo finished: {module.__name__} disabled, throwaway user dir removed.")
    finally:
        shutil.rmtree(USER_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
