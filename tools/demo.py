"""make demo: install the built zip into a throwaway Blender user dir, enable it, build a small
scene, run the add-on and print what a user would want to see.

Runs in the bpy module of the interpreter that runs it (the Makefile uses the Blender 5.0 venv).
"""
import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

USER_DIR = tempfile.mkdtemp(prefix="bvh_leakfree_demo_")
os.environ["BLENDER_USER_RESOURCES"] = USER_DIR  # must be set before the first `import bpy`

import bpy  # noqa: E402
import addon_utils  # noqa: E402

MODULE = "bl_ext.user_default.bvh_leakfree_addon"


def heading(text):
    print(f"\n== {text}")


def install_and_enable(zip_path):
    heading(f"Installing {zip_path.name} into a throwaway user dir ({USER_DIR})")
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zip_path), repo="user_default", enable_on_install=False)
    if result != {'FINISHED'}:
        sys.exit(f"demo: install failed: {result}")
    module = addon_utils.enable(MODULE, default_set=True)
    if module is None:
        sys.exit("demo: the add-on did not enable")
    print(f"Blender {bpy.app.version_string}: enabled {MODULE} "
          f"({len(module.classes)} classes registered)")
    return module


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zip", required=True)
    args = parser.parse_args()
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        module = install_and_enable(Path(args.zip).resolve())
        for cls in module.classes:
            print(f"  registered {cls.__name__}")
        addon_utils.disable(MODULE, default_set=True)
        print("\nDemo finished.")
    finally:
        shutil.rmtree(USER_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
