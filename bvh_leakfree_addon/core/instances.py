# SPDX-License-Identifier: GPL-3.0-or-later
"""Instances of instancers, read without a Python object per instance that Blender never frees.

``DepsgraphObjectInstance.object`` is a temporary object Blender makes for one step of the
depsgraph's instance iterator.  Each access wraps it in a new Python ``Object``, which Blender
registers on that temporary object and never releases when the temporary goes (a Blender leak:
one wrapper, ~120 bytes, per instance per walk; docs/known-blender-issues.md).  So it is touched
only where nothing else says what an instance shows:

* An instance of another object (vertex, face, collection and particle instances, and
  geometry-nodes instances of an object): ``instance_object`` is that object as evaluated (no
  temporary), its geometry is the instance's; ``parent`` the instancer; ``matrix_world`` a copy.
* Geometry made by geometry nodes (``instance_object`` is the instancer itself): with
  ``Object.evaluated_geometry()`` (Blender 4.5+) the meshes come from the instancer's evaluated
  geometry set and their matrices from its instance transforms, in bulk; the iterator's steps of
  such pieces are skipped.  Without it (4.2), and for pieces of a geometry-nodes object that is
  itself instanced (one level further down), the temporary object is the only way in.

The iterator is always run to its end, also after an error (re-raised afterwards): leaving a
depsgraph instance iterator unfinished leaks its memory (seen in Blender 4.2).
"""
import bpy

import numpy as np

from . import geometry
from .compat import GEOMETRY_SETS

__all__ = ("walk_instances", "instanced_meshes", "has_nodes_modifier", "has_instances")


def has_nodes_modifier(obj):
    """A geometry-nodes modifier: the object may output instances (its own geometry set)."""
    return len(obj.modifiers) > 0 and any(mod.type == 'NODES' for mod in obj.modifiers)


def has_instances(obj_eval):
    """The evaluated object's geometry set holds instances (False where Blender cannot tell:
    without ``Object.evaluated_geometry()``)."""
    if not GEOMETRY_SETS:
        return False
    cloud = obj_eval.evaluated_geometry().instances_pointcloud()
    return cloud is not None and len(cloud.points) > 0


class Group:
    """Instances of one object by one instancer: ``instancer`` (original), ``src`` (the
    evaluated object), ``src_orig`` (its original) and ``matrices`` (``geometry.matrix_row``
    each)."""

    __slots__ = ("instancer", "src", "src_orig", "matrices")

    def __init__(self, instancer, src, src_orig):
        self.instancer = instancer
        self.src = src
        self.src_orig = src_orig
        self.matrices = []


class Pieces:
    """A mesh made by geometry nodes: ``instancer`` (original), ``mesh`` (owned by the
    geometry set ``keep``, alive while that Python object is) and its world ``matrices``
    (K, 4, 4)."""

    __slots__ = ("instancer", "mesh", "matrices", "keep")

    def __init__(self, instancer, mesh, matrices, keep):
        self.instancer = instancer
        self.mesh = mesh
        self.matrices = matrices
        self.keep = keep


def walk_instances(depsgraph, instancers, on_temporary):
    """The instances of ``instancers`` (``{as_pointer(): original object}``): ``(groups,
    pieces)``, lists of :class:`Group` and :class:`Pieces`.

    ``on_temporary(instancer, temporary object, original or None, matrix row)`` is called during
    the iteration for instances only a temporary object can show (see the module); ``None`` as
    the original: geometry made by geometry nodes.  Its errors are re-raised once the iterator
    has finished.
    """
    pieces, from_sets = _geometry_set_pieces(depsgraph, instancers)
    groups = {}
    nodes = {}          # evaluated object pointer -> has a geometry-nodes modifier
    parents = {}        # evaluated parent pointer -> original instancer or None
    failure = None
    for inst in depsgraph.object_instances:
        if failure is not None or not inst.is_instance:
            continue
        try:
            _step(inst, instancers, from_sets, groups, nodes, parents, on_temporary)
        except BaseException as ex:  # noqa: BLE001 - re-raised once the iterator is finished
            failure = ex
    if failure is not None:
        raise failure
    return list(groups.values()), pieces


