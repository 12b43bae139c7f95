"""GUI steps of the cast: the first cast with the defaults (a click on the sidebar button: View, a
miss) and what it leaves on screen, the stale-result mark after a sidebar change, Cast Again and its
overlay, F3 search (a cast that changes nothing: no undo step), a cast that snaps and selects (an
undo step: the redo panel and an F9 change, marked stale too; Ctrl+Z puts the cursor back and the
result box follows; Ctrl+Shift+Z)."""
import bpy

from bpy_extras.view3d_utils import location_3d_to_region_2d
from gui import (
    ADDON,
    INTERACTIVE,
    OPERATOR,
    OPERATOR_LABEL,
    STATE,
    Wait,
    Watch,
    addon_module,
    check,
    click,
    context_override,
    key,
    region,
    region_rect,
    shot,
    view3d_area,
    wait_drawn,
)
from mathutils import Quaternion, Vector
from steps_common import f3_search, last_operator_name, ran_through_ui, sidebar_click, undo

CAST_OPERATOR = "OBJECT_OT_bvh_cast_from_cursor"
STEP_OPERATOR = "OBJECT_OT_bvh_cast_from_cursor_step"   # the same cast as an undo step
# The sidebar's "Ray Cast from 3D Cursor" button: the first row of the first panel, this many
# pixels below the top of the sidebar region (factory settings, UI scale 1).
BUTTON_BELOW_REGION_TOP = 40


def _cast_state():
    return bpy.context.window_manager.bvh_leakfree.cast


def _settings():
    return bpy.context.preferences.addons[ADDON].preferences.cast


def _report(cast):
    return addon_module("cast.result").report_text(cast)


def _stale_texts():
    return [line[0] for line in addon_module("cast.result").stale_lines(_cast_state(), _settings())]


def cast_button_click(what):
    """Plan entries: a click on the sidebar's cast button with the settings as they are, and a
    wait for the cast it runs (without X input: the operator as the button runs it)."""
    if not INTERACTIVE:
        def step_cast_as_the_button_does():
            with context_override():
                bpy.ops.object.bvh_cast_from_cursor('INVOKE_DEFAULT')
        return [step_cast_as_the_button_does]
    note, ran = ran_through_ui(CAST_OPERATOR, f"the click on the sidebar button ({what})")
    return [note, *sidebar_click("the cast button", BUTTON_BELOW_REGION_TOP), ran]


def step_defaults_before_first_cast():
    """Issue 15.1: the first cast is made with the defaults (Direction View): the ray goes along
    the line of sight, past everything."""
    check(_settings().direction == 'VIEW', "the sidebar's Direction is View (the default)")


def step_first_cast_check():
    if INTERACTIVE:
        check(last_operator_name() == CAST_OPERATOR,
              f"a click on the sidebar button ran the cast (last operator: "
              f"{last_operator_name()})")
    cast = _cast_state()
    check(cast.has_result and not cast.hit and cast.direction == 'VIEW',
          f"the first cast went along the view and missed ({_report(cast)})")
    check(cast.direction_words == "along your view, away from you",
          f"the result says where the ray went: '{cast.direction_words}'")
    texts = [line[0] for line in addon_module("cast.result").result_lines(cast)]
    check("along your view, away from you" in texts, f"the result box has the words ({texts})")


