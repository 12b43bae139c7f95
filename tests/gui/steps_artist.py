"""GUI steps of issue 23 (the viewport clicked through again by an artist) that need the window
and fit no other plan: a 3D cursor placed on a surface as Shift+right-click places it, the
Datablocks table in a narrow sidebar (dragged to 161 and 221 px), and Blender's memory read in a
translated interface (where Blender has translations).  The overlay at Resolution Scale 2 is in
steps_cast (it looks at the head-on hit)."""
from types import SimpleNamespace

import bpy

import xinput
from bpy_extras.view3d_utils import location_3d_to_region_2d
from gui import (
    INTERACTIVE,
    STATE,
    Wait,
    addon_module,
    check,
    context_override,
    move,
    region,
    screen_xy,
    shot,
    view3d_area,
    wait_drawn,
    wait_pointer,
    window,
)
from mathutils import Vector
from steps_cast import cast_button_click
from steps_common import monitor_current


def _cast_state():
    return bpy.context.window_manager.bvh_leakfree.cast


# --- 23.3: a cursor on a surface ------------------------------------------------------------------
def _sphere_point():
    """A point of the sphere's front half, on screen (X coordinates): where Shift+right-click
    puts the cursor on its surface."""
    area = view3d_area()
    win_region, rv3d = region(area, 'WINDOW'), area.spaces.active.region_3d
    eye = rv3d.view_matrix.inverted().translation
    center = bpy.data.objects["Sphere"].matrix_world.translation
    towards_eye = (eye - center).normalized()
    side = towards_eye.cross(Vector((0.0, 0.0, 1.0))).normalized()
    surface = center + (towards_eye * 0.8 + side * 0.35 + Vector((0, 0, 0.3))).normalized()
    point = location_3d_to_region_2d(win_region, rv3d, surface)
    return screen_xy(win_region.x + point.x, win_region.y + point.y)


def step_pointer_to_sphere():
    STATE["cursor_before_surface"] = bpy.context.scene.cursor.location.copy()
    move(*_sphere_point())


def step_cursor_to_surface():
    """What Shift+right-click runs: the 3D cursor to the surface under the pointer (from the
    depth buffer)."""
    area = view3d_area()
    with bpy.context.temp_override(window=window(), area=area, region=region(area, 'WINDOW')):
        result = bpy.ops.view3d.cursor3d('INVOKE_DEFAULT')
    check('FINISHED' in result, f"Shift+right-click's operator placed the cursor ({result})")


def _cursor_moved():
    return (bpy.context.scene.cursor.location - STATE["cursor_before_surface"]).length > 1e-3


def step_cursor_on_surface_check():
    """The depth buffer leaves the cursor a little off the surface; within the view's
    tolerance, and the cast from there starts on the surface."""
    cursor_ray = addon_module("cursor_ray")
    api = addon_module("api")
    sphere = bpy.data.objects["Sphere"]
    cursor = bpy.context.scene.cursor.location.copy()
    nearest = api.build([sphere]).find_nearest(cursor)
    with context_override():
        within = cursor_ray.tolerance(cursor, **cursor_ray.view_depth(bpy.context, cursor))
    STATE["surface_offset"] = nearest.distance
    check(nearest.distance <= within,
          f"the cursor is {nearest.distance * 1e3:.3f} mm off the sphere's surface, within the "
          f"view's tolerance {within * 1e3:.3f} mm")


def step_surface_cast_check():
    cast = _cast_state()
    check("started on Sphere's surface" in cast.note,
          f"the cast from a cursor on the sphere says where it started ({cast.note!r})")
    check(not cast.hit or cast.hit_distance > 1e-3,
          f"and did not hit the surface it started on ({cast.hit_distance:.6f} m)")


def step_cursor_back():
    bpy.context.scene.cursor.location = STATE["cursor_before_surface"]


def cursor_on_a_surface():
    if not INTERACTIVE:
        return []
    return [
        step_pointer_to_sphere, wait_pointer("over the sphere"),
        step_cursor_to_surface,
        Wait("the 3D cursor placed on the sphere", _cursor_moved),
        step_cursor_on_surface_check,
        *cast_button_click("the cursor on the sphere's surface"),
        step_surface_cast_check,
        *shot("02f_cursor_on_a_surface"),
        step_cursor_back,
    ]


# --- 23.1: a narrow sidebar -----------------------------------------------------------------------
def _sidebar():
    return region(view3d_area(), 'UI')


