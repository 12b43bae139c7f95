"""Depth and object-index maps of a camera by ray casting, written as PNG files (numpy and the
standard library only: no image datablock, nothing added to the .blend).

    python examples/camera_maps.py --out maps/                  # PyPI bpy module
    blender -b scene.blend --python examples/camera_maps.py -- --out maps/ --width 640 --height 360

Without a .blend, a small demo scene is made (icospheres on a ground plane, a camera).  With one,
the scene's camera and its visible mesh objects are used.  ``make demo`` runs this on the demo
scene (tools/demo.py).
"""
import argparse
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np


def write_png(path, image):
    """Write an 8-bit grey (H, W) or RGB (H, W, 3) array as a PNG file (row 0 at the top)."""
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = pixels.shape[:2]
    colour_type = 0 if pixels.ndim == 2 else 2
    rows = np.zeros((height, 1 + pixels[0].size), dtype=np.uint8)   # filter byte 0 per row
    rows[:, 1:] = pixels.reshape(height, -1)

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                           + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
                           + chunk(b"IEND", b""))
    return Path(path)


def depth_image(depth):
    """Depth (inf where nothing was hit) → 8-bit grey: near is bright, far is dark, misses black
    (scaled by inverse depth between the nearest and farthest hit, which shows near shapes
    best)."""
    hit = np.isfinite(depth) & (depth > 0.0)
    out = np.zeros(depth.shape, dtype=np.uint8)
    if hit.any():
        inverse = 1.0 / depth[hit]
        lo, hi = float(inverse.min()), float(inverse.max())
        t = (inverse - lo) / max(hi - lo, 1e-12)
        out[hit] = np.round(40.0 + 215.0 * t).astype(np.uint8)
    return out


def index_image(object_index):
    """Object index (-1 where nothing was hit) → RGB: one colour per object, misses black."""
    hue = (np.arange(object_index.max(initial=-1) + 1) * 0.618034) % 1.0
    k = (np.array([5.0, 3.0, 1.0]) + hue[:, None] * 6.0) % 6.0        # HSV → RGB, S = V = 0.85
    palette = 0.85 - 0.85 * 0.85 * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    out = np.zeros(object_index.shape + (3,), dtype=np.uint8)
    hit = object_index >= 0
    out[hit] = np.round(255.0 * palette[object_index[hit]]).astype(np.uint8)
    return out


def ascii_preview(depth, width=64):
    """A few lines of text showing the depth map (near: dense characters)."""
    ramp = "@%#*+=-:. "
    h, w = depth.shape
    rows = max(1, round(width * h / w / 2.0))
    ys = ((np.arange(rows) + 0.5) * h / rows).astype(int)
    xs = ((np.arange(width) + 0.5) * w / width).astype(int)
    small = depth[np.ix_(ys, xs)]
    grey = depth_image(small).astype(float) / 255.0
    chars = np.array(list(ramp))[np.clip(((1.0 - grey) * (len(ramp) - 1)).round().astype(int),
                                         0, len(ramp) - 1)]
    chars[~np.isfinite(small)] = " "
    return "\n".join("".join(row) for row in chars)


def write_maps(api, objects, camera, out_dir, resolution=None, backend="auto"):
    """Build, cast one ray per pixel, write ``depth.png`` and ``object_index.png`` into
    ``out_dir``.  Returns (the ``cast_camera`` result, the BVH, {name: path}, seconds)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    bvh = api.build(objects)
    res = bvh.cast_camera(camera, resolution, backend=backend)
    seconds = time.perf_counter() - start
    paths = {"depth": write_png(out_dir / "depth.png", depth_image(res.depth)),
             "object_index": write_png(out_dir / "object_index.png",
                                       index_image(res.object_index))}
    return res, bvh, paths, seconds


def demo_scene():
    """Icospheres (some with a Subdivision modifier, one linked duplicate) on a ground plane, and
    a camera looking at them; returns (objects, camera)."""
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for i in range(6):
        bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=2, radius=0.8,
                                              location=(i * 2.0 - 5, 0, 1))
        if i % 2:
            bpy.context.object.modifiers.new("Subdivision", 'SUBSURF').levels = 1
    first = bpy.context.scene.objects[0]
    twin = bpy.data.objects.new("Sphere.linked", first.data)
    twin.location = (0, 3, 1)
    bpy.context.scene.collection.objects.link(twin)
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    return scene_objects(), add_camera()


def add_camera():
    """A camera in front of and above the demo scene, looking at its middle."""
    import bpy

    from mathutils import Vector
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.data.lens = 30.0
    bpy.context.scene.collection.objects.link(camera)
    camera.location = (1.5, -13.0, 6.5)
    camera.rotation_euler = (Vector((0.0, 1.0, 0.5)) - camera.location).to_track_quat(
        '-Z', 'Y').to_euler()
    bpy.context.scene.camera = camera
    return camera


def scene_objects():
    import bpy
    return [obj for obj in bpy.context.scene.objects if obj.type == 'MESH' and obj.visible_get()]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for depth.png and object_index.png")
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--backend", default="auto", choices=("auto", "embree", "mathutils"))
    args = parser.parse_args(argv)
    import bpy
    try:                                         # installed as an extension
        from bl_ext.user_default.bvh_leakfree_addon import api
    except ImportError:                          # or from a source checkout
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from bvh_leakfree_addon import api
    if bpy.data.filepath and bpy.context.scene.camera is not None:
        objects, camera = scene_objects(), bpy.context.scene.camera
    else:
        objects, camera = demo_scene()
    resolution = (args.width, args.height) if args.width and args.height else None
    res, bvh, paths, seconds = write_maps(api, objects, camera, args.out, resolution,
                                          args.backend)
    h, w = res.depth.shape
    print(f"{w}×{h} rays, {int(res.hit.sum()):,} hits, {seconds * 1e3:.0f} ms (build + cast, "
          f"backends available: {', '.join(api.ray_backends())})")
    print(ascii_preview(res.depth))
    for name, path in paths.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:])
