"""Install an add-on zip in a real Blender, enable it and cast with it, as a user's Blender would.

    blender -b --factory-startup --python-exit-code 3 --python tools/check_zip_in_blender.py -- \\
        --zip dist/bvh_leakfree_addon-<version>-linux_x64.zip [--expect embree|mathutils]

(``make test-zip-install BLENDER=...`` runs it for the zip of this platform.)  It never touches
the user's own Blender set-up: the script starts the same Blender once more (``--inside``) with
``BLENDER_USER_RESOURCES`` pointing at a temporary folder, removed afterwards.  Inside, Blender's
own installer (``extensions.package_install_files``) installs the zip into the user repository
and enables it; the check then needs the add-on enabled, the backend ``--expect`` names (default:
``embree`` when the zip holds an embreex wheel for this Blender's Python and platform, else
``mathutils``), Embree imported from the wheel the installer extracted (not from anything else
on this Blender's path), the preferences' Batched Rays lines, and batched casts of an ico sphere
that agree between the backends.  Prints one line per fact; exits 0 when all hold, 1 (with the
reason) when one does not.  Paths are taken relative to the current directory, so the script
runs the same way inside ../shared/tools/blender-gui's chroot (the project is /project there).
"""
import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
import zipfile

import bpy

MODULE = "bl_ext.user_default.bvh_leakfree_addon"
RAYS = 20_000


def parse_args():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    parser = argparse.ArgumentParser(prog="check_zip_in_blender.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zip", required=True, help="the add-on zip to install")
    parser.add_argument("--expect", choices=("embree", "mathutils"),
                        help="the backend batched rays must use (default: from the zip's wheels)")
    parser.add_argument("--inside", action="store_true",
                        help="(internal) run the check in this Blender, whose user folder is "
                             "a throwaway one")
    return parser.parse_args(argv)


def fail(message):
    print(f"check_zip_in_blender: FAILED: {message}", flush=True)
    sys.exit(1)


def relaunch(args):
    """Run the check in a second Blender whose user resources are a temporary folder."""
    user = tempfile.mkdtemp(prefix="bvh_zip_check_")
    try:
        command = [bpy.app.binary_path, "-b", "--factory-startup", "--python-exit-code", "3",
                   "--python", os.path.abspath(__file__), "--",
                   "--zip", os.path.abspath(args.zip), "--inside"]
        if args.expect:
            command += ["--expect", args.expect]
        env = dict(os.environ, BLENDER_USER_RESOURCES=user)
        code = subprocess.run(command, env=env).returncode
    finally:
        shutil.rmtree(user, ignore_errors=True)
    sys.exit(code)


def wheels_for_this_python(path):
    """The wheels of the zip's manifest that this Blender's installer takes (its own filter of
    wheels by CPython and platform, when it can be imported; else by the ``cpXY`` tag alone)."""
    with zipfile.ZipFile(path) as zf:
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode("utf-8"))
    generated = manifest.get("build", {}).get("generated", {})
    wheels = generated.get("wheels", manifest.get("wheels", []))
    try:
        from bl_pkg.bl_extension_ops import _extensions_wheel_filter_for_this_system
    except ImportError:
        tag = "-cp{}{}-".format(*sys.version_info[:2])
        return [wheel for wheel in wheels if tag in wheel]
    return _extensions_wheel_filter_for_this_system(wheels)


def check(args):
    user = os.environ["BLENDER_USER_RESOURCES"]
    python = "{}.{}".format(*sys.version_info[:2])
    print(f"BLENDER {bpy.app.version_string} on Python {python} ({sysconfig.get_platform()})")
    print(f"ZIP {os.path.basename(args.zip)}")
    bundled = wheels_for_this_python(args.zip)
    print(f"WHEEL for this Python: {', '.join(os.path.basename(w) for w in bundled) or 'none'}")
    expect = args.expect or ("embree" if bundled else "mathutils")

    try:
        result = bpy.ops.extensions.package_install_files(
            filepath=os.path.abspath(args.zip), repo="user_default", enable_on_install=True)
    except RuntimeError as ex:            # Blender's installer reports an error this way
        fail(f"Blender's installer refused the zip: {str(ex).strip()}")
    print(f"INSTALL {sorted(result)}")
    if result != {'FINISHED'}:
        fail(f"Blender's installer answered {sorted(result)}")
    if MODULE not in bpy.context.preferences.addons:
        fail(f"{MODULE} is installed but not enabled (Blender's reason is printed above)")
    print("ENABLED True")

    import importlib
    api = importlib.import_module(f"{MODULE}.api")
    prefs = importlib.import_module(f"{MODULE}.preferences")
    backends = api.ray_backends()
    print(f"BACKENDS {backends}")
    for text, _icon in prefs.batched_rays_lines():
        print(f"PREFERENCES {text}")
    if expect == "embree":
        if "embree" not in backends:
            fail("the Embree backend is not available: " + prefs.batched_rays_lines()[0][0])
        origin = sys.modules["embreex"].__file__
        print(f"EMBREEX {origin}")
        if not os.path.realpath(origin).startswith(os.path.realpath(user)):
            fail(f"embreex was imported from {origin}, not from the wheel Blender's installer "
                 f"extracted into {user}")
    elif backends != ("mathutils",):
        fail(f"expected mathutils only, got {backends}")

    import numpy as np
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=3)
    bvh = api.build([bpy.context.object])
    rng = np.random.default_rng(0)
    origins = np.column_stack([rng.uniform(-0.7, 0.7, (RAYS, 2)), np.full(RAYS, 5.0)])
    reference = bvh.ray_cast_many(origins, (0, 0, -1), backend="mathutils")
    hits = bvh.ray_cast_many(origins, (0, 0, -1), backend=expect)
    agree = float((hits.hit == reference.hit).mean())
    print(f"CAST {expect}: {int(hits.hit.sum())} of {RAYS} rays hit, "
          f"{agree:.2%} agree with mathutils")
    if hits.hit.sum() < RAYS // 2 or agree < 0.999:
        fail("the casts do not hit the sphere as expected")
    del bvh, hits, reference
    api.shutdown()
    bpy.ops.preferences.addon_disable(module=MODULE)
    print(f"check_zip_in_blender: OK: {os.path.basename(args.zip)} installs, enables and casts "
          f"with {expect} in Blender {bpy.app.version_string} (Python {python})", flush=True)


def main():
    args = parse_args()
    if not args.inside:
        relaunch(args)
    check(args)
    sys.stdout.flush()
    # Blender 4.2's exit teardown can crash once an add-on with property callbacks was registered
    # (tests/conftest.py): the check has passed, leave without it
    os._exit(0)


main()
