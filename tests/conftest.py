"""Test harness: pytest inside the real ``bpy`` module (no mocks).

* ``BLENDER_USER_RESOURCES`` points at a throwaway folder **before** ``import bpy`` (Blender reads
it
  at start-up), so installing the extension never touches the developer's own Blender.
* Every test starts from factory settings with an empty scene (autouse fixture).
* Two ways in: ``addon`` installs the built zip with Blender's own extension installer (as users get
  it) and enables it through ``addon_utils``; ``core`` tests import ``bvh_leakfree_addon`` directly.
"""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

_USER_DIR = tempfile.mkdtemp(prefix="bvh_leakfree_user_")
os.environ["BLENDER_USER_RESOURCES"] = _USER_DIR
atexit.register(shutil.rmtree, _USER_DIR, ignore_errors=True)

import bpy  # noqa: E402

import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/helpers.py

from helpers import REPO, ROOT, disable_addon, enable_addon  # noqa: E402


def pytest_report_header(config):
    return (f"Blender {bpy.app.version_string} (bpy module at {Path(bpy.__file__).parent}), "
            f"user resources in {_USER_DIR}")


_EXIT_STATUS = [0]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS[0] = int(exitstatus)


def pytest_unconfigure(config):
    """Skip Blender's own interpreter-exit teardown on 4.2/4.5.

    The ``bpy`` module of Blender 4.2 segfaults, and 4.5 hangs, at interpreter exit once any class
    with a Python property callback (``update=``, ``get=``/``set=``) has been registered, even after
    it was unregistered — reproduced with a five-line script and no add-on code (Blender 5.0 exits
    cleanly).  Everything is reported by now, so leave with pytest's own status.
    """
    if bpy.app.version < (5, 0, 0):
        shutil.rmtree(_USER_DIR, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[0])


def _zip_path():
    env = os.environ.get("BVH_ADDON_ZIP")
    if env:
        return Path(env)
    found = sorted((ROOT / "dist").glob("bvh_leakfree_addon-*.zip"))
    return found[-1] if found else None


def reset_factory():
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture(autouse=True)
def factory_settings():
    """Every test starts from factory settings: empty scene, default preferences, no add-ons."""
    reset_factory()
    yield


@pytest.fixture(scope="session")
def installed_zip():
    """Install dist/*.zip once per session with Blender's extension installer (not enabled)."""
    zip_path = _zip_path()
    if zip_path is None or not zip_path.exists():
        pytest.fail("no built add-on zip: run `make dist` (make test does it for you)")
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo=REPO, enable_on_install=False)
    assert result == {'FINISHED'}, result
    return zip_path


@pytest.fixture
def addon(installed_zip):
    """The add-on as users get it: installed from the zip, enabled, its top package returned."""
    module = enable_addon()
    yield module
    disable_addon()
