"""Fixtures shared by the core tests."""
import math

import pytest
import scene_builders as sb


@pytest.fixture
def scene():
    """A small scene: a subdivided cube, an icosphere, a grid with a shape key, linked twins."""
    a = sb.mesh_object("cube", sb.cube_mesh("c"), (0, 0, 0))
    a.modifiers.new("sub", 'SUBSURF').levels = 1
    b = sb.mesh_object("ico", sb.ico_mesh("i"), (3, 0, 0))
    c = sb.mesh_object("grid", sb.grid_mesh("g", bumpy=False), (0, 3, 0))
    c.shape_key_add(name="Basis")
    key = c.shape_key_add(name="Up")
    for point in key.data:
        point.co.z += 0.5 * math.cos(point.co.x)
    shared = sb.ico_mesh("shared", 1)
    d = sb.mesh_object("twin0", shared, (-3, 0, 0))
    e = sb.mesh_object("twin1", shared, (-3, 3, 0))
    return [a, b, c, d, e]


@pytest.fixture(scope="session")
def bproc():
    """BlenderProc 2.8.0's modules (see blenderproc_real); skips where it is not installed."""
    import blenderproc_real
    return blenderproc_real.load()
