"""object.bvh_leak_check: cold builds + casts on the selection, growth per type and RSS growth."""
import sys

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
    lines = addon.monitor.panels.leak_check_lines(state)
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
    lines = addon.monitor.panels.leak_check_lines(state)
    assert lines[0][0] == "Leak check: 100 builds + casts, 1 object"
    assert lines[1] == ("Grew: meshes +100", 'ERROR')


def test_leak_check_catches_a_real_leak_and_names_it(addon, monkeypatch, capfd):
    """A build step that leaks (a mesh copy per build, the BlenderProc bug) is reported."""
    for i in range(2):
        _ico(f"ico{i}", (i * 3.0, 0.0, -5.0))
    gather = sys.modules[addon.__name__ + ".core.gather"]
    real = gather.GeomEntry

    def leaky_entry(*args, **kwargs):
        bpy.data.meshes.new("leaked")          # never removed: an orphan mesh per new tree
        return real(*args, **kwargs)

    monkeypatch.setattr(gather, "GeomEntry", leaky_entry)
    assert bpy.ops.object.bvh_leak_check(iterations=5) == {'FINISHED'}
    out = capfd.readouterr().out
    assert "datablocks grew (meshes +10)" in out, out
    state = bpy.context.window_manager.bvh_leakfree.monitor
    assert not state.leak_check_clean and state.leak_check_growth == "meshes +10"
    lines = addon.monitor.panels.leak_check_lines(state)
    assert lines[1] == ("Grew: meshes +10", 'ERROR')


def test_leak_check_result_is_forgotten_on_file_load(addon):
    """The add-on's load_post handlers forget the last leak check.  (Headless, opening a file
    also replaces the window manager; in a window Blender may keep it, so the handler is what
    counts: run exactly what Blender runs after a load.)"""
    _ico("ico", (0.0, 0.0, -5.0))
    assert bpy.ops.object.bvh_leak_check(iterations=2) == {'FINISHED'}
    state = bpy.context.window_manager.bvh_leakfree.monitor
    assert state.leak_check_done and state.leak_check_iterations == 2
    ours = [fn for fn in bpy.app.handlers.load_post
            if getattr(fn, "__module__", "").startswith(addon.__name__ + ".")]
    assert ours
    for fn in ours:
        fn(bpy.context.scene)
    assert not state.leak_check_done and state.leak_check_iterations == 0
