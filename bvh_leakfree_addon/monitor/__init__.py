# SPDX-License-Identifier: GPL-3.0-or-later
"""The datablock monitor: live counts of ``bpy.data`` (total, orphans, change since a baseline),
the orphan purge and the Leak Check.

settings (preferences) → service (the timer, the baseline) → state (the last leak check) →
operators (purge, baseline), leak_check (uses the cast) → panels (sidebar, File › Clean Up).
"""
from . import leak_check, operators, panels, service, settings, state

__all__ = ("CLASSES", "register", "unregister")

# Registered in this order (settings first: the preferences point at them), unregistered in reverse.
CLASSES = (
    settings.MonitorSettings,
    state.MonitorState,
    operators.WM_OT_bvh_purge_orphans,
    operators.WM_OT_bvh_reset_baseline,
    leak_check.OBJECT_OT_bvh_leak_check,
    panels.VIEW3D_PT_bvh_datablocks,
    panels.VIEW3D_PT_bvh_datablocks_types,
)
_HOOKS = (service, panels)   # modules with runtime hooks: the timer, load_post, the menu entry


def register():
    for module in _HOOKS:
        module.register()


def unregister():
    for module in reversed(_HOOKS):
        module.unregister()