def step_first_cast_visible():
    """What the first cast leaves on screen, measured in the live view: the ray itself is one
    point, the glyph around the cursor a ring of GLYPH_RADIUS_PX pixels with its cross."""
    overlay = addon_module("cast.overlay")
    area = view3d_area()
    win_region, rv3d = region(area, 'WINDOW'), area.spaces.active.region_3d
    cast = _cast_state()
    geometry = overlay.view_geometry(cast, win_region, rv3d)

    def screen(point):
        return location_3d_to_region_2d(win_region, rv3d, point)

    start, end = (screen(p) for p in geometry["ray"])
    check((end - start).length < 1.0,
          f"the ray along the view is a single point on screen ({(end - start).length:.2f} px)")
    center = screen(cast.ray_origin)
    ring = geometry["glyph"][:2 * overlay.GLYPH_SEGMENTS]
    radii = [(screen(p) - center).length for p in ring]
    check(min(radii) > 0.9 * overlay.GLYPH_RADIUS_PX and max(radii) < 1.1 * overlay.GLYPH_RADIUS_PX,
          f"the glyph reads head-on: a ring of {min(radii):.1f}-{max(radii):.1f} px around the "
          f"cursor")
    check(len(geometry["glyph"]) == len(ring) + 8, "the glyph has its cross (away from you)")
    check(bool(geometry["end"]) and bool(geometry["arrow"]), "the miss has an end mark and arrow")
    check(overlay._shader is not None, f"the overlay drew (shader {overlay._shader})")


def step_side_view():
    """Orbit the view 70 degrees around Z: the same ray, seen from the side."""
    rv3d = view3d_area().spaces.active.region_3d
    STATE["view_rotation"] = rv3d.view_rotation.copy()
    rv3d.view_rotation = Quaternion((0.0, 0.0, 1.0), 1.22) @ rv3d.view_rotation


def step_front_view():
    view3d_area().spaces.active.region_3d.view_rotation = STATE["view_rotation"]


def step_hero_cursor():
    """Put the 3D cursor on the line of sight to the sphere, a third of the way from the eye: a
    cast with the defaults (View) then goes through the cursor into the sphere."""
    rv3d = view3d_area().spaces.active.region_3d
    eye = rv3d.view_matrix.inverted().translation
    sphere = bpy.data.objects["Sphere"].matrix_world.translation
    cursor = bpy.context.scene.cursor
    STATE["cursor_before_hero"] = cursor.location.copy()
    cursor.location = eye.lerp(sphere, 0.62)


def step_hero_check():
    cast = _cast_state()
    check(cast.has_result and cast.hit and cast.object_name == "Sphere"
          and cast.direction == 'VIEW',
          f"the button's cast with the defaults hit the sphere along the view ({_report(cast)})")
    check(_stale_texts() == [], "the result matches the sidebar (no stale mark)")


def step_hero_done():
    bpy.context.scene.cursor.location = STATE["cursor_before_hero"]


def step_sidebar_change():
    """Issue 15.4: Direction changed in the sidebar: the result box must mark its result."""
    _settings().direction = 'CURSOR_NEG_Z'


def step_sidebar_change_check():
    texts = _stale_texts()
    check(texts == ["Made with other settings:", "Direction: View, now Cursor -Z"],
          f"a sidebar change marks the last result as made with other settings ({texts})")


def step_cast():
    """Cast Again (the operator with the sidebar's settings, as that button runs it)."""
    with context_override():
        result = bpy.ops.object.bvh_cast_from_cursor('EXEC_DEFAULT')
    check(result == {'FINISHED'}, f"{OPERATOR} in the viewport returned {result}")
    cast = _cast_state()
    check(getattr(cast, "hit", False), "the cast hit something (runtime state)")
    check(_stale_texts() == [], f"after Cast Again the result is not marked ({_stale_texts()})")


def step_overlay_drawn():
    """The viewport has redrawn since the cast: the overlay's draw callback ran its GPU path (it
    makes its shader on the first draw of a result, never in background mode)."""
    overlay = addon_module("cast.overlay")
    check(overlay._shader is not None, f"the overlay drew the ray (shader {overlay._shader})")


def step_f3_prepare():
    """Before F3: a different hit than the button's cast, and Global -Z in the sidebar (a fresh
    invocation takes its defaults from there)."""
    drawn = [getattr(fn, "__module__", "")
             for fn in bpy.types.VIEW3D_MT_object._dyn_ui_initialize()]
    check(any(m.startswith(ADDON) for m in drawn), "View3D › Object menu has the add-on's entry")
    bpy.context.scene.cursor.location = (-0.4, 0.1, 4.0)
    _settings().direction = 'GLOBAL_NEG_Z'


