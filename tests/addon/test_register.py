"""Enable/disable cycles and a reload leave nothing behind: classes, handlers, timers, menu entries,
keymap items, draw handlers, WindowManager properties."""
import importlib
import sys

import bpy

from conftest import ADDON_MODULE, disable_addon, enable_addon
from helpers import handler_snapshot, keymap_snapshot, live_runtime_hooks, ui_draw_functions_snapshot

CYCLES = 100


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


def test_enable_disable_cycles_leave_nothing_behind(installed_zip):
    before = _snapshot()
    classes = ()
    for _ in range(CYCLES):
        module = enable_addon()
        classes = module.classes
        assert all(cls.is_registered for cls in classes)
        assert hasattr(bpy.types.WindowManager, "bvh_leakfree")
        disable_addon()
        _assert_clean(classes, before)
    assert classes, "the add-on registered no classes"


def test_reload_then_disable_leaves_nothing_behind(installed_zip):
    before = _snapshot()
    module = enable_addon()
    module.unregister()
    module = importlib.reload(sys.modules[ADDON_MODULE])
    module.register()
    classes = module.classes
    assert all(cls.is_registered for cls in classes)
    disable_addon()
    _assert_clean(classes, before)


def test_hooks_are_live_while_enabled(addon):
    # Whatever a module reports as live must be gone after disable (checked above); while enabled
    # the report must at least not raise.
    live_runtime_hooks(ADDON_MODULE)
