"""The script API: results, stats, skipped objects and every bad input (clear errors, no crash)."""
import math

import bpy

import numpy as np
import pytest
import scene_builders as sb
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from bvh_leakfree_addon import api


@pytest.fixture
def two():
    a = sb.mesh_object("a", sb.cube_mesh("a", 2.0), (0, 0, 0))
    b = sb.mesh_object("b", sb.ico_mesh("b"), (5, 0, 0))
    return [a, b]


def test_hit_fields(two):
    bvh = api.build(two)
    hit = bvh.ray_cast((0, 0, 10), (0, 0, -1))
    assert hit.object == two[0] and hit.instancer is None
    assert isinstance(hit.location, Vector) and isinstance(hit.normal, Vector)
    assert tuple(hit.location) == pytest.approx((0, 0, 1), abs=1e-6)
    assert tuple(hit.normal) == pytest.approx((0, 0, 1), abs=1e-6)
    assert hit.distance == pytest.approx(9.0)
    assert two[0].data.polygons[hit.polygon_index].normal.z > 0.99
    assert bvh.ray_cast((0, 0, 10), (0, 0, -1), distance=8.5) is None
    assert bvh.ray_cast((0, 0, 10), (0, 0, 1)) is None
    assert "a" in repr(hit)


def test_find_nearest(two):
    bvh = api.build(two)
    hit = bvh.find_nearest((5, 0, 3))
    assert hit.object == two[1]
    assert hit.distance == pytest.approx(2.0, abs=0.05)
    assert bvh.find_nearest((5, 0, 3), distance=1.0) is None
    two[1].scale = (1, 3, 1)   # non-uniform: answered from the merged world tree
    bvh.update()
    hit = bvh.find_nearest((5, 5, 0))
    assert hit.object == two[1] and hit.distance == pytest.approx(2.0, abs=0.1)


def test_find_nearest_with_instances():
    gn = sb.gn_instances_object("gn", (0, 0, 0))
    bvh = api.build([gn])
    hit = bvh.find_nearest((0.75, 0.75, 3.0))
    assert hit.instancer == gn


def test_ray_cast_many_shapes_and_single_direction(two):
    bvh = api.build(two)
    origins = np.array([[0, 0, 10], [5, 0, 10], [20, 0, 10]], dtype=float)
    out = bvh.ray_cast_many(origins, (0, 0, -1))
    assert out["hit"].tolist() == [True, True, False]
    assert [bvh.objects[i] for i in out["object_index"][:2]] == two
    assert out["object_index"][2] == -1 and out["polygon_index"][2] == -1
    assert out["location"].shape == (3, 3) and out["normal"].shape == (3, 3)
    assert np.isnan(out["location"][2]).all() and out["distance"][2] == math.inf
    assert out.hit is out["hit"]   # attribute access too
    with pytest.raises(AttributeError):
        out.nonsense  # noqa: B018


def test_stats_and_skipped_objects():
    mesh = sb.mesh_object("m", sb.cube_mesh("m"), (0, 0, 0))
    empty_mesh = sb.mesh_object("no_faces", bpy.data.meshes.new("nf"), (0, 0, 0))
    cam = sb.link(bpy.data.objects.new("cam", bpy.data.cameras.new("cam")))
    light = sb.link(bpy.data.objects.new("light", bpy.data.lights.new("light", 'POINT')))
    empty = sb.link(bpy.data.objects.new("empty", None))
    bvh = api.build([mesh, empty_mesh, cam, light, empty, mesh])  # duplicates are ignored
    stats = bvh.stats
    assert stats.objects_used == 1
    assert stats.triangles == 12
    skipped = dict(stats.objects_skipped)
    assert set(skipped) == {"no_faces", "cam", "light", "empty"}
    assert all(isinstance(reason, str) and reason for reason in skipped.values())
    assert stats.build_seconds > 0 and not stats.reused
    assert stats.meshes_rebuilt == 1 and stats.meshes_reused == 0
    assert bvh.objects == [mesh]


