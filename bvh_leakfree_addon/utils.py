# SPDX-License-Identifier: GPL-3.0-or-later
"""Leaf helpers shared by the features: preferences lookup, runtime state, redraw tagging, and the
defaults a settings group declares.  Imports nothing of the add-on."""
import functools
import sys
import traceback
from types import SimpleNamespace

import bpy

__all__ = ("get_preferences", "runtime_state", "feature_settings", "declared_defaults",
           "reset_properties", "view_layer_members", "tag_redraw", "each_view3d_area",
           "reports_errors")

#: the add-on's top package (``bl_ext.<repo>.bvh_leakfree_addon`` when installed as an extension)
PACKAGE = __package__


def get_preferences(context=None):
    """The add-on's preferences, or None when the add-on is not enabled (e.g. imported by a
    script)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(PACKAGE)
    return addon.preferences if addon is not None else None


def runtime_state(context=None):
    """``window_manager.bvh_leakfree`` (each feature's runtime state, never saved), or None when the
    add-on is not registered or there is no window manager."""
    wm = (context or bpy.context).window_manager
    return getattr(wm, "bvh_leakfree", None) if wm is not None else None


def feature_settings(context, name, settings_class):
    """A feature's settings group from the preferences (``prefs.<name>``), or, when the add-on is
    not enabled, the defaults its ``settings_class`` declares."""
    prefs = get_preferences(context)
    if prefs is not None:
        return getattr(prefs, name)
    return declared_defaults(settings_class)


def declared_defaults(settings_class):
    """The ``default=`` of every property a settings class declares, as attributes: the one source
    of fallbacks (nothing typed twice)."""
    values = {}
    for name, prop in settings_class.__annotations__.items():
        keywords = getattr(prop, "keywords", None)
        if keywords is None or "default" not in keywords:
            raise TypeError(f"{settings_class.__name__}.{name} declares no default")
        values[name] = keywords["default"]
    return SimpleNamespace(**values)


def reset_properties(group, names=None):
    """Every property of the PropertyGroup instance ``group`` back to its default (``names``: only
    those for which ``names(identifier)`` is true)."""
    for prop in group.bl_rna.properties:
        name = prop.identifier
        if name != "rna_type" and (names is None or names(name)):
            group.property_unset(name)


def view_layer_members(view_layer):
    """``as_pointer()`` of every object of ``view_layer``: membership by identity, never by name
    (a linked object and a local one can share a name)."""
    return {obj.as_pointer() for obj in view_layer.objects}


def each_view3d_area(context=None):
    """Every 3D viewport area of every window (nothing without a window manager)."""
    wm = (context or bpy.context).window_manager
    if wm is None:
        return
    for window in wm.windows:
        screen = window.screen
        if screen is None:
            continue
        for area in screen.areas:
            if area.type == 'VIEW_3D':
                yield area


def tag_redraw(context=None, region_type=None):
    """Redraw every 3D viewport (``region_type``: only that region of each, e.g. ``'UI'``)."""
    for area in each_view3d_area(context):
        if region_type is None:
            area.tag_redraw()
            continue
        for region in area.regions:
            if region.type == region_type:
                region.tag_redraw()


def reports_errors(method):
    """Decorator for an operator's ``execute``/``invoke``: whatever goes wrong ends as a clear
    ERROR report and ``{'CANCELLED'}``, never as a Python traceback in the report.

    Expected errors (``ValueError``, ``TypeError``, ``ReferenceError``: bad input or state the
    operator's own checks did not name) report their message; Ctrl+C (``KeyboardInterrupt``)
    stops the operator with a one-line warning.  Anything else is a bug: the report says so in
    one line and the traceback goes to the system console, for the bug report.
    """
    # Blender checks the argument count of execute (self, context) and invoke (self, context,
    # event): the wrapper keeps the method's.
    if method.__code__.co_argcount == 3:
        def wrapper(self, context, event):
            return _reporting(self, method, context, event)
    else:
        def wrapper(self, context):
            return _reporting(self, method, context)
    return functools.wraps(method)(wrapper)


def _reporting(operator, method, *args):
    try:
        return method(operator, *args)
    except KeyboardInterrupt:
        _report(operator, 'WARNING', "stopped by Ctrl+C")
    except (ValueError, TypeError, ReferenceError) as ex:
        _report(operator, 'ERROR', str(ex))
    except Exception as ex:  # noqa: BLE001 - a bug: reported in one line, logged in full
        traceback.print_exc(file=sys.stderr)
        _report(operator, 'ERROR', f"failed ({type(ex).__name__}: {ex}); details are in the "
                                   f"system console", sep=" ")
    return {'CANCELLED'}


def _report(operator, kind, text, sep=": "):
    """``operator.report`` of ``"<label><sep><text>"``; to the console instead when the
    operator's class went away while it ran (a script it ran reset the preferences, which
    disables the add-on: the operator is freed memory then)."""
    cls = type(operator)
    message = f"{cls.bl_label}{sep}{text}"
    if cls.is_registered:
        operator.report({kind}, message)
    else:
        print(f"{kind.title()}: {message}", file=sys.stderr)