def _step(inst, instancers, from_sets, groups, nodes, parents, on_temporary):
    parent = inst.parent
    if parent is None:
        return
    parent_key = parent.as_pointer()
    known = parents.get(parent_key)
    if known is None:
        original_key = parent.original.as_pointer()
        known = parents[parent_key] = (instancers.get(original_key), original_key in from_sets)
    instancer, covered = known
    if instancer is None:
        return
    src = inst.instance_object
    src_key = src.as_pointer()
    if src_key == parent_key:
        # geometry made by the instancer's geometry nodes
        if not covered:
            on_temporary(instancer, inst.object, None, _matrix(inst))
        return
    generates = nodes.get(src_key)
    if generates is None:
        generates = nodes[src_key] = has_nodes_modifier(src)
    if generates:
        # an instanced geometry-nodes object: its own mesh or one of its pieces, only the
        # temporary object tells which
        temporary = inst.object
        on_temporary(instancer, temporary, temporary.original, _matrix(inst))
        return
    key = (parent_key, src_key)
    group = groups.get(key)
    if group is None:
        group = groups[key] = Group(instancer, src, src.original)
    group.matrices.append(_matrix(inst))


def _matrix(inst):
    return geometry.matrix_row(inst.matrix_world, copy=True)


# --- Geometry sets (Blender 4.5+) ---------------------------------------------------------------
def _geometry_set_pieces(depsgraph, instancers):
    """``(pieces, pointers of the instancers they cover)``: the meshes geometry nodes made for
    each instancer with a geometry-nodes modifier, from its evaluated geometry set."""
    pieces = []
    covered = set()
    if not GEOMETRY_SETS:
        return pieces, covered
    for key, instancer in instancers.items():
        obj_eval = instancer.evaluated_get(depsgraph)
        if not obj_eval.is_evaluated or not has_nodes_modifier(obj_eval):
            continue
        world = np.array(obj_eval.matrix_world, dtype=np.float64)
        found = []
        _pieces_of(obj_eval.evaluated_geometry(), world[None], found, top=True)
        pieces += [Pieces(instancer, mesh, matrices, keep) for mesh, matrices, keep in found]
        covered.add(key)
    return pieces, covered


def _attribute(cloud, name, dtype, width):
    attribute = cloud.attributes.get(name)
    n = len(cloud.points)
    buf = np.zeros(n * width, dtype=dtype)
    if attribute is not None and n:
        attribute.data.foreach_get("value", buf)
    return buf.reshape(n, width) if width > 1 else buf


def _pieces_of(geometry_set, matrices, out, top=False):
    """Append ``(mesh, (K, 4, 4) matrices, geometry set owning the mesh)`` for the meshes of
    ``geometry_set`` placed by each of ``matrices`` (its own mesh unless ``top``: the
    instancer's own mesh is its object's)."""
    if not top:
        mesh = geometry_set.mesh
        if mesh is not None and len(mesh.polygons):
            out.append((mesh, matrices, geometry_set))
    cloud = geometry_set.instances_pointcloud()
    if cloud is None or not len(cloud.points):
        return
    references = geometry_set.instance_references()
    nested = [k for k, ref in enumerate(references) if isinstance(ref, bpy.types.GeometrySet)]
    if not nested:
        return   # objects and collections: the iterator shows them
    transforms = _attribute(cloud, "instance_transform", np.float32, 16)
    transforms = transforms.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)
    which = _attribute(cloud, ".reference_index", np.int32, 1)
    for k in nested:
        rows = transforms[which == k]
        if len(rows):
            # every parent matrix × every instance of this reference
            placed = np.matmul(matrices[:, None], rows[None]).reshape(-1, 4, 4)
            _pieces_of(references[k], placed, out)


def instanced_meshes(depsgraph, instancers, take):
    """Call ``take(mesh, pointer)`` for every evaluated mesh the instances of ``instancers``
    (``{as_pointer(): original}``) show, ``pointer`` the ``as_pointer()`` of the object whose
    geometry it is (the instancer for geometry its nodes made), for reading triangles again
    (``merge``; meshes of geometry sets are keyed on their triangles, read when built)."""

    def temporary_mesh(instancer, temporary, original, _matrix_row):
        if temporary.type == 'MESH':
            take(temporary.data, (original or instancer).as_pointer())

    groups, _pieces = walk_instances(depsgraph, instancers, temporary_mesh)
    for group in groups:
        if group.src.type == 'MESH':
            take(group.src.data, group.src_orig.as_pointer())
