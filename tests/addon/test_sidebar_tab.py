"""Renaming the sidebar tab keeps a sidebar that showed the add-on's tab on it (Blender would fall
back to Item).  A region takes a tab only once it has drawn it, which never happens without a GPU:
here the follow timer's bookkeeping (owned, idempotent, retargeted, bounded, removed at unregister);
the GUI test checks the real switch in a window."""
import bpy

from helpers import ADDON_MODULE, disable_addon, live_runtime_hooks


def _ui_region():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == 'VIEW_3D')
    return next(r for r in area.regions if r.type == 'UI')


def _timer_hooks():
    return [hook for hook in live_runtime_hooks(ADDON_MODULE) if "sidebar" in hook]


def test_rename_with_no_sidebar_on_the_tab_starts_no_timer(addon):
    prefs = addon.utils.get_preferences()
    assert _ui_region().active_panel_category != "Ray Cast"   # never drawn without a GPU
    prefs.sidebar_category = "Ray Tools"
    assert _timer_hooks() == []
    assert not bpy.app.timers.is_registered(addon.sidebar._follow_tick)


def test_follow_timer_is_owned_idempotent_and_bounded(addon):
    sidebar = addon.sidebar
    region = _ui_region()
    sidebar.follow_tab("Ray Tools", {region.as_pointer()})
    sidebar.follow_tab("Ray Tools", {region.as_pointer()})          # idempotent: one timer
    assert len(_timer_hooks()) == 1
    assert sidebar._following["regions"] == {region.as_pointer()}
    # A region that has not drawn its tabs refuses the tab: the timer tries again, a bounded
    # number of times, then gives up.
    intervals = [sidebar._follow_tick() for _ in range(sidebar.FOLLOW_TRIES)]
    assert intervals[:-1] == [sidebar.FOLLOW_INTERVAL] * (sidebar.FOLLOW_TRIES - 1)
    assert intervals[-1] is None and sidebar._following["regions"] == set()
    sidebar.stop_following()
    assert _timer_hooks() == []
    sidebar.stop_following()                                         # idempotent


def test_a_second_rename_retargets_the_follow(addon):
    sidebar = addon.sidebar
    prefs = addon.utils.get_preferences()
    region = _ui_region()
    prefs.sidebar_category = "First"
    sidebar.follow_tab("First", {region.as_pointer()})
    prefs.sidebar_category = "Second"     # before any redraw: the waiting sidebar goes to Second
    assert sidebar._following == {"category": "Second", "regions": {region.as_pointer()},
                                  "tries": sidebar.FOLLOW_TRIES}
    assert len(_timer_hooks()) == 1
    sidebar.stop_following()


def test_a_closed_sidebar_ends_the_follow(addon):
    sidebar = addon.sidebar
    sidebar.follow_tab("Ray Tools", {1})   # no region has this address
    assert sidebar._follow_tick() is None
    sidebar.stop_following()
    assert _timer_hooks() == []


def test_disable_while_following_leaves_no_timer(addon):
    sidebar = addon.sidebar
    tick = sidebar._follow_tick
    sidebar.follow_tab("Ray Tools", {_ui_region().as_pointer()})
    assert bpy.app.timers.is_registered(tick)
    disable_addon()
    assert not bpy.app.timers.is_registered(tick)
    assert live_runtime_hooks(ADDON_MODULE) == []
