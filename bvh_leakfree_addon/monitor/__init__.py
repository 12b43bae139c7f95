# SPDX-License-Identifier: GPL-3.0-or-later
"""The datablock monitor: live counts of ``bpy.data`` (total, orphans, change since a baseline),
what is new since the baseline by name, a history graph, the orphan purge and the Leak Check.

settings (preferences) → state (open lists, the last leak check) → history (samples, the graph's
picture) → pages (what is new since the baseline, a page at a time) → service (the timer, the
baseline, the lists) → operators (purge, baseline, undo steps), inspect (the lists' rows),
leak_check (the cursor ray, any script) → rows (the table and the lists, as wide as the sidebar
allows) → panels (sidebar, File › Clean Up).
"""
from . import inspect, leak_check, operators, panels, service, settings, state

__all__ = ("CLASSES", "register", "unregister")

# Registered in this order (settings first: the preferences point at them), unregistered in reverse.
CLASSES = (
    settings.MonitorSettings,
    state.MonitorState,
    operators.WM_OT_bvh_purge_orphans,
    operators.WM_OT_bvh_reset_baseline,
    inspect.WM_OT_bvh_datablock_list,
    inspect.WM_OT_bvh_datablock_users,
    inspect.WM_OT_bvh_select_users,
    inspect.WM_OT_bvh_delete_orphan,
    leak_check.OBJECT_OT_bvh_leak_check,
    leak_check.WM_OT_bvh_leak_check_script,
    panels.VIEW3D_PT_bvh_datablocks,
    panels.VIEW3D_PT_bvh_datablocks_types,
    panels.VIEW3D_PT_bvh_datablocks_history,
)
# modules with runtime hooks: the timer, load_post, the graph's preview image, the menu entries
_HOOKS = (service, panels, leak_check)


def register():
    for module in _HOOKS:
        module.register()


def unregister():
    for module in reversed(_HOOKS):
        module.unregister()
