"""The live datablock monitor: tick, redraw tagging only on change, baseline, throttling, and
survival across file load / new file (real bpy, the installed add-on)."""

import bpy

import pytest
from helpers import disable_addon


def _orphan_meshes(n, name="leak"):
    src = bpy.data.meshes.new(name)
    for _ in range(n - 1):
        src.copy()


def test_hooks_live_while_enabled_and_gone_after(addon):
    monitor = addon.monitor.service
    assert sorted(monitor.runtime_hooks_active()) == [
        "app timer monitor._timer", "load_post handler monitor._on_load_post",
        "preview collection monitor.history (graph)"]
    assert bpy.app.timers.is_registered(monitor._timer)
    disable_addon()
    assert monitor.runtime_hooks_active() == []
    assert monitor._on_load_post not in bpy.app.handlers.load_post
    from helpers import enable_addon
    enable_addon()  # the fixture disables again


def test_figures_equal_len_and_orphans(mon):
    _orphan_meshes(7)
    obj = bpy.data.objects.new("used", bpy.data.meshes.new("used"))
    bpy.context.scene.collection.objects.link(obj)
    assert mon.tick()
    meshes = mon.figures("meshes")
    assert meshes.total == len(bpy.data.meshes) == 8
    assert meshes.orphans == 7
    assert mon.figures("objects").total == len(bpy.data.objects) == 1


def test_tick_tags_redraw_only_on_change(mon):
    before = mon.redraw_requests()
    for _ in range(5):
        assert mon.tick() is False
    assert mon.redraw_requests() == before, "tagged a redraw with nothing changed"
    _orphan_meshes(3)
    assert mon.tick() is True
    assert mon.redraw_requests() == before + 1
    assert mon.tick() is False
    assert mon.redraw_requests() == before + 1
    # A change of users only (total unchanged) is a change too: the object goes, its mesh is
    # orphaned.
    obj = bpy.data.objects.new("o", bpy.data.meshes.new("m"))
    bpy.context.scene.collection.objects.link(obj)
    mon.tick()
    orphans = mon.figures("meshes").orphans
    requests = mon.redraw_requests()
    bpy.context.scene.collection.objects.unlink(obj)
    bpy.data.objects.remove(obj)
    assert mon.tick() is True
    assert mon.figures("meshes").orphans == orphans + 1
    assert mon.redraw_requests() == requests + 1


def test_growth_since_baseline_and_reset(mon):
    assert mon.growth("meshes") == 0
    _orphan_meshes(30)
    mon.tick()
    assert mon.growth("meshes") == 30
    assert bpy.ops.wm.bvh_reset_baseline() == {'FINISHED'}
    assert mon.growth("meshes") == 0
    assert mon.baseline_time() is not None


def test_alert_threshold_from_preferences(mon, addon):
    settings = addon.utils.get_preferences().monitor
    settings.alert_threshold = 10
    _orphan_meshes(9)
    mon.tick()
    assert not addon.monitor.panels.is_alert("meshes", settings)
    _orphan_meshes(1, "one_more")
    mon.tick()
    assert addon.monitor.panels.is_alert("meshes", settings)


def test_table_types_follow_preferences(mon, addon):
    settings = addon.utils.get_preferences().monitor
    settings.types = {'materials'}
    mon.tick()
    assert mon.tracked_types(settings) == ("meshes", "materials")
    assert mon.figures("objects") is None and mon.figures("materials") is not None
    settings.types = {'objects', 'worlds'}
    mon.tick()
    assert mon.figures("worlds") is not None and mon.figures("materials") is None


def test_timer_uses_the_preference_interval_and_survives_errors(mon, addon, monkeypatch):
    settings = addon.utils.get_preferences().monitor
    settings.interval = 2.0
    assert mon._timer() == pytest.approx(2.0)

    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(mon, "count_type", broken)
    monkeypatch.setattr(mon._monitor, "errors", 3)  # keep the log quiet
    assert mon._timer() == pytest.approx(2.0)  # still asks to be called again


def test_baseline_reset_on_file_load_and_new_file(mon, tmp_path):
    _orphan_meshes(2)
    keep = bpy.data.meshes.new("kept")
    keep.use_fake_user = True
    path = tmp_path / "file.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    _orphan_meshes(20, "more")
    mon.tick()
    assert mon.growth("meshes") == 20 + 3
    bpy.ops.wm.open_mainfile(filepath=str(path))  # load_post: new baseline, figures of this file
    assert mon.growth("meshes") == 0
    assert mon.figures("meshes").total == len(bpy.data.meshes) == 1  # orphans are not saved
    mon.tick()
    _orphan_meshes(4)
    mon.tick()
    assert mon.growth("meshes") == 4
    bpy.ops.wm.read_homefile(use_empty=True)  # File › New
    assert mon.growth("meshes") == 0
    assert mon.figures("meshes").total == len(bpy.data.meshes)
    assert mon.runtime_hooks_active()  # still running
    assert mon._timer() > 0


def test_tick_keeps_no_id_references(mon):
    """Only ints survive a tick: freeing every ID in between cannot hit a ReferenceError."""
    _orphan_meshes(5)
    mon.tick()
    for value in mon._monitor.figures.values():
        assert all(isinstance(x, int) for x in value)
    bpy.data.batch_remove(list(bpy.data.meshes))
    assert mon.tick() is True
    assert mon.figures("meshes").total == 0


def test_throttled_types_refresh_later_and_panel_says_so(mon, monkeypatch):
    monkeypatch.setattr(mon, "ITEMS_PER_TICK", 1)  # every ID weighs a whole tick
    _orphan_meshes(5)
    mon.tick(force=True)
    assert mon._monitor.jobs["meshes"].period == 5
    assert mon.slow_types() == [("meshes", pytest.approx(2.5))]
    _orphan_meshes(100, "more")
    assert mon.tick() is False  # not due yet
    mon.tick(force=True)
    job = mon._monitor.jobs["meshes"]
    assert job.period == mon.math.ceil(mon.MAX_PERIOD_SECONDS / 0.5)  # capped: at least every 10 s
    _orphan_meshes(3, "last")
    for _ in range(job.period - 1):
        assert mon.tick() is False
    assert mon.tick() is True
    assert mon.figures("meshes").total == 108


def test_ticks_with_10000_meshes_count_a_bounded_share_of_the_ids(mon, monkeypatch):
    """What keeps a tick cheap in a big file: each type is recounted only every ceil(n / budget)
    ticks, so on average a tick walks at most ITEMS_PER_TICK IDs per tracked type.  (Its cost in
    time is a benchmark, not a test: tools/bench measurement monitor, tools/bench_monitor.py.)"""
    src = bpy.data.meshes.new("src")
    for i in range(10_000):
        obj = bpy.data.objects.new(f"o{i}", src.copy())
        bpy.context.scene.collection.objects.link(obj)
    mon.tick(force=True)
    counted = []
    real_count = mon.count_type

    def counting(name, has_libraries=None):
        result = real_count(name, has_libraries)
        counted.append((name, result.total))
        return result

    monkeypatch.setattr(mon, "count_type", counting)
    ticks = 100
    for _ in range(ticks):
        mon.tick()
    period = mon.math.ceil(10_001 / mon.ITEMS_PER_TICK)
    assert mon._monitor.jobs["meshes"].period == period
    assert sum(1 for name, _ in counted if name == "meshes") <= ticks // period + 1
    tracked = len(mon.tracked_types())
    assert sum(total for _, total in counted) / ticks <= tracked * mon.ITEMS_PER_TICK
    assert mon.figures("meshes").total == 10_001
