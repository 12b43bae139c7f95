# SPDX-License-Identifier: GPL-3.0-or-later
"""BlenderProc 2.8.0's camera rays, bit for bit, and their casts in bulk.

BlenderProc's camera functions (``camera/CameraValidation.py``, ``camera/CameraProjection.py``)
build every ray with ``mathutils`` in float32, one at a time: the camera frame
(``Camera.view_frame``) moved to world space (``Matrix @ Vector``: float32 products summed in
double, then rounded), two frame edges, and per ray ``frame[0] + edge * a / b + ...`` where a
``Vector`` times a number multiplies in float32 and a ``Vector`` divided by ``b`` multiplies by the
float32 reciprocal ``1 / b``.  The functions here perform those operations on whole arrays in
numpy, in the same order and precision, so every origin and direction is the one BlenderProc
casts, bit for bit.

Casts: :func:`cast_tree` asks a ``mathutils`` BVH tree (``map`` over ``BVHTree.ray_cast``: its
very answers, without a Python loop); :func:`cast_soup` asks an Embree scene over the same world
triangles (the drop-in's triangle trees, ``blenderproc.Source``), with the direction normalized as
``BVHTree.ray_cast`` normalizes it (``normalize_v3`` in float32): distances then agree to float32
rounding.
"""
import math
import weakref

import numpy as np

from . import embree, embree_soup

__all__ = ("frame_world", "grid_ends", "pixel_ends", "image_ends", "unit32", "cast_tree",
           "cast_soup", "soup_for")

_soups = weakref.WeakKeyDictionary()    # blenderproc.Source -> embree.SoupScene


def frame_world(matrix, frame):
    """``[matrix @ v for v in frame]`` as ``mathutils`` computes it: ``matrix`` (4, 4) and
    ``frame`` (K, 3) float32 values; returns (K, 3) float32.  Each component is the float32
    products of its row with ``(x, y, z, 1)`` summed in double in column order, then rounded."""
    m = np.asarray(matrix, dtype=np.float32)[:3]                     # rows 0..2
    v = np.concatenate([np.asarray(frame, dtype=np.float32),
                        np.ones((len(frame), 1), dtype=np.float32)], axis=1)
    products = (m[None, :, :] * v[:, None, :]).astype(np.float64)    # (K, 3 rows, 4 cols)
    total = products[:, :, 0] + products[:, :, 1]
    total += products[:, :, 2]
    total += products[:, :, 3]
    return total.astype(np.float32)


def _scaled(vec, factor, divisor):
    """``vec * factor / divisor`` (a float32 ``Vector`` times numbers, per row of ``factor``):
    ``factor`` rounded to float32, the product in float32, then times the float32 reciprocal of
    ``divisor``.  A zero divisor raises ``ZeroDivisionError`` as ``mathutils`` does."""
    divisor = np.float32(divisor)
    if divisor == 0.0:
        raise ZeroDivisionError("Vector division: divide by zero error")
    reciprocal = np.float32(1.0) / divisor
    f = np.asarray(factor, dtype=np.float32)[:, None]
    return (vec[None, :] * f) * reciprocal


def grid_ends(frame, n):
    """The ray targets of BlenderProc's ``sqrt_number_of_rays`` grids (``visible_objects``,
    ``scene_coverage_score``, ``perform_obstacle_in_view_check``): ``frame`` (4, 3) float32 in
    world space; ``n`` × ``n`` points, ``x`` in the outer loop, ``y`` in the inner one:
    ``frame[0] + vec_x * x / float(n - 1) + vec_y * y / float(n - 1)``."""
    if n <= 0:
        return np.zeros((0, 3), dtype=np.float32)
    vec_x = frame[1] - frame[0]
    vec_y = frame[3] - frame[0]
    steps = np.arange(n)
    along_x = _scaled(vec_x, steps, float(n - 1))          # (n, 3)
    along_y = _scaled(vec_y, steps, float(n - 1))
    ends = (frame[0][None, None, :] + along_x[:, None, :]) + along_y[None, :, :]
    return ends.reshape(n * n, 3).astype(np.float32)


def _scalar_dtype(dtype, operation):
    """The dtype NumPy gives ``operation`` on a scalar of ``dtype`` (scalar rules differ from
    array rules on NumPy 1.x: a float32 scalar plus a Python float is a float64 there)."""
    return np.asarray(operation(np.dtype(dtype).type(0))).dtype


