"""The platform zip installed with Blender's installer brings its own Embree (the wheel of the
running Python among those it bundles: 3.11 on bpy 4.x, 3.13 on 5.x); the wheel-less zip works
without it.

Each case runs in a fresh Python with the ``bpy`` module (a throwaway user folder) where the
test venv's own ``embreex`` is hidden from the import system, as in a venv that never had it:
only what Blender's installer put in the user's extensions folder can be imported.
"""
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from helpers import ADDON_MODULE

SCRIPT = textwrap.dedent("""
    import os, sys, tempfile
    user = tempfile.mkdtemp(prefix="bvh_embree_install_")
    os.environ["BLENDER_USER_RESOURCES"] = user
    import importlib.machinery
    hidden = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(
        os.path.join(p, "embreex"))]

    class VenvWithoutEmbreex:
        def find_spec(self, name, path=None, target=None):
            if name != "embreex":
                return None
            paths = [p for p in sys.path if p not in hidden]
            spec = importlib.machinery.PathFinder.find_spec(name, paths)
            if spec is None:
                raise ModuleNotFoundError("No module named 'embreex'", name=name)
            return spec

    sys.meta_path.insert(0, VenvWithoutEmbreex())
    import bpy
    import addon_utils
    import numpy as np
    try:
        import embreex  # noqa: F401
        print("BEFORE embreex importable")
    except ImportError:
        print("BEFORE embreex missing")
    result = bpy.ops.extensions.package_install_files(
        filepath=sys.argv[1], repo="user_default", enable_on_install=False)
    print("INSTALL", result)
    module = addon_utils.enable("{module}", default_set=True)
    print("ENABLED", module is not None and len(module.classes()))
    import importlib
    api = importlib.import_module("{module}.api")
    print("BACKENDS", api.ray_backends())
    prefs = importlib.import_module("{module}.preferences")
    print("PREFERENCES", prefs.batched_rays_lines())
    if "embreex" in sys.modules:
        print("EMBREEX_FROM_USER", sys.modules["embreex"].__file__.startswith(user))
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=3)
    bvh = api.build([bpy.context.object])
    rng = np.random.default_rng(0)
    o = np.column_stack([rng.uniform(-0.7, 0.7, (30000, 2)), np.full(30000, 5.0)])
    res = bvh.ray_cast_many(o, (0, 0, -1))
    ref = bvh.ray_cast_many(o, (0, 0, -1), backend="mathutils")
    print("AGREE", int(res.hit.sum()), bool((res.hit == ref.hit).mean() > 0.999))
    if "embree" in api.ray_backends():
        emb = bvh.ray_cast_many(o, (0, 0, -1), backend="embree")
        print("EMBREE_HITS", int(emb.hit.sum()))
    addon_utils.disable("{module}", default_set=True)
    print("DISABLED", flush=True)
    # bpy 4.2 segfaults (4.5 hangs) at interpreter exit once an add-on with property callbacks
    # was registered (see tests/conftest.py): leave without Blender's exit teardown
    os._exit(0)
""").replace("{module}", ADDON_MODULE)


def _zip(installed_zip, suffix):
    return installed_zip.with_name(f"{installed_zip.stem}{suffix}.zip")


def _run(zip_path):
    env = {k: v for k, v in os.environ.items() if k != "BVH_LEAKFREE_EMBREE"}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "install_check.py"
        script.write_text(SCRIPT, encoding="utf-8")
        proc = subprocess.run([sys.executable, str(script), str(zip_path)], capture_output=True,
                              text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"),
                    reason="the Linux x64 zip installs on Linux x64 only")
def test_linux_zip_installs_its_embreex_and_casts_with_embree(installed_zip):
    zip_path = _zip(installed_zip, "-linux_x64")
    assert zip_path.exists(), f"{zip_path.name} missing: make dist builds it"
    out = _run(zip_path)
    assert "BEFORE embreex missing" in out, out
    assert "INSTALL {'FINISHED'}" in out and "DISABLED" in out, out
    assert "ENABLED" in out and "ENABLED False" not in out and "ENABLED 0" not in out, out
    # the zip brings a wheel for each Python of Blender builds: the installer took this one's
    assert "BACKENDS ('embree', 'mathutils')" in out, out
    assert "PREFERENCES [('Batched rays use Embree (embreex 4.4.0.post1)', 'CHECKMARK')]" in out
    assert "EMBREEX_FROM_USER True" in out, out           # the wheel the installer extracted
    assert "AGREE" in out and out.split("AGREE ")[1].split()[1] == "True", out
    assert int(out.split("EMBREE_HITS ")[1].split()[0]) > 10_000, out


def test_wheel_less_zip_registers_and_casts_with_mathutils(installed_zip):
    out = _run(installed_zip)
    assert "BEFORE embreex missing" in out, out
    assert "INSTALL {'FINISHED'}" in out, out
    assert "ENABLED" in out and "ENABLED False" not in out and "ENABLED 0" not in out, out
    assert "BACKENDS ('mathutils',)" in out, out
    # the preferences say why: no embreex for this Python, and which zip brings it
    python = "{}.{}".format(*sys.version_info[:2])
    assert (f"PREFERENCES [('Batched rays use mathutils, the slower backend: the embreex package "
            f"is not installed for this Python {python}', 'INFO'), (\"The add-on's zip for your "
            f"platform") in out, out
    assert "AGREE" in out and out.split("AGREE ")[1].split()[1] == "True", out
    assert "DISABLED" in out, out
