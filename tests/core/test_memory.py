"""Blender's own memory figure (``Scene.statistics``) beside the RSS: read strictly, with its
resolution, following datablocks; anything unreadable falls back to the RSS with a note."""
import time

import bpy

import pytest
from helpers import id_collection_sizes

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import memory

MiB = 2 ** 20
TENTH = round(MiB / 10)   # the resolution of a MiB figure
STATS = ("Collection | Cube | Verts:8 | Faces:6 | Tris:12 | Objects:1/3 | "
         "Duration: 00:10+10 (Frame 1/250) | Memory: {} | 4.2.23")


@pytest.mark.parametrize("shown, expected", [
    ("10.7 MiB", (round(10.7 * MiB), TENTH)),
    ("80 MiB", (80 * MiB, TENTH)),                  # trailing zero stripped: still 0.1 MiB
    ("1.07 GiB", (round(1.07 * 2 ** 30), round(2 ** 30 / 100))),
    ("980 KiB", (980 * 1024, 1024)),
    ("512 B", (512, 1)),
    ("1.234 TiB", (round(1.234 * 2 ** 40), round(2 ** 40 / 1000))),
])
def test_parse_reads_the_figure_and_its_resolution(shown, expected):
    assert memory.parse_statistics_memory(STATS.format(shown)) == expected


@pytest.mark.parametrize("text", [
    STATS.format("10,7 MiB"),                     # a decimal comma: not Blender's format
    STATS.format("10.7 MB"),                      # a decimal unit: not what Blender writes here
    STATS.format("10.7"),                         # no unit
    STATS.replace("Memory:", "Speicher:").format("10.7 MiB"),   # translated, format not given
    "Memory: 10.7 MiB | Memory: 11.0 MiB",        # two candidates: no guess
    "Collection | Verts:8 | 4.2.23",              # no memory field
    "",
    None,
])
def test_parse_gives_no_figure_rather_than_a_wrong_one(text):
    assert memory.parse_statistics_memory(text) is None


def test_parse_uses_the_translated_label_when_given():
    text = STATS.replace("Memory:", "Speicher:").format("10.7 MiB")
    assert memory.parse_statistics_memory(text, "Speicher: %s") == (round(10.7 * MiB), TENTH)
    assert memory.parse_statistics_memory(text, "no placeholder") is None


def test_blender_memory_follows_datablocks_both_ways():
    """The issue's measurement: 300 meshes of 2,000 vertices move Blender's figure by ~8 MiB, and
    removing them brings it back (RSS need not)."""
    before = memory.blender_memory()
    assert before is not None, bpy.context.scene.statistics(bpy.context.view_layer)
    meshes = []
    for i in range(300):
        mesh = bpy.data.meshes.new(f"heavy{i}")
        mesh.vertices.add(2000)
        meshes.append(mesh)
    grown = memory.blender_memory()
    assert grown[0] - before[0] > 5 * MiB, (before, grown)
    for mesh in meshes:
        bpy.data.meshes.remove(mesh)
    del meshes
    after = memory.blender_memory()
    assert abs(after[0] - before[0]) < 1 * MiB, (before, after)


def test_memory_figure_is_blenders_when_readable():
    figure = memory.memory_figure()
    assert figure.source == memory.BLENDER and figure.note == ""
    assert figure.label == "Blender memory"
    assert figure.resolution == TENTH and figure.bytes > MiB


def test_memory_figure_falls_back_to_rss_with_a_note(monkeypatch):
    monkeypatch.setattr(memory, "_memory_format", lambda: "Mémoire : %s")   # another language
    figure = memory.memory_figure()
    if api.process_rss_bytes() is None:
        assert figure is None
        return
    assert figure.source == memory.RSS and figure.label == "Process memory (RSS)"
    assert "could not be read" in figure.note and "RSS" in figure.note
    assert figure.bytes > 10 * MiB


def test_memory_figure_without_a_scene_says_so(monkeypatch):
    monkeypatch.setattr(memory, "_scene_and_layer", lambda _scene, _layer: (None, None))
    figure = memory.memory_figure()
    if figure is not None:
        assert figure.source == memory.RSS and "no scene" in figure.note


def test_reading_is_cheap_and_creates_no_datablock():
    memory.blender_memory()
    before = id_collection_sizes()
    start = time.perf_counter()
    for _ in range(200):
        memory.blender_memory()
    per_call = (time.perf_counter() - start) / 200
    assert id_collection_sizes() == before
    assert per_call < 0.005, f"{per_call * 1e3:.2f} ms per reading"


def test_leak_report_records_blenders_memory_before_and_after():
    """leak_guard's report: Blender's figure before and after, its growth and its words, which a
    block that allocates 300 meshes' worth moves by several MiB and a clean block does not."""
    with api.leak_guard(raise_on_leak=False) as report:
        pass
    assert report.memory_before.source == memory.BLENDER == report.memory_after.source
    assert abs(report.memory_growth) < 2 ** 20
    assert report.memory_text() in ("Blender memory +0.0 MiB", "Blender memory +0.1 MiB",
                                    "Blender memory -0.1 MiB")
    with api.leak_guard(raise_on_leak=False) as report:
        for i in range(300):
            bpy.data.meshes.new(f"heavy{i}").vertices.add(2000)
    assert report.memory_growth > 5 * MiB
    assert report.memory_text().startswith("Blender memory +")
    assert report.memory_text() in report.summary()
    assert report.summary().index("Blender memory") < report.summary().index("RSS")


def test_leak_report_has_no_memory_growth_when_a_reading_fell_back(monkeypatch):
    monkeypatch.setattr(memory, "_memory_format", lambda: "Mémoire : %s")
    with api.leak_guard(raise_on_leak=False) as report:
        pass
    assert report.memory_growth is None and report.memory_text() == ""
    if report.memory_before is not None:
        assert report.memory_before.source == memory.RSS and report.memory_before.note


@pytest.mark.parametrize("value, resolution, signed, text", [
    (int(8.44 * MiB), TENTH, True, "+8.4 MiB"),
    (int(0.04 * MiB), TENTH, True, "+0.0 MiB"),          # within the resolution
    (-int(0.04 * MiB), TENTH, True, "+0.0 MiB"),         # never -0.0
    (1090 * MiB, round(2 ** 30 / 100), False, "1,090 MiB"),        # a GiB figure: no decimal
    (-40 * MiB, round(2 ** 30 / 100), True, "-40 MiB"),
])
def test_mib_text_shows_no_more_digits_than_the_figure_has(value, resolution, signed, text):
    assert memory.mib_text(value, resolution, signed) == text
