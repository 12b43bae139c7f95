# SPDX-License-Identifier: GPL-3.0-or-later
"""Drop-ins for BlenderProc 2.8.0's ray functions, and one call that puts them in its place.

    from bvh_leakfree_addon import blenderproc_compat
    blenderproc_compat.patch()          # BlenderProc's own calls now land here (handle.undo())

Each function takes BlenderProc's arguments and returns what BlenderProc's returns; the rays are
BlenderProc's own, bit for bit (``core.blenderproc_rays``), cast in bulk:

* ``create_bvh_tree_multi_objects(mesh_objects)``: ``api.create_bvh_tree_multi_objects`` (the same
  tree, no datablock, nothing evaluated).
* ``perform_obstacle_in_view_check``, ``depth_via_raytracing``,
  ``depth_at_points_via_raytracing`` take a BVH tree.  Given the tree the drop-in above returned
  last (over triangle meshes), the rays go to an Embree scene of its very triangles (when
  ``embreex`` is installed): distances agree to float32 rounding.  Any other tree answers itself,
  all rays mapped over ``BVHTree.ray_cast`` in C (BlenderProc's results exactly).
* ``visible_objects`` and ``scene_coverage_score`` cast what BlenderProc casts with
  ``Scene.ray_cast``: the evaluated geometry of every object visible in the view layer, instances
  included.  Here that is one ``api.build`` of those objects (reused while the scene does not
  change), cast with Embree where it is installed.

BlenderProc itself must be importable (its ``MeshObject``, ``KeyFrame`` and ``dist2depth`` are
used so that results are BlenderProc's); nothing of this module imports any UI.
"""
import importlib
import numbers
import sys

import bpy

import numpy as np
from mathutils import Matrix

from . import api
from .core import blenderproc as _dropin
from .core import blenderproc_rays as _rays

__all__ = ("create_bvh_tree_multi_objects", "perform_obstacle_in_view_check",
           "depth_via_raytracing", "depth_at_points_via_raytracing", "visible_objects",
           "scene_coverage_score", "patch", "Patch", "PATCHED")

#: where BlenderProc 2.8.0 defines each function this module replaces
PATCHED = {
    "blenderproc.python.types.MeshObjectUtility": ("create_bvh_tree_multi_objects",),
    "blenderproc.python.camera.CameraValidation": ("perform_obstacle_in_view_check",
                                                   "visible_objects", "scene_coverage_score"),
    "blenderproc.python.camera.CameraProjection": ("depth_via_raytracing",
                                                   "depth_at_points_via_raytracing"),
}


def _blenderproc(module, name):
    """``name`` from BlenderProc's ``module`` (a clear ``ImportError`` when BlenderProc is
    missing)."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as ex:
        raise ImportError(f"bvh_leakfree_addon.blenderproc_compat needs BlenderProc 2.8 "
                          f"(pip install blenderproc==2.8.0): {ex}") from ex


def create_bvh_tree_multi_objects(mesh_objects):
    """BlenderProc's ``create_bvh_tree_multi_objects``: ``api.create_bvh_tree_multi_objects``
    (see there)."""
    return api.create_bvh_tree_multi_objects(mesh_objects)


# ------------------------------------------------------------------------------------------------
# Rays of a BVH tree
# ------------------------------------------------------------------------------------------------

def _camera_frame(cam2world_matrix):
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
    drop-in's triangles when it can, else the tree itself."""
    directions = ends - origin
    soup = _rays.soup_for(_dropin.latest(tree))
    if soup is not None:
        return _rays.cast_soup(soup, origin, directions, limit)
    return _rays.cast_tree(tree, origin, directions, limit)


