# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched linear algebra on many 4×4 affine matrices at once (numpy only: no Blender types)."""
import numpy as np

__all__ = ("FAR", "cofactors", "affine_inverse", "singular", "world_boxes", "similarities",
           "all_similarities", "Float32Frame", "float32_frame", "FLOAT32_MAX_COORDINATE",
           "FLOAT32_MIN_SIZE", "FLOAT32_MAX_RATIO")

#: "no limit" for ``BVHTree.ray_cast`` / ``find_nearest``: their distance is a C float
FAR = 3.0e38

_NEXT = np.array([1, 2, 0])
_AFTER = np.array([2, 0, 1])


def cofactors(mat):
    """Cofactor matrices and determinants of the 3×3 parts of many 4×4 matrices.

    ``cof[i, j] = a[i+1, j+1] a[i+2, j+2] - a[i+1, j+2] a[i+2, j+1]`` (indices mod 3), by fancy
    indexing: a handful of whole-array operations, much cheaper than ``np.cross`` or a batched
    ``np.linalg.det`` / ``inv`` at a few hundred matrices.
    """
    a = mat[:, :3, :3]
    r1 = a[:, _NEXT]
    r2 = a[:, _AFTER]
    cof = r1[:, :, _NEXT] * r2[:, :, _AFTER] - r1[:, :, _AFTER] * r2[:, :, _NEXT]
    det = (a[:, 0] * cof[:, 0]).sum(axis=1)
    return cof, det


def affine_inverse(mat, cof=None, det=None):
    """Inverse of many affine 4×4 matrices (vectorised adjugate; ``cof``, ``det``: from
    :func:`cofactors` when the caller has them)."""
    if cof is None:
        cof, det = cofactors(mat)
    inv3 = cof.transpose(0, 2, 1) / det[:, None, None]
    out = np.zeros_like(mat)
    out[:, :3, :3] = inv3
    out[:, :3, 3] = -np.matmul(inv3, mat[:, :3, 3, None])[:, :, 0]
    out[:, 3, 3] = 1.0
    return out


def singular(m, det=None):
    """(N,) bool: matrices that cannot be inverted (zero scale on some axis): nothing to hit.
    ``det``: the determinants of the 3×3 parts, when the caller has them."""
    a = m[:, :3, :3]
    scale = np.maximum(np.abs(a).reshape(len(a), 9).max(axis=1), 1e-300)
    if det is None:
        det = np.linalg.det(a)
    return np.abs(det) <= 1e-12 * scale ** 3


def world_boxes(mat, bmin, bmax):
    """World-space AABBs of object-space boxes under 4×4 matrices (vectorised)."""
    if len(mat) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3))
    center = 0.5 * (bmin + bmax)
    half = 0.5 * (bmax - bmin)
    wc = np.matmul(mat[:, :3, :3], center[:, :, None])[:, :, 0] + mat[:, :3, 3]
    wh = np.matmul(np.abs(mat[:, :3, :3]), half[:, :, None])[:, :, 0]
    return wc - wh, wc + wh


def similarities(mat):
    """(N,) bool: the matrix is rotation × uniform scale (± mirror) + translation; then the
    nearest point in object space is the nearest point in world space."""
    if len(mat) == 0:
        return np.zeros(0, dtype=bool)
    m = mat[:, :3, :3]
    gram = np.einsum("nki,nkj->nij", m, m)          # MᵀM = s² I for a similarity
    s2 = np.trace(gram, axis1=1, axis2=2) / 3.0
    err = np.abs(gram - s2[:, None, None] * np.eye(3)).max(axis=(1, 2))
    return err <= 1e-5 * s2


def all_similarities(mat):
    """True when every matrix is a similarity (see :func:`similarities`)."""
    return bool(similarities(mat).all())


#: largest coordinate (world units from the frame's origin) a float32 ray backend is given: Embree
#: documents vertex coordinates within ±1.844e18; products of coordinates must stay in float32
FLOAT32_MAX_COORDINATE = 1e17
#: smallest object (world box side) a float32 ray backend is given: its triangles' edge products
#: must stay clear of float32's denormals (~1e-38)
FLOAT32_MIN_SIZE = 1e-15
#: an object's farthest coordinate from the frame's origin may be at most this many times its size
#: (float32 then rounds its vertices to 1/16,384 of its size or better: 2^-24 × 1,024)
FLOAT32_MAX_RATIO = 1024.0


class Float32Frame:
    """Where a float32 backend (Embree) works for a scene: ``origin`` (3,) float64, the centre
    of the scene's world box, which every coordinate is taken relative to; ``extent``, the
    largest coordinate relative to it; ``reason`` why the scene cannot be represented in float32
    well enough (None when it can)."""

    __slots__ = ("origin", "extent", "reason")

    def __init__(self, origin, extent, reason):
        self.origin = origin
        self.extent = extent
        self.reason = reason


def float32_frame(wmin, wmax):
    """:class:`Float32Frame` of rows with world boxes ``wmin``/``wmax`` (N, 3).

    Coordinates relative to the scene's centre keep float32 precise at any offset from the world
    origin (a survey-size scene 5,000 km away is as precise as one at the origin).  What float32
    cannot hold: coordinates beyond :data:`FLOAT32_MAX_COORDINATE`, objects smaller than
    :data:`FLOAT32_MIN_SIZE`, and objects so small next to their distance from the centre (more
    than :data:`FLOAT32_MAX_RATIO` times) that their vertices would be rounded coarser than the
    object-space trees round them (the tiny cube far from the rest of the scene)."""
    if len(wmin) == 0:
        return Float32Frame(np.zeros(3), 0.0, None)
    origin = 0.5 * (wmin.min(axis=0) + wmax.max(axis=0))
    far = np.maximum(np.abs(wmin - origin), np.abs(wmax - origin)).max(axis=1)   # (N,)
    size = (wmax - wmin).max(axis=1)
    extent = float(far.max())
    reason = None
    solid = size > 0.0
    if not np.isfinite(extent) or extent > FLOAT32_MAX_COORDINATE:
        reason = (f"the scene spans {extent:.3g} world units from its centre: beyond float32's "
                  f"range for Embree ({FLOAT32_MAX_COORDINATE:.0e})")
    elif solid.any() and size[solid].min() < FLOAT32_MIN_SIZE:
        reason = (f"an object is {size[solid].min():.3g} world units small: below float32's "
                  f"precision for Embree ({FLOAT32_MIN_SIZE:.0e})")
    elif solid.any():
        ratio = far[solid] / size[solid]
        worst = int(np.argmax(ratio))
        if ratio[worst] > FLOAT32_MAX_RATIO:
            reason = (f"an object {size[solid][worst]:.3g} world units in size lies "
                      f"{far[solid][worst]:.3g} from the centre of the scene: float32 would "
                      f"round it {ratio[worst]:.3g} times coarser than its own size allows "
                      f"(at most {FLOAT32_MAX_RATIO:.0f})")
    return Float32Frame(origin, extent, reason)
