# SPDX-License-Identifier: GPL-3.0-or-later
"""Leak-Free Ray Cast: registration only.

The folder listing is the architecture; imports run one way (``tests/test_layout.py`` checks it):

* ``utils``, ``sidebar``   shared leaf helpers (preferences lookup, redraw, the panel mixin);
* ``core/``                the pure core (validate → gather → BVH → queries → datablock accounting);
* ``api``                  the script API (re-exports the core);
* ``cast/``, ``monitor/``  one folder per feature: settings, service, state, operators, panels;
* ``preferences``, ``state``  join the features' settings and runtime state;
* this file, which registers each feature's classes and hooks.

The features are imported by :func:`register`, not here: ``from bvh_leakfree_addon import api`` in a
pipeline loads the core only (no UI module, no class, no handler).
"""
import sys

import bpy

if "_loaded" in globals():
    # Reload Scripts (or importlib.reload) runs this file again: forget every submodule so that
    # register() imports each one anew, the core included.
    for _name in [name for name in sys.modules if name.startswith(__name__ + ".")]:
        del sys.modules[_name]
        globals().pop(_name[len(__name__) + 1:], None)
_loaded = True


def _parts():
    """The registration parts in order: each has ``CLASSES`` and may have register()/unregister()
    for runtime hooks (added after every class is registered, removed before any is not)."""
    from . import cast, monitor, preferences, state

    return (cast, monitor, preferences, state)


def classes():
    """Every class the add-on registers, in registration order."""
    return tuple(cls for part in _parts() for cls in part.CLASSES)


def register():
    for cls in classes():
        bpy.utils.register_class(cls)
    for part in _parts():
        hook = getattr(part, "register", None)
        if hook is not None:
            hook()


def unregister():
    from . import api

    for part in reversed(_parts()):
        hook = getattr(part, "unregister", None)
        if hook is not None:
            hook()
    for cls in reversed(classes()):
        if cls.is_registered:
            bpy.utils.unregister_class(cls)
    api.shutdown()   # the core's cached trees and change watch go with the add-on
