"""The Datablocks panel's lists of what is new since the baseline (issue 14): open and page a
list, who uses a datablock, select the objects that use it, delete one orphan; the throttling
that keeps a tick cheap with a list open; the history graph (real bpy, the installed add-on)."""
import sys

import bpy

import numpy as np
import pytest
from helpers import id_collection_sizes

from bvh_leakfree_addon.core import compat


def _list(name, action='TOGGLE'):
    assert bpy.ops.wm.bvh_datablock_list(collection=name, action=action) == {'FINISHED'}


def _state():
    return bpy.context.window_manager.bvh_leakfree.monitor


def test_new_since_pages_newest_first_and_counts_removed(addon):
    snapshot, new_since = addon.core.identity.snapshot, addon.monitor.pages.new_since
    for i in range(3):
        bpy.data.meshes.new(f"base{i}").use_fake_user = True
    baseline = snapshot("meshes")
    made = [bpy.data.meshes.new(f"new{i:02d}") for i in range(11)]
    bpy.data.meshes.remove(bpy.data.meshes["base1"])
    first = new_since(baseline, 0, 4)
    assert first.new == 11 and first.removed == 1 and first.removed_names == ("base1",)
    assert [r.name for r in first.rows] == ["new10", "new09", "new08", "new07"]
    assert all(r.orphan for r in first.rows)
    last = new_since(baseline, 8, 4)
    assert last.start == 8 and [r.name for r in last.rows] == ["new02", "new01", "new00"]
    beyond = new_since(baseline, 40, 4)    # a page past the end shows the last page
    assert beyond.start == 8 and beyond.rows == last.rows
    assert made[0].session_uid == last.rows[-1].session_uid
    empty = new_since(snapshot("meshes"), 0, 4)
    assert empty.new == 0 and empty.rows == () and empty.removed == 0


def test_new_since_on_large_collections_takes_the_numpy_path(addon):
    """Above 2,048 IDs the comparison runs in numpy (sorting), below it on Python sets: both."""
    src = bpy.data.meshes.new("base")
    src.use_fake_user = True
    for _ in range(2100):
        src.copy().use_fake_user = True
    baseline = addon.core.identity.snapshot("meshes")
    bpy.data.meshes.remove(bpy.data.meshes["base.005"])
    made = [bpy.data.meshes.new(f"zz{i}") for i in range(3)]
    view = addon.monitor.pages.new_since(baseline, 0, 2)
    assert (view.new, view.removed) == (3, 1) and view.removed_names == ("base.005",)
    assert [r.session_uid for r in view.rows] == [made[2].session_uid, made[1].session_uid]


def test_open_list_names_what_is_new_newest_first_and_pages(mon):
    baseline_mesh = bpy.data.meshes.new("old")
    baseline_mesh.use_fake_user = True
    assert bpy.ops.wm.bvh_reset_baseline() == {'FINISHED'}
    assert mon.new_list("meshes") is None
    _list("meshes")
    assert "meshes" in _state().expanded
    view = mon.new_list("meshes")
    assert view.new == 0 and view.rows == ()
    for i in range(11):
        bpy.data.meshes.new(f"leak{i:02d}")
    bpy.data.meshes.remove(baseline_mesh)
    mon.tick(force=True)
    view = mon.new_list("meshes")
    assert view.new == 11 and view.removed == 1 and view.removed_names == ("old",)
    assert [r.name for r in view.rows] == [f"leak{i:02d}" for i in range(10, 2, -1)]
    assert all(r.orphan and r.users == 0 and not r.fake_user and not r.linked
               for r in view.rows)
    _list("meshes", 'NEXT')
    view = mon.new_list("meshes")
    assert view.start == 8 and [r.name for r in view.rows] == ["leak02", "leak01", "leak00"]
    _list("meshes", 'NEXT')                       # no page past the last
    assert mon.new_list("meshes").start == 8
    _list("meshes", 'PREVIOUS')
    assert mon.new_list("meshes").start == 0
    _list("meshes")                               # close
    assert "meshes" not in _state().expanded
    mon.tick(force=True)
    assert mon.new_list("meshes") is None
    panels = sys.modules[mon.__name__.rsplit(".", 1)[0] + ".panels"]
    assert panels.list_lines(view) == ["11 new, newest first", "1 removed: old"]


