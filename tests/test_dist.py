"""`make dist` builds with Blender's own extension builder and refuses a broken manifest."""
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT

BUILD = ROOT / "tools" / "build_dist.py"


def _copy_project(tmp_path, manifest_text=None):
    shutil.copytree(ROOT / "bvh_leakfree_addon", tmp_path / "bvh_leakfree_addon",
                    ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "blender_manifest.toml").read_text()
    (tmp_path / "blender_manifest.toml").write_text(manifest_text(text) if manifest_text else text)
    return tmp_path


def _build(root, output):
    return subprocess.run([sys.executable, str(BUILD), "--root", str(root),
                           "--output", str(output)],
                          capture_output=True, text=True)


def test_build_produces_a_validated_zip_with_only_the_addon(tmp_path):
    root = _copy_project(tmp_path)
    (root / "bvh_leakfree_addon" / "__pycache__").mkdir(exist_ok=True)
    (root / "bvh_leakfree_addon" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    out = tmp_path / "out" / "addon.zip"
    proc = _build(root, out)
    assert proc.returncode == 0, proc.stderr
    names = zipfile.ZipFile(out).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "api.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.parametrize("breakage, expected", [
    (lambda t: t.replace('id = "bvh_leakfree_addon"\n', ""), "id"),
    (lambda t: re.sub(r'(?m)^version = ".*"$', 'version = "one"', t), "version"),
    (lambda t: t.replace('blender_version_min = "4.2.0"', 'blender_version_min = "4.2"'),
     "blender_version_min"),
    (lambda t: t.replace('tagline = "', 'tagline = "Ends with a full stop.'), "tagline"),
])
def test_broken_manifest_fails_with_blenders_message_and_no_zip(tmp_path, breakage, expected):
    root = _copy_project(tmp_path, breakage)
    out = tmp_path / "out" / "addon.zip"
    proc = _build(root, out)
    assert proc.returncode != 0
    assert expected in proc.stderr
    assert not out.exists()
