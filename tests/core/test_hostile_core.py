"""Hostile and unusual input to the script API (issue 11): each defect found against 1.0.0 has a
test here that failed before its fix.  Real bpy, no mocks."""
import bpy

import numpy as np
import pytest
import scene_builders as sb
from helpers import id_collection_sizes

from bvh_leakfree_addon import api


@pytest.fixture
def pair():
    a = sb.mesh_object("A", sb.cube_mesh("a", 2.0), (0, 0, 0))
    b = sb.mesh_object("B", sb.cube_mesh("b", 2.0), (5, 0, 0))
    return a, b


# --- defect 3: objects Blender does not evaluate are skipped, with the real reason ---------------

def test_hidden_in_viewport_is_skipped_with_its_reason(pair):
    a, b = pair
    b.hide_viewport = True
    bvh = api.build([a, b])
    assert bvh.stats.objects_used == 1
    assert bvh.stats.objects_skipped == [("B", "disabled in viewports (hide_viewport): Blender "
                                                "does not evaluate it")]
    assert bvh.ray_cast((5, 0, 5), (0, 0, -1)) is None
    assert bvh.ray_cast((0, 0, 5), (0, 0, -1)).object == a


def test_hide_set_is_still_built(pair):
    """Hidden in the view layer (H) is still evaluated: built and hit, as in 1.0.0."""
    a, b = pair
    b.hide_set(True)
    assert api.build([a, b]).ray_cast((5, 0, 5), (0, 0, -1)).object == b


def test_excluded_collection_is_skipped_with_its_reason(pair):
    a, _b = pair
    hidden = bpy.data.collections.new("Hidden")
    bpy.context.scene.collection.children.link(hidden)
    c = sb.mesh_object("C", sb.cube_mesh("c", 2.0), (-5, 0, 0), collection=hidden)
    bpy.context.view_layer.layer_collection.children["Hidden"].exclude = True
    bvh = api.build([a, c])
    assert bvh.stats.objects_skipped == [
        ("C", "its collection 'Hidden' is excluded from view layer 'ViewLayer'")]


def test_collection_disabled_in_viewports_is_skipped_with_its_reason(pair):
    a, _b = pair
    off = bpy.data.collections.new("Off")
    bpy.context.scene.collection.children.link(off)
    c = sb.mesh_object("C", sb.cube_mesh("c", 2.0), (-5, 0, 0), collection=off)
    off.hide_viewport = True
    bvh = api.build([a, c])
    assert bvh.stats.objects_skipped == [("C", "its collection 'Off' is disabled in viewports")]


def test_another_scene_or_no_scene_stays_an_error(pair):
    a, _b = pair
    lonely = bpy.data.objects.new("Lonely", sb.cube_mesh("l"))
    with pytest.raises(ValueError, match="'Lonely' is not in scene 'Scene'"):
        api.build([a, lonely])


# --- defect 4: no dead trees; a bounded cache that reports bytes ---------------------------------

def _displaced_grid(strength):
    grid = sb.mesh_object("Grid", sb.grid_mesh("g", 60, 60, 4.0, bumpy=False))
    mod = grid.modifiers.new("Displace", 'DISPLACE')
    mod.mid_level = 0.0       # no texture: every vertex moves up by the strength
    mod.strength = strength
    return grid, mod


def test_re_evaluated_geometry_frees_the_tree_it_replaced():
    api.clear_cache()
    grid, mod = _displaced_grid(0.1)
    bvh = api.build([grid])
    one = api.cache_info()
    assert one.trees == 1 and one.bytes > 0
    for i in range(6):
        mod.strength = 0.2 + 0.1 * i
        bvh = api.build([grid])
        assert bvh.ray_cast((0.3, 0.3, 5), (0, 0, -1)).location.z == pytest.approx(
            mod.strength, abs=1e-4)
        info = api.cache_info()
        assert (info.trees, info.triangles) == (one.trees, one.triangles), info
        assert info.bytes == one.bytes
    for _ in range(30):   # unchanged scene: stays one tree
        api.build([grid]).ray_cast((0, 0, 5), (0, 0, -1))
    assert api.cache_info().trees == 1