def step_return():
    """Enter runs the first search result: the operator, through the UI (lands in the F9 list)."""
    key("Return")


def _step_number():
    return addon_module("cast.undo").step_of(bpy.context.scene)


def _last_undoable():
    """What F9 offers: the last registered operator with an undo step (Blender's rule)."""
    return next((op for op in reversed(bpy.context.window_manager.operators)
                 if {'REGISTER', 'UNDO'} <= set(op.bl_options)), None)


def step_f3_check():
    last = last_operator_name()
    check(last == CAST_OPERATOR,
          f"F3 › '{OPERATOR_LABEL}' ran the operator (last operator: {last})")
    cast = bpy.context.window_manager.bvh_leakfree.cast
    check(getattr(cast, "hit", False), "the cast from F3 hit something")
    check(_stale_texts() == [], f"the F3 cast has the sidebar's settings ({_stale_texts()})")
    # Issue 23.4: none of the casts so far changed anything: none is an undo step
    offered = _last_undoable()
    check(_step_number() == 0 and (offered is None or offered.bl_idname != STEP_OPERATOR),
          f"the casts that changed nothing made no undo step (scene's cast step "
          f"{_step_number()}, F9 offers {offered.bl_idname if offered else 'nothing'})")


def step_snap_on():
    """Issue 23.4: a cast that snaps the cursor and selects the hit changes something: an undo
    step, with a redo panel."""
    settings = _settings()
    settings.snap_cursor = settings.select_hit = True
    STATE["cursor_before_snap"] = bpy.context.scene.cursor.location.copy()
    STATE["selected_before_snap"] = sorted(o.name for o in bpy.context.selected_objects)
    STATE["box_before_snap"] = addon_module("cast.undo").snapshot(_cast_state())


def step_snap_check():
    cast = _cast_state()
    cursor = bpy.context.scene.cursor.location
    selected = sorted(o.name for o in bpy.context.selected_objects)
    check(cast.hit and (cursor - Vector(cast.location)).length < 1e-4,
          f"Snap Cursor moved the cursor to the hit ({tuple(cursor)}; {_report(cast)})")
    check(selected == [cast.object_name],
          f"Select Object made the hit the one selected object ({selected})")
    check(_step_number() > 0, f"the cast is an undo step (scene's cast step {_step_number()})")
    report = _report(cast)
    check(report.index(" m away") < 40, f"the status bar's report keeps the distance: {report}")
    STATE["cursor_after_snap"] = cursor.copy()
    STATE["box_after_snap"] = addon_module("cast.undo").snapshot(cast)


def _differing(a, b):
    """The properties in which two snapshots of the result box differ (for a failure's message)."""
    return {key: (a.get(key), b.get(key)) for key in set(a) | set(b) if a.get(key) != b.get(key)}


def _cursor_at(name):
    return (bpy.context.scene.cursor.location - STATE[name]).length < 1e-4


def step_snap_undone_check():
    undo_module = addon_module("cast.undo")
    selected = sorted(o.name for o in bpy.context.selected_objects)
    check(_cursor_at("cursor_before_snap"),
          f"Ctrl+Z put the cursor back ({tuple(bpy.context.scene.cursor.location)})")
    check(selected == STATE["selected_before_snap"], f"and the selection ({selected})")
    now = undo_module.snapshot(_cast_state())
    check(now == STATE["box_before_snap"],
          f"and the result box shows what it showed before the cast "
          f"({_differing(now, STATE['box_before_snap'])})")


def step_snap_redone_check():
    check(_cursor_at("cursor_after_snap"),
          f"Ctrl+Shift+Z put the cursor at the hit again "
          f"({tuple(bpy.context.scene.cursor.location)})")
    now = addon_module("cast.undo").snapshot(_cast_state())
    check(now == STATE["box_after_snap"],
          f"and the result box shows the cast again ({_differing(now, STATE['box_after_snap'])})")


def _hud():
    return next((r for r in view3d_area().regions if r.type == 'HUD'), None)


