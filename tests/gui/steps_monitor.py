"""GUI steps of the monitor: a script leaks, the Datablocks panel shows it, purge, Ctrl+Z."""
import bpy

from gui import (
    ADDON,
    STATE,
    check,
    context_override,
    have,
    shot,
    view3d_area,
    window,
    xdo,
)


def step_leak():
    """A script that leaks: copies of a mesh that nobody uses."""
    source = bpy.data.meshes[0]
    for _ in range(25):
        source.copy()
    STATE["leaked"] = 25


def step_leak_check():
    from importlib import import_module

    api = import_module(ADDON + ".api")
    orphans = api.datablock_counts({'MESH'})["meshes"].orphans
    check(orphans >= STATE["leaked"], f"the core counts {orphans} orphan meshes")


def step_purge():
    area = view3d_area()
    with context_override(area, 'UI'):
        result = bpy.ops.wm.bvh_purge_orphans('EXEC_DEFAULT', types='MESH')
    check(result == {'FINISHED'}, f"purge from the panel returned {result}")
    orphans = sum(1 for m in bpy.data.meshes if m.users == 0 and not m.use_fake_user)
    check(orphans == 0, f"no orphan meshes left ({orphans})")


def step_undo_open():
    """Ctrl+Z in the 3D viewport, as a user would, right after the purge."""
    STATE["before_undo"] = len(bpy.data.meshes)
    if not have("xdotool"):
        return
    area = view3d_area()
    win_h = window().height
    xdo("mousemove", str(area.x + area.width // 3), str(win_h - (area.y + area.height // 2)))
    xdo("key", "ctrl+z")


def step_undo_check():
    if not have("xdotool"):
        print("gui: xdotool not found: Ctrl+Z after the purge skipped")
        return
    orphans = sum(1 for m in bpy.data.meshes if m.users == 0 and not m.use_fake_user)
    check(orphans >= STATE["leaked"],
          f"Ctrl+Z after the purge brought the {STATE['leaked']} leaked meshes back "
          f"({orphans} orphans, {len(bpy.data.meshes)} meshes, {STATE['before_undo']} before)")


PLAN = [
    (0.5, step_leak),
    (1.5, step_leak_check),
    (0.2, lambda: shot("05_datablocks_leak")),
    (0.2, step_purge),
    (1.5, lambda: shot("06_datablocks_purged")),
    (0.2, step_undo_open),
    (1.5, step_undo_check),
]
