# SPDX-License-Identifier: GPL-3.0-or-later
"""BlenderProc 2.8.0's functions that cast into a BVH tree (``create_bvh_tree_multi_objects``,
``perform_obstacle_in_view_check``, ``depth_via_raytracing``, ``depth_at_points_via_raytracing``):
BlenderProc's rays (``core.blenderproc_rays``), in Embree on the drop-in's triangles or mapped over
any other tree."""
import importlib
import numbers
import sys

import bpy

import numpy as np
from mathutils import Matrix

from .. import api
from ..core import blenderproc as _dropin
from ..core import blenderproc_rays as _rays

__all__ = ("create_bvh_tree_multi_objects", "perform_obstacle_in_view_check",
           "depth_via_raytracing", "depth_at_points_via_raytracing", "blenderproc_name",
           "camera_frame")


def blenderproc_name(module, name):
    """``name`` from BlenderProc's ``module`` (a clear ``ImportError`` when BlenderProc is
    missing)."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as ex:
        raise ImportError(f"bvh_leakfree_addon.blenderproc_compat needs BlenderProc 2.8 "
                          f"(pip install blenderproc==2.8.0): {ex}") from ex


def create_bvh_tree_multi_objects(mesh_objects):
    """BlenderProc's ``create_bvh_tree_multi_objects``: ``api.create_bvh_tree_multi_objects``.

    Args:
        mesh_objects: ``MeshObject`` wrappers or ``bpy.types.Object``s, in order.

    Returns:
        mathutils.bvhtree.BVHTree: BlenderProc's tree (world space, one face per polygon).

    Raises:
        TypeError, ValueError, ReferenceError: as ``api.create_bvh_tree_multi_objects``.
    """
    return api.create_bvh_tree_multi_objects(mesh_objects)


def camera_frame(cam2world_matrix):
    """``(cam2world Matrix, frame (4, 3) float32 in world space, position (3,) float32)`` as
    BlenderProc computes them from ``bpy.context.scene.camera``."""
    matrix = Matrix(cam2world_matrix)
    scene = bpy.context.scene
    frame = np.array([tuple(v) for v in scene.camera.data.view_frame(scene=scene)],
                     dtype=np.float32)
    rows = np.array([tuple(row) for row in matrix], dtype=np.float32)
    world = _rays.frame_world(rows, frame)
    return matrix, world, rows[:3, 3].copy()


def _tree_distances(tree, origin, ends, limit=None):
    """Distances (NaN on a miss) of BlenderProc's rays ``origin → ends`` in ``tree``: Embree on the
    drop-in's triangles when it can, else the tree itself.

    A ``limit`` beyond float32's range (BlenderProc passes ``sys.float_info.max`` for the ``avg``
    and ``var`` checks) reaches ``BVHTree.ray_cast`` as infinity, and then a ray that enters a
    leaf's box but misses its triangles reports a hit at ``FLT_MAX`` (the triangle test's "no hit"
    value is below infinity): BlenderProc's checks see those, so the tree itself answers them."""
    directions = ends - origin
    with np.errstate(over="ignore"):
        overflows = limit is not None and np.isinf(np.float32(limit))
    soup = None if overflows else _rays.soup_for(_dropin.latest(tree))
    if soup is not None:
        return _rays.cast_soup(soup, origin, directions, limit)
    return _rays.cast_tree(tree, origin, directions, limit)


