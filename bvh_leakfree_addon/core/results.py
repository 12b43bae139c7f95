# SPDX-License-Identifier: GPL-3.0-or-later
"""What the core hands back: :class:`Hit` (one ray or nearest point), :class:`RayResults` (many
rays) and :class:`BuildStats` (what a build did)."""

from .handles import object_by_uid

__all__ = ("Hit", "RayResults", "BuildStats", "alive")

DELETED_HIT_MESSAGE = "the object hit was deleted after build(); call update()"


def alive(obj, uid=None):
    """``obj``, or ``ReferenceError`` when it was deleted since the build (a hit on it), or its
    Python reference went stale (undo, a file load: ``uid``, its ``session_uid``, finds it
    again)."""
    try:
        obj.name  # noqa: B018
    except ReferenceError:
        current = object_by_uid(uid)
        if current is not None:
            raise ReferenceError(f"the object hit: the reference is stale after undo: call "
                                 f"update() (it fetches the objects again), or fetch it again, "
                                 f"e.g. bpy.data.objects[{current.name!r}]") from None
        raise ReferenceError(DELETED_HIT_MESSAGE) from None
    return obj


class Hit:
    """One ray or nearest-point result, in world space.

    Unpacks like the tuple of ``mathutils.bvhtree.BVHTree.ray_cast`` (``hit[0]`` … ``hit[3]``
    too)::

        location, normal, index, distance = hit

    where ``index`` is :attr:`polygon_index`, the polygon in the evaluated mesh of
    :attr:`object`, not an index into one merged mesh as BlenderProc's tree gives
    (``SceneBVH.tree`` and ``SceneBVH.source_of`` map those).

    Attributes:
        location: ``Vector``, the hit point in world space.
        normal: unit ``Vector`` in world space, the polygon's normal as ``Scene.ray_cast``
            reports it.
        object: the original ``bpy.types.Object`` whose geometry was hit (for an instance, the
            instanced object).
        instancer: the selected object that instanced :attr:`object` (a collection instance,
            particle system, geometry nodes, …), else None.
        polygon_index: polygon index in :attr:`object`'s evaluated mesh.
        distance: world units from the ray's origin (or from the query point).
        matrix_world: ``Matrix``, the world matrix of the object or instance hit.
    """

    __slots__ = ("location", "normal", "object", "instancer", "polygon_index", "distance",
                 "matrix_world")

    def __init__(self, location, normal, object, instancer, polygon_index, distance,
                 matrix_world):
        self.location = location
        self.normal = normal
        self.object = object
        self.instancer = instancer
        self.polygon_index = polygon_index
        self.distance = distance
        self.matrix_world = matrix_world

    def _as_tuple(self):
        return (self.location, self.normal, self.polygon_index, self.distance)

    def __iter__(self):
        return iter(self._as_tuple())

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return self._as_tuple()[index]

    def __repr__(self):
        inst = f" via {self.instancer.name!r}" if self.instancer is not None else ""
        return (f"<Hit {self.object.name!r}{inst} polygon {self.polygon_index} "
                f"at {tuple(round(v, 5) for v in self.location)} distance {self.distance:.5g}>")


class RayResults(dict):
    """``ray_cast_many`` results: a dict of numpy arrays, also readable as attributes
    (``res["hit"]`` or ``res.hit``); ``backend``: the backend that cast them (``"embree"`` or
    ``"mathutils"``)."""

    def __init__(self, arrays=(), backend="mathutils"):
        super().__init__(arrays)
        self.backend = backend

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class BuildStats:
    """What a build did: ``SceneBVH.stats``.

    Attributes:
        objects_used: objects whose geometry is in the BVH.
        objects_skipped: ``[(name, reason), …]`` of objects left out (no faces, a light, a
            camera, deleted since the last build, …).
        instances: entries of the top level: objects plus instances.
        triangles: world-space triangles, an instanced object's counted per instance.
        build_seconds: wall time of the build.
        reused: no geometry had to be rebuilt.
        meshes_rebuilt: object-space trees built by this build.
        meshes_reused: object-space trees taken from the cache.
        trees: distinct object-space trees.
        unchanged: Blender evaluated nothing since the previous build of the same objects, so not
            even the per-object walk was done.
        transforms_only: only transforms changed since, so only world matrices were read again.
        embree_fallback: why batches of rays into this build are cast by mathutils even when
            Embree is asked for (the scene does not fit Embree's float32: see ``embree``), or
            None.
    """

    __slots__ = ("objects_used", "objects_skipped", "instances", "triangles", "build_seconds",
                 "reused", "meshes_rebuilt", "meshes_reused", "trees", "unchanged",
                 "transforms_only", "embree_fallback")

    def __init__(self):
        self.objects_used = 0
        self.objects_skipped = []   # (name, reason)
        self.instances = 0          # entries in the top level (objects + instances)
        self.triangles = 0          # world-space triangles (instances counted each time)
        self.build_seconds = 0.0
        self.reused = False
        self.meshes_rebuilt = 0
        self.meshes_reused = 0
        self.trees = 0              # distinct object-space trees
        self.unchanged = False
        self.transforms_only = False
        self.embree_fallback = None

    def _unchanged_copy(self, seconds):
        """The stats of a build skipped because nothing changed since the one these describe."""
        out = BuildStats()
        for name in ("objects_used", "instances", "triangles", "trees", "embree_fallback"):
            setattr(out, name, getattr(self, name))
        out.objects_skipped = list(self.objects_skipped)
        out.meshes_reused = self.meshes_reused + self.meshes_rebuilt
        out.reused = out.unchanged = True
        out.build_seconds = seconds
        return out

    def __repr__(self):
        return (f"<BuildStats used={self.objects_used} skipped={len(self.objects_skipped)} "
                f"instances={self.instances} triangles={self.triangles} "
                f"rebuilt={self.meshes_rebuilt} reused={self.meshes_reused} "
                f"{self.build_seconds * 1e3:.2f} ms>")
