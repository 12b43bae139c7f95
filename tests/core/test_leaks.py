"""Leak-free by construction: no bpy.data growth over many cycles, nothing left behind by a fault
at any stage of a build, bounded memory growth, and ``leak_guard`` itself."""
import gc

import bpy

import numpy as np
import pytest
import scene_builders as sb
from helpers import id_collection_sizes

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import cache as core_cache
from bvh_leakfree_addon.core import geometry as core_geometry
from bvh_leakfree_addon.core import instances as core_instances
from bvh_leakfree_addon.core import linalg as core_linalg
from bvh_leakfree_addon.core import merge as core_merge
from bvh_leakfree_addon.core import validate as core_validate
from bvh_leakfree_addon.core import viewlayer as core_viewlayer


def _mixed():
    objs, size = sb.mixed_scene(surface=True)
    return objs, size


def _cycle(objs, origins, directions, i):
    """One pipeline step: move things, rebuild (cold every 25th), cast, sometimes use .tree."""
    objs[i % len(objs)].location.z += 0.001
    if i % 50 == 0:   # geometry edits too: the curve (content-keyed) and a modifier
        objs[0].modifiers["bev"].width = 0.1 + 0.001 * (i % 7)
    bvh = api.build(objs, reuse=(i % 25 != 0))
    bvh.ray_cast(origins[i % len(origins)], directions[i % len(directions)])
    bvh.ray_cast_many(origins[:8], directions[:8])
    bvh.find_nearest(origins[i % len(origins)])
    if i % 100 == 0:
        bvh.tree.ray_cast(tuple(origins[0]), tuple(directions[0]))
    return bvh


def test_thousand_cycles_leave_every_id_collection_unchanged():
    objs, size = _mixed()
    origins, directions = sb.random_rays(64, size, seed=5, objects=objs)
    _cycle(objs, origins, directions, 0)
    before = id_collection_sizes()
    with api.leak_guard() as report:
        for i in range(1, 1001):
            _cycle(objs, origins, directions, i)
    assert not report.growth
    assert id_collection_sizes() == before


def test_rss_growth_after_warm_up_is_small():
    objs, size = _mixed()
    origins, directions = sb.random_rays(64, size, seed=6, objects=objs)
    if api.process_rss_bytes() is None:
        pytest.skip("no RSS figure on this platform")
    for i in range(200):
        _cycle(objs, origins, directions, i)
    gc.collect()
    start = api.process_rss_bytes()
    for i in range(200, 700):
        _cycle(objs, origins, directions, i)
    gc.collect()
    growth = api.process_rss_bytes() - start
    assert growth < 24 * 1024 * 1024, f"RSS grew {growth / 1e6:.1f} MB over 500 cycles"


# --- fault injection ------------------------------------------------------------------------------

class Boom(RuntimeError):
    pass


STAGES = [
    (core_validate, "check_objects"),
    (core_geometry, "read_matrices"),
    (core_geometry, "fill_bounds"),
    (core_geometry, "entry_from_object"),
    (core_cache, "store_marked"),
    (core_geometry, "mesh_arrays"),          # between to_mesh() and to_mesh_clear()
    (core_geometry, "content_key"),
    (core_geometry, "entry_from_arrays"),
    (core_instances, "_step"),               # inside the depsgraph instance iterator
    (core_viewlayer.Rows, "bounds"),         # the batch reads of new trees' bounds ...
    (core_viewlayer.Rows, "matrices"),       # ... and of world matrices
    (core_linalg, "world_boxes"),
    (core_cache, "evict"),
    (core_merge, "merged_arrays"),           # building .tree
]


@pytest.mark.parametrize("module,name", STAGES, ids=[f"{m.__name__.split('.')[-1]}.{n}"
                                                     for m, n in STAGES])