def _sequential_sum(values):
    """``values`` summed left to right in double, as BlenderProc's loop adds them."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def perform_obstacle_in_view_check(cam2world_matrix, proximity_checks, bvh_tree,
                                   sqrt_number_of_rays=10):
    """BlenderProc's ``perform_obstacle_in_view_check``.

    Args:
        cam2world_matrix: the camera pose to check (4 × 4, ``Matrix`` or array).
        proximity_checks: ``{"min": d, "max": d, "avg": {"min": a, "max": b}, "var": {...},
            "no_background": bool}``, combined with AND.
        bvh_tree: the tree to cast into (the drop-in's: Embree on its triangles).
        sqrt_number_of_rays: rays per side of the grid through the camera frame.

    Returns:
        bool: True when the pose satisfies every check.

    Raises:
        RuntimeError, ValueError, KeyError, ZeroDivisionError: where BlenderProc's raises them.
    """
    if not proximity_checks:
        return True
    _matrix, frame, position = camera_frame(cam2world_matrix)
    _check_proximity_arguments(proximity_checks)
    range_distance = sys.float_info.max
    if "avg" not in proximity_checks and "var" not in proximity_checks:
        if "max" in proximity_checks:
            range_distance = proximity_checks["max"] + 1.0
        else:
            range_distance = proximity_checks["min"]
    no_range_distance = bool(proximity_checks.get("no_background"))
    n = sqrt_number_of_rays
    ends = _rays.grid_ends(frame, n)
    dist = _tree_distances(bvh_tree, position, ends, None if no_range_distance else
                           range_distance)
    hit = ~np.isnan(dist)
    hits = dist[hit]
    if "min" in proximity_checks and (hits <= proximity_checks["min"]).any():
        return False
    if "max" in proximity_checks and (hits >= proximity_checks["max"]).any():
        return False
    if no_range_distance and not hit.all():
        return False
    rays = n * n
    if "avg" in proximity_checks:
        avg = _sequential_sum(hits) / rays
        if avg >= proximity_checks["avg"]["max"] or avg <= proximity_checks["avg"]["min"]:
            return False
    if "var" in proximity_checks:
        if "avg" not in proximity_checks:
            avg = _sequential_sum(hits) / rays
        var = _sequential_sum(hits * hits) / rays - avg * avg
        if var >= proximity_checks["var"]["max"] or var <= proximity_checks["var"]["min"]:
            return False
    return True


def _check_proximity_arguments(proximity_checks):
    """BlenderProc's input validation, with its messages."""
    for operator in proximity_checks:
        if operator in ["min", "max"] and not isinstance(proximity_checks[operator],
                                                         numbers.Number):
            raise RuntimeError("Threshold must be a number in perform_obstacle_in_view_check")
        if operator in ["avg", "var"]:
            if "min" not in proximity_checks[operator] or "max" not in proximity_checks[operator]:
                raise RuntimeError("Please specify the accepted interval for the avg and var "
                                   "operators in perform_obstacle_in_view_check")
            if not isinstance(proximity_checks[operator]["min"], numbers.Number) or \
                    not isinstance(proximity_checks[operator]["max"], numbers.Number):
                raise ValueError("Threshold must be a number in perform_obstacle_in_view_check")


def depth_via_raytracing(bvh_tree, frame=None, return_dist=False):
    """BlenderProc's ``depth_via_raytracing``: a depth image of the scene's camera.

    Args:
        bvh_tree: the tree to cast into (the drop-in's: Embree on its triangles).
        frame: the frame whose camera pose is used (None: the current one).
        return_dist: distances along the rays instead of depths.

    Returns:
        numpy.ndarray: [H, W] at the render resolution, ``inf`` where nothing is hit.

    Raises:
        AttributeError: the scene has no camera (as BlenderProc).
    """
    scene = bpy.context.scene
    width, height = scene.render.resolution_x, scene.render.resolution_y
    y = np.arange(height)
    x = np.arange(width)
    points = np.stack(np.meshgrid(x, y), -1).astype(np.float32)
    depth = _depth_at(bvh_tree, points.reshape(-1, 2), frame, return_dist, image=True)
    return np.reshape(depth, [height, width])


def depth_at_points_via_raytracing(bvh_tree, points_2d, frame=None, return_dist=False):
    """BlenderProc's ``depth_at_points_via_raytracing``: depths at image points.

    Args:
        bvh_tree: the tree to cast into (the drop-in's: Embree on its triangles).
        points_2d: [N, 2] pixel coordinates (x to the right, y down).
        frame: the frame whose camera pose is used (None: the current one).
        return_dist: distances along the rays instead of depths.

    Returns:
        numpy.ndarray: [N] values, ``inf`` where nothing is hit.

    Raises:
        AttributeError: the scene has no camera (as BlenderProc).
    """
    return _depth_at(bvh_tree, points_2d, frame, return_dist)


def _depth_at(bvh_tree, points_2d, frame, return_dist, image=False):
    """:func:`depth_at_points_via_raytracing`; ``image``: the points are every pixel, row by row
    (their rays are made per row and column: ``blenderproc_rays.image_ends``)."""
    key_frame = blenderproc_name("blenderproc.python.utility.Utility", "KeyFrame")
    dist2depth = blenderproc_name("blenderproc.python.postprocessing.PostProcessingUtility",
                                  "dist2depth")
    with key_frame(frame):
        scene = bpy.context.scene
        camera = scene.camera
        rows = np.array([tuple(row) for row in camera.matrix_world], dtype=np.float32)
        corners = np.array([tuple(v) for v in camera.data.view_frame(scene=scene)],
                           dtype=np.float32)
        world = _rays.frame_world(rows, corners)
        width, height = scene.render.resolution_x, scene.render.resolution_y
        ends = _rays.image_ends(world, width, height) if image else \
            _rays.pixel_ends(world, points_2d, width, height)
        dists = _tree_distances(bvh_tree, rows[:3, 3], ends)
        dists[np.isnan(dists)] = np.inf
        if not return_dist:
            return dist2depth(dists, points_2d)
        return dists