def pixel_ends(frame, points, resolution_x, resolution_y):
    """The ray targets of ``depth_at_points_via_raytracing`` at ``points`` (N, 2): per point
    ``frame[0] + vec_x * (resolution_x - (p[0] + 0.5)) / float(resolution_x)
    + vec_y * (p[1] + 0.5) / float(resolution_y)`` with ``vec_x = frame[3] - frame[0]`` and
    ``vec_y = frame[1] - frame[0]``, the per-point numbers computed with NumPy's scalar rules."""
    points = np.asarray(points)
    if len(points) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    half = _scalar_dtype(points.dtype, lambda p: p + 0.5)
    a = points[:, 0].astype(half) + half.type(0.5)
    b = points[:, 1].astype(half) + half.type(0.5)
    back = _scalar_dtype(half, lambda q: resolution_x - q)
    a = np.asarray(resolution_x).astype(back) - a.astype(back)
    vec_x = frame[3] - frame[0]
    vec_y = frame[1] - frame[0]
    ends = frame[0][None, :] + _scaled(vec_x, a, float(resolution_x))
    ends += _scaled(vec_y, b, float(resolution_y))
    return ends.astype(np.float32)


def image_ends(frame, width, height):
    """:func:`pixel_ends` of every pixel of a ``width`` × ``height`` image, row by row (the
    points ``depth_via_raytracing`` passes: a float32 ``meshgrid``), computed per column and per
    row and then added: the same numbers and additions, without a product per pixel."""
    xs = np.arange(width).astype(np.float32)
    ys = np.arange(height).astype(np.float32)
    half = _scalar_dtype(np.float32, lambda p: p + 0.5)
    a = xs.astype(half) + half.type(0.5)
    b = ys.astype(half) + half.type(0.5)
    back = _scalar_dtype(half, lambda q: width - q)
    a = np.asarray(width).astype(back) - a.astype(back)
    along_x = _scaled(frame[3] - frame[0], a, float(width))          # (W, 3)
    along_y = _scaled(frame[1] - frame[0], b, float(height))         # (H, 3)
    ends = (frame[0][None, None, :] + along_x[None, :, :]) + along_y[:, None, :]
    return ends.reshape(width * height, 3)


def unit32(directions):
    """``normalize_v3`` in float32 per row: ``d * (1 / sqrt(d·d))`` when ``d·d > 1e-35``, else
    unchanged (as ``BVHTree.ray_cast`` normalizes its direction).  Returns ``(unit rows, which
    rows could be normalized)``."""
    d = np.asarray(directions, dtype=np.float32)
    sq = d[:, 0] * d[:, 0]
    sq += d[:, 1] * d[:, 1]
    sq += d[:, 2] * d[:, 2]
    ok = sq > np.float32(1e-35)
    if ok.all():
        return d * (np.float32(1.0) / np.sqrt(sq))[:, None], ok
    inv = np.ones_like(sq)
    inv[ok] = np.float32(1.0) / np.sqrt(sq[ok])
    return d * inv[:, None], ok


def cast_tree(tree, origin, directions, limit=None):
    """Distances (float64 (N,); NaN on a miss) of ``tree.ray_cast(origin, direction[, limit])``
    for each row of ``directions`` (unnormalized, as BlenderProc passes them): the tree's own
    answers."""
    o = [float(c) for c in origin]
    rows = np.asarray(directions, dtype=np.float32).tolist()
    if limit is None:
        results = map(tree.ray_cast, [o] * len(rows), rows)
    else:
        results = map(tree.ray_cast, [o] * len(rows), rows, [float(limit)] * len(rows))
    return np.array([r[3] for r in results], dtype=np.float64)    # None -> nan


def soup_for(source):
    """The Embree scene of a drop-in tree's world triangles (built on first use, kept while the
    ``Source`` lives), or None when Embree is not available or the tree kept no triangles."""
    if source is None or source.triangles is None or not embree.available():
        return None
    soup = _soups.get(source)
    if soup is None:
        soup = _soups[source] = embree_soup.soup_scene(source.vertices, source.triangles)
    return soup


def cast_soup(soup, origin, directions, limit=None):
    """:func:`cast_tree`'s distances from the Embree scene ``soup`` (float32 rounding apart)."""
    d, ok = unit32(directions)
    o = np.broadcast_to(np.asarray(origin, dtype=np.float32), d.shape)
    dist = embree_soup.soup_distances(soup, o, d, math.inf if limit is None else float(limit))
    dist[~(np.isfinite(dist) & ok)] = np.nan      # a zero direction hits nothing in a tree
    return dist
