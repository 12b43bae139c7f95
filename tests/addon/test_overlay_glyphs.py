"""The overlay leaves something visible and readable for every cast, whatever the view: a direction
glyph at the cursor (a ring perpendicular to the ray, sized in pixels, with a cross when the ray
goes away from the viewer and a dot when it comes toward them), an arrowhead along the ray, and a
square at the far end of a miss.  Geometry only (pure, no GPU): the GUI test looks at the drawing.
"""
import math
from types import SimpleNamespace

import bpy

import pytest
from bpy_extras.view3d_utils import location_3d_to_region_2d
from mathutils import Vector
from test_cast_support import cast_state, cube, select_only, set_cursor

ORIGIN = Vector((0.5, -1.0, 2.0))
PIXEL = 0.0125   # world size of one pixel in these tests


def _cast(direction, hit=False, distance=100.0, location=None, normal=(0.0, 0.0, 1.0)):
    """A last result as the overlay reads it (the state's plain properties)."""
    direction = Vector(direction).normalized()
    return SimpleNamespace(has_result=True, hit=hit, ray_origin=ORIGIN.copy(),
                           ray_direction=direction, distance=distance,
                           location=location or (ORIGIN + direction * distance),
                           normal=Vector(normal))


def _segments(points):
    return list(zip(points[0::2], points[1::2], strict=True))


DIRECTIONS = [(0, 0, -1), (0, 0, 1), (1, 0, 0), (0.3, -0.8, -0.5), (-0.2, 0.1, 0.97)]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_glyph_ring_is_perpendicular_to_the_ray_and_sized_in_pixels(addon, direction):
    overlay = addon.cast.overlay
    cast = _cast(direction)
    glyph = overlay.overlay_geometry(cast, lambda _point: PIXEL)["glyph"]
    ray = Vector(cast.ray_direction)
    ring = glyph[:2 * overlay.GLYPH_SEGMENTS]
    radius = overlay.GLYPH_RADIUS_PX * PIXEL
    for point in ring:
        assert (point - ORIGIN).length == pytest.approx(radius, rel=1e-5)
        assert abs((point - ORIGIN).dot(ray)) < 1e-6          # in the plane across the ray
    # Away from the viewer (or no viewer given): a cross (the arrow's tail), four arms from
    # CROSS_INNER_PX out to the ring, at right angles, across the ray.
    cross = _segments(glyph[2 * overlay.GLYPH_SEGMENTS:])
    assert len(cross) == 4
    arms = []
    for start, end in cross:
        assert (start - ORIGIN).length == pytest.approx(overlay.CROSS_INNER_PX * PIXEL, rel=1e-5)
        assert (end - ORIGIN).length == pytest.approx(radius, rel=1e-5)
        assert abs((end - start).dot(ray)) < 1e-6
        arms.append((end - ORIGIN).normalized())
        assert (start - ORIGIN).normalized().dot(arms[-1]) > 0.999999   # radial
    assert sorted(round(a.dot(b), 4) for a in arms for b in arms) == [-1.0] * 4 + [0.0] * 8 \
        + [1.0] * 4


def test_glyph_dot_when_the_ray_comes_toward_the_viewer(addon):
    overlay = addon.cast.overlay
    cast = _cast((0, 0, 1))
    away = overlay.overlay_geometry(cast, lambda _point: PIXEL, view_forward=Vector((0, 0, 1)))
    toward = overlay.overlay_geometry(cast, lambda _point: PIXEL, view_forward=Vector((0, 0, -1)))
    ring = 2 * overlay.GLYPH_SEGMENTS
    assert away["glyph"][:ring] == toward["glyph"][:ring]
    assert len(_segments(away["glyph"][ring:])) == 4                   # the cross
    dot = toward["glyph"][ring:]
    assert len(dot) >= 8
    assert all((p - ORIGIN).length == pytest.approx(overlay.DOT_RADIUS_PX * PIXEL, rel=1e-5)
               for p in dot)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_arrowhead_points_where_the_ray_goes(addon, direction):
    overlay = addon.cast.overlay
    cast = _cast(direction)
    ray = Vector(cast.ray_direction)
    arrow = _segments(overlay.overlay_geometry(cast, lambda _point: PIXEL)["arrow"])
    assert len(arrow) == 4
    tip = ORIGIN + ray * (overlay.ARROW_TIP_PX * PIXEL)
    for point, barb in arrow:
        assert (point - tip).length < 1e-6
        back = (tip - barb).dot(ray)       # the barbs trail behind the tip
        assert back == pytest.approx(overlay.ARROW_HEAD_PX * PIXEL, rel=1e-5)
        side = ((barb - ORIGIN) - ray * (barb - ORIGIN).dot(ray)).length
        assert side == pytest.approx(overlay.ARROW_WIDTH_PX * PIXEL, rel=1e-5)


