# SPDX-License-Identifier: GPL-3.0-or-later
"""The 3D viewport sidebar (N panel) tab every panel of the add-on lives in.

:class:`BVHSidebarPanel` is the one mixin for space, region, tab and poll.  The tab's name is a
preference; :func:`move_panels` moves every registered panel of the mixin at once (Blender reads
``bl_category`` when a panel is registered, so they are registered again).
"""
import bpy

from .utils import get_preferences

__all__ = ("DEFAULT_CATEGORY", "BVHSidebarPanel", "panel_classes", "move_panels")

DEFAULT_CATEGORY = "BVH"


class BVHSidebarPanel:
    """Mixin for every panel of the add-on: 3D viewport sidebar, tab from the preferences."""

    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = DEFAULT_CATEGORY

    @classmethod
    def poll(cls, context):
        return get_preferences(context) is not None


def panel_classes():
    """The registered panel classes of the mixin (subclasses of subclasses too), parents first."""
    found = []
    pending = list(BVHSidebarPanel.__subclasses__())
    while pending:
        cls = pending.pop(0)
        if issubclass(cls, bpy.types.Panel) and cls.is_registered:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    # a child panel must be registered after its parent
    return sorted(found, key=lambda cls: bool(getattr(cls, "bl_parent_id", "")))


def move_panels(category):
    """Move every panel of the add-on to the sidebar tab ``category`` (blank: the default tab).

    Returns the category used."""
    category = category.strip() or DEFAULT_CATEGORY
    BVHSidebarPanel.bl_category = category
    panels = panel_classes()
    for cls in reversed(panels):  # children before parents
        bpy.utils.unregister_class(cls)
    for cls in panels:
        bpy.utils.register_class(cls)
    return category
