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
from .patching import PATCHED, Patch, patch
from .scene_rays import scene_coverage_score, visible_objects
from .tree_rays import (
    create_bvh_tree_multi_objects,
    depth_at_points_via_raytracing,
    depth_via_raytracing,
    perform_obstacle_in_view_check,
)

__all__ = ("create_bvh_tree_multi_objects", "perform_obstacle_in_view_check",
           "depth_via_raytracing", "depth_at_points_via_raytracing", "visible_objects",
           "scene_coverage_score", "patch", "Patch", "PATCHED")
