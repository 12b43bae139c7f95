"""Enable/disable cycles and a reload leave nothing behind: classes, handlers, timers, menu entries,
keymap items, draw handlers, WindowManager properties; Reload Scripts reloads every module."""
import importlib
import sys

import bpy

from helpers import (
    ADDON_MODULE,
    disable_addon,
    enable_addon,
    handler_snapshot,
    keymap_snapshot,
    live_runtime_hooks,
    ui_draw_functions_snapshot,
)

CYCLES = 100
EXPECTED_HOOKS = {
    "cast.overlay: SpaceView3D draw handler (cast overlay)",
    "cast.overlay: SpaceView3D draw handler (cast overlay's hit label)",
    "cast.state: load_post handler (clears the last cast)",
    "cast.undo: undo_pre handler (undo follows the cast)",
    "cast.undo: redo_pre handler (undo follows the cast)",
    "cast.undo: undo_post handler (undo follows the cast)",
    "cast.undo: redo_post handler (undo follows the cast)",
    "cast.undo: load_post handler (undo follows the cast)",
    "cast.undo: Scene.bvh_leakfree_cast_step (the cast's undo step)",
    "monitor.service: app timer monitor._timer",
    "monitor.service: load_post handler monitor._on_load_post",
    "monitor.service: preview collection monitor.history (graph)",
}


def _snapshot():
    return handler_snapshot(), ui_draw_functions_snapshot(), keymap_snapshot()


def _assert_clean(classes, before):
    for cls in classes:
        assert not cls.is_registered, f"{cls.__name__} still registered"
    assert not hasattr(bpy.types.WindowManager, "bvh_leakfree")
    assert live_runtime_hooks(ADDON_MODULE) == []
    handlers, draw_funcs, keymaps = _snapshot()
    assert handlers == before[0], "app handlers left behind"
    assert draw_funcs == before[1], "menu/header/panel draw functions left behind"
    assert keymaps == before[2], "keymap items left behind"


def _package_modules():
    return {name: module for name, module in sys.modules.items()
            if name == ADDON_MODULE or name.startswith(ADDON_MODULE + ".")}


def test_enable_disable_cycles_leave_nothing_behind(installed_zip):
    before = _snapshot()
    classes = ()
    for _ in range(CYCLES):
        module = enable_addon()
        classes = module.classes()
        assert all(cls.is_registered for cls in classes)
        assert hasattr(bpy.types.WindowManager, "bvh_leakfree")
        disable_addon()
        _assert_clean(classes, before)
    assert classes, "the add-on registered no classes"


def test_reload_reloads_every_module_then_disable_leaves_nothing_behind(installed_zip):
    before = _snapshot()
    module = enable_addon()
    old = _package_modules()
    assert {f"{ADDON_MODULE}.core.bvh", f"{ADDON_MODULE}.api", f"{ADDON_MODULE}.cast.service",
            f"{ADDON_MODULE}.monitor.service"} <= set(old)
    module.unregister()
    module = importlib.reload(sys.modules[ADDON_MODULE])
    module.register()
    new = _package_modules()
    assert set(new) >= set(old) - {ADDON_MODULE}
    stale = [name for name in old if name != ADDON_MODULE and new.get(name) is old[name]]
    assert stale == [], f"not reloaded: {stale}"
    classes = module.classes()
    assert all(cls.is_registered for cls in classes)
    disable_addon()
    _assert_clean(classes, before)


def test_hooks_while_enabled_are_exactly_the_features_hooks(addon):
    live = {hook[len(ADDON_MODULE) + 1:] for hook in live_runtime_hooks(ADDON_MODULE)}
    # the core's change watch appears once a build has run
    assert live - {hook for hook in live if hook.startswith("core.watch:")} == EXPECTED_HOOKS
