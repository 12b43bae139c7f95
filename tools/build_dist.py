"""Build the extension zips with Blender's own extension tool, and validate each one.

* ``dist/bvh_leakfree_addon-<version>-<platform>.zip`` for every platform the manifest lists
  (``platforms``), each with only its own ``embreex`` wheels (Blender's ``--split-platforms``),
  one per CPython (Blender installs the one matching its Python): the Embree ray backend;
* ``dist/bvh_leakfree_addon-<version>.zip``, the same add-on without wheels or platform list: it
  installs anywhere and casts batches with the mathutils backend.

Blender's builder wants ``__init__.py`` beside ``blender_manifest.toml``.  The repository keeps the
manifest at the top level (single source of truth) and the code in ``bvh_leakfree_addon/``, so this
script stages both into ``build/stage/`` (the wheels named by the manifest are copied in from the
wheelhouse, their SHA-256 checked against ``requirements/addon-wheels.txt``; the wheel-less stage
gets a copy of the manifest without ``platforms`` and ``wheels``; every platform must have a wheel
for each CPython any wheel is for, so that no platform zip lacks one), runs ``blender_ext.py build``
there and then ``blender_ext.py validate`` on each zip.  The builder is the one shipped inside the
``bpy`` wheel of the interpreter running this script.  Any failure stops the build with Blender's
own message and leaves no zip behind.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = Path(os.environ.get("WHEELHOUSE", Path.home() / ".cache/bvh_leakfree_addon/wheels"))
# ``platforms = [...]`` / ``wheels = [...]`` of the manifest, with their comment lines above
PLATFORM_KEYS = re.compile(r"(?ms)^(?:#[^\n]*\n)*(?:platforms|wheels)\s*=\s*\[[^\]]*\]\s*\n")


def find_blender_ext():
    """Locate blender_ext.py inside the installed bpy wheel without importing bpy (slow)."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("build_dist: the bpy module is not installed in this interpreter")
    bpy_dir = Path(list(spec.submodule_search_locations)[0])
    candidates = sorted(bpy_dir.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not candidates:
        sys.exit(f"build_dist: blender_ext.py not found under {bpy_dir}")
    return candidates[-1]


def load_blender_ext(path):
    """Blender's extension tool as a module (its wheel-name rules), without running it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_blender_ext", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wheel_matrix(ext, platforms, wheels):
    """``{platform: [CPython "3.11", ...]}`` of the manifest's wheels, read with Blender's own rules
    (``ext``: :func:`load_blender_ext`).  Exits with a message naming what is missing when a
    platform lacks the wheel of a CPython that another wheel is for, or a wheel fits no platform."""
    matrix = {platform: set() for platform in platforms}
    for wheel in wheels:
        name = Path(wheel).name
        versions = ext.python_versions_from_wheel(name)
        if isinstance(versions, str):
            sys.exit(f"build_dist: {name}: {versions}")
        fits = [p for p in platforms
                if ext.blender_platform_compatible_with_wheel_platform_from_filepath(p, name)]
        if not fits:
            sys.exit(f"build_dist: {name} is for none of the manifest's platforms "
                     f"({', '.join(platforms)})")
        for platform in fits:
            matrix[platform] |= {".".join(map(str, v)) for v in versions}
    every = set().union(*matrix.values()) if matrix else set()
    key = lambda v: tuple(map(int, v.split(".")))  # noqa: E731
    for platform, versions in matrix.items():
        if versions != every:
            missing = ", ".join(sorted(every - versions, key=key))
            sys.exit(f"build_dist: the manifest has no {platform} wheel for CPython {missing} "
                     f"(the other platforms have one): its zip would not install there")
    return {platform: sorted(versions, key=key) for platform, versions in matrix.items()}


def wheel_hashes(root):
    """``{sha256, ...}`` allowed for bundled wheels (``requirements/addon-wheels.txt``)."""
    path = root / "requirements" / "addon-wheels.txt"
    if not path.exists():
        return set()
    return set(re.findall(r"--hash=sha256:([0-9a-f]{64})", path.read_text(encoding="utf-8")))


def stage(root, stage_dir, wheelhouse, with_wheels):
    """Copy the code package and the top-level manifest side by side, as Blender's builder wants:
    with the wheels the manifest names (from ``wheelhouse``), or without wheels and platforms."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(root / "bvh_leakfree_addon", stage_dir,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    text = (root / "blender_manifest.toml").read_text(encoding="utf-8")
    try:
        manifest = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        manifest = {}            # Blender's validator names the problem
    wheels = manifest.get("wheels", []) if with_wheels else []
    if not with_wheels:
        text = PLATFORM_KEYS.sub("", text)
    (stage_dir / "blender_manifest.toml").write_text(text, encoding="utf-8")
    allowed = wheel_hashes(root)
    for wheel in wheels:
        name = Path(wheel).name
        source = wheelhouse / name
        if not source.exists():
            sys.exit(f"build_dist: {name} is not in the wheelhouse {wheelhouse}: `make dist` "
                     f"downloads it (requirements/addon-wheels.txt) when an index is reachable")
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest not in allowed:
            sys.exit(f"build_dist: {name} in {wheelhouse} has SHA-256 {digest}, not one of "
                     f"requirements/addon-wheels.txt: refusing to bundle it")
        target = stage_dir / wheel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return bool(manifest.get("platforms"))


def run(tool, *args):
    proc = subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True)
    out = (proc.stdout + proc.stderr).strip()
    return proc.returncode, out


