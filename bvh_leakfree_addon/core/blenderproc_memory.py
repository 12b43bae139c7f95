# SPDX-License-Identifier: GPL-3.0-or-later
"""What the BlenderProc drop-in (``blenderproc``) keeps between calls, and the proof that lets it
use what it kept without reading the meshes again (see ``blenderproc``'s module doc).

One module state (:class:`Memory`): the latest tree with its key and :class:`Source`, the arrays
of the original meshes read (:class:`MeshArrays`, by mesh ``session_uid``), the concatenated
arrays of the latest set of triangle meshes (:class:`TriangleSet`) and the proof they were read
under.  Registered with ``cache`` (``api.cache_info()`` counts it, ``api.clear_cache()`` frees it)
and freed at interpreter exit.
"""
import atexit
import operator

import bpy

import numpy as np

from . import cache, watch
from .geometry import TREE_BYTES_PER_TRIANGLE, positions

__all__ = ("Source", "Latest", "MeshArrays", "TriangleSet", "Memory", "clear", "latest",
           "quiet_stamp", "unchanged", "proof", "mesh_arrays")


class Source:
    """What a drop-in tree was built from, for the ray functions of ``blenderproc_compat``:
    ``objects`` (input order), and for trees of triangles their world-space ``vertices`` (V, 3)
    float32 and ``triangles`` (T, 3) int32 (tree index = row), else None."""

    __slots__ = ("objects", "vertices", "triangles", "__weakref__")

    def __init__(self, objects, vertices=None, triangles=None):
        self.objects = objects
        self.vertices = vertices
        self.triangles = triangles


class Latest:
    """The latest tree (one at a time): its key, the tree, its triangle count and its
    :class:`Source`; and what :func:`unchanged` compares: the input items and objects, and the
    :func:`quiet_stamp` right after the tree was made or last proven current."""

    __slots__ = ("key", "tree", "triangles", "source", "items", "objects", "stamp")

    def __init__(self, key, tree, triangles, source):
        self.key = key
        self.tree = tree
        self.triangles = triangles
        self.source = source
        self.items = self.objects = self.stamp = None

    def quiet(self, items, objects):
        """Remember the inputs and the stamp now (after the tree was made or proven current)."""
        self.items = items
        self.objects = tuple(objects)
        self.stamp = quiet_stamp()


class MeshArrays:
    """One original mesh as read: ``co`` (V, 3) float32 object space, ``corners`` (the corners'
    vertex indices, int32), the counts ``(vertices, corners, polygons)``; ``triangles`` (T, 3)
    when every polygon is a triangle, else None."""

    __slots__ = ("co", "corners", "counts", "triangles")

    def __init__(self, co, corners, counts):
        self.co = co
        self.corners = corners
        self.counts = counts
        nl, nf = counts[1], counts[2]
        self.triangles = corners.reshape(nf, 3) if nl == 3 * nf else None

    def same(self, other):
        """The same geometry (bit for bit)."""
        return (self.counts == other.counts and np.array_equal(self.co, other.co)
                and np.array_equal(self.corners, other.corners))


class TriangleSet:
    """The triangle meshes of one object list, concatenated: object-space vertices, the
    triangles' vertex indices (array, and the nested list ``FromPolygons`` takes), and where each
    object's vertices start."""

    __slots__ = ("co", "tris", "tris_list", "counts", "meshes")

    def __init__(self, meshes):
        self.meshes = tuple(meshes)     # the MeshArrays (kept alive: their ids are the key)
        self.counts = np.array([len(m.co) for m in meshes], dtype=np.int64)
        starts = np.zeros(len(meshes), dtype=np.int64)
        np.cumsum(self.counts[:-1], out=starts[1:])
        self.co = np.concatenate([m.co for m in meshes]) if meshes else np.zeros((0, 3),
                                                                                np.float32)
        tris = [m.triangles + np.int32(start) for m, start in zip(meshes, starts.tolist(),
                                                                  strict=True)]
        self.tris = np.concatenate(tris) if tris else np.zeros((0, 3), np.int32)
        self.tris_list = self.tris.tolist()

    @property
    def nbytes(self):
        # the nested list: a list object (~88 bytes) and 3 ints (~28 bytes each) per triangle
        return self.co.nbytes + self.tris.nbytes + 172 * len(self.tris)


class Memory:
    """Everything kept between calls (module state, see the module doc)."""

    latest = None          #: Latest
    meshes = {}            #: mesh session_uid -> MeshArrays, valid while ``proof`` holds
    sets = {}              #: tuple of mesh uids -> TriangleSet (at most one kept)
    proof = None           #: (mesh change count, depsgraph pointer) the arrays were read under


