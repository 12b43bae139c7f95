# SPDX-License-Identifier: GPL-3.0-or-later
"""Every difference between the Blender versions the add-on runs on (4.2 LTS to 5.3), in one place.

Each entry names the version that changed something and what the add-on (and its tests) do about
it.  Where Blender itself can be asked (an RNA definition, an attribute), the entry asks instead of
comparing version numbers, so a build that back-ports or drops a change is still handled.  Checked
on the PyPI ``bpy`` module 4.2.23, 4.5.15, 5.0.1 (earlier), 5.2.4 and 5.3.0; "5.2" means "in 5.2.4,
not in 5.0.1" (5.1 was not checked).

* **5.2: ``bpy.data.all_ids``** — a collection of every ID of the file, beside the per-type
  collections.  Code that walks "every collection of ``bpy.data``" counts each ID twice and reports
  a type that is none.  :func:`id_type_collection_names` keeps only collections of one ID type
  (``all_ids`` holds the base type ``ID`` itself).
* **5.2: geometry-nodes modifier inputs** — no longer ID properties of the modifier
  (``mod.keys()``/``mod["Socket_1"]`` raise "this type doesn't support IDProperties"); they are
  ``mod.properties.inputs.<identifier>.value``.  On 5.2 writing that value does not tag the object
  for re-evaluation (5.3 does).  :func:`modifier_input` and
  :func:`set_modifier_input` read and write either way, and tag the object.
* **5.3: evaluated meshes lose their identity** — an evaluated mesh that is the copy of a mesh
  datablock (no modifiers, no shape keys) reports ``session_uid`` 0 and keeps its address across
  re-evaluations after an edit of the original mesh; 5.2 and earlier give it a new ``session_uid``
  on every re-evaluation.  The geometry cache therefore proves its trees current from the change
  watch (``cache``: the geometry stamp of each object, taken from ``DepsgraphUpdate``), which works
  the same on every version; :data:`EVALUATED_MESH_UID_MARKS_EDITS` only documents the change.
* **4.5: ``foreach_set`` tags the mesh** — ``mesh.vertices.foreach_set("co", …)`` alone makes the
  next evaluation re-evaluate the mesh on 4.5, 5.2 and 5.3; on 4.2 it changes nothing Blender
  evaluates until ``mesh.update()`` (``Scene.ray_cast`` sees the old surface too).  Callers edit,
  then call ``mesh.update()``, on every version.
* **4.5: ``Object.evaluated_geometry()``** — an evaluated object's geometry set (its mesh, its
  instances' transforms and references), for Python.  Geometry that geometry nodes made and
  instanced is read from it (``instances``); 4.2 has only the depsgraph's temporary instance
  objects, which Blender wraps in a Python object per access and never frees.
  :data:`GEOMETRY_SETS`.
* **5.0: materials always have nodes** — a new material has a node tree and ``use_nodes`` is
  deprecated; before 5.0 the tree appears once ``use_nodes`` is set.  :func:`material_node_tree`.
* **4.3 and 5.0: grease pencil collections** — 4.2 has ``grease_pencils`` (``GREASEPENCIL``);
  4.3–4.5 add ``grease_pencils_v3`` (``GREASEPENCIL_V3``); 5.0 renames the legacy one
  ``annotations`` and the new one ``grease_pencils``.  :func:`grease_pencil_collection`.
"""
import functools

import bpy

__all__ = ("id_type_collection_names", "modifier_input", "set_modifier_input",
           "material_node_tree", "grease_pencil_collection", "EVALUATED_MESH_UID_MARKS_EDITS",
           "GEOMETRY_SETS")

#: 4.5 and later: ``Object.evaluated_geometry()`` hands out an object's evaluated geometry set
GEOMETRY_SETS = hasattr(bpy.types.Object, "evaluated_geometry")

#: 5.2 and earlier: an evaluated mesh gets a new ``session_uid`` on every re-evaluation; 5.3: the
#: copy of a mesh datablock reports 0 (see the module).  Nothing in the add-on relies on it.
EVALUATED_MESH_UID_MARKS_EDITS = bpy.app.version < (5, 3, 0)


def _is_id_type_collection(prop):
    """A ``BlendData`` collection of one ID type (``all_ids`` holds the base type ``ID``)."""
    return prop.type == 'COLLECTION' and prop.fixed_type.identifier != "ID"


@functools.cache
def id_type_collection_names():
    """Names of the collections of ``bpy.data`` that each hold one ID type (``meshes``,
    ``objects``, …), read once from the RNA definition (so it works while ``bpy.data`` is
    restricted); never ``all_ids`` (5.2)."""
    return tuple(prop.identifier for prop in bpy.types.BlendData.bl_rna.properties
                 if _is_id_type_collection(prop))


def _input_holder(mod):
    """5.3: the struct holding a geometry-nodes modifier's inputs as properties; None before."""
    properties = getattr(mod, "properties", None)
    return getattr(properties, "inputs", None) if properties is not None else None


def modifier_input(mod, identifier):
    """The value of a geometry-nodes modifier's input ``identifier`` (the node group interface
    socket's ``identifier``, e.g. ``'Socket_1'``)."""
    holder = _input_holder(mod)
    if holder is None:
        return mod[identifier]
    return getattr(holder, identifier).value


def set_modifier_input(mod, identifier, value):
    """Set a geometry-nodes modifier's input ``identifier`` to ``value`` (Blender re-evaluates the
    object as when the value is changed in the modifier panel)."""
    holder = _input_holder(mod)
    if holder is None:
        mod[identifier] = value
    else:
        getattr(holder, identifier).value = value
    mod.id_data.update_tag()   # neither an ID property write nor 5.2's value write tags it


def material_node_tree(material):
    """``material``'s node tree, made on Blenders before 5.0 (where it appears with
    ``use_nodes``)."""
    if material.node_tree is None:
        material.use_nodes = True
    return material.node_tree


def grease_pencil_collection(code, names):
    """The ``bpy.data`` collection of grease pencil ``ID.id_type`` ``code`` (``'GREASEPENCIL'``,
    ``'GREASEPENCIL_V3'``) among the collection ``names`` of this Blender; None for another code
    or when this Blender has none."""
    if code == "GREASEPENCIL":      # the legacy type: annotations from 5.0
        return "annotations" if "annotations" in names else "grease_pencils"
    if code == "GREASEPENCIL_V3":   # 4.3-4.5: grease_pencils_v3; 5.0: grease_pencils
        if "grease_pencils_v3" in names:
            return "grease_pencils_v3"
        return "grease_pencils" if "annotations" in names else None
    return None