def test_list_rows_read_users_fake_user_and_orphans(mon):
    obj = bpy.data.objects.new("Cube", bpy.data.meshes.new("CubeMesh"))
    bpy.context.scene.collection.objects.link(obj)
    mon.reset_baseline()
    _list("materials")
    used = bpy.data.materials.new("M.used")
    obj.data.materials.append(used)
    kept = bpy.data.materials.new("M.kept")
    kept.use_fake_user = True
    bpy.data.materials.new("M.free")
    mon.tick(force=True)
    rows = {r.name: r for r in mon.new_list("materials").rows}
    assert set(rows) == {"M.used", "M.kept", "M.free"}
    assert rows["M.used"].users == 1 and not rows["M.used"].orphan
    assert rows["M.kept"].fake_user and not rows["M.kept"].orphan
    assert rows["M.free"].orphan


def test_a_list_refreshes_with_its_type_and_weighs_in_the_throttling(mon, monkeypatch):
    """An open list costs a session_uid read on top of the count: its type is refreshed
    LIST_COST_FACTOR times less often, so the mean tick stays within the same budget."""
    monkeypatch.setattr(mon, "ITEMS_PER_TICK", 2)
    for i in range(10):
        bpy.data.meshes.new(f"m{i}")
    mon.tick(force=True)
    closed = mon._monitor.jobs["meshes"].period
    _list("meshes")
    mon.tick(force=True)
    assert mon._monitor.jobs["meshes"].period == closed * mon.LIST_COST_FACTOR
    bpy.data.meshes.new("later")
    refreshed = [mon.tick() for _ in range(mon._monitor.jobs["meshes"].period)]
    assert refreshed[-1] and not any(refreshed[:-1])
    assert mon.new_list("meshes").rows[0].name == "later"


def test_who_uses_it_names_the_users(mon, addon, capfd):
    obj = bpy.data.objects.new("Cube", bpy.data.meshes.new("CubeMesh"))
    bpy.context.scene.collection.objects.link(obj)
    mat = bpy.data.materials.new("M.used")
    obj.data.materials.append(mat)
    lines = addon.monitor.inspect.users_lines(mat)
    assert lines == [("Material 'M.used' is used by:", 'LINKED'), ("Mesh 'CubeMesh'", 'MESH_DATA')]
    free = bpy.data.materials.new("M.free")
    assert addon.monitor.inspect.users_lines(free) == [
        ("Material 'M.free' is used by nothing: an orphan", 'ORPHAN_DATA')]
    free.use_fake_user = True
    assert addon.monitor.inspect.users_lines(free)[0][1] == 'FAKE_USER_ON'
    assert bpy.ops.wm.bvh_datablock_users(collection="materials",
                                          session_uid=mat.session_uid) == {'FINISHED'}
    assert "Material 'M.used' is used by: Mesh 'CubeMesh'" in capfd.readouterr().out


def test_select_objects_that_use_it_directly_or_through_other_data(mon):
    image = bpy.data.images.new("tex", 2, 2)
    mat = bpy.data.materials.new("mat")
    compat.material_node_tree(mat).nodes.new("ShaderNodeTexImage").image = image
    mesh = bpy.data.meshes.new("shared")
    mesh.materials.append(mat)
    users = []
    for name in ("b", "a"):
        obj = bpy.data.objects.new(name, mesh)
        bpy.context.scene.collection.objects.link(obj)
        users.append(obj)
    other = bpy.data.objects.new("other", bpy.data.meshes.new("other"))
    bpy.context.scene.collection.objects.link(other)
    other.select_set(True)
    assert bpy.ops.wm.bvh_select_users(collection="images",
                                       session_uid=image.session_uid) == {'FINISHED'}
    assert {o.name for o in bpy.context.selected_objects} == {"a", "b"}
    assert bpy.context.view_layer.objects.active.name == "a"
    assert bpy.ops.wm.bvh_select_users(collection="objects",
                                       session_uid=other.session_uid) == {'FINISHED'}
    assert [o.name for o in bpy.context.selected_objects] == ["other"]
    lonely = bpy.data.materials.new("lonely")
    assert bpy.ops.wm.bvh_select_users(collection="materials",
                                       session_uid=lonely.session_uid) == {'CANCELLED'}
    assert [o.name for o in bpy.context.selected_objects] == ["other"]   # unchanged


def test_delete_one_orphan_and_only_an_orphan(mon):
    orphan = bpy.data.images.new("orphan", 2, 2)
    uid = orphan.session_uid
    kept = bpy.data.images.new("kept", 2, 2)
    kept.use_fake_user = True
    before = len(bpy.data.images)
    assert bpy.ops.wm.bvh_delete_orphan(collection="images", session_uid=uid) == {'FINISHED'}
    assert len(bpy.data.images) == before - 1 and "orphan" not in bpy.data.images
    assert bpy.ops.wm.bvh_delete_orphan(collection="images",
                                        session_uid=kept.session_uid) == {'CANCELLED'}
    assert "kept" in bpy.data.images
    with pytest.raises(RuntimeError, match="no longer exists"):
        bpy.ops.wm.bvh_delete_orphan(collection="images", session_uid=uid)
    with pytest.raises(RuntimeError, match="not a datablock type"):
        bpy.ops.wm.bvh_delete_orphan(collection="nonsense", session_uid=uid)
    assert bpy.ops.wm.bvh_delete_orphan.bl_options == {'REGISTER', 'INTERNAL'}   # no UNDO flag


