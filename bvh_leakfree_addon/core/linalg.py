# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched linear algebra on many 4×4 affine matrices at once (numpy only: no Blender types)."""
import numpy as np

__all__ = ("FAR", "cofactors", "affine_inverse", "singular", "world_boxes", "similarities",
           "all_similarities")

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
