# SPDX-License-Identifier: GPL-3.0-or-later
"""Sidebar panels and menu entries; they call operators and read runtime state."""
import sys

import bpy

from .preferences import get_preferences


class BVHSidebarPanel:
    """Mixin for every panel of the add-on: 3D viewport sidebar, tab from the preferences."""

    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "BVH"


def _addon_panels():
    """The add-on's panel classes (any module), in registration order."""
    package = sys.modules[__package__]
    return [cls for cls in package.classes if issubclass(cls, BVHSidebarPanel)]


def update_sidebar_category(category):
    """Move every panel of the add-on to the sidebar tab ``category`` at once (re-registering)."""
    category = category.strip() or "BVH"
    panels = _addon_panels()
    registered = [cls for cls in panels if cls.is_registered]
    for cls in reversed(registered):  # children before parents
        bpy.utils.unregister_class(cls)
    for cls in panels:
        cls.bl_category = category
    for cls in registered:
        bpy.utils.register_class(cls)


CLASSES = ()


def register():
    prefs = get_preferences()
    if prefs is not None:
        update_sidebar_category(prefs.sidebar_category)
