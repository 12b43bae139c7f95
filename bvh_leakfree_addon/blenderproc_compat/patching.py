# SPDX-License-Identifier: GPL-3.0-or-later
"""``patch()``: this package's functions in the place of BlenderProc 2.8.0's, in the modules that
define them and in every loaded BlenderProc module holding them; ``Patch.undo()`` puts them back."""
import importlib
import sys

from . import scene_rays, tree_rays

__all__ = ("PATCHED", "Patch", "patch")

#: where BlenderProc 2.8.0 defines each function this module replaces
PATCHED = {
    "blenderproc.python.types.MeshObjectUtility": ("create_bvh_tree_multi_objects",),
    "blenderproc.python.camera.CameraValidation": ("perform_obstacle_in_view_check",
                                                   "visible_objects", "scene_coverage_score"),
    "blenderproc.python.camera.CameraProjection": ("depth_via_raytracing",
                                                   "depth_at_points_via_raytracing"),
}


def _ours():
    """``{name: this package's function}`` for every name of :data:`PATCHED`."""
    return {name: getattr(tree_rays if hasattr(tree_rays, name) else scene_rays, name)
            for names in PATCHED.values() for name in names}


_originals = {}     # name -> BlenderProc's own function, recorded by the first patch()


def _blenderproc_modules():
    return [module for name, module in sorted(sys.modules.items())
            if module is not None and (name == "blenderproc" or name.startswith("blenderproc."))]


class Patch:
    """The handle :func:`patch` returns: ``undo()`` puts BlenderProc's own functions back in every
    loaded BlenderProc module holding one of this module's (those imported after the patch too;
    idempotent); also a context manager (undone on leaving the block).

    Attributes:
        replaced: ``(module name, function name)`` pairs the patch replaced.
    """

    def __init__(self, replaced):
        self.replaced = replaced      #: ``(module name, function name)`` replaced by patch()

    def undo(self):
        """Put BlenderProc's own functions back everywhere (idempotent).

        Returns:
            None.

        Raises:
            Nothing.
        """
        ours = _ours()
        for module in _blenderproc_modules():
            for name, function in ours.items():
                if getattr(module, name, None) is function:
                    setattr(module, name, _originals[name])
        self.replaced = []

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.undo()
        return False

    def __repr__(self):
        return f"<blenderproc_compat.Patch: {len(self.replaced)} names replaced>"


def patch():
    """Replace BlenderProc's ``create_bvh_tree_multi_objects``, ``perform_obstacle_in_view_check``,
    ``depth_via_raytracing``, ``depth_at_points_via_raytracing``, ``visible_objects`` and
    ``scene_coverage_score`` by this module's, in the modules that define them (so modules
    imported later take these) and in every loaded BlenderProc module holding one of them
    (``blenderproc.api.camera``, ``blenderproc.api.object``, ``IntersectingSpotLight``, …).

    Returns:
        Patch: ``.undo()`` puts BlenderProc's back; also a context manager.

    Raises:
        ImportError: BlenderProc is not installed.
    """
    for module_name, names in PATCHED.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as ex:
            raise ImportError(f"blenderproc_compat.patch() needs BlenderProc 2.8 (pip install "
                              f"blenderproc==2.8.0): {ex}") from ex
        for name in names:
            current = getattr(module, name)
            if current is not _ours()[name]:
                _originals.setdefault(name, current)
    replaced = []
    for module in _blenderproc_modules():
        for name, original in _originals.items():
            if getattr(module, name, None) is original:
                setattr(module, name, _ours()[name])
                replaced.append((module.__name__, name))
    return Patch(replaced)
