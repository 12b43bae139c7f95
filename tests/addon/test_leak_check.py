"""object.bvh_leak_check: cold builds + casts on the selection, growth per type and RSS growth."""
import bpy
import bmesh
import pytest

from helpers import id_collection_sizes


def _ico(name, location):
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    try:
        bmesh.ops.create_icosphere(bm, subdivisions=2, radius=1.0)
        bm.to_mesh(me)
    finally:
        bm.free()
    obj = bpy.data.objects.new(name, me)
    obj.location = location
    bpy.context.scene.collection.objects.link(obj)
    obj.select_set(True)
    return obj


def test_leak_check_on_selection_reports_no_growth(addon, capfd):
    for i in range(3):
        _ico(f"ico{i}", (i * 3.0, 0.0, -5.0))
    before = id_collection_sizes()
    assert bpy.ops.object.bvh_leak_check(iterations=10) == {'FINISHED'}
    out = capfd.readouterr().out
    assert "Leak check: 10 builds + casts on 3 objects" in out
    assert "no datablock growth" in out
    assert id_collection_sizes() == before
    state = bpy.context.window_manager.bvh_leakfree.monitor
    assert state.leak_check_done and state.leak_check_clean
    assert state.leak_check_iterations == 10 and state.leak_check_objects == 3
    assert state.leak_check_growth == ""
    lines = addon.ui_monitor.leak_check_lines(state)
    assert lines[1] == ("No datablock growth", 'CHECKMARK')


def test_leak_check_default_is_100_iterations(addon):
    rna = bpy.ops.object.bvh_leak_check.get_rna_type()
    assert rna.properties["iterations"].default == 100


def test_leak_check_needs_a_selection(addon):
    with pytest.raises(RuntimeError, match="poll"):
        bpy.ops.object.bvh_leak_check(iterations=2)


def test_leak_check_without_geometry_is_an_error(addon):
    empty = bpy.data.objects.new("empty", None)
    bpy.context.scene.collection.objects.link(empty)
    empty.select_set(True)
    with pytest.raises(RuntimeError, match="Select at least one object with geometry"):
        bpy.ops.object.bvh_leak_check(iterations=2)
    assert not bpy.context.window_manager.bvh_leakfree.monitor.leak_check_done


def test_leak_check_lines_show_growth(addon):
    state = bpy.context.window_manager.bvh_leakfree.monitor
    state.leak_check_done = True
    state.leak_check_clean = False
    state.leak_check_growth = "meshes +100"
    state.leak_check_iterations = 100
    state.leak_check_objects = 1
    lines = addon.ui_monitor.leak_check_lines(state)
    assert lines[0][0] == "Leak check: 100 builds + casts, 1 object"
    assert lines[1] == ("Grew: meshes +100", 'ERROR')
