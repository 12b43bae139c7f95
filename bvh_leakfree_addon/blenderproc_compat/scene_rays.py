# SPDX-License-Identifier: GPL-3.0-or-later
"""BlenderProc 2.8.0's functions that cast into the scene with ``Scene.ray_cast``
(``visible_objects``, ``scene_coverage_score``): BlenderProc's rays, cast into one ``api.build`` of
the objects ``Scene.ray_cast`` sees (every object visible in the view layer, instances included),
with Embree where it is installed."""
import bpy

import numpy as np

from .. import api
from ..core import blenderproc_rays as _rays
from ..core.visibility import first_objects
from .tree_rays import blenderproc_name, camera_frame

__all__ = ("visible_objects", "scene_coverage_score")


def _scene_hits(cam2world_matrix, sqrt_number_of_rays):
    """``(objects, object index per ray (-1: miss))`` of BlenderProc's grid of rays cast into the
    evaluated scene, as ``Scene.ray_cast`` sees it: every object visible in the view layer,
    instances included."""
    _matrix, frame, position = camera_frame(cam2world_matrix)
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
        d = directions[keep]
        d /= np.linalg.norm(d, axis=1)[:, None]
        index[keep] = first_objects(bvh, np.broadcast_to(position.astype(np.float64), d.shape),
                                    d, backend)[0]
    return bvh.objects, index


def visible_objects(cam2world_matrix, sqrt_number_of_rays=10):
    """BlenderProc's ``visible_objects``: what a grid of rays through the camera frame hits.

    Args:
        cam2world_matrix: the camera pose (4 × 4, ``Matrix`` or array).
        sqrt_number_of_rays: rays per side of the grid.

    Returns:
        set: BlenderProc ``MeshObject``s of the objects hit first by at least one ray.

    Raises:
        ZeroDivisionError: ``sqrt_number_of_rays`` is 1 (as BlenderProc).
    """
    mesh_object = blenderproc_name("blenderproc.python.types.MeshObjectUtility", "MeshObject")
    objects, index = _scene_hits(cam2world_matrix, sqrt_number_of_rays)
    return {mesh_object(objects[i]) for i in np.unique(index[index >= 0]).tolist()}


def scene_coverage_score(cam2world_matrix, special_objects=None, special_objects_weight=2,
                         sqrt_number_of_rays=10):
    """BlenderProc's ``scene_coverage_score``: how much of the view how many objects cover.

    Args:
        cam2world_matrix: the camera pose (4 × 4, ``Matrix`` or array).
        special_objects: classes (``category_id`` or ``coarse_grained_class``) weighted apart.
        special_objects_weight: their weight per ray.
        sqrt_number_of_rays: rays per side of the grid.

    Returns:
        float: BlenderProc's score.

    Raises:
        ZeroDivisionError: ``sqrt_number_of_rays`` is 0 or 1 (as BlenderProc).
    """
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
