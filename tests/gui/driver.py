"""GUI acceptance test: runs inside a real, windowed Blender.

    blender --factory-startup --python-exit-code 3 --python tests/gui/driver.py -- \
        --zip dist/bvh_leakfree_addon-<version>.zip --shots gui-shots

It installs the built zip with Blender's extension installer into a temporary local repository
(removed at the end, so the user's own extensions are untouched), enables it, and steps through the
UI the way a user would, saving a screenshot after each step:

1. the 3D viewport sidebar on the add-on's tab, 2. the cast operator run in the viewport's context
(as the button does) with its hit and overlay, 3. F3 search for the operator, 4. the add-on's
preferences,
5. the Datablocks panel while a script leaks meshes, 6. after the panel's purge button.

It fails (exit status 3) on any Python traceback Blender prints (panel draw errors only print, so
stderr is watched), on an unexpected operator result, or when an expected entry is missing from the
menus, the last-operator list or the preferences.  Screenshots use ImageMagick's ``import`` when it
is there (Blender's own screenshot is black on software-GL virtual screens), else Blender's
operator. Keys and typing use ``xdotool`` when it is there; without it the F3 step only checks the
menu data.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

import bpy

import addon_utils

REPO_MODULE = "bvh_gui_test"
ADDON = f"bl_ext.{REPO_MODULE}.bvh_leakfree_addon"
OPERATOR = "object.bvh_cast_from_cursor"
OPERATOR_LABEL = "Ray Cast from 3D Cursor"


def parse_args():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    parser = argparse.ArgumentParser(prog="driver.py")
    parser.add_argument("--zip", required=True)
    parser.add_argument("--shots", default="gui-shots")
    parser.add_argument("--site", default="",
                        help="folder with numpy for Blenders that lack it (tools/gui_site.py)")
    return parser.parse_args(argv)


ARGS = parse_args()
try:
    import numpy  # noqa: F401 - the add-on needs it; official Blender builds bundle it
except ImportError:
    if ARGS.site and os.path.isdir(ARGS.site):
        sys.path.append(os.path.abspath(ARGS.site))
FAILURES = []


# --- stderr watch: panel draw errors only print ------------------------------------------------
class _Tee:
    def __init__(self, stream):
        self.stream, self.text = stream, []

    def write(self, data):
        self.text.append(data)
        return self.stream.write(data)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


STDERR = _Tee(sys.stderr)
sys.stderr = STDERR


def tracebacks_seen():
    return "Traceback (most recent call last)" in "".join(STDERR.text)


# --- small UI helpers ---------------------------------------------------------------------------
def have(tool):
    return shutil.which(tool) is not None


def xdo(*args):
    if have("xdotool"):
        subprocess.run(["xdotool", *args], check=True)


def shot(name):
    os.makedirs(ARGS.shots, exist_ok=True)
    path = os.path.abspath(os.path.join(ARGS.shots, f"{name}.png"))
    if have("import"):
        subprocess.run(["import", "-window", "root", path], check=True)
    else:
        with context_override():
            bpy.ops.screen.screenshot(filepath=path)
    print(f"gui: screenshot {path}")


def window():
    return bpy.context.window_manager.windows[0]


def view3d_area():
    return next(a for a in window().screen.areas if a.type == 'VIEW_3D')


def region(area, kind):
    return next(r for r in area.regions if r.type == kind)


def context_override(area=None, region_type='WINDOW'):
    area = area or view3d_area()
    return bpy.context.temp_override(window=window(), area=area, region=region(area, region_type))


def redraw_all():
    for win in bpy.context.window_manager.windows:
        for area in win.screen.areas:
            area.tag_redraw()


def check(condition, message):
    status = "ok" if condition else "FAILED"
    print(f"gui: [{status}] {message}")
    if not condition:
        FAILURES.append(message)


def addon_module():
    return sys.modules[ADDON]


def addon_classes(base):
    return [cls for cls in addon_module().classes() if issubclass(cls, base)]


# --- steps ---------------------------------------------------------------------------------------
def step_dismiss_splash():
    xdo("mousemove", "40", "450", "click", "1")


def step_install():
    repos = bpy.context.preferences.extensions.repos
    STATE["repo_dir"] = tempfile.mkdtemp(prefix="bvh_gui_repo_")
    STATE["repo"] = repos.new(name="BVH GUI Test", module=REPO_MODULE,
                              custom_directory=STATE["repo_dir"])
    result = bpy.ops.extensions.package_install_files(
        filepath=os.path.abspath(ARGS.zip), repo=REPO_MODULE, enable_on_install=True)
    check(result == {'FINISHED'}, f"installed {ARGS.zip} with Blender's extension installer")
    if ADDON not in bpy.context.preferences.addons:
        addon_utils.enable(ADDON, default_set=True)
    check(ADDON in bpy.context.preferences.addons, f"{ADDON} enabled")


def step_scene():
    """Delete the default cube etc., add a few objects, cursor above them."""
    scene = bpy.context.scene
    with context_override():
        bpy.ops.object.select_all(action='SELECT')
        bpy.ops.object.delete()
        bpy.ops.mesh.primitive_plane_add(size=6, location=(0, 0, 0))
        bpy.ops.mesh.primitive_uv_sphere_add(radius=1, location=(0, 0, 1))
        bpy.ops.mesh.primitive_cube_add(size=1, location=(2, 1, 0.5))
        bpy.ops.object.select_all(action='SELECT')
    scene.cursor.location = (0.3, 0.2, 4.0)
    scene.cursor.rotation_euler = (0, 0, 0)
    area = view3d_area()
    space = area.spaces.active
    space.region_3d.view_distance = 14
    space.show_region_ui = True


def step_open_sidebar():
    area = view3d_area()
    prefs = bpy.context.preferences.addons[ADDON].preferences
    ui = region(area, 'UI')
    ui.active_panel_category = prefs.sidebar_category
    check(addon_classes(bpy.types.Panel), "the add-on has sidebar panels")
    check(all(cls.is_registered and cls.bl_category == prefs.sidebar_category
              for cls in addon_classes(bpy.types.Panel)),
          f"every panel sits on the sidebar tab '{prefs.sidebar_category}'")


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


def step_prefs_open():
    """Show Preferences › Add-ons in the big 3D viewport area, filtered to this add-on, expanded."""
    area = view3d_area()
    STATE["prefs_area"] = area
    area.type = 'PREFERENCES'
    bpy.context.preferences.active_section = 'ADDONS'
    bpy.context.window_manager.addon_search = "BVH"
    with bpy.context.temp_override(window=window(), area=area):
        result = bpy.ops.preferences.addon_expand(module=ADDON)
    check(result == {'FINISHED'}, "the add-on's entry in Preferences › Add-ons expands")


def step_prefs_check():
    prefs = bpy.context.preferences.addons[ADDON].preferences
    check(prefs is not None and type(prefs).bl_idname == ADDON,
          f"the add-on preferences class is registered under the extension's module name "
          f"({type(prefs).bl_idname if prefs else None})")
    for name in ("sidebar_category", "cast", "monitor"):
        check(hasattr(prefs, name), f"preferences have '{name}'")
    for name in ("direction", "distance", "show_overlay", "ray_color"):
        check(hasattr(prefs.cast, name), f"the cast's settings have '{name}'")


def step_prefs_close():
    STATE["prefs_area"].type = 'VIEW_3D'


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


def step_finish():
    check(not tracebacks_seen(), "no Python traceback printed during the run")
    try:
        addon_utils.disable(ADDON, default_set=True)
        bpy.ops.extensions.package_uninstall(repo_index=_repo_index(), pkg_id="bvh_leakfree_addon")
    except Exception:
        traceback.print_exc()
    repos = bpy.context.preferences.extensions.repos
    if STATE.get("repo") is not None:
        repos.remove(STATE["repo"])
    shutil.rmtree(STATE.get("repo_dir", ""), ignore_errors=True)
    if FAILURES:
        print("gui: FAILED:\n  " + "\n  ".join(FAILURES))
        sys.stdout.flush()
        os._exit(3)
    print("gui: all checks passed")
    sys.stdout.flush()
    bpy.ops.wm.quit_blender()


def _repo_index():
    repos = bpy.context.preferences.extensions.repos
    return next(i for i, r in enumerate(repos) if r.module == REPO_MODULE)


STATE = {}
PLAN = [
    (2.0, step_dismiss_splash),
    (0.5, step_install),
    (0.5, step_scene),
    (0.5, step_open_sidebar),
    (1.0, lambda: shot("01_sidebar")),
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
    (0.5, step_prefs_open),
    (1.5, step_prefs_check),
    (0.2, lambda: shot("04_preferences")),
    (0.2, step_prefs_close),
    (0.5, step_leak),
    (1.5, step_leak_check),
    (0.2, lambda: shot("05_datablocks_leak")),
    (0.2, step_purge),
    (1.5, lambda: shot("06_datablocks_purged")),
    (0.2, step_undo_open),
    (1.5, step_undo_check),
    (0.2, step_finish),
]


def run_next():
    if not PLAN:
        return None
    _, fn = PLAN.pop(0)
    try:
        fn()
        redraw_all()
    except Exception:
        traceback.print_exc()
        FAILURES.append(f"step {getattr(fn, '__name__', fn)} raised")
        print("gui: FAILED:\n  " + "\n  ".join(FAILURES))
        sys.stdout.flush()
        os._exit(3)
    return PLAN[0][0] if PLAN else None


bpy.app.timers.register(run_next, first_interval=PLAN[0][0])
