"""`make dist` builds with Blender's own extension builder and refuses a broken manifest: one zip
per platform with its own Embree wheels (one per CPython of Blender builds), and one zip without
wheels."""
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
from helpers import ROOT, load_script

BUILD = ROOT / "tools" / "build_dist.py"
MANIFEST = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
# Blender's platform names → the wheel tag of the platform's embreex wheels
WHEEL_TAG = {"linux-x64": "manylinux_2_28_x86_64", "windows-x64": "win_amd64",
             "macos-x64": "macosx_13_0_x86_64", "macos-arm64": "macosx_13_0_arm64"}
# The CPythons of Blender builds: official 4.2-5.0 (3.11), official 5.1 and later and Debian
# trixie's 4.3 (3.13), Debian sid's 5.2 (3.14)
CPYTHONS = ("cp311", "cp313", "cp314")


def _copy_project(tmp_path, manifest_text=None):
    shutil.copytree(ROOT / "bvh_leakfree_addon", tmp_path / "bvh_leakfree_addon",
                    ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "blender_manifest.toml").read_text()
    (tmp_path / "blender_manifest.toml").write_text(manifest_text(text) if manifest_text else text)
    (tmp_path / "requirements").mkdir()
    shutil.copy2(ROOT / "requirements" / "addon-wheels.txt", tmp_path / "requirements")
    return tmp_path


def _build(root, output, *extra):
    return subprocess.run([sys.executable, str(BUILD), "--root", str(root),
                           "--output", str(output), *extra],
                          capture_output=True, text=True)


def _tool():
    return load_script("tools/build_dist.py")


def test_build_produces_a_validated_zip_with_only_the_addon(tmp_path):
    root = _copy_project(tmp_path)
    (root / "bvh_leakfree_addon" / "__pycache__").mkdir(exist_ok=True)
    (root / "bvh_leakfree_addon" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    out = tmp_path / "out" / "addon.zip"
    proc = _build(root, out, "--no-platform-zips")
    assert proc.returncode == 0, proc.stderr
    names = zipfile.ZipFile(out).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "api.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert sorted(p.name for p in out.parent.iterdir()) == ["addon.zip"]


def test_dist_has_a_zip_per_platform_with_its_wheels_and_one_without(installed_zip):
    """The zips `make dist` built: each platform zip holds exactly its platform's embreex wheels,
    one for each CPython of Blender builds (3.11, 3.13, 3.14), and says so in its manifest; the
    wheel-less zip has no wheel and no platform list; Blender's validator of this Blender version
    accepts every one."""
    platforms = MANIFEST["platforms"]
    assert set(platforms) == set(WHEEL_TAG)
    assert len(MANIFEST["wheels"]) == len(platforms) * len(CPYTHONS)
    tool = _tool().find_blender_ext()
    stem = installed_zip.stem
    zips = {installed_zip: None}
    zips.update({installed_zip.with_name(f"{stem}-{p.replace('-', '_')}.zip"): p
                 for p in platforms})
    for path, plat in zips.items():
        assert path.exists(), f"{path.name} missing: make dist builds it"
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
        wheels = sorted(n for n in names if n.endswith(".whl"))
        if plat is None:
            assert wheels == [] and "platforms" not in manifest and "wheels" not in manifest
            assert path.stat().st_size < 1 << 20
        else:
            assert [w.split("-")[2] for w in wheels] == list(CPYTHONS), (plat, wheels)
            for wheel, cp in zip(wheels, CPYTHONS, strict=True):
                assert wheel.startswith(f"wheels/embreex-4.4.0.post1-{cp}-{cp}-"), wheel
                assert WHEEL_TAG[plat] in wheel, (plat, wheel)
            generated = manifest["build"]["generated"]
            assert generated["platforms"] == [plat]
            assert sorted(generated["wheels"]) == [f"./{w}" for w in wheels]
            assert not [n for n in names if "numpy" in n]     # Blender's numpy is used
        assert "permissions" not in manifest
        proc = subprocess.run([sys.executable, str(tool), "validate", str(path)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_platform_without_the_wheel_of_one_python_is_refused(tmp_path):
    """A manifest whose wheels give one platform fewer CPythons than the others fails the build
    with a message naming the platform and the Python (that zip would not install there)."""
    dropped = next(w for w in MANIFEST["wheels"] if "-cp314-" in w and "win_amd64" in w)
    root = _copy_project(tmp_path / "project",
                         lambda t: t.replace(f'  "{dropped}",\n', ""))
    out = tmp_path / "out" / "addon.zip"
    proc = _build(root, out)
    assert proc.returncode != 0
    assert "no windows-x64 wheel for CPython 3.14" in proc.stderr, proc.stderr
    assert not out.parent.exists() or not list(out.parent.glob("*.zip"))


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path):
    root = _copy_project(tmp_path / "project")
    house = tmp_path / "wheelhouse"
    house.mkdir()
    for wheel in MANIFEST["wheels"]:
        (house / wheel.split("/")[-1]).write_bytes(b"not the wheel from PyPI")
    out = tmp_path / "out" / "addon.zip"
    proc = _build(root, out, "--wheelhouse", str(house))
    assert proc.returncode != 0 and "SHA-256" in proc.stderr, proc.stderr
    assert not out.parent.exists() or not list(out.parent.glob("*.zip"))


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
    assert not out.parent.exists() or not list(out.parent.glob("*.zip"))