def test_arrowhead_stays_on_a_short_ray(addon):
    overlay = addon.cast.overlay
    short = 0.05   # shorter than the arrow at this zoom (48 px = 0.6)
    cast = _cast((0, 0, -1), hit=True, distance=short)
    arrow = overlay.overlay_geometry(cast, lambda _point: PIXEL)["arrow"]
    assert all((p - ORIGIN).dot(Vector((0, 0, -1))) <= short + 1e-6 for p in arrow)
    assert all((p - ORIGIN).dot(Vector((0, 0, -1))) >= -1e-6 for p in arrow)


def test_a_miss_ends_in_a_square_across_the_ray_sized_at_its_end(addon):
    overlay = addon.cast.overlay
    cast = _cast((0.3, -0.8, -0.5), distance=40.0)
    ray = Vector(cast.ray_direction)
    end = ORIGIN + ray * 40.0

    def pixel_size(point):   # perspective-like: a pixel is bigger far away
        return PIXEL * (1.0 + (point - ORIGIN).length)

    geometry = overlay.overlay_geometry(cast, pixel_size)
    assert (geometry["ray"][1] - end).length < 1e-5
    square = _segments(geometry["end"])
    assert len(square) == 4
    half_diagonal = overlay.END_MARKER_PX * pixel_size(end)
    for start, stop in square:
        assert (start - end).length == pytest.approx(half_diagonal, rel=1e-4)
        assert abs((start - end).dot(ray)) < 1e-4
        assert (stop - start).length == pytest.approx(half_diagonal * math.sqrt(2), rel=1e-4)
    assert geometry["normal"] == [] and geometry["marker"] == []
    # An infinite miss is drawn to a finite end.
    far = overlay.overlay_geometry(_cast((0, 0, -1), distance=1e30), pixel_size)
    assert (far["ray"][1] - ORIGIN).length == pytest.approx(overlay.MAX_DRAWN_LENGTH)


def test_a_hit_has_glyph_and_arrow_but_no_end_square(addon):
    overlay = addon.cast.overlay
    cast = _cast((0, 0, -1), hit=True, distance=3.0)
    geometry = overlay.overlay_geometry(cast, lambda _point: PIXEL)
    assert geometry["glyph"] and geometry["arrow"] and geometry["normal"] and geometry["marker"]
    assert geometry["end"] == []


def _view3d():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == 'VIEW_3D')
    return window, area, next(r for r in area.regions if r.type == 'WINDOW')


def test_a_view_cast_reads_head_on_in_the_view_it_was_cast_in(addon):
    """Issue 15: Direction "View" casts along the line of sight, so the ray draws as one point on
    the screen; the glyph around it is a full ring of GLYPH_RADIUS_PX pixels with its cross."""
    window, area, region = _view3d()
    rv3d = area.spaces.active.region_3d
    assert rv3d.is_perspective
    select_only(cube("Target", location=(30.0, 0.0, 0.0)))   # far off the line: a miss
    set_cursor((0.3, 0.2, 1.0))
    with bpy.context.temp_override(window=window, area=area, region=region):
        assert bpy.ops.object.bvh_cast_from_cursor(direction='VIEW') == {'FINISHED'}
    cast = cast_state()
    assert not cast.hit
    overlay = addon.cast.overlay
    geometry = overlay.view_geometry(cast, region, rv3d)

    def screen(point):
        return location_3d_to_region_2d(region, rv3d, point)

    start, end = (screen(p) for p in geometry["ray"])
    assert (end - start).length < 1.0                       # the ray itself: a single point
    center = screen(Vector(cast.ray_origin))
    ring = geometry["glyph"][:2 * overlay.GLYPH_SEGMENTS]
    radii = [(screen(p) - center).length for p in ring]
    assert min(radii) > 0.9 * overlay.GLYPH_RADIUS_PX        # a ring on the screen, not a line
    assert max(radii) < 1.1 * overlay.GLYPH_RADIUS_PX
    assert len(_segments(geometry["glyph"][len(ring):])) == 4   # the cross: away from the viewer
    square = [(screen(p) - center).length for p in geometry["end"]]
    assert square and max(square) > 0.9 * overlay.END_MARKER_PX   # the far end shows too