def _sequential_sum(values):
    """``values`` summed left to right in double, as BlenderProc's loop adds them."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def perform_obstacle_in_view_check(cam2world_matrix, proximity_checks, bvh_tree,
                                   sqrt_number_of_rays=10):
    """BlenderProc's ``perform_obstacle_in_view_check``: True when no ray of the grid violates
    ``proximity_checks`` (``min``, ``max``, ``avg``, ``var``, ``no_background``)."""
    if not proximity_checks:
        return True
    _matrix, frame, position = _camera_frame(cam2world_matrix)
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
    """BlenderProc's ``depth_via_raytracing``: the depth (or distance) image [H, W] of the
    scene's camera at ``frame`` (None: the current one) through ``bvh_tree``; ``inf`` where no
    object is hit."""
    scene = bpy.context.scene
    width, height = scene.render.resolution_x, scene.render.resolution_y
    y = np.arange(height)
    x = np.arange(width)
    points = np.stack(np.meshgrid(x, y), -1).astype(np.float32)
    depth = depth_at_points_via_raytracing(bvh_tree, points.reshape(-1, 2), frame, return_dist)
    return np.reshape(depth, [height, width])


def depth_at_points_via_raytracing(bvh_tree, points_2d, frame=None, return_dist=False):
    """BlenderProc's ``depth_at_points_via_raytracing``: depth (or distance) values [N] at the
    image points ``points_2d`` [N, 2]; ``inf`` where no object is hit."""
    key_frame = _blenderproc("blenderproc.python.utility.Utility", "KeyFrame")
    dist2depth = _blenderproc("blenderproc.python.postprocessing.PostProcessingUtility",
                              "dist2depth")
    with key_frame(frame):
        scene = bpy.context.scene
        camera = scene.camera
        rows = np.array([tuple(row) for row in camera.matrix_world], dtype=np.float32)
        corners = np.array([tuple(v) for v in camera.data.view_frame(scene=scene)],
                           dtype=np.float32)
        world = _rays.frame_world(rows, corners)
        ends = _rays.pixel_ends(world, points_2d, scene.render.resolution_x,
                                scene.render.resolution_y)
        dists = _tree_distances(bvh_tree, rows[:3, 3], ends)
        dists[np.isnan(dists)] = np.inf
        if not return_dist:
            return dist2depth(dists, points_2d)
        return dists


# ------------------------------------------------------------------------------------------------
# Rays of the scene (what Scene.ray_cast sees)
# ------------------------------------------------------------------------------------------------

def _scene_hits(cam2world_matrix, sqrt_number_of_rays):
    """``(objects, object index per ray (-1: miss))`` of BlenderProc's grid of rays cast into the
    evaluated scene, as ``Scene.ray_cast`` sees it: every object visible in the view layer,
    instances included."""
    _matrix, frame, position = _camera_frame(cam2world_matrix)
    ends = _rays.grid_ends(frame, sqrt_number_of_rays)
    view_layer = bpy.context.view_layer
    visible = [obj for obj in view_layer.objects if obj.visible_get(view_layer=view_layer)]
    if not len(ends) or not visible:
        return [], np.full(len(ends), -1, dtype=np.int64)
    bvh = api.build(visible)
    directions = (ends - position).astype(np.float64)
    keep = np.abs(directions).sum(axis=1) > 0.0
    index = np.full(len(ends), -1, dtype=np.int64)
    if keep.any():
        backend = "embree" if "embree" in api.ray_backends() else "mathutils"
        found = bvh.ray_cast_many(np.broadcast_to(position.astype(np.float64),
                                                  directions[keep].shape),
                                  directions[keep], backend=backend)
        index[keep] = found["object_index"]
    return bvh.objects, index


def visible_objects(cam2world_matrix, sqrt_number_of_rays=10):
    """BlenderProc's ``visible_objects``: the set of ``MeshObject`` hit by the grid of
    ``sqrt_number_of_rays`` × ``sqrt_number_of_rays`` rays through the camera frame."""
    mesh_object = _blenderproc("blenderproc.python.types.MeshObjectUtility", "MeshObject")
    objects, index = _scene_hits(cam2world_matrix, sqrt_number_of_rays)
    return {mesh_object(objects[i]) for i in np.unique(index[index >= 0]).tolist()}


def scene_coverage_score(cam2world_matrix, special_objects=None, special_objects_weight=2,
                         sqrt_number_of_rays=10):
    """BlenderProc's ``scene_coverage_score``: how much of the view is covered by how many
    different objects (or classes: ``category_id``, SUNCG / 3D-FRONT ``coarse_grained_class``)."""
    if special_objects is None:
        special_objects = []
    num_of_rays = sqrt_number_of_rays * sqrt_number_of_rays
    objects, index = _scene_hits(cam2world_matrix, sqrt_number_of_rays)
    hit = index[index >= 0]
    counts = np.bincount(hit, minlength=len(objects)) if len(hit) else np.zeros(0, np.int64)
    first = {}
    for position, i in enumerate(hit.tolist()):       # classes in the order rays first hit them
        first.setdefault(i, position)
    score = 0.0
    objects_hit = {}
    for i in sorted(first, key=first.__getitem__):
        obj, count = objects[i], int(counts[i])
        key, weight = _coverage_class(obj, special_objects, special_objects_weight)
        score += weight * count
        if key is not None:
            objects_hit[key] = objects_hit.get(key, 0) + count
    scene_variance = len(objects_hit) / 3.0
    for object_hit_value in objects_hit.values():
        scene_variance *= 1.0 - object_hit_value / float(num_of_rays)
    return scene_variance * (score / float(num_of_rays))


def _coverage_class(obj, special_objects, special_objects_weight):
    """``(key counted in objects_hit or None, score per ray)`` of a hit object, by BlenderProc's
    rules."""
    special_dataset = "is_suncg" in obj or "is_3d_front" in obj
    suncg_object = "suncg_type" in obj and obj["suncg_type"] == "Object"
    front_object = "3D_future_type" in obj and obj["3D_future_type"] == "Object"
    if special_dataset and suncg_object or special_dataset and front_object:
        if "coarse_grained_class" in obj:
            object_class = obj["coarse_grained_class"]
            weight = special_objects_weight if object_class in special_objects else 1
            return object_class, weight
        return None, 1
    if "category_id" in obj:
        object_class = obj["category_id"]
        weight = special_objects_weight if object_class in special_objects else 1
        return object_class, weight
    return obj, 1


# ------------------------------------------------------------------------------------------------
# patch()
# ------------------------------------------------------------------------------------------------

_originals = {}     # name -> BlenderProc's own function, recorded by the first patch()


def _blenderproc_modules():
    return [module for name, module in sorted(sys.modules.items())
            if module is not None and (name == "blenderproc" or name.startswith("blenderproc."))]


class Patch:
    """The handle :func:`patch` returns: ``undo()`` puts BlenderProc's own functions back in every
    loaded BlenderProc module holding one of this module's (those imported after the patch too;
    idempotent); also a context manager (undone on leaving the block)."""

    def __init__(self, replaced):
        self.replaced = replaced      #: ``(module name, function name)`` replaced by patch()

    def undo(self):
        ours = {name: globals()[name] for names in PATCHED.values() for name in names}
        for module in _blenderproc_modules():
            for name, function in ours.items():
                if getattr(module, name, None) is function:
                    setattr(module, name, _originals[name])
        self.replaced = []

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.undo()
        return False

    def __repr__(self):
        return f"<blenderproc_compat.Patch: {len(self.replaced)} names replaced>"


def patch():
    """Replace BlenderProc's ``create_bvh_tree_multi_objects``, ``perform_obstacle_in_view_check``,
    ``depth_via_raytracing``, ``depth_at_points_via_raytracing``, ``visible_objects`` and
    ``scene_coverage_score`` by this module's, in the modules that define them (so modules
    imported later take these) and in every loaded BlenderProc module holding one of them
    (``blenderproc.api.camera``, ``blenderproc.api.object``, ``IntersectingSpotLight``, …).

    Returns a :class:`Patch` (``.undo()``, or use it as a context manager).  ``ImportError`` when
    BlenderProc is not installed."""
    for module_name, names in PATCHED.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as ex:
            raise ImportError(f"blenderproc_compat.patch() needs BlenderProc 2.8 (pip install "
                              f"blenderproc==2.8.0): {ex}") from ex
        for name in names:
            current = getattr(module, name)
            if current is not globals()[name]:
                _originals.setdefault(name, current)
    replaced = []
    for module in _blenderproc_modules():
        for name, original in _originals.items():
            if getattr(module, name, None) is original:
                setattr(module, name, globals()[name])
                replaced.append((module.__name__, name))
    return Patch(replaced)
