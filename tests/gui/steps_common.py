"""GUI steps every run needs: install and enable, a scene, the sidebar, the preferences, and the end
(uninstall, verdict)."""
import os
import shutil
import sys
import tempfile
import traceback

import bpy

import addon_utils
from gui import (
    ADDON,
    ARGS,
    FAILURES,
    REPO_MODULE,
    STATE,
    addon_classes,
    check,
    context_override,
    region,
    shot,
    tracebacks_seen,
    view3d_area,
    window,
    xdo,
)


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
    changed = [p.identifier for group in (prefs, prefs.cast, prefs.monitor)
               for p in group.bl_rna.properties if group.is_property_set(p.identifier)
               and p.type != 'POINTER' and p.identifier != "bl_idname"]
    check(changed == [], f"the preferences are pictured with their defaults (set: {changed})")


def step_prefs_scroll():
    """Scroll Preferences down to the end: every setting of the add-on in one picture, the
    Datablock Monitor's box whole."""
    area = STATE["prefs_area"]
    with bpy.context.temp_override(window=window(), area=area, region=region(area, 'WINDOW')):
        for _ in range(3):
            bpy.ops.view2d.scroll_down(page=True)


def step_prefs_close():
    STATE["prefs_area"].type = 'VIEW_3D'


def step_tab_rename():
    """Issue 15.7: rename the sidebar tab in the preferences while the sidebar shows it."""
    ui = region(view3d_area(), 'UI')
    check(ui.active_panel_category == "BVH", f"the sidebar shows the BVH tab "
                                              f"({ui.active_panel_category})")
    bpy.context.preferences.addons[ADDON].preferences.sidebar_category = "Ray Tools"


def step_tab_renamed_check(name):
    def step():
        ui = region(view3d_area(), 'UI')
        check(ui.active_panel_category == name,
              f"after the rename the sidebar stays on the add-on's tab, now '{name}' "
              f"({ui.active_panel_category})")
        sidebar = sys.modules[ADDON + ".sidebar"]
        check(sidebar.runtime_hooks_active() == [], "the tab-follow timer has ended")
    step.__name__ = f"step_tab_renamed_check_{name}"
    return step


def step_tab_restore():
    bpy.context.preferences.addons[ADDON].preferences.sidebar_category = ""   # the default


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


START = [
    (2.0, step_dismiss_splash),
    (0.5, step_install),
    (0.5, step_scene),
    (0.5, step_open_sidebar),
    (1.0, lambda: shot("01_sidebar")),
]
PREFERENCES = [
    (0.5, step_prefs_open),
    (1.5, step_prefs_check),
    (0.2, step_prefs_scroll),
    (1.0, lambda: shot("04_preferences")),
    (0.2, step_prefs_close),
    (1.0, step_tab_rename),
    (1.0, step_tab_renamed_check("Ray Tools")),
    (0.2, lambda: shot("04b_sidebar_tab_renamed")),
    (0.2, step_tab_restore),
    (1.0, step_tab_renamed_check("BVH")),
]
END = [(0.2, step_finish)]
