# SPDX-License-Identifier: GPL-3.0-or-later
"""Gathering geometry for the BVH: which objects contribute what, in which space, from which data.

Everything here is read-only towards user data.  Evaluated meshes are read where the depsgraph
keeps them (``Object.data`` of an evaluated mesh object); every other conversion goes through
``Object.to_mesh()``, always paired with ``to_mesh_clear()`` in ``finally``.  No ID datablock is
created.

Per-object trees are built in *object space* with ``BVHTree.FromObject`` (Blender's own C build on
Blender's own triangulation, the same triangles ``Scene.ray_cast`` uses), so transforms can change
without any mesh work.
"""
import hashlib
import math

import bmesh
import numpy as np
from mathutils import Matrix, Vector, geometry
from mathutils.bvhtree import BVHTree

__all__ = ("GEOMETRY_TYPES", "GeomEntry", "mesh_arrays", "edit_mesh_arrays", "to_mesh",
           "to_mesh_clear", "content_key",
           "entry_from_arrays", "entry_from_object", "fill_bounds", "matrix_row", "matrix_row_of",
           "read_matrices",
           "check_finite", "positions")

# Object types whose evaluated geometry can be a triangle mesh.
GEOMETRY_TYPES = frozenset({'MESH', 'CURVE', 'SURFACE', 'FONT', 'META'})
# Resident memory of a mathutils BVHTree per triangle, measured (RSS) on 1M-triangle trees built
# with FromObject: 51.9 bytes on Blender 4.2.23 and 5.0.1.
TREE_BYTES_PER_TRIANGLE = 52


class GeomEntry:
    """One object-space BVH tree over one piece of evaluated geometry (shared by its users).

    ``tri_poly`` maps tree indices to polygon indices when the tree was built from triangles
    (``FromPolygons``); ``None`` when the tree reports polygon indices itself (``FromObject``).
    ``co``/``tris``/``first_tri`` are kept only when needed: for meshes with non-triangle polygons
    (to report the normal of the triangle hit, as ``Scene.ray_cast`` does) and for trees built
    from arrays.  ``arrays`` is a callable giving ``(co, tris, tri_poly)`` for the merged tree.
    """

    __slots__ = ("tree", "bmin", "bmax", "triangles", "tri_poly", "co", "tris", "first_tri",
                 "epsilon", "check", "last_used", "key", "has_ngons", "arrays", "owner", "source",
                 "size")

    def __init__(self, tree, bmin, bmax, triangles, epsilon, *, tri_poly=None, co=None,
                 tris=None, first_tri=None, check=None, key=None, has_ngons=False):
        self.tree = tree
        self.bmin = bmin
        self.bmax = bmax
        self.triangles = triangles
        self.tri_poly = tri_poly
        self.co = co
        self.tris = tris
        self.first_tri = first_tri
        self.epsilon = epsilon
        self.check = check
        self.last_used = 0
        self.key = key
        self.has_ngons = has_ngons
        self.owner = None   # see cache.store
        self.source = None
        self.size = 0       # nbytes when cached (cache.store, cache.resized)
        self.arrays = None
        if co is not None and tris is not None:
            if tri_poly is not None:
                self.arrays = (co, tris, tri_poly)
            elif first_tri is not None:
                polys = np.repeat(np.arange(len(first_tri) - 1, dtype=np.int64),
                                  np.diff(first_tri))
                self.arrays = (co, tris, polys)

    @property
    def nbytes(self):
        """Memory this entry holds: the tree (measured: ``TREE_BYTES_PER_TRIANGLE``) and its
        arrays."""
        if self.arrays is None and self.co is None and self.tri_poly is None:
            return self.triangles * TREE_BYTES_PER_TRIANGLE
        arrays = {id(a): a for a in (self.co, self.tris, self.tri_poly, self.first_tri,
                                     *(self.arrays or ())) if a is not None}
        return self.triangles * TREE_BYTES_PER_TRIANGLE + sum(a.nbytes for a in arrays.values())

    def hit_normal(self, tree_index, polygon, location, tree_normal):
        """Object-space normal to report for a hit: for meshes with non-triangle polygons the
        normal of the triangle hit (facing the way the tree's normal faces), else the tree's."""
        tri_normal = self.triangle_normal(tree_index, polygon, location) if self.has_ngons \
            else None
        if tri_normal is None:
            return np.asarray(tree_normal, dtype=np.float64)
        n_obj = np.asarray(tri_normal, dtype=np.float64)
        if float(np.dot(n_obj, np.asarray(tree_normal, dtype=np.float64))) < 0.0:
            n_obj = -n_obj   # never flip relative to what the tree reported
        return n_obj

    def triangle_normal(self, tree_index, polygon, location):
        """Object-space normal of the triangle of ``polygon`` that contains ``location``.

        ``FromObject`` may report the polygon normal (when the mesh had face normals cached);
        ``Scene.ray_cast`` reports the normal of the triangle hit.  They differ on non-planar
        polygons, so for meshes with non-triangle polygons the triangle is found here.
        Returns ``None`` when no triangle data is kept (all polygons are triangles).
        """
        if self.tris is None:
            return None
        if self.first_tri is not None:
            candidates = range(int(self.first_tri[polygon]), int(self.first_tri[polygon + 1]))
        else:
            candidates = (tree_index,)
        best = None
        best_err = math.inf
        for t in candidates:
            a, b, c = (Vector(self.co[i]) for i in self.tris[t])
            n = geometry.normal(a, b, c)
            if n.length_squared == 0.0:
                continue
            err = abs((location - a).dot(n))
            if geometry.intersect_point_tri(location, a, b, c) is None:
                err += 1.0 + min((location - p).length for p in (a, b, c))
            if err < best_err:
                best_err = err
                best = n
        return best