def _hud_shown():
    hud = _hud()
    if hud is None or hud.width <= 1:
        return False
    STATE["hud_height"] = hud.height
    return True


def _hud_rect():
    return region_rect(_hud())


_HUD = Watch(_hud_rect, min_pixels=200)


def step_redo_expand():
    """Open the Adjust Last Operation panel: a click on its header (bottom left of the view)."""
    x, y, _width, _height = _hud_rect()
    click(x + 40, y + 12)


def _hud_expanded():
    hud = _hud()
    return hud is not None and hud.height > STATE["hud_height"] + 20


def step_redo_change():
    """Issue 15.4, the other way round: Direction changed to Cursor -Z in the Adjust Last
    Operation panel (its properties, then the redo it runs): the sidebar keeps Global -Z."""
    offered = _last_undoable()
    check(offered is not None and offered.bl_idname == STEP_OPERATOR,
          f"the redo panel is the cast's ({offered.bl_idname if offered else None})")
    offered.properties.direction = 'CURSOR_NEG_Z'
    with context_override():
        # undo=True: as the panel's own redo (from Python, Blender would keep the redone cast
        # out of the undo history)
        result = bpy.ops.ed.undo_redo('EXEC_DEFAULT', True)
    check(result == {'FINISHED'}, f"the redo of the cast returned {result}")


def step_redo_change_check():
    cast = _cast_state()
    check(cast.direction == 'CURSOR_NEG_Z' and _settings().direction == 'GLOBAL_NEG_Z',
          f"F9 changed the cast ({cast.direction}), not the sidebar "
          f"({_settings().direction})")
    texts = _stale_texts()
    check(texts == ["Made with other settings:", "Direction: Cursor -Z, now Global -Z"],
          f"an F9 change marks the result as made with other settings ({texts})")
    # the redo cast again, along the view: the cursor is where that hit is now
    STATE["cursor_after_snap"] = bpy.context.scene.cursor.location.copy()
    STATE["box_after_snap"] = addon_module("cast.undo").snapshot(cast)
    check(_cursor_at("cursor_after_snap") and cast.hit
          and (bpy.context.scene.cursor.location - Vector(cast.location)).length < 1e-4,
          f"the redone cast snapped the cursor to its own hit ({_report(cast)}, cursor "
          f"{tuple(bpy.context.scene.cursor.location)})")


def step_restore_defaults():
    """Back to the default settings (Direction View, no snap or select), so that the later
    pictures show them; every object selected again (in an undo step of its own)."""
    for name in ("direction", "snap_cursor", "select_hit"):
        _settings().property_unset(name)
    with context_override():
        bpy.ops.object.select_all(action='SELECT')
        bpy.ops.ed.undo_push(message="GUI test: select all")


def step_defaults_check():
    check(_settings().direction == 'VIEW', "the sidebar's Direction is View again")
    if INTERACTIVE:     # the last cast is the F9 one, made with Cursor -Z (its redo)
        check(_stale_texts() == ["Made with other settings:", "Direction: Cursor -Z, now View"],
              f"with the defaults back the result is marked as made with others "
              f"({_stale_texts()})")


def _f3_cast():
    """F3, the operator's name, Return: the cast through the interface, and what it shows; then a
    cast that snaps and selects: its redo panel, an F9 change, Ctrl+Z and Ctrl+Shift+Z."""
    if not INTERACTIVE:
        print("gui: no X input or no ImageMagick: F3 typing, the redo panel and undo skipped")
        return [step_f3_prepare]
    search, _popup = f3_search(OPERATOR_LABEL, "the cast", prepare=step_f3_prepare)
    note, ran = ran_through_ui(CAST_OPERATOR, f"F3 › '{OPERATOR_LABEL}' › Return")
    return [
        *search,
        *shot("03_f3_search"),
        note, step_return, ran,
        step_f3_check,
        step_snap_on,
        *cast_button_click("Snap Cursor and Select Object on"),
        step_snap_check,
        *shot("03a_snap_cast_status_bar"),
        Wait("the Adjust Last Operation panel shown (the cast's redo panel)", _hud_shown),
        _HUD.still("the Adjust Last Operation panel still"),
        step_redo_expand,
        Wait("the Adjust Last Operation panel expanded by a click on its header", _hud_expanded,
             detail=lambda: f"its height {_hud().height} px, {STATE['hud_height']} before"),
        *shot("03b_after_f3_redo_panel"),
        step_redo_change,
        step_redo_change_check,
        *shot("03c_redo_change_marks_result"),
        *undo("the cursor where it was before the snapping cast",
              lambda: _cursor_at("cursor_before_snap")),
        step_snap_undone_check,
        *shot("03d_undo_puts_the_cursor_back"),
        *undo("the snapping cast", lambda: _cursor_at("cursor_after_snap"),
              keys="ctrl+shift+z"),
        step_snap_redone_check,
    ]