def test_rows_find_their_datablock_by_identity_not_name(mon, tmp_path):
    lib = bpy.data.materials.new("Same")
    path = tmp_path / "lib.blend"
    bpy.data.libraries.write(str(path), {lib}, fake_user=True)
    bpy.data.materials.remove(lib)
    local = bpy.data.materials.new("Same")
    with bpy.data.libraries.load(str(path), link=True) as (_src, dst):
        dst.materials = ["Same"]
    linked = next(m for m in bpy.data.materials if m.library is not None)
    assert bpy.ops.wm.bvh_delete_orphan(collection="materials",
                                        session_uid=linked.session_uid) == {'FINISHED'}
    assert [m.library for m in bpy.data.materials] == [None]
    assert bpy.data.materials[0] == local


# --- history graph -----------------------------------------------------------------------------
def test_ticks_sample_the_history_and_redraw_the_picture(mon, addon):
    history = addon.monitor.history
    assert history.graph.live and history.graph.previews == 1
    history.history.clear()
    mon.tick(force=True)
    assert len(history.history.samples) == 1
    renders = history.graph.renders
    mon.tick()                                    # too soon for another sample
    assert len(history.history.samples) == 1 and history.graph.renders == renders
    history.history.samples[-1] = (history.history.samples[-1][0] - history.SAMPLE_SECONDS,
                                   *history.history.samples[-1][1:])
    for _ in range(30):
        bpy.data.meshes.new("leak")
    mon.tick(force=True)
    assert len(history.history.samples) == 2 and history.graph.renders == renders + 1
    span = history.history.span(history.history.samples[-1][0])
    assert span.totals.last - span.totals.first == 30
    assert span.memory is not None and span.memory.last > 0       # Blender's own figure


