"""The built zip installs with Blender's extension installer and enables as a proper extension."""
import sys
import zipfile

import bpy

import addon_utils
from helpers import ADDON_MODULE, disable_addon, enable_addon


def test_zip_holds_the_addon_and_nothing_else(installed_zip):
    names = zipfile.ZipFile(installed_zip).namelist()
    assert "blender_manifest.toml" in names
    assert "__init__.py" in names
    for name in names:
        assert not name.startswith(("tests/", ".venv", "dist/", "build/")), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name


def test_enabled_addon_is_the_code_package(addon):
    assert addon.__name__ == ADDON_MODULE
    assert addon.__package__ == ADDON_MODULE
    assert ADDON_MODULE in bpy.context.preferences.addons
    prefs = bpy.context.preferences.addons[ADDON_MODULE].preferences
    assert prefs is not None and prefs.bl_rna.identifier == "BVHLeakFreePreferences"
    assert prefs.sidebar_category == "Ray Cast"


def test_every_registered_class_is_registered_while_enabled(addon):
    assert addon.classes(), "the add-on registers no classes"
    for cls in addon.classes():
        assert cls.is_registered, cls


def test_manifest_is_read_by_blender(installed_zip):
    enable_addon()
    try:
        mod = sys.modules[ADDON_MODULE]
        info = addon_utils.module_bl_info(mod)
        assert info["name"] == "Leak-Free Ray Cast"
        assert tuple(info["version"]) == _manifest_version()
    finally:
        disable_addon()


def _manifest_version():
    import tomllib

    from helpers import ROOT

    with open(ROOT / "blender_manifest.toml", "rb") as fh:
        return tuple(int(p) for p in tomllib.load(fh)["version"].split("."))
