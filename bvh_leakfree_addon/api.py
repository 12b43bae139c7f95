# SPDX-License-Identifier: GPL-3.0-or-later
"""Script API for pipelines: ``from bvh_leakfree_addon import api`` (or ``bl_ext.<repo>.…``).

Importable without registering the add-on; works in ``blender -b`` and the PyPI ``bpy`` module.

    bvh = api.build(objects)                 # evaluated geometry, world space, instances included
    hit = bvh.ray_cast(origin, direction)    # Hit(location, normal, object, instancer, ...)
    ...move objects...
    bvh.update()                             # or api.build(objects) again: only what changed

* ``build(objects, depsgraph=None, *, evaluated=True, instances=True, epsilon=0.0, reuse=True,
  progress=None) -> SceneBVH``
* ``SceneBVH.ray_cast / ray_cast_many / cast_camera / visibility / find_nearest / tree / source_of /
  objects / stats / update``; ``visibility(camera)`` -> ``{object: Visibility(visible, projected,
  fraction)}``: per object, the pixels that see it first, those whose rays cross it, their ratio.
* ``camera_rays(camera, resolution=None, *, depsgraph=None)``: one ray per pixel of a camera.
* ``ray_backends()``: the batched-ray backends available here (``"embree"`` when the optional
  ``embreex`` package imports, and ``"mathutils"``).
* ``create_bvh_tree_multi_objects(objects, *, evaluated=False, depsgraph=None, epsilon=0.0)``:
  a drop-in for BlenderProc's function of that name (same tree, same hits, no datablock made).
* ``leak_guard(collections=None, *, raise_on_leak=True, limit=10)``: records every ID by identity
  (``session_uid``) and raises ``LeakError`` when ``bpy.data`` grew inside the block; the
  ``LeakReport`` (``error.report``, or the yielded one) names what was added and removed per type
  (``limit`` names each, with a count of the rest), which added ones are orphans, who uses the
  others, IDs replaced one for one (``churn``), Blender's own memory (``memory_before``/
  ``memory_after``, what the status bar shows) and the process's RSS before and after.
* ``memory_figure(scene=None, view_layer=None) -> MemoryFigure``: Blender's allocated memory as
  ``Scene.statistics()`` reports it (bytes and resolution), or the RSS with a note saying why.
* ``datablock_counts``, ``orphans``, ``purge_orphans`` and ``purge_preview`` (what a purge would
  delete, the recursive cascade included, without deleting).
* ``clear_cache()`` frees every cached object-space tree (the next build starts cold).
* ``shutdown()`` also removes the core's one runtime hook: a change watch (one callback in
  ``depsgraph_update_post``, ``frame_change_post``, ``undo_post``, ``redo_post`` and ``load_post``)
  that lets an unchanged ``build()``/``update()`` skip every object.  It is added on the first
  build; the add-on's unregister calls ``shutdown()``.
"""
import bpy as _bpy

from .core import backends as _backends
from .core import cache as _cache
from .core import camera as _camera
from .core import embree as _embree
from .core.blenderproc import create_bvh_tree_multi_objects
from .core.bvh import BuildStats, Hit, RayResults, SceneBVH, Visibility, build
from .core.datablocks import DatablockCount, datablock_counts, orphans, purge_orphans, purge_preview
from .core.identity import IdInfo, TypeChange
from .core.leaks import LeakError, LeakReport, leak_guard
from .core.memory import MemoryFigure, memory_figure, process_rss_bytes

__all__ = ["build", "create_bvh_tree_multi_objects", "SceneBVH", "Hit", "BuildStats", "RayResults",
           "Visibility",
           "camera_rays", "ray_backends", "clear_cache", "cache_info", "CacheInfo",
           "set_cache_limit", "DEFAULT_CACHE_LIMIT_BYTES", "shutdown", "LeakError", "LeakReport",
           "leak_guard", "TypeChange", "IdInfo", "process_rss_bytes", "memory_figure",
           "MemoryFigure", "datablock_counts", "DatablockCount", "orphans", "purge_orphans",
           "purge_preview"]