def to_mesh(src):
    """``src.to_mesh()``: callers pair it with :func:`to_mesh_clear` in ``finally``."""
    return src.to_mesh()


def to_mesh_clear(src):
    src.to_mesh_clear()


def mesh_arrays(mesh):
    """``(co float32 V×3, tris int32 T×3, tri_poly int32 T)`` of a mesh: its loop triangles
    (Blender's own triangulation, in Blender's order) as vertex indices, and their polygons.

    Read from the raw attribute arrays (``position``, ``.corner_vert``, ``loop_triangle_polygons``):
    50–500× faster than the RNA collections (``vertices.co``, ``loop_triangles.vertices``) on large
    meshes.  A mesh of triangles only needs no triangulation: its loop triangles are its polygons'
    corners in order.  Meshes without those arrays use the RNA collections.
    """
    attributes = mesh.attributes
    position = attributes.get("position")
    corner_vert = attributes.get(".corner_vert")
    if position is None or corner_vert is None or position.data_type != 'FLOAT_VECTOR':
        return _mesh_arrays_rna(mesh)
    nv = len(mesh.vertices)
    npoly = len(mesh.polygons)
    nloop = len(mesh.loops)
    co = np.empty(nv * 3, dtype=np.float32)
    position.data.foreach_get("vector", co)
    corners = np.empty(nloop, dtype=np.int32)
    corner_vert.data.foreach_get("value", corners)
    if nloop == 3 * npoly:
        return co.reshape(nv, 3), corners.reshape(npoly, 3), np.arange(npoly, dtype=np.int32)
    mesh.calc_loop_triangles()
    nt = len(mesh.loop_triangles)
    loops = np.empty(nt * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("loops", loops)
    tri_poly = np.empty(nt, dtype=np.int32)
    mesh.loop_triangle_polygons.foreach_get("value", tri_poly)
    return co.reshape(nv, 3), corners[loops].reshape(nt, 3), tri_poly


def _mesh_arrays_rna(mesh):
    """:func:`mesh_arrays` through the RNA collections (the reference the fast path is tested
    against)."""
    nv = len(mesh.vertices)
    co = np.empty(nv * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    mesh.calc_loop_triangles()
    nt = len(mesh.loop_triangles)
    tris = np.empty(nt * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    tri_poly = np.empty(nt, dtype=np.int32)
    mesh.loop_triangles.foreach_get("polygon_index", tri_poly)
    return co.reshape(nv, 3), tris.reshape(nt, 3), tri_poly


def edit_mesh_arrays(mesh):
    """``mesh_arrays`` of a mesh in Edit Mode, from its edit-mode bmesh: the current, unsaved
    edits.  The bmesh belongs to Blender: it is only read (never freed, indices never renumbered).
    None when it has no faces."""
    bm = bmesh.from_edit_mesh(mesh)
    if len(bm.faces) == 0:
        return None
    vert_index = {vert: i for i, vert in enumerate(bm.verts)}
    face_index = {face: i for i, face in enumerate(bm.faces)}
    co = np.array([vert.co for vert in bm.verts], dtype=np.float32).reshape(-1, 3)
    loop_tris = bm.calc_loop_triangles()
    tris = np.array([[vert_index[loop.vert] for loop in tri] for tri in loop_tris],
                    dtype=np.int32).reshape(-1, 3)
    tri_poly = np.array([face_index[tri[0].face] for tri in loop_tris], dtype=np.int32)
    return co, tris, tri_poly


def content_key(co, tris, tri_poly, epsilon):
    """Digest of a mesh's triangles: equal digests mean the same tree (used where no depsgraph
    marker can prove the geometry unchanged: non-mesh objects, edit mode, original data)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(np.asarray([len(co), len(tris)], dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(co).tobytes())
    h.update(np.ascontiguousarray(tris).tobytes())
    h.update(np.ascontiguousarray(tri_poly).tobytes())
    h.update(repr(float(epsilon)).encode())
    return ("content", h.hexdigest())


def entry_from_arrays(co, tris, tri_poly, epsilon, key=None):
    """A tree over triangles given as arrays (``FromPolygons``: indices are triangle indices)."""
    tree = BVHTree.FromPolygons(co.tolist(), tris.tolist(), all_triangles=True, epsilon=epsilon)
    bmin, bmax = _bounds(co)
    return GeomEntry(tree, bmin, bmax, len(tris), epsilon, tri_poly=tri_poly, co=co, tris=tris,
                     first_tri=None, key=key, has_ngons=True)


def entry_from_object(obj_eval, depsgraph, mesh, epsilon, bounds=True):
    """A tree over an evaluated mesh object's final mesh, built in C by ``BVHTree.FromObject``.

    ``mesh`` is that final mesh (``obj_eval.data``); it is read for bounds (unless ``bounds`` is
    False: the caller then fills them in with :func:`fill_bounds`) and, when it has non-triangle
    polygons, for the triangle normals.
    """
    tree = BVHTree.FromObject(obj_eval, depsgraph, epsilon=epsilon)
    npoly = len(mesh.polygons)
    nloop = len(mesh.loops)
    triangles = nloop - 2 * npoly
    if nloop == 3 * npoly:   # all triangles: FromObject's normals are the triangle normals
        entry = GeomEntry(tree, None, None, triangles, epsilon)
        if bounds:
            fill_bounds([(entry, mesh)])
        return entry
    co = positions(mesh)
    bmin, bmax = _bounds(co)
    tris = np.empty(triangles * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    loop_start = np.empty(npoly, dtype=np.int64)
    mesh.polygons.foreach_get("loop_start", loop_start)
    first = np.empty(npoly + 1, dtype=np.int64)
    first[:-1] = loop_start - 2 * np.arange(npoly, dtype=np.int64)
    first[-1] = triangles
    return GeomEntry(tree, bmin, bmax, triangles, epsilon, co=co, tris=tris.reshape(-1, 3),
                     first_tri=first, has_ngons=True)


def positions(mesh, out=None):
    """float32 (V, 3) vertex positions of ``mesh`` (its ``position`` attribute: read about twice
    as fast as ``vertices.co``); ``out``: a flat float32 buffer of 3 V values to fill instead."""
    nv = len(mesh.vertices)
    buf = np.empty(nv * 3, dtype=np.float32) if out is None else out
    if nv:
        mesh.attributes["position"].data.foreach_get("vector", buf)
    return buf.reshape(nv, 3)


def fill_bounds(pending):
    """Object-space bounds for many ``(entry, mesh)`` at once: one buffer, one reduction.

    (Per-mesh numpy calls would cost more than the tree build for small meshes.)
    """
    if not pending:
        return
    counts = [len(mesh.vertices) for _entry, mesh in pending]
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    total = int(sum(counts))
    buf = np.empty(total * 3, dtype=np.float32)
    for (_entry, mesh), start, count in zip(pending, starts, counts, strict=True):
        positions(mesh, buf[3 * start:3 * (start + count)])
    by_axis = buf.reshape(total, 3).T.astype(np.float64)     # (3, total), contiguous rows
    lo = np.minimum.reduceat(by_axis, starts, axis=1).T
    hi = np.maximum.reduceat(by_axis, starts, axis=1).T
    for i, (entry, _mesh) in enumerate(pending):
        entry.bmin = lo[i]
        entry.bmax = hi[i]


def _bounds(co):
    if len(co) == 0:
        return np.zeros(3), np.zeros(3)
    by_axis = co.T.astype(np.float64)   # contiguous per axis: much faster than co.min(axis=0)
    return by_axis.min(axis=1), by_axis.max(axis=1)


def _matrix_bytes_supported():
    """True when ``bytes(Matrix)`` gives the 16 float32 values row by row (``mathutils.Matrix``
    exports the buffer protocol in Blender 5.0, not in 4.2/4.5): proven on a matrix with
    distinct entries, not assumed."""
    m = Matrix([(1.0, 2.0, 3.0, 4.0), (5.0, 6.0, 7.0, 8.0), (9.0, 10.0, 11.0, 12.0),
                (13.0, 14.0, 15.0, 16.0)])
    try:
        raw = bytes(m)
    except (TypeError, ValueError, BufferError):
        return False
    if len(raw) != 64:
        return False
    return bool(np.array_equal(np.frombuffer(raw, dtype=np.float32).reshape(4, 4),
                               np.array(m, dtype=np.float32)))


MATRIX_BYTES = _matrix_bytes_supported()


def matrix_row(matrix, copy=False):
    """What the gatherer keeps of a 4×4 world matrix until :func:`read_matrices`: its raw bytes
    where ``Matrix`` exports them (one cheap copy, converted for all rows at once), else the
    ``Matrix`` itself (a copy when ``copy``: instance matrices die with their iteration step)."""
    if MATRIX_BYTES:
        return bytes(matrix)
    return matrix.copy() if copy else matrix


def matrix_row_of(array):
    """:func:`matrix_row` of a float64 (4, 4) array."""
    if MATRIX_BYTES:
        return np.ascontiguousarray(array, dtype=np.float32).tobytes()
    return Matrix(array.tolist())


def read_matrices(matrices, describe, first=0):
    """:func:`matrix_row` list → float64 (N, 4, 4); ``ValueError`` naming (``describe(first +
    i)``) the first non-finite one."""
    if not matrices:
        return np.zeros((0, 4, 4))
    if MATRIX_BYTES:
        m = np.frombuffer(b"".join(matrices), dtype=np.float32).astype(np.float64)
        m = m.reshape(len(matrices), 4, 4)
    else:
        m = np.array(matrices, dtype=np.float64).reshape(len(matrices), 4, 4)
    return check_finite(m, describe, first)


def check_finite(m, describe, first=0):
    """``m`` (N, 4, 4) when every matrix is finite, else ``ValueError`` naming the first bad one
    (``describe(first + i)``)."""
    # Blender clamps an infinite location to FLT_MAX: treat values that large as infinite too.
    bad = ~(np.isfinite(m) & (np.abs(m) < 1e37)).all(axis=(1, 2))
    if bad.any():
        what = describe(first + int(np.nonzero(bad)[0][0]))
        raise ValueError(f"{what} has a non-finite (NaN or infinite) world matrix")
    return m
