# SPDX-License-Identifier: GPL-3.0-or-later
"""Script API for pipelines: ``from bvh_leakfree_addon import api`` (or ``bl_ext.<repo>.…``).

Importable without registering the add-on; works in ``blender -b`` and the PyPI ``bpy`` module::

    bvh = api.build(objects)                 # evaluated geometry, world space, instances included
    hit = bvh.ray_cast(origin, direction)    # Hit: location, normal, object, instancer, ...
    location, normal, index, distance = hit  # ... or unpacked like BVHTree.ray_cast's tuple
    # ... move objects ...
    bvh.update()                             # or api.build(objects) again: only what changed

- Building and casting: :func:`build` → :class:`SceneBVH` (``ray_cast``, ``ray_cast_many``,
  ``cast_camera``, ``visibility``, ``find_nearest``, ``tree``, ``source_of``, ``update``);
  :func:`camera_rays`; :func:`ray_backends`.
- BlenderProc: :func:`create_bvh_tree_multi_objects`, a drop-in for BlenderProc's function of
  that name (same tree, same hits, no datablock made; it defaults to ``evaluated=False`` as
  BlenderProc does, where :func:`build` defaults to ``True``); more drop-ins in
  ``bvh_leakfree_addon.blenderproc_compat``.
- Leaks: :func:`leak_guard` records every ID by identity and raises :class:`LeakError` when
  ``bpy.data`` grew inside the block, with a :class:`LeakReport` naming what was added and
  removed and how Blender's own memory moved; :func:`datablock_counts`, :func:`orphans`,
  :func:`purge_orphans` and :func:`purge_preview` (what a purge would delete, the recursive
  cascade included, without deleting); :func:`memory_figure` (Blender's own memory, what its
  status bar shows, with its resolution; the RSS with a note when it cannot be read) and
  :func:`process_rss_bytes`.
- The cache: :func:`clear_cache`, :func:`cache_info`, :func:`set_cache_limit`; :func:`shutdown`
  also removes the core's one runtime hook, a change watch (callbacks in
  ``depsgraph_update_post``, ``frame_change_post``, ``undo_post``, ``redo_post`` and
  ``load_post``) that lets an unchanged ``build()``/``update()`` skip every object.  It is added on
  the first build; the add-on's unregister calls ``shutdown()``.

Type arguments (``leak_guard``, ``datablock_counts``, ``orphans``, ``purge_*``) take ``bpy.data``
collection names (``'meshes'``) and Blender's ID type codes (``'MESH'``) alike.
"""
import atexit as _atexit

import bpy as _bpy

from .core import backends as _backends
from .core import cache as _cache
from .core import camera as _camera
from .core import embree as _embree
from .core import handles as _handles
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
            context's.  Checked: anything but a ``bpy.types.Depsgraph`` or None is a
            ``TypeError`` naming it.

    Returns:
        ``(origins, directions)``: float64 arrays shaped (height, width, 3), directions of unit
        length, row 0 at the top of the image.

    Raises:
        TypeError: ``camera`` is not a camera object, a resolution side is not an integer, or
            ``depsgraph`` is not a depsgraph.
        ReferenceError: the camera was deleted.
        ValueError: a panoramic camera, a bad resolution, or a camera with a non-finite or
            zero-scale world matrix.
    """
    if _handles.check_depsgraph(depsgraph) is None:
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

    The add-on's unregister calls it; scripts may call it when they are done, and it runs at
    interpreter exit for those that do not.  A later :func:`build` starts again from nothing.

    Returns:
        None.

    Raises:
        Nothing.
    """
    _cache.shutdown()
    _embree.release()
    _handles.forget_stale()


# At exit, before the bpy module's own exit (registered when bpy was imported: exit functions run
# last-in first-out).  Else the bpy module reports the trees still cached as "Not freed memory
# blocks" (5.x), and 4.2 / 4.5 crash / hang in their own exit while the change watch is installed
# (measured after update() dropped a deleted object: tests/core/test_hostile_queries.py).
_atexit.register(shutdown)
