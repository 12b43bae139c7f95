"""GUI steps every run needs (install and enable, a scene, the sidebar, the preferences, the end:
uninstall, verdict) and the pieces the feature plans share: the pointer over the viewport, a click
in the sidebar, F3 search, a popup closed with Escape, Ctrl+Z, an operator run through the
interface, the Datablocks panel's figures up to date.  Each piece is a list of plan entries that
waits for what its action needs on screen (see gui.py)."""
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
    INTERACTIVE,
    REPO_MODULE,
    STATE,
    Wait,
    Watch,
    addon_classes,
    addon_module,
    check,
    click,
    context_override,
    finish_harness,
    key,
    move,
    popup,
    region,
    region_rect,
    screen_xy,
    shot,
    timing_report,
    tracebacks_seen,
    type_text,
    view3d_area,
    wait_drawn,
    wait_pointer,
    window,
)

TAB = "Ray Cast"    # the sidebar tab's default name (issue 23.12: not "BVH")


# --- Shared pieces ------------------------------------------------------------------------------
def last_operator():
    ops = bpy.context.window_manager.operators
    return ops[-1] if len(ops) else None


def last_operator_name():
    op = last_operator()
    return op.bl_idname if op else None


def ran_through_ui(idname, what):
    """Plan entries: note the last operator, then (after the action that follows) wait until a
    new IDNAME operator is the last one, i.e. the interface ran it."""
    def note():
        op = last_operator()
        STATE["last_operator"] = op.as_pointer() if op else None
    note.__name__ = f"note_last_operator_before_{idname}"

    def ran():
        op = last_operator()
        return op is not None and op.bl_idname == idname and op.as_pointer() != STATE[
            "last_operator"]
    wait = Wait(f"{what} to run {idname}", ran,
                detail=lambda: f"last operator: {last_operator_name()}")
    return note, wait


