"""GUI steps of the cast: the first cast with the defaults (a click on the sidebar button: View, a
miss) and what it leaves on screen, the stale-result mark after a sidebar change, Cast Again and its
overlay, F3 search, the redo panel and an F9 change (marked stale too)."""
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
from mathutils import Quaternion
from steps_common import f3_search, last_operator_name, ran_through_ui, sidebar_click

CAST_OPERATOR = "OBJECT_OT_bvh_cast_from_cursor"
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


def step_f3_check():
    last = last_operator_name()
    check(last == CAST_OPERATOR,
          f"F3 › '{OPERATOR_LABEL}' ran the operator (last operator: {last})")
    cast = bpy.context.window_manager.bvh_leakfree.cast
    check(getattr(cast, "hit", False), "the cast from F3 hit something")
    check(_stale_texts() == [], f"the F3 cast has the sidebar's settings ({_stale_texts()})")


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
    """Issue 15.4, the other way round: Direction changed to View in the Adjust Last Operation
    panel (its properties, then the redo it runs): the sidebar keeps Global -Z."""
    bpy.context.window_manager.operators[-1].properties.direction = 'VIEW'
    with context_override():
        result = bpy.ops.ed.undo_redo()
    check(result == {'FINISHED'}, f"the redo of the cast returned {result}")


def step_redo_change_check():
    cast = _cast_state()
    check(cast.direction == 'VIEW' and _settings().direction == 'GLOBAL_NEG_Z',
          f"F9 changed the cast ({cast.direction}), not the sidebar "
          f"({_settings().direction})")
    texts = _stale_texts()
    check(texts == ["Made with other settings:", "Direction: View, now Global -Z"],
          f"an F9 change marks the result as made with other settings ({texts})")


def step_restore_defaults():
    """Back to the default Direction (View), so that the later pictures show default settings."""
    _settings().property_unset("direction")


def step_defaults_check():
    check(_settings().direction == 'VIEW', "the sidebar's Direction is View again")
    if INTERACTIVE:     # the last cast is the F9 one, made with View
        check(_stale_texts() == [], f"with the defaults back the result is current "
                                    f"({_stale_texts()})")


def _f3_cast():
    """F3, the operator's name, Return: the cast through the interface, and what it shows."""
    if not INTERACTIVE:
        print("gui: no X input or no ImageMagick: F3 typing and the redo panel skipped")
        return [step_f3_prepare]
    search, _popup = f3_search(OPERATOR_LABEL, "the cast", prepare=step_f3_prepare)
    note, ran = ran_through_ui(CAST_OPERATOR, f"F3 › '{OPERATOR_LABEL}' › Return")
    return [
        *search,
        *shot("03_f3_search"),
        note, step_return, ran,
        step_f3_check,
        Wait("the Adjust Last Operation panel shown (the cast's redo panel)", _hud_shown),
        _HUD.still("the Adjust Last Operation panel still"),
        step_redo_expand,
        Wait("the Adjust Last Operation panel expanded by a click on its header", _hud_expanded,
             detail=lambda: f"its height {_hud().height} px, {STATE['hud_height']} before"),
        *shot("03b_after_f3_redo_panel"),
        step_redo_change,
        step_redo_change_check,
        *shot("03c_redo_change_marks_result"),
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