def _corners(points, center):
    """The distinct corners of line segments around ``center`` (rounded: shared ends count once)."""
    return {tuple(round(c, 6) for c in (p - center)) for p in points}


def test_the_hit_marker_is_a_double_diamond_not_a_ring(addon):
    """Issue 23.8: head-on the hit lies right behind the cursor; Blender's cursor and the direction
    glyph are rings, so the hit is a diamond (two, nested) in the surface: four corners each."""
    overlay = addon.cast.overlay
    cast = _cast((0, 0, -1), hit=True, distance=3.0)
    end = Vector(cast.location)
    marker = overlay.overlay_geometry(cast, lambda _point: PIXEL)["marker"]
    assert len(_segments(marker)) == 8
    corners = _corners(marker, end)
    assert len(corners) == 8
    radii = sorted({round(Vector(c).length / PIXEL, 2) for c in corners})
    assert radii == [overlay.MARKER_INNER_PX, overlay.MARKER_RADIUS_PX]
    glyph = overlay.overlay_geometry(cast, lambda _point: PIXEL)["glyph"]
    ring = glyph[:2 * overlay.GLYPH_SEGMENTS]
    assert len(_corners(ring, ORIGIN)) == overlay.GLYPH_SEGMENTS      # the glyph stays a ring
    assert overlay.MARKER_RADIUS_PX < overlay.GLYPH_RADIUS_PX


@pytest.mark.parametrize("scale", [1.0, 2.0, 1.25])
def test_every_size_grows_with_the_interface_scale(addon, scale):
    """Issue 23.8: at Resolution Scale 2 Blender's cursor doubles; so do the glyph, the arrow, the
    marker, the normal and a miss's end square."""
    overlay = addon.cast.overlay
    hit = _cast((0.3, -0.8, -0.5), hit=True, distance=3.0)
    miss = _cast((0.3, -0.8, -0.5), distance=40.0)
    one = {**overlay.overlay_geometry(hit, lambda _point: PIXEL),
           "end": overlay.overlay_geometry(miss, lambda _point: PIXEL)["end"]}
    scaled = {**overlay.overlay_geometry(hit, lambda _point: PIXEL, scale=scale),
              "end": overlay.overlay_geometry(miss, lambda _point: PIXEL, scale=scale)["end"]}
    centers = {"glyph": ORIGIN, "arrow": ORIGIN, "marker": Vector(hit.location),
               "normal": Vector(hit.location), "end": ORIGIN + Vector(miss.ray_direction) * 40.0}
    for key, center in centers.items():
        assert one[key], key
        for a, b in zip(one[key], scaled[key], strict=True):
            assert (b - center).length == pytest.approx(scale * (a - center).length, rel=1e-5), key
    assert one["ray"] == scaled["ray"]          # the ray itself is where it is


def test_ui_scale_reads_the_preferences(addon):
    """The effective scale (Resolution Scale times the display's) in a window; in background mode
    Blender gives 0 there, and the overlay draws nothing anyway: 1.  The GUI test measures the
    drawing at Resolution Scale 2."""
    overlay = addon.cast.overlay
    system = bpy.context.preferences.system.ui_scale
    assert overlay.ui_scale() == pytest.approx(system if system > 0 else 1.0)
    fake = SimpleNamespace(preferences=SimpleNamespace(system=SimpleNamespace(ui_scale=2.0)))
    assert overlay.ui_scale(fake) == 2.0
    fake.preferences.system.ui_scale = float("nan")
    assert overlay.ui_scale(fake) == 1.0


def test_the_hit_label_names_the_object_and_distance(addon):
    overlay = addon.cast.overlay
    select_only(cube("Target"))
    set_cursor((0.0, 0.0, 4.0))
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    assert overlay.label_text(cast_state()) == "Target, 3.00 m"
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z')
    assert overlay.label_text(cast_state()) == ""          # a miss: its end square says it
    assert overlay.label_text(None) == ""
