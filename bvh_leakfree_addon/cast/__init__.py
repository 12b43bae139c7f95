# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast: "Ray Cast from 3D Cursor" into the selected objects.

settings (preferences, sidebar, redo panel) → words (where a ray went) → result (declared once,
rendered once) → service (the cast: ``cursor_ray``'s ray as a result) → state (the last result) →
undo (a cast that changed something, undone and redone) → operators → panels (sidebar, menus) →
overlay (the last ray in the viewport).
"""
from . import operators, overlay, panels, settings, state, undo

__all__ = ("CLASSES", "register", "unregister")

# Registered in this order (settings first: the preferences point at them), unregistered in reverse.
CLASSES = (
    settings.CastSettings,
    state.CastResultState,
    operators.OBJECT_OT_bvh_cast_from_cursor,
    operators.OBJECT_OT_bvh_cast_from_cursor_step,
    panels.VIEW3D_PT_bvh_cast,
)
# modules with runtime hooks: handlers, menu entries, drawing, the undo follow-up
_HOOKS = (state, undo, panels, overlay)


def register():
    for module in _HOOKS:
        module.register()


def unregister():
    for module in reversed(_HOOKS):
        module.unregister()

