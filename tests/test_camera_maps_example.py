"""examples/camera_maps.py: the PNG files it writes hold exactly the maps, and running it creates
no datablock (no image is made in Blender)."""
import struct
import zlib

import bpy

import numpy as np
from helpers import id_collection_sizes, load_script

from bvh_leakfree_addon import api


def _example():
    return load_script("examples/camera_maps.py")


def _read_png(path):
    """(pixels, colour type) of an 8-bit PNG without filters, as ``write_png`` writes it."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, tag
        chunks[tag] = chunks.get(tag, b"") + body
        pos += 12 + length
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and b"IEND" in chunks
    channels = 1 if colour == 0 else 3
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8)
    rows = rows.reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 0).all()
    pixels = rows[:, 1:].reshape((height, width) if channels == 1 else (height, width, 3))
    return pixels, colour


def test_png_writer_round_trips(tmp_path):
    example = _example()
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (7, 5), dtype=np.uint8)
    rgb = rng.integers(0, 256, (3, 9, 3), dtype=np.uint8)
    for image, colour in ((grey, 0), (rgb, 2)):
        pixels, got_colour = _read_png(example.write_png(tmp_path / "x.png", image))
        assert got_colour == colour and np.array_equal(pixels, image)


def test_the_example_writes_the_maps_of_cast_camera_and_creates_nothing(tmp_path):
    example = _example()
    objects, camera = example.demo_scene()
    before = id_collection_sizes()
    res, bvh, paths, _seconds = example.write_maps(api, objects, camera, tmp_path, (96, 54))
    assert id_collection_sizes() == before and len(bpy.data.images) == 0
    depth, colour = _read_png(paths["depth"])
    assert colour == 0 and depth.shape == (54, 96)
    assert ((depth == 0) == ~res.hit).all()                    # misses are black
    hit = res.hit
    near = res.depth[hit] < np.median(res.depth[hit])
    assert depth[hit][near].mean() > depth[hit][~near].mean()   # near is brighter
    index, colour = _read_png(paths["object_index"])
    assert colour == 2 and index.shape == (54, 96, 3)
    assert (index[~hit] == 0).all()
    for i in np.unique(res.object_index[hit]):                  # one colour per object
        colours = np.unique(index[res.object_index == i], axis=0)
        assert len(colours) == 1 and colours.any()
    assert len({tuple(index[res.object_index == i][0]) for i in np.unique(
        res.object_index[hit])}) == len(np.unique(res.object_index[hit]))
    assert len(np.unique(res.object_index[hit])) >= 6
    preview = example.ascii_preview(res.depth, width=32)
    assert len(preview.splitlines()) >= 4 and set(preview) - {" ", "\n"}