def camera_rays(camera, resolution=None, *, depsgraph=None):
    """One ray per pixel of ``camera``, through the pixel centres, in world space.

    Perspective and orthographic cameras; sensor fit, focal length, sensor size, orthographic
    scale, lens shift and the scene's pixel aspect as Blender's renders use them (the frame is the
    one ``camera.data.view_frame(scene=...)`` draws).  No clipping is applied.
    ``SceneBVH.cast_camera`` casts them and adds the depth.

    Args:
        camera: a camera object (``bpy.types.Object`` of type ``'CAMERA'``).
        resolution: ``(width, height)`` in pixels, or None for the render resolution ×
            percentage of the depsgraph's scene.
        depsgraph: where the camera is evaluated (animation, constraints, parents); default the
            context's.

    Returns:
        ``(origins, directions)``: float64 arrays shaped (height, width, 3), directions of unit
        length, row 0 at the top of the image.

    Raises:
        TypeError: ``camera`` is not a camera object, or a resolution side is not an integer.
        ReferenceError: the camera was deleted.
        ValueError: a panoramic camera, a bad resolution, or a camera with a non-finite or
            zero-scale world matrix.
    """
    if depsgraph is None:
        depsgraph = _bpy.context.evaluated_depsgraph_get()
    return _camera.camera_rays(camera, resolution, depsgraph).owned()


def ray_backends():
    """The backends ``ray_cast_many`` and ``cast_camera`` can use here, fastest first.

    Embree comes with the optional ``embreex`` package (bundled in the add-on's Linux x64,
    Windows x64 and macOS zips; ``pip install embreex``); ``BVH_LEAKFREE_EMBREE=0`` in the
    environment hides it.

    Returns:
        ``("embree", "mathutils")`` when ``embreex`` imports, else ``("mathutils",)``.

    Raises:
        Nothing.
    """
    return _backends.available()


def clear_cache():
    """Free every cached object-space tree: the next build starts cold.

    Returns:
        None.

    Raises:
        Nothing.
    """
    _cache.clear()


DEFAULT_CACHE_LIMIT_BYTES = _cache.DEFAULT_LIMIT_BYTES
"""The cache's limit until :func:`set_cache_limit` changes it: 1 GiB."""


class CacheInfo(tuple):
    """What the cache holds, as :func:`cache_info` gives it: a ``(trees, triangles)`` tuple (as in
    1.0.0) with two more fields.

    Attributes:
        trees: object-space trees cached.
        triangles: their triangles.
        bytes: memory they hold, estimated (the trees' measured bytes per triangle and the arrays
            kept).
        limit_bytes: the limit :func:`set_cache_limit` set (``inf``: none).
    """

    def __new__(cls, trees, triangles, bytes, limit_bytes):
        info = super().__new__(cls, (trees, triangles))
        info.trees, info.triangles = trees, triangles
        info.bytes, info.limit_bytes = bytes, limit_bytes
        return info

    def __repr__(self):
        return (f"CacheInfo(trees={self.trees}, triangles={self.triangles:,}, "
                f"bytes={self.bytes:,}, limit_bytes={self.limit_bytes:,})")


def cache_info():
    """What the tree cache holds now.

    Returns:
        A :class:`CacheInfo`: trees, triangles, bytes and the limit.

    Raises:
        Nothing.
    """
    trees, triangles, nbytes = _cache.size()
    return CacheInfo(trees, triangles, nbytes, _cache.limit())


def set_cache_limit(limit_bytes):
    """Bound the memory of cached trees beyond those of the latest build.

    Least recently used trees go first; trees of geometry that no longer exists are dropped
    whatever the limit.

    Args:
        limit_bytes: bytes (default :data:`DEFAULT_CACHE_LIMIT_BYTES`, 1 GiB), or None for no
            limit.

    Returns:
        None.

    Raises:
        ValueError: not a number of bytes ≥ 0.
    """
    _cache.set_limit(limit_bytes)


def shutdown():
    """Release what the core holds: cached trees, the change watch and the shared Embree device.

    The add-on's unregister calls it; scripts may call it when they are done.  A later
    :func:`build` starts again from nothing.

    Returns:
        None.

    Raises:
        Nothing.
    """
    _cache.shutdown()
    _embree.release()
