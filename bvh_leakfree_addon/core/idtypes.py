# SPDX-License-Identifier: GPL-3.0-or-later
"""The one table of ID types: ``bpy.data`` collection name, ``ID.id_type`` code, how to say one of
them, and the icon the panels show.  Everything keyed by collection name reads it from here.

The collections themselves differ between Blender versions (``compat``): :func:`id_collection_names`
and :func:`collection_of_code` answer for this Blender.
"""
from typing import NamedTuple

from . import compat

__all__ = ("IdType", "ID_TYPES", "BY_COLLECTION", "NEVER_ORPHANED", "id_collection_names",
           "collection_of_code", "resolve_types", "in_words", "label", "icon", "is_orphan")


class IdType(NamedTuple):
    collection: str   #: ``bpy.data`` collection name
    code: str         #: ``ID.id_type``
    singular: str     #: one of them, in words
    icon: str = 'DOT'


ID_TYPES = (
    IdType("actions", "ACTION", "action", 'ACTION'),
    IdType("armatures", "ARMATURE", "armature", 'ARMATURE_DATA'),
    IdType("brushes", "BRUSH", "brush"),
    IdType("cache_files", "CACHEFILE", "cache file"),
    IdType("cameras", "CAMERA", "camera", 'CAMERA_DATA'),
    IdType("collections", "COLLECTION", "collection", 'OUTLINER_COLLECTION'),
    IdType("curves", "CURVE", "curve", 'CURVE_DATA'),
    IdType("hair_curves", "CURVES", "hair curves"),
    IdType("fonts", "FONT", "font"),
    IdType("images", "IMAGE", "image", 'IMAGE_DATA'),
    IdType("shape_keys", "KEY", "shape key", 'SHAPEKEY_DATA'),
    IdType("lattices", "LATTICE", "lattice"),
    IdType("libraries", "LIBRARY", "library"),
    IdType("lights", "LIGHT", "light", 'LIGHT'),
    IdType("lightprobes", "LIGHT_PROBE", "light probe"),
    IdType("linestyles", "LINESTYLE", "line style"),
    IdType("masks", "MASK", "mask"),
    IdType("materials", "MATERIAL", "material", 'MATERIAL'),
    IdType("meshes", "MESH", "mesh", 'MESH_DATA'),
    IdType("metaballs", "META", "metaball"),
    IdType("movieclips", "MOVIECLIP", "movie clip"),
    IdType("node_groups", "NODETREE", "node group", 'NODETREE'),
    IdType("objects", "OBJECT", "object", 'OBJECT_DATA'),
    IdType("paint_curves", "PAINTCURVE", "paint curve"),
    IdType("palettes", "PALETTE", "palette"),
    IdType("particles", "PARTICLE", "particle system", 'PARTICLES'),
    IdType("pointclouds", "POINTCLOUD", "point cloud"),
    IdType("scenes", "SCENE", "scene", 'SCENE_DATA'),
    IdType("screens", "SCREEN", "screen"),
    IdType("sounds", "SOUND", "sound"),
    IdType("speakers", "SPEAKER", "speaker"),
    IdType("texts", "TEXT", "text", 'TEXT'),
    IdType("textures", "TEXTURE", "texture", 'TEXTURE'),
    IdType("volumes", "VOLUME", "volume"),
    IdType("window_managers", "WINDOWMANAGER", "window manager"),
    IdType("workspaces", "WORKSPACE", "workspace"),
    IdType("worlds", "WORLD", "world", 'WORLD'),
)
BY_COLLECTION = {t.collection: t for t in ID_TYPES}
#: ID types that are never unused: Blender's purge skips them too (removing them breaks the session)
NEVER_ORPHANED = frozenset({"window_managers", "workspaces", "screens", "scenes", "libraries"})
#: images that hold render/compositor output have no users by design
_VIEWER_IMAGE_TYPES = frozenset({"RENDER_RESULT", "COMPOSITING"})
_BY_CODE = {t.code: t.collection for t in ID_TYPES}


def id_collection_names():
    """Names of every ID type's collection of ``bpy.data`` (meshes, objects, materials, …) in this
    Blender, never the collection of all IDs (``all_ids``, 5.2: see ``compat``)."""
    return compat.id_type_collection_names()


def collection_of_code(code):
    """The collection name of an ``ID.id_type`` code in this Blender, or None."""
    if code in ("GREASEPENCIL", "GREASEPENCIL_V3"):
        return compat.grease_pencil_collection(code, id_collection_names())
    return _BY_CODE.get(code)


def resolve_types(types):
    """Collection names for ``types``, in either spelling: None or ``'ALL'`` → every collection;
    otherwise a ``bpy.data`` collection name or an ID type code, or an iterable of them
    (``{'MESH', 'materials'}``).  Unknown names raise ``ValueError``."""
    names = id_collection_names()
    if types is None or types == "ALL":
        return names
    if isinstance(types, str):
        types = (types,)
    known = set(names)
    out = []
    for item in types:
        if item == "ALL":
            return names
        name = item if item in known else collection_of_code(item)
        if name not in known:
            raise ValueError(f"unknown ID type {item!r}: use a bpy.data collection name "
                             f"(e.g. 'meshes') or an ID type code (e.g. 'MESH')")
        if name not in out:
            out.append(name)
    return tuple(out)


def in_words(name, count=2):
    """A collection's name in words for ``count`` of its IDs: ``'node_groups'`` → ``'node
    groups'``, and for one of them ``'node group'`` (``'particles'`` → ``'particle system'``)."""
    if count == 1:
        known = BY_COLLECTION.get(name)
        if known is not None:
            return known.singular
        name = name[:-1] if name.endswith("s") else name
    return name.replace("_", " ")


def label(name):
    """``'node_groups'`` → ``'Node Groups'`` (how Blender titles the collection)."""
    return in_words(name).title()


def icon(name):
    known = BY_COLLECTION.get(name)
    return known.icon if known is not None else 'DOT'


def is_orphan(name, id_):
    """``id_`` (of ``bpy.data.<name>``) has no users and is not a root ID or a viewer image."""
    if name in NEVER_ORPHANED or id_.users != 0:
        return False
    return not (name == "images" and id_.type in _VIEWER_IMAGE_TYPES)
