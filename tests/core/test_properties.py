"""Property-based tests (hypothesis) in real bpy, with a fixed seed and a bounded number of examples
so that ``make test`` stays fast and repeatable on every Blender version.

1. Random meshes, transforms (negative and non-uniform scale, parenting) and rays: ``ray_cast``,
   ``ray_cast_many`` and the merged ``.tree`` (through ``source_of``) agree.
2. Random hostile input to the API: the only outcomes are a result or a ``TypeError`` /
   ``ValueError`` / ``ReferenceError`` with a message, and ``bpy.data`` is unchanged.
"""
import contextlib
import math

import bpy

import numpy as np
import scene_builders as sb
from helpers import id_collection_sizes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mathutils import Vector

from bvh_leakfree_addon import api


def bounded(examples):
    """Fixed seed, a bounded number of examples, no example database: the same run every time."""
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


EXPECTED_ERRORS = (TypeError, ValueError, ReferenceError)


@contextlib.contextmanager
def temporary_objects():
    """Objects made inside are removed with their meshes afterwards (each example starts clean)."""
    before_objects = set(bpy.data.objects)
    before_meshes = set(bpy.data.meshes)
    try:
        yield
    finally:
        made = [o for o in bpy.data.objects if o not in before_objects]
        made += [m for m in bpy.data.meshes if m not in before_meshes]
        bpy.data.batch_remove(made)


# --- 1. the three query paths agree -------------------------------------------------------------

scales = st.floats(0.3, 2.5).flatmap(lambda s: st.sampled_from([s, -s]))
object_specs = st.fixed_dictionaries({
    "kind": st.sampled_from(["ico", "cube", "grid"]),
    "location": st.tuples(*[st.floats(-4, 4)] * 3),
    "rotation": st.tuples(*[st.floats(-math.pi, math.pi)] * 3),
    "scale": st.tuples(scales, scales, scales),
    "parent_to_previous": st.booleans(),
})


def _make(i, spec, previous):
    mesh = {"ico": lambda: sb.ico_mesh(f"m{i}", 2), "cube": lambda: sb.cube_mesh(f"m{i}", 1.5),
            "grid": lambda: sb.grid_mesh(f"m{i}", 5, 5, 2.0, bumpy=True)}[spec["kind"]]()
    obj = sb.mesh_object(f"o{i}", mesh, spec["location"], spec["rotation"], spec["scale"])
    if spec["parent_to_previous"] and previous is not None:
        obj.parent = previous
    return obj


def _near_edge_or_grazing(hit, direction):
    """A disagreement between float32 world-space triangles and object-space casts is only
    acceptable for a ray that grazes the surface (the locations then still agree closely)."""
    return abs(float(np.dot(np.asarray(hit.normal), direction))) < 0.05


@bounded(40)
@given(specs=st.lists(object_specs, min_size=1, max_size=4), seed=st.integers(0, 2 ** 16))
def test_ray_cast_equals_ray_cast_many_equals_the_tree(specs, seed):
    with temporary_objects():
        objs, previous = [], None
        for i, spec in enumerate(specs):
            previous = _make(i, spec, previous)
            objs.append(previous)
        bpy.context.view_layer.update()
        bvh = api.build(objs)
        origins, directions = _rays_at_faces(objs, 40, seed)
        many = bvh.ray_cast_many(origins, directions, backend="mathutils")
        assert many.hit.sum() >= 20     # aimed at face centres: the test sees hits
        tree = bvh.tree
        for r in range(len(origins)):
            one = bvh.ray_cast(origins[r], directions[r])
            # ray_cast_many makes the same casts as ray_cast: identical answers
            assert (one is not None) == bool(many.hit[r]), r
            if one is None:
                loc, *_ = tree.ray_cast(Vector(origins[r]), Vector(directions[r]))
                assert loc is None or _grazes_at(bvh, loc, directions[r]), r
                continue
            assert bvh.objects[many.object_index[r]] == one.object
            assert many.polygon_index[r] == one.polygon_index
            assert np.allclose(many.location[r], tuple(one.location), atol=1e-9)
            assert np.allclose(many.normal[r], tuple(one.normal), atol=1e-9)
            # the merged world-space tree: same surface point (float32 triangles)
            loc, nor, index, dist = tree.ray_cast(Vector(origins[r]), Vector(directions[r]))
            if loc is None:
                assert _near_edge_or_grazing(one, directions[r]), r
                continue
            # float32 world-space triangles: a grazing ray (|cos| 2e-4 seen) may land 3e-3 away
            assert (loc - one.location).length < 1e-3 or _near_edge_or_grazing(
                one, directions[r]), r
            obj, polygon = bvh.source_of(index)
            if (obj, polygon) != (one.object, one.polygon_index):
                assert abs(dist - one.distance) < 1e-3, r   # a tie on a shared edge


