"""The GUI test's harness (no steps here): arguments, the stderr watch, screenshots, keys, context
overrides, checks, and the step runner.  Imported by ``driver.py`` and the ``steps_*.py`` modules;
runs only inside a windowed Blender."""
import argparse
import os
import shutil
import subprocess
import sys
import traceback

import bpy

REPO_MODULE = "bvh_gui_test"
ADDON = f"bl_ext.{REPO_MODULE}.bvh_leakfree_addon"
OPERATOR = "object.bvh_cast_from_cursor"
OPERATOR_LABEL = "Ray Cast from 3D Cursor"


def parse_args():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    parser = argparse.ArgumentParser(prog="driver.py")
    parser.add_argument("--zip", required=True)
    parser.add_argument("--shots", default="gui-shots")
    parser.add_argument("--site", default="",
                        help="folder with numpy for Blenders that lack it (tools/gui_site.py)")
    return parser.parse_args(argv)


ARGS = parse_args()
try:
    import numpy  # noqa: F401 - the add-on needs it; official Blender builds bundle it
except ImportError:
    if ARGS.site and os.path.isdir(ARGS.site):
        sys.path.append(os.path.abspath(ARGS.site))
FAILURES = []
STATE = {}   # what one step leaves for a later one


# --- stderr watch: panel draw errors only print ------------------------------------------------
class _Tee:
    def __init__(self, stream):
        self.stream, self.text = stream, []

    def write(self, data):
        self.text.append(data)
        return self.stream.write(data)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


STDERR = _Tee(sys.stderr)
sys.stderr = STDERR


def tracebacks_seen():
    return "Traceback (most recent call last)" in "".join(STDERR.text)


# --- small UI helpers ---------------------------------------------------------------------------
def have(tool):
    return shutil.which(tool) is not None


def xdo(*args):
    if have("xdotool"):
        subprocess.run(["xdotool", *args], check=True)


def shot(name):
    os.makedirs(ARGS.shots, exist_ok=True)
    path = os.path.abspath(os.path.join(ARGS.shots, f"{name}.png"))
    if have("import"):
        subprocess.run(["import", "-window", "root", path], check=True)
    else:
        with context_override():
            bpy.ops.screen.screenshot(filepath=path)
    print(f"gui: screenshot {path}")


def window():
    return bpy.context.window_manager.windows[0]


def view3d_area():
    return next(a for a in window().screen.areas if a.type == 'VIEW_3D')


def region(area, kind):
    return next(r for r in area.regions if r.type == kind)


def context_override(area=None, region_type='WINDOW'):
    area = area or view3d_area()
    return bpy.context.temp_override(window=window(), area=area, region=region(area, region_type))


def redraw_all():
    for win in bpy.context.window_manager.windows:
        for area in win.screen.areas:
            area.tag_redraw()


def check(condition, message):
    status = "ok" if condition else "FAILED"
    print(f"gui: [{status}] {message}")
    if not condition:
        FAILURES.append(message)


def addon_module():
    return sys.modules[ADDON]


def addon_classes(base):
    return [cls for cls in addon_module().classes() if issubclass(cls, base)]


def run(plan):
    """Run ``[(delay seconds, step)]`` one after another from an app timer."""
    PLAN[:] = plan
    bpy.app.timers.register(run_next, first_interval=PLAN[0][0])


PLAN = []


def run_next():
    if not PLAN:
        return None
    _, fn = PLAN.pop(0)
    try:
        fn()
        redraw_all()
    except Exception:
        traceback.print_exc()
        FAILURES.append(f"step {getattr(fn, '__name__', fn)} raised")
        print("gui: FAILED:\n  " + "\n  ".join(FAILURES))
        sys.stdout.flush()
        os._exit(3)
    return PLAN[0][0] if PLAN else None
