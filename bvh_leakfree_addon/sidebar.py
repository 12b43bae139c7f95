# SPDX-License-Identifier: GPL-3.0-or-later
"""The 3D viewport sidebar (N panel) tab every panel of the add-on lives in.

:class:`BVHSidebarPanel` is the one mixin for space, region, tab and poll.  The tab's name is a
preference; :func:`move_panels` moves every registered panel of the mixin at once (Blender reads
``bl_category`` when a panel is registered, so they are registered again).

A sidebar that showed the add-on's tab keeps showing it under its new name: Blender would fall back
to another tab (Item).  A region's tab can only be set to a tab it has drawn
(``Region.active_panel_category`` is read-only before the first draw and takes existing tabs only),
so one app timer, owned here, tries again after each redraw until every such sidebar shows the new
tab, and gives up after :data:`FOLLOW_TRIES`.  It is idempotent and removed by
:func:`stop_following` (the add-on's unregister).
"""
import bpy

from .names import SIDEBAR_TAB
from .utils import each_view3d_area, get_preferences

__all__ = ("DEFAULT_CATEGORY", "BVHSidebarPanel", "panel_classes", "move_panels", "follow_tab",
           "stop_following", "runtime_hooks_active")

DEFAULT_CATEGORY = SIDEBAR_TAB
FOLLOW_INTERVAL = 0.1   # seconds between tries to show the renamed tab
FOLLOW_TRIES = 50       # about 5 s: a sidebar not redrawn by then stays on the tab it has


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

    Every sidebar that showed the old tab follows to the new one (:func:`follow_tab`).
    Returns the category used."""
    category = category.strip() or DEFAULT_CATEGORY
    old = BVHSidebarPanel.bl_category
    BVHSidebarPanel.bl_category = category
    panels = panel_classes()
    showing = _regions_showing(old) if panels and category != old else set()
    for cls in reversed(panels):  # children before parents
        bpy.utils.unregister_class(cls)
    for cls in panels:
        bpy.utils.register_class(cls)
    if showing or _following["regions"]:
        follow_tab(category, showing)
    return category


# --- Keeping the sidebar on the renamed tab -------------------------------------------------------
_following = {"category": "", "regions": set(), "tries": 0}   # regions: Region.as_pointer()


def _ui_regions():
    """The sidebar (UI) region of every 3D viewport."""
    for area in each_view3d_area():
        for region in area.regions:
            if region.type == 'UI':
                yield region


def _regions_showing(category):
    """``as_pointer()`` of every 3D viewport sidebar showing the tab ``category`` now."""
    return {region.as_pointer() for region in _ui_regions()
            if region.active_panel_category == category}


def follow_tab(category, regions):
    """Show the tab ``category`` in the sidebars ``regions`` (``Region.as_pointer()`` values) as
    soon as each has drawn it; joins a follow already under way (a second rename retargets it)."""
    if not bpy.app.timers.is_registered(_follow_tick):
        _following["regions"] = set()
    _following["regions"] |= set(regions)
    _following["category"] = category
    _following["tries"] = FOLLOW_TRIES
    if _following["regions"] and not bpy.app.timers.is_registered(_follow_tick):
        bpy.app.timers.register(_follow_tick, first_interval=FOLLOW_INTERVAL)


def _follow_tick():
    """The timer: each waiting sidebar that has the tab now shows it; None (done) when none is
    left waiting or the tries are used up."""
    live = {region.as_pointer(): region for region in _ui_regions()}
    waiting = set()
    for pointer in _following["regions"]:
        region = live.get(pointer)
        if region is None:   # the area was closed or changed type
            continue
        try:
            region.active_panel_category = _following["category"]
        except (AttributeError, TypeError):   # not drawn yet with its tabs, or not with this one
            waiting.add(pointer)
            continue
        region.tag_redraw()
    _following["regions"] = waiting
    _following["tries"] -= 1
    if not waiting or _following["tries"] <= 0:
        _following["regions"] = set()
        return None
    return FOLLOW_INTERVAL


def stop_following():
    """Remove the timer, if any (idempotent; the add-on's unregister)."""
    if bpy.app.timers.is_registered(_follow_tick):
        bpy.app.timers.unregister(_follow_tick)
    _following["regions"] = set()


def runtime_hooks_active():
    return (["app timer sidebar._follow_tick (keeps the sidebar on the renamed tab)"]
            if bpy.app.timers.is_registered(_follow_tick) else [])