def test_the_picture_rises_with_a_leak(addon):
    history = addon.monitor.history
    h = history.History()
    now = 1000.0
    for i in range(60):
        h.sample(now - 120 + 2 * i, 100 + 5 * i, 2e8, 1e8)
    image = history.render(*h.window(now), now)
    assert image.shape == (history.SIZE, history.SIZE) and image.dtype == np.uint32
    line = image == history._rgba(history.TOTAL_COLOR)
    rows = [np.flatnonzero(line[:, col]) for col in range(image.shape[1])]
    drawn = [(col, r.max()) for col, r in enumerate(rows) if len(r)]
    assert drawn[0][0] <= 1 and drawn[-1][0] >= history.SIZE - 6   # two minutes fill the width
    assert drawn[-1][1] > drawn[0][1] + history.SIZE // 4    # it rises
    assert all(r.min() > history.SIZE // 2 for _c, r in [(c, rows[c]) for c, _ in drawn])


def test_a_thousand_redraws_of_the_graph_create_no_datablock(addon):
    """The picture is a preview image, not a datablock: 1,000 new pictures leave bpy.data and
    the preview collection as they were (the windowed GUI test redraws the sidebar 1,000 times)."""
    history = addon.monitor.history
    before = id_collection_sizes()
    h = history.History()
    for i in range(1000):
        h.sample(float(i) * history.SAMPLE_SECONDS, i, 1e8 + i)
        assert history.graph.update(h, float(i) * history.SAMPLE_SECONDS)
    assert id_collection_sizes() == before
    assert history.graph.previews == 1


def test_history_lines(addon):
    """Issue 23.9: each half says what it shows and its scale (zero to its top), and the figures
    now, lowest and highest, so a dip and a rise show even when first and last agree."""
    panels, history = addon.monitor.panels, addon.monitor.history
    assert panels.history_lines(None) == [("No samples yet", 'TIME')]
    MiB = 2 ** 20
    span = history.Span(history.Series(192, 192, 150, 200),
                        history.Series(1090 * MiB, 1090 * MiB, 1050 * MiB, 1130 * MiB),
                        history.Series(1400 * MiB, 1420 * MiB, 1380 * MiB, 1440 * MiB), 300.0)
    assert panels.history_lines(span) == [
        ("Upper half: datablocks in the rows above, 0 to 200", 'OUTLINER_DATA_MESH'),
        ("192 now, 150 to 200 in the last 5 min", 'BLANK1'),
        ("Lower half: Blender memory, 0 to 2,000 MiB", 'MEMORY'),
        ("1,090 MiB now, 1,050 to 1,130 MiB in the last 5 min", 'BLANK1'),
        ("Process memory (RSS): 1,420 MiB now, 60 MiB up and down", 'BLANK1')]
    no_blender = span._replace(memory=None, seconds=12.0)
    lines = panels.history_lines(no_blender)
    assert lines[2] == ("Lower half: process memory (RSS), 0 to 2,000 MiB", 'MEMORY')
    assert lines[1][0].endswith("in the last 60 s")


@pytest.mark.parametrize("high, unit, top", [
    (0, 1, 1), (7, 1, 10), (192, 1, 200), (200, 1, 200), (201, 1, 250), (1090, 1, 2000),
    (1130 * 2 ** 20, 2 ** 20, 2000 * 2 ** 20), (0.5, 1, 0.5)])
def test_axis_tops_are_round_and_above_the_highest(addon, high, unit, top):
    assert addon.monitor.history.axis_top(high, unit) == pytest.approx(top)


def test_a_wobble_is_not_drawn_as_a_leak(addon):
    """Issue 23.9: 40 MiB of wobble on 1,090 MiB filled the memory pane; from zero it is a flat
    line (a few rows), while the datablocks' rise still shows."""
    history = addon.monitor.history
    h = history.History()
    now = 1000.0
    for i in range(60):
        wobble = (40 if i % 7 == 0 else 0) * 2 ** 20
        h.sample(now - 120 + 2 * i, 100 + 2 * i, 1.4e9 + wobble, 1090 * 2 ** 20 + wobble)
    image = history.render(*h.window(now), now)
    line = image == history._rgba(history.MEMORY_COLOR)
    rows = [np.flatnonzero(line[:history.SIZE // 2, col]) for col in range(image.shape[1])]
    tops = [r.max() for r in rows if len(r)]
    assert max(tops) - min(tops) <= 3, (min(tops), max(tops))


def test_an_unchanged_list_is_not_recomputed_a_renamed_or_old_one_is(mon, monkeypatch):
    """What keeps open lists cheap: the page is rebuilt only when the collection's IDs, their
    order (a rename re-sorts it) or its figures changed, or when the rows are older than
    MAX_PERIOD_SECONDS (a user count that changed alone)."""
    mon.reset_baseline()
    made = [bpy.data.materials.new(f"mat{i}") for i in range(3)]
    _list("materials")
    built = []
    real = mon.new_since

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mon, "new_since", counting)
    clock = [1000.0]
    monkeypatch.setattr(mon.time, "monotonic", lambda: clock[0])
    mon.tick(force=True)
    assert len(built) == 1
    for _ in range(5):
        mon.tick()
    assert len(built) == 1                        # nothing changed: not rebuilt
    made[0].name = "zzz"                          # same IDs, new order
    mon.tick()
    assert len(built) == 2 and mon.new_list("materials").rows[-1].name == "zzz"
    made[1].use_fake_user = True                  # users 0 → 1: the orphan count changes
    mon.tick()
    assert len(built) == 3 and mon.new_list("materials").rows[1].fake_user
    obj = bpy.data.objects.new("o", bpy.data.meshes.new("m"))
    obj.data.materials.append(made[1])            # users 1 → 2: no figure changes
    mon.tick()
    assert len(built) == 3
    clock[0] += mon.MAX_PERIOD_SECONDS            # … until the rows are old enough
    mon.tick()
    assert len(built) == 4 and mon.new_list("materials").rows[1].users == 2


def test_a_list_on_a_later_page_goes_to_the_first_when_new_items_arrive(mon, addon):
    """Issue 23.13: the "newest first" list stayed on page 4 when new items arrived."""
    mon.reset_baseline()
    for i in range(40):
        bpy.data.materials.new(f"mat{i}")
    _list("materials")
    for _ in range(3):
        _list("materials", 'NEXT')
    index = addon.monitor.settings.LISTABLE.index("materials")
    assert _state().pages[index] == 3
    mon.tick(force=True)
    assert mon.new_list("materials").start == 3 * addon.monitor.pages.PAGE_SIZE
    bpy.data.materials.new("newest")
    mon.tick(force=True)
    assert _state().pages[index] == 0
    view = mon.new_list("materials")
    assert view.start == 0 and view.rows[0].name == "newest"
    _list("materials", 'NEXT')              # paging by hand still works
    mon.tick(force=True)
    assert _state().pages[index] == 1