def viewport_point():
    """Where the steps put the pointer over the 3D viewport (X screen coordinates): a third from
    its left, half way up, away from the sidebar and the navigation gizmos."""
    area = view3d_area()
    return screen_xy(area.x + area.width // 3, area.y + area.height // 2)


def pointer_to_viewport():
    """Plan entries: the pointer over the 3D viewport, and Blender seeing it there (popups invoked
    from Python open where Blender last saw it)."""
    def step_pointer_to_viewport():
        move(*viewport_point())
    return [step_pointer_to_viewport, wait_pointer("over the 3D viewport")]


def sidebar_rect():
    return region_rect(region(view3d_area(), 'UI'))


def sidebar_click(what, dy, dx=None, changes=False):
    """Plan entries: wait for the sidebar drawn and still, click DY pixels below its top, DX from
    its left (None: the middle); with CHANGES, wait for the sidebar to change (then be still)."""
    watch = Watch(sidebar_rect, min_pixels=200)

    def step_sidebar_click():
        x, y, width, _h = sidebar_rect()
        click(x + (width // 2 if dx is None else dx), y + dy)
    step_sidebar_click.__name__ = f"click_{what.replace(' ', '_')}"

    entries = [*wait_drawn("sidebar", f"the sidebar before the click on {what}"),
               watch.still(f"the sidebar still before the click on {what}"),
               step_sidebar_click]
    if changes:
        entries.append(watch.changed(f"the sidebar changed by the click on {what}"))
    return entries


def f3_search(text, what, prepare=None):
    """Plan entries: the pointer over the viewport, F3, wait for the search popup, type TEXT, wait
    for the popup to show it.  Returns the entries and the popup's Watch (for ``close_popup``)."""
    entries = [*pointer_to_viewport()] + ([prepare] if prepare else [])
    opening, watch = popup(f"the F3 search popup ({what})", lambda: key("F3"))

    def step_type():
        type_text(text)
    step_type.__name__ = f"type_{text.replace(' ', '_')}"
    return entries + opening + [
        step_type,
        watch.changed(f"'{text}' typed into the F3 search (the popup changed, then still)")], watch


def close_popup(watch, what):
    """Plan entries: Escape, then wait until the screen near the pointer is as before the popup."""
    def step_escape():
        key("Escape")
    return [step_escape,
            watch.restored(f"{what} closed by Escape (the screen near the pointer as before it)")]


def undo(what, done, keys="ctrl+z"):
    """Plan entries: Ctrl+Z (or KEYS, e.g. Ctrl+Shift+Z) with the pointer over the viewport; wait
    until DONE() says the undo happened."""
    def step_ctrl_z():
        key(keys)
    step_ctrl_z.__name__ = f"step_{keys.replace('+', '_')}"
    return [*pointer_to_viewport(), step_ctrl_z, Wait(f"{keys} to bring back {what}", done)]


def monitor_current(what):
    """A wait until the Datablocks panel's figures (its app timer's last refresh) match what is in
    bpy.data now."""
    def current():
        service = addon_module("monitor.service")
        counts = addon_module("api").datablock_counts()
        return all(service.figures(name) == counts.get(name)
                   for name in service.tracked_types())
    return Wait(f"the Datablocks panel's figures to show {what}", current)


# --- Start ----------------------------------------------------------------------------------------
def _splash_rect():
    win = window()
    return win.width // 2 - 250, win.height // 2 - 200, 500, 400


_SPLASH = Watch(_splash_rect, min_pixels=5000)


def step_dismiss_splash():
    """A click on the middle of the status bar (the window's bottom edge; a global area, not in
    ``screen.areas``): closes the splash (factory settings show it) and does nothing else."""
    click(window().width // 2, window().height - 8)


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
    """Delete the default cube etc., add a few objects, cursor above them, sidebar shown.

    Two preferences make the pictures settle and repeat (factory start-up does not save them):
    the viewport's anti-aliasing in one pass (FXAA; the factory setting refines the picture over
    several redraws, which on a software-GL screen keeps it changing for seconds after every
    change), and no tooltips (one appears when the pointer rests on a button long enough, e.g. a
    popup's first button, and would cover the picture or not, depending on timing)."""
    bpy.context.preferences.system.viewport_aa = 'FXAA'
    bpy.context.preferences.view.show_tooltips = False
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
    # The scene made from Python is in no undo step yet: one, so that Ctrl+Z after a cast goes
    # back to this scene (as after a user's own last edit), not to the factory one.
    with context_override():
        bpy.ops.ed.undo_push(message="GUI test scene")


def _sidebar_category():
    return bpy.context.preferences.addons[ADDON].preferences.sidebar_category


def _choose_tab():
    """Show the add-on's tab; possible once the sidebar has been drawn with its tabs (before, the
    property is read-only or takes no unknown tab), so this is a wait that tries."""
    ui = region(view3d_area(), 'UI')
    try:
        ui.active_panel_category = _sidebar_category()
    except (AttributeError, TypeError):
        view3d_area().tag_redraw()   # draw it (with its tabs), then try again
        return False
    return ui.active_panel_category == _sidebar_category()


def step_panels_check():
    prefs = bpy.context.preferences.addons[ADDON].preferences
    check(addon_classes(bpy.types.Panel), "the add-on has sidebar panels")
    check(all(cls.is_registered and cls.bl_category == prefs.sidebar_category
              for cls in addon_classes(bpy.types.Panel)),
          f"every panel sits on the sidebar tab '{prefs.sidebar_category}'")


# --- Preferences ----------------------------------------------------------------------------------
def step_prefs_open():
    """Show Preferences › Add-ons in the big 3D viewport area, filtered to this add-on."""
    area = view3d_area()
    STATE["prefs_area"] = area
    area.type = 'PREFERENCES'
    bpy.context.preferences.active_section = 'ADDONS'
    bpy.context.window_manager.addon_search = "Leak-Free"


def step_prefs_expand():
    area = STATE["prefs_area"]
    with bpy.context.temp_override(window=window(), area=area):
        result = bpy.ops.preferences.addon_expand(module=ADDON)
    check(result == {'FINISHED'}, "the add-on's entry in Preferences › Add-ons expands")


def step_prefs_check():
    """Issue 23.11/23.12: the add-on is 'Leak-Free Ray Cast' in the list (not beside the BVH
    motion-capture importer), Refresh Interval has a unit, the types' row says Shift+click."""
    info = addon_utils.module_bl_info(addon_module())
    check(info["name"] == "Leak-Free Ray Cast", f"the add-on's name in the list: {info['name']}")
    settings = addon_module("monitor.settings")
    check(settings.MonitorSettings.bl_rna.properties["interval"].unit == 'TIME_ABSOLUTE',
          "Refresh Interval is shown in seconds")
    check("Shift+click" in settings.TYPES_HEADING, f"the types' heading: {settings.TYPES_HEADING}")
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
    check(ui.active_panel_category == TAB, f"the sidebar shows the '{TAB}' tab "
                                           f"({ui.active_panel_category})")
    bpy.context.preferences.addons[ADDON].preferences.sidebar_category = "Ray Tools"


def wait_tab(name):
    """Wait until the sidebar has followed the add-on's tab to NAME and the follow timer ended."""
    def followed():
        sidebar = sys.modules[ADDON + ".sidebar"]
        return (region(view3d_area(), 'UI').active_panel_category == name
                and sidebar.runtime_hooks_active() == [])
    return Wait(f"the sidebar to follow the renamed tab to '{name}' (and the follow timer to end)",
                followed, detail=lambda: f"the sidebar shows "
                                         f"'{region(view3d_area(), 'UI').active_panel_category}'")


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


# --- End ------------------------------------------------------------------------------------------
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
    finish_harness()
    timing_report()
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
    *wait_drawn("viewport", "Blender's window on screen"),
    *([_SPLASH.still("the splash screen still"),
       step_dismiss_splash,
       _SPLASH.changed("the splash closed by a click on the status bar (the middle of the screen "
                       "changed)")] if INTERACTIVE else []),
    step_install,
    step_scene,
    Wait(f"the sidebar's tab '{TAB}' chosen (possible once the sidebar is drawn with its tabs)",
         _choose_tab),
    step_panels_check,
    *shot("01_sidebar"),
]
PREFERENCES = [
    step_prefs_open,
    *wait_drawn("preferences", "Preferences › Add-ons shown"),
    step_prefs_expand,
    *wait_drawn("preferences", "the add-on's entry expanded"),
    step_prefs_check,
    step_prefs_scroll,
    *shot("04_preferences"),
    step_prefs_close,
    *wait_drawn("sidebar", "the 3D viewport back"),
    step_tab_rename,
    wait_tab("Ray Tools"),
    step_tab_renamed_check("Ray Tools"),
    *shot("04b_sidebar_tab_renamed"),
    step_tab_restore,
    wait_tab(TAB),
    step_tab_renamed_check(TAB),
]
END = [step_finish]
