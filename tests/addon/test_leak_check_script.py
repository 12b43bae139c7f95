"""The Leak Check of any script (issue 14): a Text datablock run N times under leak_guard, what
grew reported by name; errors reported, never swallowed; it runs only when asked; menu entries
so F3 "leak" finds it (issue 15)."""
import bpy

import pytest
from helpers import ui_draw_functions_snapshot

ISSUE_SCRIPT = '''\
import bpy
for _ in range(3):
    bpy.data.images.new("Render", 4, 4)
used = bpy.data.materials.new("M.used")
bpy.data.materials.new("M.free")
bpy.data.objects["Cube"].data.materials.append(used)
bpy.data.node_groups.new("NodeGroup", "GeometryNodeTree")
bpy.data.meshes.remove(next(m for m in bpy.data.meshes if m.name.startswith("pool")))
'''


def _text(body, name="leaky.py"):
    text = bpy.data.texts.new(name)
    text.write(body)
    return text


@pytest.fixture
def scene(addon):
    cube = bpy.data.objects.new("Cube", bpy.data.meshes.new("CubeMesh"))
    bpy.context.scene.collection.objects.link(cube)
    for i in range(6):
        bpy.data.meshes.new(f"pool{i}").use_fake_user = True
    return addon


def _state():
    return bpy.context.window_manager.bvh_leakfree.monitor


def test_the_leak_check_of_a_text_names_what_it_grew(scene, capfd):
    _text(ISSUE_SCRIPT)
    assert bpy.ops.wm.bvh_leak_check_script(text="leaky.py", iterations=2) == {'FINISHED'}
    out = capfd.readouterr().out
    assert "Leak Check: Script: 2 runs of 'leaky.py' in " in out
    assert "still in the file (Ctrl+Z removes it)" in out        # issue 23.13
    state = _state()
    assert state.leak_check_done and not state.leak_check_clean
    assert state.leak_check_source == 'TEXT' and state.leak_check_script == "leaky.py"
    assert state.leak_check_growth == "images +6, materials +4, node groups +2"
    lines = state.leak_check_lines.split("\n")
    assert lines == [
        "+6 images (Render, Render.001, Render.002, …; all orphans) = 3 per run",
        "+4 materials (M.used ← Mesh 'CubeMesh', M.free, M.used.001 ← Mesh 'CubeMesh', …; "
        "2 orphans) = 2 per run",
        "+2 node groups (NodeGroup, NodeGroup.001; all orphans) = 1 per run",
        "−2 meshes removed (pool0, pool1)"]
    for line in lines:
        assert line in out
    panel = scene.monitor.panels.leak_check_lines(state)
    assert panel[:2] == [("Leak Check: Script", 'TEXT'), ("2 runs of 'leaky.py'", 'BLANK1')]
    assert [icon for _t, icon in panel[2:6]] == ['ERROR', 'ERROR', 'ERROR', 'INFO']
    # Issue 23.13: what the script added stays until Ctrl+Z, and the result says so.
    assert ("What the script added is still in the file: Ctrl+Z removes it",
            'LOOP_BACK') in panel
    assert panel[-2][0].startswith("Blender memory ") and panel[-1][0].startswith("Took ")


def test_a_clean_script_and_churn(scene, capfd):
    bpy.data.images.new("old", 2, 2)
    _text("import bpy\nbpy.data.images.remove(bpy.data.images[0])\n"
          "bpy.data.images.new('new', 2, 2)\n", "churn.py")
    assert bpy.ops.wm.bvh_leak_check_script(text="churn.py", iterations=3) == {'FINISHED'}
    state = _state()
    assert state.leak_check_clean and state.leak_check_growth == ""
    assert state.leak_check_lines == "images churned: 1 added (new), 1 removed (old), net 0"
    lines = scene.monitor.panels.leak_check_lines(state)
    assert ("images churned: 1 added (new), 1 removed (old), net 0", 'INFO') in lines
    assert not any("still in the file" in text for text, _icon in lines)   # nothing grew
    _text("x = 1\n", "nothing.py")
    assert bpy.ops.wm.bvh_leak_check_script(text="nothing.py", iterations=2) == {'FINISHED'}
    assert "no datablock added or removed" in capfd.readouterr().out