def test_fault_at_each_stage_propagates_and_leaks_nothing(monkeypatch, module, name):
    objs, size = _mixed()
    # to_mesh()/to_mesh_clear() must stay paired whatever fails
    balance = []
    real_to_mesh, real_clear = core_geometry.to_mesh, core_geometry.to_mesh_clear

    def counting_to_mesh(src):
        balance.append(src.name)
        return real_to_mesh(src)

    def counting_clear(src):
        balance.remove(src.name)
        real_clear(src)

    monkeypatch.setattr(core_geometry, "to_mesh", counting_to_mesh)
    monkeypatch.setattr(core_geometry, "to_mesh_clear", counting_clear)
    calls = []

    def boom(*args, **kwargs):
        calls.append(name)
        raise Boom(f"injected at {name}")

    api.clear_cache()
    before = id_collection_sizes()
    monkeypatch.setattr(module, name, boom)
    with pytest.raises(Boom):
        bvh = api.build(objs)
        bvh.tree  # noqa: B018 - the merged tree is the last stage
    assert calls, f"{name} was never reached"
    assert balance == [], f"to_mesh() without to_mesh_clear(): {balance}"
    assert id_collection_sizes() == before
    monkeypatch.undo()
    # afterwards everything works and agrees with Blender
    sb.visible_only(objs)
    bvh = api.build(objs)
    origins, directions = sb.random_rays(300, size, seed=9, objects=objs)
    expected = sb.scene_ray_cast(origins, directions)
    got = bvh.ray_cast_many(origins, directions)
    for r, (ok, _loc, _nor, index, obj) in enumerate(expected):
        if ok and obj.name != "surface" and got["hit"][r]:
            hit_obj = bvh.objects[got["object_index"][r]]
            if hit_obj.name != "surface":
                assert hit_obj == obj and got["polygon_index"][r] == index
    assert id_collection_sizes() == before


# --- leak_guard -----------------------------------------------------------------------------------

def test_leak_guard_raises_naming_collection_and_growth():
    with pytest.raises(api.LeakError) as info, api.leak_guard():
        bpy.data.meshes.new("leak1")
        bpy.data.meshes.new("leak2")
        bpy.data.materials.new("leak3")
    assert info.value.growth == {"meshes": 2, "materials": 1}
    assert "+2 meshes (leak1, leak2; all orphans)" in str(info.value)
    assert "+1 material (leak3; orphan)" in str(info.value)


def test_leak_guard_records_without_raising():
    with api.leak_guard(raise_on_leak=False) as report:
        bpy.data.meshes.new("leak")
    assert report.leaked and report.growth == {"meshes": 1}
    assert report.after["meshes"] == report.before["meshes"] + 1


def test_leak_guard_named_subset():
    with api.leak_guard(["materials"]) as report:
        bpy.data.meshes.new("not watched")
    assert not report.leaked and report.names == ("materials",)
    with pytest.raises(api.LeakError), api.leak_guard("meshes"):
        bpy.data.meshes.new("watched")
    with pytest.raises(ValueError, match="unknown ID type 'nonsense'"), \
            api.leak_guard(["meshes", "nonsense"]):
        pass


@pytest.mark.parametrize("spelling", ["MESH", "meshes", ["MESH"], {"meshes", "MESH"}])
def test_every_type_argument_takes_both_spellings(spelling):
    """``leak_guard`` takes Blender's ID type codes as ``orphans``/``purge_*``/``datablock_counts``
    do, and collection names as they all do."""
    with api.leak_guard(spelling, raise_on_leak=False) as report:
        bpy.data.meshes.new("watched")
    assert report.names == ("meshes",) and report.growth == {"meshes": 1}
    assert list(api.datablock_counts(spelling)) == ["meshes"]
    assert api.purge_preview(spelling) == api.purge_preview("meshes")
    one = spelling if isinstance(spelling, str) else "MESH"     # orphans() takes one type
    assert [m.name for m in api.orphans(one)] == ["watched"]


def test_leak_guard_lets_exceptions_through_and_still_reports():
    with pytest.raises(KeyError), api.leak_guard() as report:
        bpy.data.meshes.new("leak")
        raise KeyError("inner")
    assert report.growth == {"meshes": 1}


def test_leak_guard_clean_block_and_removal():
    with api.leak_guard() as report:
        mesh = bpy.data.meshes.new("temp")
        bpy.data.meshes.remove(mesh)
    assert not report.leaked


def test_blenderproc_style_loop_inside_leak_guard():
    objs = sb.ico_grid(30, 1)
    rng = np.random.default_rng(0)
    with api.leak_guard():
        bvh = api.build(objs)
        for _ in range(20):
            for obj in objs:
                obj.location = rng.uniform(-5, 5, 3)
            bvh.update()
            assert bvh.stats.meshes_rebuilt == 0
            hits = bvh.ray_cast_many(rng.uniform(-8, 8, (50, 3)), (0, 0, -1))
            assert hits["hit"].dtype == bool