def test_only_skipped_objects_give_an_empty_bvh():
    cam = sb.link(bpy.data.objects.new("cam", bpy.data.cameras.new("cam")))
    bvh = api.build([cam])
    assert bvh.stats.objects_used == 0 and bvh.stats.triangles == 0
    assert bvh.ray_cast((0, 0, 1), (0, 0, -1)) is None
    assert bvh.find_nearest((0, 0, 0)) is None
    assert bvh.ray_cast_many(np.zeros((2, 3)), (0, 0, 1))["hit"].tolist() == [False, False]
    assert bvh.tree.ray_cast(Vector((0, 0, 1)), Vector((0, 0, -1)))[0] is None


def test_progress_is_reported(two):
    seen = []
    api.build(two, progress=seen.append, reuse=False)
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)


def test_collection_instance_hit_names_instancer():
    src = sb.mesh_object("src", sb.ico_mesh("s"), (0, 0, 0))
    inst = sb.collection_instance("inst", (0, 0, 0), [src])
    bvh = api.build([inst])
    hit = bvh.ray_cast((0, 0, 10), (0, 0, -1))
    assert hit.object == src and hit.instancer == inst
    assert bvh.stats.objects_used == 1


def test_tree_and_source_of(two):
    bvh = api.build(two)
    tree = bvh.tree
    loc, nor, index, dist = tree.ray_cast(Vector((5, 0, 10)), Vector((0, 0, -1)))
    obj, polygon = bvh.source_of(index)
    assert obj == two[1]
    assert polygon == bvh.ray_cast((5, 0, 10), (0, 0, -1)).polygon_index
    with pytest.raises(IndexError):
        bvh.source_of(10 ** 6)


def test_tree_after_geometry_change_asks_for_update(two):
    bvh = api.build(two)
    two[1].data.vertices[0].co.z += 1
    two[1].data.update()
    bpy.context.evaluated_depsgraph_get()
    with pytest.raises(RuntimeError, match="update"):
        bvh.tree  # noqa: B018
    bvh.update()
    assert bvh.tree is not None


# --- bad input ----------------------------------------------------------------------------------

def test_empty_list():
    with pytest.raises(ValueError, match="empty"):
        api.build([])
    with pytest.raises(ValueError):
        api.build(None)


def test_not_objects():
    with pytest.raises(TypeError, match="not a Blender object"):
        api.build(["Cube"])


def test_deleted_object(two):
    victim = two[1]
    bpy.data.objects.remove(victim)
    with pytest.raises(ReferenceError, match="deleted"):
        api.build(two)


def test_object_deleted_after_build(two):
    bvh = api.build(two)
    bpy.data.objects.remove(two[1])
    with pytest.raises(ReferenceError, match=r"call update\(\)"):
        bvh.ray_cast((5, 0, 10), (0, 0, -1))
    assert bvh.update() is bvh            # the advice is true: update() leaves it out
    assert bvh.stats.objects_skipped == [("item 1 of the object list",
                                          "deleted since the last build")]
    assert bvh.stats.objects_used == 1
    assert bvh.ray_cast((5, 0, 10), (0, 0, -1)) is None
    assert bvh.ray_cast((0, 0, 10), (0, 0, -1)).object == two[0]
    with pytest.raises(ReferenceError, match="item 1 of the object list has been deleted"):
        api.build(two)                    # an explicit list with a deleted object stays an error


def test_object_of_another_scene(two):
    other = bpy.data.scenes.new("Other")
    stranger = bpy.data.objects.new("stranger", sb.cube_mesh("s"))
    other.collection.objects.link(stranger)
    with pytest.raises(ValueError, match="'stranger' is not in scene 'Scene'"):
        api.build(two + [stranger])


def test_object_of_an_excluded_collection_used_by_an_instancer_is_allowed():
    """It is evaluated (the instancer needs it), so it can be built when asked for."""
    src = sb.mesh_object("src", sb.ico_mesh("s"), (0, 0, 0))
    sb.collection_instance("inst", (5, 0, 0), [src])
    assert api.build([src]).ray_cast((0, 0, 5), (0, 0, -1)).object == src


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_matrix(two, bad):
    two[0].location.x = bad
    with pytest.raises(ValueError, match="non-finite"):
        api.build(two)


def test_zero_scale_object_is_skipped(two):
    two[0].scale = (0, 1, 1)
    bvh = api.build(two)
    assert [name for name, _ in bvh.stats.objects_skipped] == ["a"]
    assert "scale" in bvh.stats.objects_skipped[0][1]