# --- 23.8: the overlay at Resolution Scale 2 ------------------------------------------------------
def step_resolution_scale(scale):
    """Resolution Scale SCALE; at 2 the sidebar and the navigation gizmos are hidden for the
    picture (they would cover the sphere)."""
    def step():
        bpy.context.preferences.view.ui_scale = scale
        space = view3d_area().spaces.active
        space.show_region_ui = space.show_gizmo_navigate = scale == 1.0
    step.__name__ = f"step_resolution_scale_{scale:g}"
    return step


def step_overlay_scaled_check():
    """Head-on hit (the hero cast): on screen the glyph's ring and the hit's diamond are as many
    pixels as at scale 1 times the interface scale, as Blender's own cursor grows."""
    overlay = addon_module("cast.overlay")
    area = view3d_area()
    win_region, rv3d = region(area, 'WINDOW'), area.spaces.active.region_3d
    cast = _cast_state()
    scale = overlay.ui_scale()
    check(scale >= 1.9, f"the interface scale is {scale:.2f} at Resolution Scale 2")
    geometry = overlay.view_geometry(cast, win_region, rv3d)

    def screen(point):
        return location_3d_to_region_2d(win_region, rv3d, point)

    center = screen(cast.ray_origin)
    ring = [(screen(p) - center).length for p in geometry["glyph"][:2 * overlay.GLYPH_SEGMENTS]]
    expected = overlay.GLYPH_RADIUS_PX * scale
    check(0.9 * expected < min(ring) and max(ring) < 1.1 * expected,
          f"the glyph's ring is {min(ring):.1f}-{max(ring):.1f} px ({expected:.1f} expected)")
    check(cast.hit and len(geometry["marker"]) == 16,
          "the hit is a double diamond (8 segments), not a ring")
    check(overlay.label_text(cast).startswith(f"{cast.object_name}, "),
          f"the hit's label: {overlay.label_text(cast)!r}")


def overlay_at_resolution_scale_2():
    return [
        step_resolution_scale(2.0),
        *wait_drawn("viewport", "the viewport at Resolution Scale 2"),
        step_overlay_scaled_check,
        *shot("02e_overlay_at_resolution_scale_2"),
        step_resolution_scale(1.0),
        *wait_drawn("viewport", "the viewport back at Resolution Scale 1"),
    ]


PLAN = [
    step_defaults_before_first_cast,
    *cast_button_click("Direction View"),
    step_first_cast_check,
    *shot("02a_first_cast_view_miss"),
    step_first_cast_visible,
    step_side_view,
    *shot("02b_first_cast_side_view"),
    step_front_view,
    *wait_drawn("viewport", "the view turned back (its view matrix is updated when it draws)"),
    step_hero_cursor,
    *cast_button_click("the cursor on the line of sight"),
    step_hero_check,
    *shot("02_cast_hit_overlay"),
    *overlay_at_resolution_scale_2(),
    step_hero_done,
    step_sidebar_change,
    step_sidebar_change_check,
    *shot("02c_sidebar_change_marks_result"),
    step_cast,
    *shot("02d_cast_again_cursor_down"),
    step_overlay_drawn,
    *_f3_cast(),
    step_restore_defaults,
    step_defaults_check,
]