def test_an_error_in_the_script_is_reported_with_its_line_and_what_grew_so_far(scene, capfd):
    _text("import bpy\nbpy.data.meshes.new('leak')\nif len(bpy.data.meshes) > 8:\n"
          "    raise ValueError('too many meshes')\n", "broken.py")
    with pytest.raises(RuntimeError) as info:
        bpy.ops.wm.bvh_leak_check_script(text="broken.py", iterations=5)
    message = str(info.value)
    assert ("Leak Check: Script stopped: 'broken.py' raised ValueError at line 4 on run 2 of 5: "
            "too many meshes") in message
    assert "+2 meshes (leak, leak.001; all orphans)" in message
    assert "Traceback" not in message
    assert "Traceback" in capfd.readouterr().err        # the details are in the console
    state = _state()
    assert state.leak_check_error.startswith("'broken.py' raised ValueError at line 4")
    assert not state.leak_check_clean
    lines = scene.monitor.panels.leak_check_lines(state)
    assert lines[2][1] == 'ERROR' and lines[2][0].startswith("Stopped: 'broken.py' raised")


@pytest.mark.parametrize("body,message", [
    ("def broken(:\n", "'bad.py' has a syntax error at line 1"),
])
def test_syntax_errors_are_reported(scene, body, message):
    _text(body, "bad.py")
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bpy.ops.wm.bvh_leak_check_script(text="bad.py", iterations=2)


def test_a_missing_script_is_a_clear_message(scene):
    _text("x = 1\n", "there.py")
    with pytest.raises(RuntimeError, match="no script named 'gone.py' in this file"):
        bpy.ops.wm.bvh_leak_check_script(text="gone.py", iterations=2)


def test_needs_a_text(addon):
    with pytest.raises(RuntimeError, match="poll"):
        bpy.ops.wm.bvh_leak_check_script(text="x", iterations=1)


def test_the_script_runs_only_when_asked(scene, tmp_path):
    """Never on load, on enable or from the monitor's timer: only the explicit call runs it."""
    _text("import bpy\nbpy.app.driver_namespace['leak_check_runs'] = "
          "bpy.app.driver_namespace.get('leak_check_runs', 0) + 1\n", "marker.py")
    bpy.app.driver_namespace.pop("leak_check_runs", None)
    service = scene.monitor.service
    for _ in range(20):
        service.tick(force=True)
        service._timer()
    path = tmp_path / "with_script.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    service.tick(force=True)
    assert "leak_check_runs" not in bpy.app.driver_namespace
    assert bpy.ops.wm.bvh_leak_check_script(text="marker.py", iterations=3) == {'FINISHED'}
    assert bpy.app.driver_namespace.pop("leak_check_runs") == 3


def test_each_run_has_a_fresh_namespace(scene):
    _text("try:\n    seen\nexcept NameError:\n    seen = 1\nelse:\n"
          "    raise RuntimeError('namespace reused')\n", "fresh.py")
    assert bpy.ops.wm.bvh_leak_check_script(text="fresh.py", iterations=3) == {'FINISHED'}


def test_no_redo_panel_re_runs_the_script(addon):
    assert bpy.ops.wm.bvh_leak_check_script.bl_options == {'REGISTER'}


@pytest.mark.parametrize("menu,function", [("TOPBAR_MT_file_cleanup", "draw_cleanup_entries"),
                                           ("TEXT_MT_text", "draw_text_menu_entry")])
def test_menu_entries_so_f3_finds_the_leak_check(addon, menu, function):
    entries = ui_draw_functions_snapshot().get(menu, [])
    assert f"{addon.__name__}.monitor.leak_check.{function}" in entries