def clear():
    """Forget the latest tree and every array read (the next call starts cold)."""
    Memory.latest = None
    Memory.meshes = {}
    Memory.sets = {}
    Memory.proof = None


def _size():
    trees = triangles = nbytes = 0
    latest = Memory.latest
    if latest is not None:
        trees, triangles = 1, latest.triangles
        nbytes = latest.triangles * TREE_BYTES_PER_TRIANGLE
        source = latest.source
        if source.vertices is not None:
            nbytes += source.vertices.nbytes + source.triangles.nbytes
    nbytes += sum(m.co.nbytes + m.corners.nbytes for m in Memory.meshes.values())
    nbytes += sum(s.nbytes for s in Memory.sets.values())
    return trees, triangles, nbytes


cache.add_holder(_size, clear)
# The bpy module checks Blender's allocations when it exits, before module globals are freed: a
# tree still held then would be reported as "Not freed memory blocks", a leak nobody caused.
atexit.register(clear)


def latest(tree):
    """The :class:`Source` of ``tree`` when it is the latest tree this drop-in returned, else
    None."""
    held = Memory.latest
    if held is not None and held.tree is tree:
        return held.source
    return None


def quiet_stamp():
    """``(changes, moves, mesh changes, depsgraph pointer)`` when no object or mesh edit is
    pending in the view layer's depsgraph, else None; evaluates nothing.  The same stamp later
    means nothing was edited (every edit of an object or mesh flags its type) nor evaluated."""
    view_layer = getattr(bpy.context, "view_layer", None)
    depsgraph = view_layer.depsgraph if view_layer is not None else None
    if depsgraph is None:
        return None
    stamp = (watch.change_count(), watch.move_count(), watch.mesh_change_count(),
             depsgraph.as_pointer())
    if depsgraph.id_type_updated('OBJECT') or depsgraph.id_type_updated('MESH'):
        return None
    return stamp


def unchanged(items, epsilon):
    """The latest tree when it was made from the very same ``items`` and ``epsilon`` and
    :func:`quiet_stamp` proves that nothing changed since; else None."""
    held = Memory.latest
    if held is None or held.stamp is None or held.items is None or held.key[3] != epsilon:
        return None
    if len(items) != len(held.items) or not all(map(operator.is_, items, held.items)):
        return None
    if held.stamp != quiet_stamp():
        return None
    object_type = bpy.types.Object
    try:
        objects = [item if type(item) is object_type else item.blender_obj for item in items]
        if not all(map(operator.is_, objects, held.objects)) or \
                tuple([obj.session_uid for obj in objects]) != held.key[0]:
            return None
    except (AttributeError, ReferenceError):
        return None
    return held.tree


def proof():
    """``(mesh change count, depsgraph pointer)`` when nothing says that an original mesh changed
    since the view layer's depsgraph was last evaluated, else None.  Evaluates nothing."""
    view_layer = getattr(bpy.context, "view_layer", None)
    depsgraph = view_layer.depsgraph if view_layer is not None else None
    if depsgraph is None:
        return None
    count = watch.mesh_change_count()
    if depsgraph.id_type_updated('MESH'):
        return None
    return (count, depsgraph.as_pointer())


def mesh_arrays(meshes, proof):
    """The :class:`MeshArrays` of each mesh: those kept from earlier calls when ``proof`` says
    that no mesh changed since they were read, else read now (and the kept ones, when equal,
    reused: the same objects mean the same geometry, see the ``Latest`` key)."""
    kept = Memory.meshes
    if proof is not None and proof == Memory.proof:
        out = []
        for mesh in meshes:
            found = kept.get(mesh.session_uid)
            if found is None:
                found = kept[mesh.session_uid] = read_mesh(mesh)
            out.append(found)
        return out
    fresh = {}
    out = []
    for mesh in meshes:
        uid = mesh.session_uid
        found = fresh.get(uid)
        if found is None:
            found = read_mesh(mesh)
            old = kept.get(uid)
            if old is not None and old.same(found):
                found = old
            fresh[uid] = found
        out.append(found)
    Memory.meshes = fresh
    Memory.proof = proof
    return out


def read_mesh(mesh):
    """:class:`MeshArrays` of ``mesh``, read now."""
    nv, nl, nf = len(mesh.vertices), len(mesh.loops), len(mesh.polygons)
    co = positions(mesh)
    corners = np.empty(nl, dtype=np.int32)
    if nl:
        mesh.attributes[".corner_vert"].data.foreach_get("value", corners)
    return MeshArrays(co, corners, (nv, nl, nf))
