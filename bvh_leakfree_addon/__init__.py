# SPDX-License-Identifier: GPL-3.0-or-later
"""BVH Leak-Free Ray Cast: registration only.

The add-on is laid out by data flow:

* ``core/``   pure functions (geometry gathering → BVH → queries → datablock accounting), no UI;
* ``api.py``  the script API for pipelines (re-exports the core);
* ``operators*.py`` operators that call the core;
* ``ui*.py``, ``overlay.py``, ``monitor.py`` panels, menus, the viewport overlay and the live monitor;
* this file, which registers the classes from one ordered tuple and the runtime hooks of each module.
"""

if "bpy" in locals():  # script reload (F3 › Reload Scripts or importlib.reload)
    import importlib

    for _module in _MODULES:  # noqa: F821 - defined on first import
        importlib.reload(_module)
    del _module

import bpy  # noqa: F401,E402

from . import (  # noqa: E402
    state, preferences, operators, operators_monitor, ui, ui_monitor, overlay, monitor,
)

# Modules whose CLASSES are registered, in order; their optional register()/unregister()
# add and remove runtime hooks (menus, handlers, timers, draw handlers).
_MODULES = (state, preferences, operators, operators_monitor, ui, ui_monitor, overlay, monitor)

classes = tuple(cls for module in _MODULES for cls in getattr(module, "CLASSES", ()))


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    for module in _MODULES:
        hook = getattr(module, "register", None)
        if hook is not None:
            hook()


def unregister():
    for module in reversed(_MODULES):
        hook = getattr(module, "unregister", None)
        if hook is not None:
            hook()
    for cls in reversed(classes):
        if cls.is_registered:
            bpy.utils.unregister_class(cls)
