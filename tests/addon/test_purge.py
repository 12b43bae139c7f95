"""wm.bvh_purge_orphans and the File › Clean Up entry (real bpy, the installed add-on)."""
import bpy

import pytest
from helpers import id_collection_names, link_two_library_meshes

from bvh_leakfree_addon.core import compat


def _orphans(n, name="orphan"):
    src = bpy.data.meshes.new(name)
    for _ in range(n - 1):
        src.copy()


def test_purge_meshes_reports_and_refreshes_monitor(addon, capfd):
    _orphans(37)
    mat = bpy.data.materials.new("only_on_orphans")
    bpy.data.meshes[0].materials.append(mat)
    kept = bpy.data.meshes.new("kept")
    kept.use_fake_user = True
    addon.monitor.service.tick(force=True)
    assert bpy.ops.wm.bvh_purge_orphans(types='MESH') == {'FINISHED'}
    assert "Removed 37 meshes" in capfd.readouterr().out
    assert list(bpy.data.meshes.keys()) == ["kept"]
    assert len(bpy.data.materials) == 1  # not recursive: the material stays (now an orphan)
    assert addon.monitor.service.figures("meshes").total == 1


def test_purge_all_recursive_report(addon, capfd):
    _orphans(3)
    mats = [bpy.data.materials.new(f"m{i}") for i in range(4)]
    for i, mat in enumerate(mats):
        bpy.data.meshes[i % 3].materials.append(mat)
    assert bpy.ops.wm.bvh_purge_orphans(types='MESH', recursive=True) == {'FINISHED'}
    assert "Removed 4 materials, 3 meshes" in capfd.readouterr().out
    assert len(bpy.data.materials) == 0


def test_nothing_to_purge_is_cancelled_with_info(addon, capfd):
    kept = bpy.data.meshes.new("kept")
    kept.use_fake_user = True
    assert bpy.ops.wm.bvh_purge_orphans(types='ALL') == {'CANCELLED'}
    assert "Nothing to purge" in capfd.readouterr().out
    assert bpy.ops.wm.bvh_purge_orphans('INVOKE_DEFAULT', types='ALL') == {'CANCELLED'}
    assert "Nothing to purge" in capfd.readouterr().out
    assert len(bpy.data.meshes) == 1


def test_fake_users_never_purged(addon):
    for i in range(4):
        me = bpy.data.meshes.new(f"k{i}")
        me.use_fake_user = True
    assert bpy.ops.wm.bvh_purge_orphans(types='ALL', recursive=True,
                                        include_linked=True) == {'CANCELLED'}
    assert len(bpy.data.meshes) == 4


def test_linked_orphans_need_include_linked(addon, tmp_path):
    link_two_library_meshes(tmp_path)
    assert all(m.library is not None and m.users == 0 for m in bpy.data.meshes)
    addon.monitor.service.tick(force=True)
    assert addon.monitor.service.figures("meshes").linked_orphans == 2
    assert bpy.ops.wm.bvh_purge_orphans(types='MESH') == {'CANCELLED'}
    assert len(bpy.data.meshes) == 2
    assert bpy.ops.wm.bvh_purge_orphans(types='MESH', include_linked=True) == {'FINISHED'}
    assert len(bpy.data.meshes) == 0


def test_operator_has_no_redo_panel_and_is_in_file_cleanup(addon):
    # Undo steps are pushed by the operator itself (Ctrl+Z is checked in the GUI test); without
    # the UNDO flag there is no redo panel that could widen a purge past its confirmation.
    assert bpy.ops.wm.bvh_purge_orphans.bl_options == {'REGISTER'}   # the registered type
    draw_funcs = bpy.types.TOPBAR_MT_file_cleanup._dyn_ui_initialize()
    assert addon.monitor.panels.draw_cleanup_menu_entry in draw_funcs


@pytest.mark.parametrize("prop", ["types", "recursive", "include_linked"])
def test_properties_have_descriptions(addon, prop):
    rna = bpy.ops.wm.bvh_purge_orphans.get_rna_type()
    assert rna.properties[prop].description


def _texts(lines):
    return [text for text, _icon in lines]


def test_confirmation_names_what_the_purge_will_delete(addon):
    _orphans(5)
    for i in range(2):
        bpy.data.materials.new(f"unused{i}")
    kept = bpy.data.meshes.new("kept")
    kept.use_fake_user = True
    ops = addon.monitor.operators
    lines = _texts(ops.confirmation_lines(ops.purge_plan('ALL')))
    assert lines[0] == "These unused datablocks will be deleted:"
    assert "5 meshes: orphan, orphan.001, orphan.002 and 2 more" in lines
    assert "2 materials: unused0, unused1" in lines
    assert lines.index("5 meshes: orphan, orphan.001, orphan.002 and 2 more") < \
        lines.index("2 materials: unused0, unused1")   # largest first
    assert "Nothing else becomes unused." in lines
    only_meshes = _texts(ops.confirmation_lines(ops.purge_plan('MESH')))
    assert only_meshes[1] == "5 meshes: orphan, orphan.001, orphan.002 and 2 more"
    assert not any("material" in text for text in only_meshes)
    # and the purge then deletes exactly that
    assert bpy.ops.wm.bvh_purge_orphans(types='MESH') == {'FINISHED'}
    assert list(bpy.data.meshes.keys()) == ["kept"]


def test_recursive_choice_shows_its_full_result_before_the_click(addon):
    """The 'Delete + What Becomes Unused' button names everything it will take, and the purge it
    runs then removes exactly that (by identity)."""
    _orphans(3)
    image = bpy.data.images.new("only_on_orphans", 2, 2)
    mat = bpy.data.materials.new("Mat.orphaned")
    compat.material_node_tree(mat).nodes.new("ShaderNodeTexImage").image = image
    bpy.data.meshes["orphan"].materials.append(mat)
    bpy.data.materials.new("Dots Stroke")    # already an orphan: the plain Delete takes it too
    ops = addon.monitor.operators
    plan = ops.purge_plan('ALL')
    sections = ops.confirmation_sections(plan)
    assert [button[0] if button else None for _lines, button in sections] == [
        "Delete", "Delete + What Becomes Unused"]
    direct, cascade = (_texts(lines) for lines, _button in sections)
    assert "3 meshes: orphan, orphan.001, orphan.002" in direct
    assert "1 material: Dots Stroke" in direct
    assert cascade == ['Then unused, deleted too by "Delete + What Becomes Unused":',
                       "1 image: only_on_orphans", "1 material: Mat.orphaned"]
    previewed = {(name, uid) for name, items in plan.cascade.items() for uid, _n in items}
    before = _every_uid()
    assert bpy.ops.wm.bvh_purge_orphans(types='ALL', recursive=True) == {'FINISHED'}
    assert before - _every_uid() == previewed
    assert "Dots Stroke" not in bpy.data.materials


def _every_uid():
    return {(name, id_.session_uid) for name in id_collection_names()
            for id_ in getattr(bpy.data, name)}


def test_linked_choice_names_the_linked_orphans(addon, tmp_path):
    link_two_library_meshes(tmp_path)
    bpy.data.meshes.new("local")
    ops = addon.monitor.operators
    sections = ops.confirmation_sections(ops.purge_plan('MESH'))
    assert [b[0] if b else None for _l, b in sections] == [
        "Delete", None, "Delete, Linked Data Too"]
    assert _texts(sections[0][0])[1] == "1 mesh: local"
    assert _texts(sections[2][0])[1] == "2 meshes: lib0, lib1"
