"""The command line: ``python tools/bench [--tiny] [--only cold,loop,...] [--out FILE.json]
[--zip dist/bvh_leakfree_addon-<version>.zip] [--in-process]``."""
import argparse
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import suite


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/bench", description="The add-on's benchmarks, every figure a ratio against a "
        "reference measured in the same run (see tools/bench/__init__.py).")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (smoke test, seconds)")
    parser.add_argument("--only", default=",".join(suite.MEASUREMENTS),
                        help=f"comma-separated subset of: {', '.join(suite.MEASUREMENTS)}")
    parser.add_argument("--out", help="write the results (JSON) to this file")
    parser.add_argument("--zip",
                        help="add-on zip for the monitor jobs (default: newest dist/*.zip)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every job in this process (no subprocess isolation)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if "bpy" not in sys.modules and not os.environ.get("BLENDER_USER_RESOURCES"):
        # Installing the add-on (monitor jobs) must never touch the user's own Blender: a
        # throwaway user folder, set before the first `import bpy` (Blender reads it at start-up).
        # Removed at exit after Blender's own exit handlers (registered before bpy registers its
        # own): removing it earlier made Blender 4.2 crash on exit.
        user_dir = tempfile.mkdtemp(prefix="bvh_leakfree_bench_")
        os.environ["BLENDER_USER_RESOURCES"] = user_dir
        atexit.register(shutil.rmtree, user_dir, ignore_errors=True)
    else:
        user_dir = None
    if args.worker:
        suite.worker_main(args.worker, args.worker_out)
        # The result is written: leave without Blender's exit handlers.  Blender 4.2's bpy module
        # segfaults at exit once a class with a get/set-callback property has been registered
        # (the add-on's state.py has one), even after unregistering it.
        if user_dir:
            shutil.rmtree(user_dir, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return _run(parser, args)


def _run(parser, args):
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(suite.MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(suite.MEASUREMENTS)}")
    size = "tiny" if args.tiny else "full"
    print(f"bench: Blender {suite.bpy_version()} ({size} sizes): {', '.join(only)}", flush=True)
    doc = suite.run_suite(size, only, in_process=args.in_process, zip_path=args.zip,
                          log=lambda text: print(text, flush=True))
    print()
    print(suite.format_table(doc))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(suite.dump_json(doc), encoding="utf-8")
        print(f"\nbench: results written to {out}")
    if doc["failures"]:
        sys.exit(f"bench: {len(doc['failures'])} job(s) failed: {', '.join(doc['failures'])}")
    return doc
