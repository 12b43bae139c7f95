"""Build dist/bvh_leakfree_addon-<version>.zip with Blender's own extension tool.

Blender's builder wants ``__init__.py`` beside ``blender_manifest.toml``.  The repository keeps the
manifest at the top level (single source of truth) and the code in ``bvh_leakfree_addon/``, so this
script stages both into ``build/stage/``, runs ``blender_ext.py build`` there and then
``blender_ext.py validate`` on the zip.  The builder is the one shipped inside the ``bpy`` wheel of
the interpreter running this script.  Any validation failure stops the build with Blender's own
message and leaves no zip behind.
"""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def stage(root, stage_dir):
    """Copy the code package and the top-level manifest side by side, as Blender's builder wants."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(root / "bvh_leakfree_addon", stage_dir,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(root / "blender_manifest.toml", stage_dir / "blender_manifest.toml")


def run(tool, *args):
    proc = subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True)
    out = (proc.stdout + proc.stderr).strip()
    return proc.returncode, out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", required=True, help="path of the zip to write")
    parser.add_argument("--root", default=str(ROOT), help="project folder (default: this checkout)")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    output = Path(args.output).resolve()
    tool = find_blender_ext()
    stage_dir = root / "build" / "stage" / "bvh_leakfree_addon"
    stage(root, stage_dir)

    code, out = run(tool, "validate", str(stage_dir))
    if code != 0:
        print(out, file=sys.stderr)
        sys.exit(f"build_dist: the manifest or package failed Blender's validator (exit {code})")

    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = root / "build" / output.name  # built here, moved into place only once validated
    if tmp.exists():
        tmp.unlink()
    code, out = run(tool, "build", "--source-dir", str(stage_dir), "--output-filepath", str(tmp))
    if code != 0 or not tmp.exists():
        print(out, file=sys.stderr)
        if tmp.exists():
            tmp.unlink()
        sys.exit(f"build_dist: Blender's builder failed (exit {code})")

    code, out = run(tool, "validate", str(tmp))
    if code != 0:
        print(out, file=sys.stderr)
        tmp.unlink()
        sys.exit(f"build_dist: the built zip failed Blender's validator (exit {code})")
    os.replace(tmp, output)
    print(f"build_dist: {output.relative_to(root) if output.is_relative_to(root) else output} "
          f"built and validated with {tool.relative_to(tool.parents[5])}")


if __name__ == "__main__":
    main()
