"""BlenderProc 2.8.0 itself, the reference of the BlenderProc drop-ins, imported inside the ``bpy``
module (no BlenderProc CLI): ``requirements/blenderproc.txt``, which ``make test`` installs.  Tests
that use it skip where it is not installed.

``bproc.init()`` is never called (it fails on Blender 5.x, and the functions compared here do not
need it).
"""
import os
from types import SimpleNamespace

import pytest

VERSION = "2.8.0"


def load():
    """BlenderProc's modules the drop-ins stand in for, or a skip when it is not installed."""
    os.environ.setdefault("OUTSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT_BUT_IN_RUN_SCRIPT",
                          "1")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")   # GitPython, imported by BlenderProc
    package = pytest.importorskip(
        "blenderproc", reason="BlenderProc 2.8.0 is not installed here (make test installs "
                              "requirements/blenderproc.txt)")
    assert package.__version__ == VERSION, package.__version__
    from blenderproc.python.camera import CameraProjection, CameraUtility, CameraValidation
    from blenderproc.python.lighting import IntersectingSpotLight
    from blenderproc.python.types import MeshObjectUtility
    return SimpleNamespace(package=package, MeshObjectUtility=MeshObjectUtility,
                           MeshObject=MeshObjectUtility.MeshObject,
                           CameraValidation=CameraValidation, CameraProjection=CameraProjection,
                           CameraUtility=CameraUtility,
                           IntersectingSpotLight=IntersectingSpotLight)


def face_source(objects):
    """BlenderProc's face numbering: ``index -> (object, polygon)`` (polygons of the original
    meshes concatenated in input order)."""
    table = []
    for obj in objects:
        table += [(obj, p) for p in range(len(obj.data.polygons))]
    return table.__getitem__