@pytest.mark.parametrize("origin,direction,distance,match", [
    ((0, 0, 0), (0, 0, 0), math.inf, "zero length"),
    ((math.nan, 0, 0), (0, 0, 1), math.inf, "NaN"),
    ((0, 0, 0), (math.inf, 0, 1), math.inf, "NaN or infinity"),
    ((0, 0, 0), (0, 0, 1), 0.0, "greater than 0"),
    ((0, 0, 0), (0, 0, 1), -1.0, "greater than 0"),
    ((0, 0, 0), (0, 0, 1), math.nan, "NaN"),
    ((0, 0), (0, 0, 1), 1.0, "3D vector"),
    ("abc", (0, 0, 1), 1.0, "3D vector"),
])
def test_bad_rays(two, origin, direction, distance, match):
    bvh = api.build(two)
    with pytest.raises(ValueError, match=match):
        bvh.ray_cast(origin, direction, distance)


def test_bad_many_rays(two):
    bvh = api.build(two)
    with pytest.raises(ValueError, match="zero length"):
        bvh.ray_cast_many(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        bvh.ray_cast_many(np.full((2, 3), np.nan), (0, 0, 1))
    with pytest.raises(ValueError, match="shape"):
        bvh.ray_cast_many(np.zeros((2, 2)), (0, 0, 1))
    with pytest.raises(ValueError, match="shape"):
        bvh.ray_cast_many(np.zeros((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="greater than 0"):
        bvh.ray_cast_many(np.zeros((2, 3)), (0, 0, 1), 0.0)


def test_bad_nearest_and_epsilon(two):
    bvh = api.build(two)
    with pytest.raises(ValueError):
        bvh.find_nearest((math.nan, 0, 0))
    with pytest.raises(ValueError):
        bvh.find_nearest((0, 0, 0), distance=-1)
    with pytest.raises(ValueError, match="epsilon"):
        api.build(two, epsilon=-1.0)
    with pytest.raises(ValueError, match="epsilon"):
        api.build(two, epsilon=math.nan)


def test_scene_bvh_cannot_be_constructed_directly():
    with pytest.raises(TypeError, match="build"):
        api.SceneBVH()


def test_hit_unpacks_like_bvhtree_ray_cast(two):
    """``location, normal, index, distance = hit``, as ``BVHTree.ray_cast`` returns, and indexable;
    the named fields stay."""
    bvh = api.build(two)
    hit = bvh.ray_cast((0, 0, 10), (0, 0, -1))
    location, normal, index, distance = hit
    assert (location, normal, index, distance) == (hit.location, hit.normal, hit.polygon_index,
                                                   hit.distance)
    assert len(hit) == 4 and hit[2] == hit.polygon_index and hit[-1] == hit.distance
    reference = BVHTree.FromPolygons([v.co for v in two[0].data.vertices],
                                     [p.vertices for p in two[0].data.polygons])
    ref_loc, ref_nor, ref_index, ref_dist = reference.ray_cast(Vector((0, 0, 10)),
                                                               Vector((0, 0, -1)))
    assert index == ref_index and distance == pytest.approx(ref_dist)
    assert tuple(location) == pytest.approx(tuple(ref_loc), abs=1e-6)


def test_documented_types_are_exported_and_internals_are_private():
    for name in ("TypeChange", "IdInfo", "DatablockCount", "CacheInfo", "LeakReport", "Hit",
                 "BuildStats", "RayResults"):
        assert name in api.__all__ and getattr(api, name).__doc__, name
    assert isinstance(api.datablock_counts("MESH")["meshes"], api.DatablockCount)
    assert not hasattr(api.BuildStats(), "unchanged_copy")
    info = api.cache_info()
    assert info.bytes >= 0 and "bytes=" in repr(info)
    with pytest.raises(TypeError, match="leak_guard"):
        api.LeakReport(("meshes",), 10)
    with api.leak_guard("meshes", raise_on_leak=False) as report:
        bpy.data.meshes.new("x")
    assert not hasattr(report, "close")
    change = report.changes["meshes"]
    assert isinstance(change, api.TypeChange) and isinstance(change.added_ids[0], api.IdInfo)
    report._close()                     # closing again changes nothing, raises nothing
    assert report.growth == {"meshes": 1}
