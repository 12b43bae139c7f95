"""GUI steps of the cast: the button's cast and its overlay, F3 search, the redo panel."""
import sys

import bpy

from gui import (
    ADDON,
    OPERATOR,
    OPERATOR_LABEL,
    check,
    context_override,
    have,
    shot,
    view3d_area,
    window,
    xdo,
)


def step_cast():
    with context_override():
        result = bpy.ops.object.bvh_cast_from_cursor('EXEC_DEFAULT', direction='CURSOR_NEG_Z')
    check(result == {'FINISHED'}, f"{OPERATOR} in the viewport returned {result}")
    cast = bpy.context.window_manager.bvh_leakfree.cast
    check(getattr(cast, "hit", False), "the cast hit something (runtime state)")


def step_overlay_drawn():
    """The viewport has redrawn since the cast: the overlay's draw callback ran its GPU path (it
    makes its shader on the first draw of a result, never in background mode)."""
    overlay = sys.modules[ADDON + ".cast.overlay"]
    check(overlay._shader is not None, f"the overlay drew the ray (shader {overlay._shader})")


def step_f3_open():
    drawn = [getattr(fn, "__module__", "")
             for fn in bpy.types.VIEW3D_MT_object._dyn_ui_initialize()]
    check(any(m.startswith(ADDON) for m in drawn), "View3D › Object menu has the add-on's entry")
    if not have("xdotool"):
        print("gui: xdotool not found: F3 typing skipped (menu data checked)")
        return
    area = view3d_area()
    win_h = window().height
    xdo("mousemove", str(area.x + area.width // 3), str(win_h - (area.y + area.height // 2)))
    xdo("key", "F3")


def step_f3_type():
    bpy.context.scene.cursor.location = (-0.4, 0.1, 4.0)  # a different hit than the button's cast
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.cast.direction = 'GLOBAL_NEG_Z'  # a fresh invocation takes its defaults from here
    xdo("type", "--delay", "40", OPERATOR_LABEL)


def step_f3_run():
    """Enter runs the first search result: the operator, through the UI (lands in the F9 list)."""
    xdo("key", "Return")


def step_f3_check():
    if not have("xdotool"):
        return
    ops = bpy.context.window_manager.operators
    last = ops[-1].bl_idname if len(ops) else None
    check(last == "OBJECT_OT_bvh_cast_from_cursor",
          f"F3 › '{OPERATOR_LABEL}' ran the operator (last operator: {last})")
    cast = bpy.context.window_manager.bvh_leakfree.cast
    check(getattr(cast, "hit", False), "the cast from F3 hit something")


def step_redo_expand():
    """Open the Adjust Last Operation panel (a click on its header, bottom left of the view)."""
    area = view3d_area()
    hud = next((r for r in area.regions if r.type == 'HUD'), None)
    check(hud is not None and hud.width > 1, "the cast has an Adjust Last Operation panel")
    if hud is None or not have("xdotool"):
        return
    win_h = window().height
    xdo("mousemove", str(hud.x + 40), str(win_h - (hud.y + hud.height - 12)), "click", "1")


PLAN = [
    (0.2, step_cast),
    (1.0, lambda: shot("02_cast_hit_overlay")),
    (0.2, step_overlay_drawn),
    (0.2, step_f3_open),
    (0.8, step_f3_type),
    (1.0, lambda: shot("03_f3_search")),
    (0.2, step_f3_run),
    (1.0, step_f3_check),
    (0.2, step_redo_expand),
    (1.0, lambda: shot("03b_after_f3_redo_panel")),
]