def test_trees_used_by_the_latest_build_are_never_dropped():
    shared = sb.ico_mesh("shared", 2)
    a = sb.mesh_object("A", shared, (0, 0, 0))
    b = sb.mesh_object("B", shared, (4, 0, 0))
    api.clear_cache()
    api.build([a, b])
    assert api.cache_info().trees == 1   # linked duplicates share one tree
    a.modifiers.new("sub", 'SUBSURF').levels = 1
    bvh = api.build([a, b])
    assert api.cache_info().trees == 2   # A's subdivided tree and B's: the old one went
    assert bvh.ray_cast((0, 0, 5), (0, 0, -1)).object == a
    assert bvh.ray_cast((4, 0, 5), (0, 0, -1)).object == b
    again = api.build([a, b])
    assert again.stats.meshes_rebuilt == 0 and api.cache_info().trees == 2


def test_cache_limit_in_bytes_evicts_least_recently_used():
    api.clear_cache()
    objs = [sb.mesh_object(f"S{i}", sb.ico_mesh(f"s{i}", 3), (3 * i, 0, 0)) for i in range(4)]
    try:
        for obj in objs:                  # one build each: each tree used once, in turn
            api.build([obj])
        info = api.cache_info()
        assert info.trees == 4 and info.limit_bytes == api.DEFAULT_CACHE_LIMIT_BYTES
        per_tree = info.bytes // 4
        api.set_cache_limit(per_tree * 2 + per_tree // 2)
        assert api.cache_info().trees == 2                       # the two least recent went
        bvh = api.build([objs[0]])                               # rebuilt, then the cache trims
        assert bvh.stats.meshes_rebuilt == 1
        assert api.cache_info().trees == 2
        assert api.cache_info().bytes <= api.cache_info().limit_bytes
        api.set_cache_limit(0)                                   # the latest build's tree stays
        assert api.cache_info().trees == 1
        api.set_cache_limit(None)
        assert api.cache_info().limit_bytes == float("inf")
    finally:
        api.set_cache_limit(api.DEFAULT_CACHE_LIMIT_BYTES)
    for bad in (-1, "lots", object()):
        with pytest.raises(ValueError, match="cache limit"):
            api.set_cache_limit(bad)


def test_cache_info_is_still_a_pair():
    trees, triangles = api.cache_info()
    assert isinstance(trees, int) and isinstance(triangles, int)


# --- defect 5: extreme but finite directions ----------------------------------------------------

@pytest.mark.parametrize("direction", [(0, 0, -1e200), (0, 0, -1e-300), (1e-310, 0, -1e-300),
                                       (1e150, 1e150, -1e300)])
def test_extreme_finite_directions_hit_in_both_paths(pair, direction):
    a, _b = pair
    bvh = api.build([a])
    hit = bvh.ray_cast((0.1, 0.1, 5), direction)
    assert hit is not None and hit.object == a and hit.location.z == pytest.approx(1.0)
    many = bvh.ray_cast_many([(0.1, 0.1, 5), (0.2, 0.1, 5)], direction)
    assert many.hit.all()
    assert np.allclose(many.location[0], tuple(hit.location))


@pytest.mark.parametrize("direction", [(0, 0, 0), (0.0, -0.0, 0.0)])
def test_zero_direction_is_refused_in_both_paths(pair, direction):
    bvh = api.build([pair[0]])
    with pytest.raises(ValueError, match="zero length"):
        bvh.ray_cast((0, 0, 5), direction)
    with pytest.raises(ValueError, match="zero length"):
        bvh.ray_cast_many([(0, 0, 5)], direction)


# --- the ReferenceError's advice is true ---------------------------------------------------------

def test_deleted_object_advice_is_true(pair):
    a, b = pair
    bvh = api.build([a, b])
    before = id_collection_sizes()
    bpy.data.objects.remove(b)
    with pytest.raises(ReferenceError, match=r"call update\(\)") as raised:
        bvh.ray_cast_many([(5, 0, 5)], (0, 0, -1))
    assert "update()" in str(raised.value)
    bvh.update()                                       # does what the message says
    assert bvh.ray_cast_many([(5, 0, 5), (0, 0, 5)], (0, 0, -1)).hit.tolist() == [False, True]
    assert id_collection_sizes()["objects"] == before["objects"] - 1


def test_geometry_nodes_pieces_of_replaced_geometry_are_dropped():
    api.clear_cache()
    gn = sb.gn_instances_object("gn", (0, 0, 0), radius_input=0.3)
    api.build([gn])
    first = api.cache_info()
    for i in range(5):
        sb.set_gn_input(gn, 0.35 + 0.05 * i)
        bvh = api.build([gn])
        assert bvh.stats.meshes_rebuilt >= 1
        assert api.cache_info().trees == first.trees, api.cache_info()