def _drag_sidebar_to(width):
    """Plan entries: drag the sidebar's left edge until the sidebar is about WIDTH px wide
    (WIDTH: pixels, or a callable giving them when the drag starts)."""
    def target():
        return width() if callable(width) else width

    def edge():
        ui = _sidebar()
        return screen_xy(ui.x + 2, ui.y + ui.height // 2)

    def step_pointer_to_edge():
        move(*edge())

    def step_press():
        STATE["drag_from"], STATE["drag_to"] = edge(), target()
        xinput.button(True)

    def step_start():
        x, y = STATE["drag_from"]
        move(x + 6, y)

    def step_to_width():
        x, y = STATE["drag_from"]
        move(x + _sidebar().width - STATE["drag_to"], y)

    def step_release():
        xinput.button(False)

    return [step_pointer_to_edge, wait_pointer("on the sidebar's edge"), step_press,
            step_start, wait_pointer("a little into the drag"),
            step_to_width, wait_pointer("at the sidebar's new edge"), step_release,
            Wait("the sidebar at the width dragged to (± 8 px)",
                 lambda: abs(_sidebar().width - STATE["drag_to"]) <= 8,
                 detail=lambda: f"{_sidebar().width} px, {STATE['drag_to']} asked")]


def step_narrow_leak():
    """The issue's figures: Meshes 182 / 179 / +181."""
    service = addon_module("monitor.service")
    STATE["width_before_narrow"] = _sidebar().width
    missing = 181 - service.growth("meshes")
    source = bpy.data.objects["Cube"].data
    for _ in range(max(0, missing)):
        source.copy()


def step_narrow_check(width):
    def step():
        """At this width every number shown fits its column by Blender's font metrics (the
        panel's own arithmetic, at the sidebar's real width) and +/- is there."""
        rows, fit = addon_module("monitor.rows"), addon_module("fit")
        service = addon_module("monitor.service")
        context = SimpleNamespace(region=_sidebar(), preferences=bpy.context.preferences)
        shape = rows.table(context, service.tracked_types())
        measure = fit.measure(context)
        shown = [index for index, *_rest in shape.columns]
        check(2 in shown, f"at {_sidebar().width} px the +/- column is shown ({shown})")
        for _index, header, cells, pixels in shape.columns:
            widest = max(measure(text) for text in [header, *cells])
            check(widest + measure.px(fit.CELL_PAD_PX) <= pixels + 0.5,
                  f"'{header}' {cells[shape.rows['meshes']]} fits its {pixels:.0f} px column")
        meshes = cells_of(shape, "meshes")
        check(meshes[-1] == f"+{service.growth('meshes'):,}" or meshes[-1].endswith("k"),
              f"the Meshes row at {_sidebar().width} px: {meshes}")
        STATE[f"narrow_{width}"] = meshes
    step.__name__ = f"step_narrow_check_{width}"
    return step


def cells_of(shape, name):
    return [cells[shape.rows[name]] for _index, _header, cells, _pixels in shape.columns]


def _scroll_to_datablocks():
    """The sidebar scrolled to its top: the Ray Cast panel is folded by now (steps_monitor), so
    the Datablocks panel's table is there."""
    with context_override(view3d_area(), 'UI'):
        for _ in range(20):
            bpy.ops.view2d.scroll_up(page=True)


def narrow_sidebar():
    if not INTERACTIVE:
        return []
    return [
        step_narrow_leak,
        monitor_current("Meshes 182 / 179 / +181"),
        *_drag_sidebar_to(161),
        _scroll_to_datablocks,
        *wait_drawn("sidebar", "the sidebar at 161 px"),
        step_narrow_check(161),
        *shot("05c_sidebar_161_px"),
        *_drag_sidebar_to(221),
        *wait_drawn("sidebar", "the sidebar at 221 px"),
        step_narrow_check(221),
        *shot("05d_sidebar_221_px"),
        *_drag_sidebar_to(lambda: STATE["width_before_narrow"]),
        *wait_drawn("sidebar", "the sidebar back at its width"),
    ]


# --- Blender's memory in a translated interface ---------------------------------------------------
def step_translated_memory():
    """Blender writes its statistics in the interface's language: the memory figure is read in
    German too (sid's Blender has the translations; trixie's has none: nothing to check)."""
    view = bpy.context.preferences.view
    languages = [item.identifier for item in view.bl_rna.properties["language"].enum_items]
    if "de_DE" not in languages:
        print("gui: this Blender has no translations: the translated memory figure not checked")
        return
    memory = addon_module("core.memory")
    old = view.language, view.use_translate_interface
    try:
        view.language, view.use_translate_interface = "de_DE", True
        text = bpy.context.scene.statistics(bpy.context.view_layer)
        figure = memory.memory_figure()
        check("Arbeitsspeicher" in text and figure.source == memory.BLENDER,
              f"Blender's memory read in German ({text!r} → {figure})")
    finally:
        view.language, view.use_translate_interface = old


PLAN_CAST = [*cursor_on_a_surface()]
PLAN_MONITOR = [*narrow_sidebar(), step_translated_memory]
