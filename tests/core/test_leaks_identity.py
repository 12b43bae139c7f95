"""leak_guard by identity (issue 14): the added and removed IDs by name, which are orphans, who
uses the others, churn, the limit, RSS; finding IDs by identity (``core.identity``)."""
import bpy

import pytest

from bvh_leakfree_addon import api
from bvh_leakfree_addon.core import identity, leaks


def _scene():
    """A mesh used by an object (the used material goes on it) and a pool of meshes to remove."""
    cube = bpy.data.objects.new("Cube", bpy.data.meshes.new("CubeMesh"))
    bpy.context.scene.collection.objects.link(cube)
    for i in range(6):
        bpy.data.meshes.new(f"pool{i}").use_fake_user = True
    return cube


def issue_script(cube):
    """One run of the issue's script: 3 images, 2 materials (one used by a mesh), 1 node group,
    and one existing mesh removed."""
    for _ in range(3):
        bpy.data.images.new("Render", 4, 4)
    used = bpy.data.materials.new("M.used")
    bpy.data.materials.new("M.free")
    cube.data.materials.append(used)
    bpy.data.node_groups.new("NodeGroup", "GeometryNodeTree")
    victim = next(m for m in bpy.data.meshes if m.name.startswith("pool"))
    bpy.data.meshes.remove(victim)


def test_leak_guard_names_the_six_added_the_removed_the_orphans_and_who_uses():
    cube = _scene()
    with pytest.raises(api.LeakError) as info, api.leak_guard():
        issue_script(cube)
    report = info.value.report
    assert info.value.growth == {"images": 3, "materials": 2, "node_groups": 1}
    images, materials = report.changes["images"], report.changes["materials"]
    groups, meshes = report.changes["node_groups"], report.changes["meshes"]
    assert [i.name for i in images.added_ids] == ["Render", "Render.001", "Render.002"]
    assert images.added_orphans == 3 and all(i.orphan for i in images.added_ids)
    assert [i.name for i in materials.added_ids] == ["M.used", "M.free"]   # as created
    used, free = materials.added_ids
    assert not used.orphan and used.users == 1 and used.used_by == ("Mesh 'CubeMesh'",)
    assert free.orphan and free.users == 0 and free.used_by == ()
    assert materials.added_orphans == 1
    assert [i.name for i in groups.added_ids] == ["NodeGroup"] and groups.added_orphans == 1
    assert meshes.added == 0 and meshes.removed == 1 and meshes.removed_names == ("pool0",)
    assert meshes.net == -1 and "meshes" not in report.growth
    assert set(report.changes) == {"images", "materials", "node_groups", "meshes"}
    text = str(info.value)
    assert text.startswith("bpy.data grew inside leak_guard: +3 images (Render, Render.001, "
                           "Render.002; all orphans)")
    assert "+2 materials (M.used ← Mesh 'CubeMesh', M.free; 1 orphan)" in text
    assert "+1 node group (NodeGroup; orphan)" in text
    assert "−1 mesh removed (pool0)" in text
    assert "RSS" in text


def test_info_is_plain_data_and_linked_and_fake_user_are_read():
    cube = _scene()
    with api.leak_guard(raise_on_leak=False) as report:
        mat = bpy.data.materials.new("kept")
        mat.use_fake_user = True
        cube.data.materials.append(mat)
    (info,) = report.changes["materials"].added_ids
    assert info == identity.IdInfo("materials", mat.session_uid, "kept", 2, True, False, False,
                                ("Mesh 'CubeMesh'",))
    assert all(not isinstance(v, bpy.types.ID) for v in info)


def test_churn_is_reported_not_hidden_and_not_raised():
    bpy.data.images.new("old", 4, 4)
    with api.leak_guard() as report:           # no LeakError: the count did not grow
        bpy.data.images.remove(bpy.data.images["old"])
        bpy.data.images.new("new", 4, 4)
    assert not report.leaked and report.growth == {}
    assert report.churn == {"images": 1}
    change = report.changes["images"]
    assert change.churn and change.net == 0
    assert leaks.change_text(change) == "images churned: 1 added (new), 1 removed (old), net 0"
    assert "images churned" in report.summary()


def test_a_block_that_creates_and_removes_its_own_temporaries_is_clean():
    with api.leak_guard() as report:
        mesh = bpy.data.meshes.new("temp")
        bpy.data.meshes.remove(mesh)
    assert report.changes == {} and not report.leaked and report.churn == {}
    assert report.summary().startswith("no datablock added or removed")


def test_limit_names_the_first_and_counts_the_rest():
    src = bpy.data.meshes.new("leak")
    src.use_fake_user = True
    with pytest.raises(api.LeakError) as info, api.leak_guard(limit=4):
        for _ in range(25):
            src.copy()
    change = info.value.report.changes["meshes"]
    assert change.added == 25 and len(change.added_ids) == 4
    assert [i.name for i in change.added_ids] == ["leak.001", "leak.002", "leak.003", "leak.004"]
    assert change.added_orphans == 25
    assert "+25 meshes (leak.001, leak.002, leak.003, …; all orphans)" in str(info.value)
    with pytest.raises(ValueError, match="limit"), api.leak_guard(limit=-1):
        pass
    with pytest.raises(ValueError, match="limit"), api.leak_guard(limit=2.5):
        pass


def test_rss_before_and_after_are_recorded():
    with api.leak_guard(raise_on_leak=False) as report:
        pass
    if api.process_rss_bytes() is None:
        pytest.skip("no RSS figure on this platform")
    assert report.rss_before > 0 and report.rss_after > 0
    assert report.rss_growth == report.rss_after - report.rss_before


def test_renamed_ids_are_not_added_or_removed():
    """Identity, not names: renaming keeps the ID."""
    mesh = bpy.data.meshes.new("before")
    mesh.use_fake_user = True
    with api.leak_guard() as report:
        mesh.name = "after"
    assert report.changes == {}


def test_the_core_keeps_no_id_reference():
    cube = _scene()
    with api.leak_guard(raise_on_leak=False) as report:
        issue_script(cube)
    assert report._snapshots is None
    for change in report.changes.values():
        for info in change.added_ids:
            assert all(not isinstance(value, bpy.types.bpy_struct) for value in info)
    bpy.data.batch_remove(list(bpy.data.images) + list(bpy.data.materials))
    assert "images" in report.summary()          # still readable: plain strings


def test_find_by_uid_and_ids_at():
    meshes = [bpy.data.meshes.new(f"m{i}") for i in range(5)]
    assert identity.find_by_uid("meshes", meshes[3].session_uid) == meshes[3]
    assert identity.find_by_uid("meshes", 10 ** 9) is None
    assert identity.ids_at("meshes", [4, 0]) == [bpy.data.meshes[4], bpy.data.meshes[0]]
    assert identity.ids_at("meshes", []) == []


def test_large_collections_take_the_numpy_path_with_the_same_answers():
    """Above 2,048 IDs the comparison runs in numpy (sorting), below it on Python sets: both."""
    src = bpy.data.meshes.new("base")
    src.use_fake_user = True
    for _ in range(2100):
        src.copy().use_fake_user = True
    with api.leak_guard(raise_on_leak=False) as report:
        bpy.data.meshes.remove(bpy.data.meshes["base.005"])
        [bpy.data.meshes.new(f"zz{i}") for i in range(3)]
    change = report.changes["meshes"]
    assert (change.added, change.removed) == (3, 1) and change.removed_names == ("base.005",)
    assert [i.name for i in change.added_ids] == ["zz0", "zz1", "zz2"]
