"""Issue 23.3, the cursor-on-a-surface rule (cast/start.py): a cursor lying on a surface (as
Shift+right-click leaves it, a little in front of or behind) does not hit that surface at once; the
result says where the ray started ("started on Cube's surface", "started inside Cube") and when it
hit a face's back."""
import bpy

import pytest
from mathutils import Vector
from test_cast_support import cast_state, cube, select_only, set_cursor

DOWN = 'GLOBAL_NEG_Z'


@pytest.fixture
def box(addon):
    """A 2 m cube centred at the origin, selected: its top face is at z = 1."""
    obj = cube("Box")
    select_only(obj)
    return obj


def addon_report(cast):
    import sys

    from helpers import ADDON_MODULE
    return sys.modules[ADDON_MODULE + ".cast.result"].report_text(cast)


def _cast(**kwargs):
    assert bpy.ops.object.bvh_cast_from_cursor(**kwargs) == {'FINISHED'}
    return cast_state()


@pytest.mark.parametrize("offset", [1e-6, -1e-6, 0.0])
def test_a_cursor_on_the_top_face_does_not_hit_it(box, offset):
    """In front of, behind or exactly on the face: the ray goes on into the cube and hits the
    inside of its bottom face, and says both."""
    set_cursor((0.2, 0.3, 1.0 + offset))
    cast = _cast(direction=DOWN)
    assert cast.hit and cast.object_name == "Box"
    assert Vector(cast.location).z == pytest.approx(-1.0, abs=1e-5)
    assert cast.hit_distance == pytest.approx(2.0 + offset, abs=1e-5)
    assert "started on Box's surface" in cast.note
    assert "hit the inside of Box (a back face)" in cast.note
    assert "started on Box's surface" in addon_report(cast)   # the status bar says it too


def test_a_cursor_leaving_the_surface_misses_and_says_where_it_started(box):
    set_cursor((0.2, 0.3, 1.0 - 1e-6))
    cast = _cast(direction='GLOBAL_Z')
    assert not cast.hit and cast.note == "started on Box's surface"


def test_a_cursor_in_the_open_hits_the_front_face_and_says_nothing(box):
    set_cursor((0.2, 0.3, 4.0))
    cast = _cast(direction=DOWN)
    assert cast.hit and cast.hit_distance == pytest.approx(3.0, abs=1e-5)
    assert Vector(cast.normal).z == pytest.approx(1.0)
    assert cast.note == ""


def test_a_cursor_just_off_the_surface_is_in_the_open(box):
    """Beyond the tolerance (a script's: a few µm) the face counts: 1 mm above the top is not on
    it."""
    set_cursor((0.2, 0.3, 1.001))
    cast = _cast(direction=DOWN)
    assert cast.hit_distance == pytest.approx(0.001, abs=1e-5) and cast.note == ""


def test_a_cursor_inside_a_closed_mesh_says_so(box):
    """The default scene's first cast: the cursor at the cube's centre."""
    set_cursor((0.0, 0.0, 0.0))
    cast = _cast(direction=DOWN)
    assert cast.hit and Vector(cast.location).z == pytest.approx(-1.0, abs=1e-5)
    assert cast.note == "started inside Box: hit its inside (a back face)"


def test_tolerance_follows_the_depth_buffer_and_float_precision(addon):
    start = addon.cursor_ray
    # 9 m from the eye with Blender's default clip start: the depth buffer's step there, twice.
    assert start.tolerance((0, 0, 0), 9.0, 0.01, 1000.0) == pytest.approx(
        2 * 81 / (0.01 * 2 ** 24), rel=1e-9)
    assert 4e-4 < start.tolerance((0, 0, 0), 9.0, 0.01, 1000.0) < 2e-3  # measured: 0.02-0.43 mm
    # Orthographic: the clip range over the depth buffer's steps.
    assert start.tolerance((0, 0, 0), 9.0, -100.0, 100.0, perspective=False) == pytest.approx(
        2 * 200 / 2 ** 24, rel=1e-9)
    # No view (a script): float precision, growing with the distance from the world origin.
    assert start.tolerance((0, 0, 0)) == pytest.approx(start.FLOAT_TOLERANCE)
    assert start.tolerance((1000, 0, 0)) == pytest.approx(1000 * start.FLOAT_TOLERANCE)
    assert start.tolerance((0, 0, 0), 0.001, 0.01, 1000.0) == start.FLOAT_TOLERANCE


def test_a_view_cast_uses_the_views_tolerance(box):
    """In the 3D viewport the tolerance is the depth buffer's: a cursor 0.3 mm above the face
    (where Shift+right-click can leave it) lies on it; without a view it would not."""
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == 'VIEW_3D')
    region = next(r for r in area.regions if r.type == 'WINDOW')
    rv3d = area.spaces.active.region_3d
    rv3d.view_distance = 10.0
    set_cursor((0.2, 0.3, 1.0003))
    with bpy.context.temp_override(window=window, area=area, region=region):
        cast = _cast(direction=DOWN)
    assert "started on Box's surface" in cast.note, cast.note
    assert Vector(cast.location).z == pytest.approx(-1.0, abs=1e-5)
    cast = _cast(direction=DOWN)                                  # no view: a script's tolerance
    assert cast.note == "" and cast.hit_distance == pytest.approx(0.0003, abs=1e-5)


def test_a_grazing_ray_ignores_a_bounded_stretch_only(addon):
    """Along a ray nearly parallel to the face the slab is long (here 4 cm): at most
    GRAZING_LIMIT tolerances are skipped, so a wall 1 cm further on is still hit."""
    floor = cube("Floor", size=10.0, location=(0.0, 0.0, -5.0))    # top face at z = 0
    wall = cube("Wall", size=1.0, location=(0.51, 0.0, 0.5))       # a face at x = 0.01
    select_only(floor, wall)
    set_cursor((0.0, 0.0, 0.0))
    cast = _cast(direction='CUSTOM', custom_direction=(1.0, 0.0, 1e-4))
    assert cast.hit and cast.object_name == "Wall", addon_report(cast)
    assert cast.hit_distance == pytest.approx(0.01, abs=1e-5)
    assert cast.note == "started on Floor's surface"