def fail(out, message, *leftovers):
    print(out, file=sys.stderr)
    for path in leftovers:
        if path.exists():
            path.unlink()
    sys.exit(f"build_dist: {message}")


def build_universal(tool, stage_dir, output, tmp_dir):
    """The wheel-less zip, validated, at ``output``."""
    tmp = tmp_dir / output.name   # built here, moved into place only once validated
    if tmp.exists():
        tmp.unlink()
    code, out = run(tool, "build", "--source-dir", str(stage_dir), "--output-filepath", str(tmp))
    if code != 0 or not tmp.exists():
        fail(out, f"Blender's builder failed (exit {code})", tmp)
    code, out = run(tool, "validate", str(tmp))
    if code != 0:
        fail(out, f"the built zip failed Blender's validator (exit {code})", tmp)
    os.replace(tmp, output)
    return output


def build_platforms(tool, stage_dir, output_dir, tmp_dir):
    """One validated zip per platform (``--split-platforms``) into ``output_dir``."""
    split = tmp_dir / "split"
    if split.exists():
        shutil.rmtree(split)
    split.mkdir(parents=True)
    code, out = run(tool, "build", "--source-dir", str(stage_dir), "--output-dir", str(split),
                    "--split-platforms")
    built = sorted(split.glob("*.zip"))
    if code != 0 or not built:
        fail(out, f"Blender's builder failed for the platform zips (exit {code})", *built)
    for path in built:
        code, out = run(tool, "validate", str(path))
        if code != 0:
            fail(out, f"{path.name} failed Blender's validator (exit {code})", *built)
    done = []
    for path in built:
        target = output_dir / path.name
        os.replace(path, target)
        done.append(target)
    return done


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", required=True,
                        help="path of the wheel-less zip; the platform zips go beside it")
    parser.add_argument("--root", default=str(ROOT), help="project folder (default: this checkout)")
    parser.add_argument("--wheelhouse", default=str(WHEELHOUSE),
                        help="folder holding the wheels the manifest names")
    parser.add_argument("--no-platform-zips", action="store_true",
                        help="build only the wheel-less zip")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    output = Path(args.output).resolve()
    tool = find_blender_ext()
    build_dir = root / "build"
    universal_stage = build_dir / "stage" / "bvh_leakfree_addon"
    platform_stage = build_dir / "stage-platforms" / "bvh_leakfree_addon"

    # the wheel-less stage first: a broken manifest fails with Blender's own message
    stage(root, universal_stage, Path(args.wheelhouse), with_wheels=False)
    code, out = run(tool, "validate", str(universal_stage))
    if code != 0:
        fail(out, f"the manifest or package failed Blender's validator (exit {code})")
    with_platforms = not args.no_platform_zips and stage(root, platform_stage,
                                                         Path(args.wheelhouse), with_wheels=True)
    if with_platforms:
        manifest = tomllib.loads((platform_stage / "blender_manifest.toml").read_text("utf-8"))
        matrix = wheel_matrix(load_blender_ext(tool), manifest["platforms"],
                              manifest.get("wheels", []))
        code, out = run(tool, "validate", str(platform_stage))
        if code != 0:
            fail(out, f"the manifest or package failed Blender's validator (exit {code})")

    output.parent.mkdir(parents=True, exist_ok=True)
    built = [build_universal(tool, universal_stage, output, build_dir)]
    if with_platforms:
        built += build_platforms(tool, platform_stage, output.parent, build_dir)
    name = tool.relative_to(tool.parents[5])
    for path in built:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        print(f"build_dist: {shown} ({path.stat().st_size / 2**20:.1f} MB) built and validated "
              f"with {name}")
    if with_platforms:
        for platform, versions in matrix.items():
            print(f"build_dist: {platform}: embreex for CPython {', '.join(versions)}")


if __name__ == "__main__":
    main()