def _rays_at_faces(objs, n, seed):
    """Rays from random points around the scene towards random face centres (world space)."""
    centers = []
    for obj in objs:
        mesh = obj.data
        local = np.empty(3 * len(mesh.polygons))
        mesh.polygons.foreach_get("center", local)
        matrix = np.array(obj.matrix_world)
        centers.append(local.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3])
    centers = np.concatenate(centers)
    rng = np.random.default_rng(seed)
    targets = centers[rng.integers(0, len(centers), n)]
    origins = targets + rng.normal(0.0, 1.0, (n, 3)) * 12.0
    directions = targets - origins
    return origins, directions / np.linalg.norm(directions, axis=1)[:, None]


def _grazes_at(bvh, loc, direction):
    hit = bvh.find_nearest(loc)
    return hit is not None and _near_edge_or_grazing(hit, direction)


# --- 2. hostile input: a result or a clear error, nothing else ----------------------------------

weird_numbers = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308,
                                 1e-320, 0.0, -0.0, 1e200, 3.0, -2.5])
weird_values = st.one_of(
    weird_numbers,
    st.tuples(weird_numbers, weird_numbers, weird_numbers),
    st.lists(weird_numbers, min_size=0, max_size=5),
    st.sampled_from([None, "abc", "1,2,3", b"xyz", object(), {"x": 1}, complex(1, 2), True,
                     [[1, 2, 3], [4, 5, 6]], [[1, 2], [3, 4]], [["a", "b", "c"]],
                     np.zeros((0, 3)), np.zeros((2, 3), dtype=np.int8),
                     np.array([1, 2, 3], dtype=object), np.full((1, 3), np.nan)]),
)


def _calls(bvh, a, b, c):
    return [
        lambda: bvh.ray_cast(a, b),
        lambda: bvh.ray_cast((0, 0, 5), (0, 0, -1), a),
        lambda: bvh.ray_cast_many(a, b),
        lambda: bvh.ray_cast_many([(0, 0, 5)], a, c),
        lambda: bvh.find_nearest(a, c),
        lambda: bvh.source_of(a),
        lambda: api.build(a),
        lambda: api.build([bvh.objects[0]], epsilon=a),
        lambda: api.build([bvh.objects[0]], progress=a),
        lambda: api.build([bvh.objects[0], a]),
        lambda: api.set_cache_limit(a) if a is not None else None,
        lambda: api.leak_guard(a).__enter__(),
        lambda: api.datablock_counts(a),
        lambda: api.orphans(a),
    ]


@bounded(150)
@given(a=weird_values, b=weird_values, c=weird_values)
def test_hostile_api_input_gives_a_result_or_a_clear_error(a, b, c):
    objs = [sb.mesh_object("H0", sb.ico_mesh("h0", 2), (0, 0, 0)),
            sb.mesh_object("H1", sb.cube_mesh("h1", 1.0), (3, 0, 0))]
    try:
        bvh = api.build(objs)
        before = id_collection_sizes()
        for call in _calls(bvh, a, b, c):
            try:
                call()
            except EXPECTED_ERRORS as ex:
                assert str(ex).strip(), f"{type(ex).__name__} without a message"
            assert id_collection_sizes() == before
    finally:
        api.set_cache_limit(api.DEFAULT_CACHE_LIMIT_BYTES)
        bpy.data.batch_remove(objs + [o.data for o in objs])


@bounded(15)
@given(deleted=st.integers(0, 2), call=st.integers(0, 4))
def test_deleted_objects_give_a_reference_error_or_are_left_out(deleted, call):
    objs = [sb.mesh_object(f"D{i}", sb.cube_mesh(f"d{i}", 1.0), (3 * i, 0, 0)) for i in range(3)]
    meshes = [o.data for o in objs]
    bvh = api.build(objs)
    bpy.data.objects.remove(objs[deleted])
    before = id_collection_sizes()
    calls = [lambda: api.build(objs), lambda: bvh.update(),
             lambda: bvh.ray_cast_many([(3 * deleted, 0, 5)], (0, 0, -1)),
             lambda: bvh.ray_cast((3 * deleted, 0, 5), (0, 0, -1)),
             lambda: bvh.find_nearest((3 * deleted, 0, 0.6))]
    try:
        result = calls[call]()
        if call == 1:       # update() leaves the deleted object out
            assert result.stats.objects_used == 2
    except ReferenceError as ex:
        assert "deleted" in str(ex)
    assert id_collection_sizes() == before
    bpy.data.batch_remove([o for i, o in enumerate(objs) if i != deleted] + meshes)
