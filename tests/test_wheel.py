"""The Python distribution: `make wheel` / `pip install .` give a pure wheel whose version is the
manifest's, that depends on numpy only, and whose `api` imports in a fresh process with `bpy`
without registering anything or loading any UI module."""
import base64
import email.parser
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile

import pytest
from helpers import ROOT

BUILD = ROOT / "tools" / "build_wheel.py"


def _manifest_version(root=ROOT):
    with open(root / "blender_manifest.toml", "rb") as fh:
        return tomllib.load(fh)["version"]


def _copy_project(dest):
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "blender_manifest.toml", "LICENSE", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    (dest / "tools").mkdir()
    shutil.copy2(BUILD, dest / "tools" / "build_wheel.py")
    shutil.copytree(ROOT / "bvh_leakfree_addon", dest / "bvh_leakfree_addon",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _build(root, out):
    proc = subprocess.run([sys.executable, str(BUILD), "--root", str(root), "--output-dir",
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return _build(ROOT, tmp_path_factory.mktemp("wheel"))


def _metadata(path):
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(zf.read(name).decode("utf-8"))


def test_wheel_name_version_and_metadata(wheel):
    version = _manifest_version()
    assert wheel.name == f"bvh_leakfree_addon-{version}-py3-none-any.whl"
    meta = _metadata(wheel)
    assert meta["Name"] == "bvh_leakfree_addon" and meta["Version"] == version
    assert meta["License-Expression"] == "GPL-3.0-or-later"
    assert meta["Requires-Python"] == ">=3.11"
    requires = meta.get_all("Requires-Dist") or []
    unconditional = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("=")[0].strip() for r in unconditional] == ["numpy"], requires
    assert not any(r.lower().startswith("bpy") for r in requires), requires


def test_wheel_holds_the_package_and_a_valid_record(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        record = zf.read(record_name).decode("utf-8").splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path == record_name:
                continue
            data = zf.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode() and int(size) == len(data), path
        assert {line.rsplit(",", 2)[0] for line in record} == set(names)
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bvh_leakfree_addon").rglob("*.py")
               if "__pycache__" not in p.parts}
    code = {n for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert code == package
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_version_has_one_source(tmp_path):
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    assert "version" in project["dynamic"] and "version" not in project
    root = _copy_project(tmp_path / "project")
    manifest = root / "blender_manifest.toml"
    manifest.write_text(manifest.read_text().replace(f'version = "{_manifest_version()}"',
                                                     'version = "7.8.9"'))
    wheel = _build(root, tmp_path / "out")
    assert wheel.name == "bvh_leakfree_addon-7.8.9-py3-none-any.whl"
    assert _metadata(wheel)["Version"] == "7.8.9"


def test_pip_builds_a_clone_offline_with_no_build_requirements(tmp_path):
    root = _copy_project(tmp_path / "clone")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                           "-q", "-w", str(tmp_path / "out"), str(root)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in (tmp_path / "out").glob("*.whl")] == [
        f"bvh_leakfree_addon-{_manifest_version()}-py3-none-any.whl"]


IMPORT_CHECK = textwrap.dedent("""
    import sys
    import bpy

    def handlers():
        return {name: list(getattr(bpy.app.handlers, name)) for name in dir(bpy.app.handlers)
                if isinstance(getattr(bpy.app.handlers, name), list)}

    types_before, handlers_before = set(dir(bpy.types)), handlers()
    from bvh_leakfree_addon import api
    core_only = {"bvh_leakfree_addon", "bvh_leakfree_addon.api", "bvh_leakfree_addon.core"}
    loaded = sorted(m for m in sys.modules if m.startswith("bvh_leakfree_addon"))
    ui = [m for m in loaded if m not in core_only and not m.startswith("bvh_leakfree_addon.core.")]
    assert not ui, f"UI modules loaded by importing the api: {ui}"
    assert set(dir(bpy.types)) == types_before, set(dir(bpy.types)) ^ types_before
    assert handlers() == handlers_before, "app handlers added by importing the api"
    assert not hasattr(bpy.types.WindowManager, "bvh_leakfree")
    print("imported", api.__file__)
""")


def test_installed_wheel_api_imports_without_registering_anything(wheel, tmp_path):
    """In a fresh process with bpy: the api of the installed wheel (not this checkout) loads the
    core only and registers no class, handler or property."""
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--no-index", "--target", str(site), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-c", IMPORT_CHECK], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"imported {site}" in proc.stdout, proc.stdout


RUN_CHECK = textwrap.dedent("""
    import sys
    import bpy
    from bvh_leakfree_addon import api
    bpy.ops.mesh.primitive_cube_add()
    hit = api.build([bpy.context.object]).ray_cast((0, 0, 10), (0, 0, -1))
    print("FROM", api.__file__)
    print("PYTHON {}.{}".format(*sys.version_info[:2]), "HIT", hit is not None and hit.distance)
""")


def test_declared_pythons_include_the_one_running_the_suite(wheel):
    """The wheel says which Pythons it supports (Requires-Python, one classifier each): those of
    the Blender builds it is tested on, the one running this suite among them."""
    meta = _metadata(wheel)
    assert meta["Requires-Python"] == ">=3.11"
    declared = [c.rsplit(" :: ", 1)[1] for c in meta.get_all("Classifier")
                if c.startswith("Programming Language :: Python :: 3.")]
    assert declared == ["3.11", "3.13", "3.14"], declared
    assert "{}.{}".format(*sys.version_info[:2]) in declared


def test_pip_installs_the_wheel_into_a_fresh_venv_and_it_casts(wheel, tmp_path):
    """``pip install`` of the wheel into a new venv of the interpreter running this suite (3.11
    with bpy 4.x, 3.13 with 5.x), which sees bpy and numpy of the test environment only through a
    ``.pth`` file (pip takes numpy as already there, checks Requires-Python); the installed
    package then builds and casts there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True).stdout
    import numpy
    test_site = os.path.dirname(os.path.dirname(numpy.__file__))
    with open(os.path.join(site.strip(), "test_environment.pth"), "w", encoding="utf-8") as fh:
        fh.write(test_site + "\n")
    proc = subprocess.run([str(python), "-m", "pip", "install", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Requirement already satisfied: numpy" in proc.stdout, proc.stdout
    proc = subprocess.run([str(python), "-c", RUN_CHECK], capture_output=True, text=True,
                          timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f"FROM {site.strip()}" in proc.stdout, proc.stdout
    python_version = "{}.{}".format(*sys.version_info[:2])
    assert f"PYTHON {python_version} HIT 9.0" in proc.stdout, proc.stdout


def test_no_marker_compares_the_kernel_release(wheel):
    """``platform_release`` / ``platform_version`` compared as versions make pip 24.1+ stop with
    InvalidVersion on Linux kernels such as Debian's 6.1.0-17-amd64 (pypa/packaging#774): the
    wheel's requirements use neither, so installing never depends on the kernel's name."""
    requires = _metadata(wheel).get_all("Requires-Dist") or []
    assert requires and not [r for r in requires if "platform_release" in r
                             or "platform_version" in r], requires


def test_optional_dependencies_become_extras(tmp_path):
    """An extra declared in pyproject.toml is written as Provides-Extra with its requirements
    conditioned on it, its own environment marker kept: the real one (embree), and a second one
    added to a copy of the project."""
    root = _copy_project(tmp_path / "project")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        "\nembree = [", '\nfast = ["somepkg==1.2", "other>=2; sys_platform == \'linux\'"]'
        "\nembree = [", 1))
    meta = _metadata(_build(root, tmp_path / "out"))
    assert meta.get_all("Provides-Extra") == ["fast", "embree"]
    requires = meta.get_all("Requires-Dist")[1:]
    assert requires[:2] == [
        'somepkg==1.2; extra == "fast"',
        "other>=2; (sys_platform == 'linux') and extra == \"fast\""]
    assert len(requires) == 3 and requires[2].startswith("embreex==4.4.0.post1; (")
    assert requires[2].endswith(') and extra == "embree"') and "platform_machine" in requires[2]
