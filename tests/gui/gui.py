"""The GUI test's harness (no steps here): arguments, the stderr watch, the screen (captures, keys,
the pointer), context overrides, checks, and the plan runner.  Imported by ``driver.py`` and the
``steps_*.py`` modules; runs only inside a windowed Blender.

A plan is a list of actions (plain callables) and ``Wait``s.  An action runs once; a ``Wait`` holds
the plan, polled every ``POLL_SECONDS``, until what the next action needs is there: a region drawn
since the last action, Blender seeing the pointer where it was moved, a popup open (pixels near
the pointer changed and still), the screen still before a screenshot, a state reached.  There is
no fixed delay: a slow machine only makes the run slower, and a wait that runs out fails the run
naming what it waited for.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
import traceback

import bpy

import xinput

REPO_MODULE = "bvh_gui_test"
ADDON = f"bl_ext.{REPO_MODULE}.bvh_leakfree_addon"
OPERATOR = "object.bvh_cast_from_cursor"
OPERATOR_LABEL = "Ray Cast from 3D Cursor"
POLL_SECONDS = 0.05
# How long a wait may take before the run fails (generous: software GL on a busy machine).
WAIT_SECONDS = float(os.environ.get("BVH_GUI_WAIT_SECONDS", "30"))


def parse_args():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    parser = argparse.ArgumentParser(prog="driver.py")
    parser.add_argument("--zip", required=True)
    parser.add_argument("--shots", default="gui-shots")
    parser.add_argument("--site", default="",
                        help="folder with numpy for Blenders that lack it (tools/gui_site.py)")
    parser.add_argument("--partial", action="store_true",
                        help="without X input or ImageMagick, run the steps that need neither "
                             "(else such a run fails)")
    return parser.parse_args(argv)


ARGS = parse_args()
try:
    import numpy as np  # the add-on needs it; official Blender builds bundle it
except ImportError:
    if ARGS.site and os.path.isdir(ARGS.site):
        sys.path.append(os.path.abspath(ARGS.site))
    import numpy as np
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


# --- Blender's window and its regions -------------------------------------------------------------
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


def screen_xy(x, y):
    """Blender window coordinates (origin bottom left) to X screen coordinates (top left); the
    window fills the virtual screen."""
    return int(x), int(window().height - y)


def region_rect(reg):
    """A region as an X screen rectangle (x, y, width, height)."""
    x, y = screen_xy(reg.x, reg.y + reg.height)
    return x, y, reg.width, reg.height


def check(condition, message):
    status = "ok" if condition else "FAILED"
    print(f"gui: [{status}] {message}")
    if not condition:
        FAILURES.append(message)


def addon_module(name=""):
    return sys.modules[f"{ADDON}.{name}" if name else ADDON]


def addon_classes(base):
    return [cls for cls in addon_module().classes() if issubclass(cls, base)]


# --- keys and the pointer (XTEST, xinput.py) ----------------------------------------------------
def have(tool):
    return shutil.which(tool) is not None


# Keys, typing and pixel waits need the X display (libXtst) and ImageMagick's import.  Without
# them the run fails, unless --partial: then the steps that need a user's hand are left out and
# the rest runs (menu data checked instead, Blender's own screenshot operator).
NO_INPUT = xinput.unavailable() or ("" if have("import") else "ImageMagick's import not found")
INTERACTIVE = not NO_INPUT
POINTER = [0, 0]   # where the last move put the pointer (X screen coordinates)


def move(x, y):
    """Move the pointer to (x, y) in X screen coordinates."""
    POINTER[:] = [int(x), int(y)]
    xinput.move(x, y)


def click(x, y):
    move(x, y)
    xinput.click()


key = xinput.key
type_text = xinput.type_text


# --- Waits ----------------------------------------------------------------------------------------
class Wait:
    """A plan entry that holds the plan until ``ready()`` returns true; after ``seconds`` (default
    ``WAIT_SECONDS``) the run fails with ``timed out waiting for <what>`` (and ``detail()``: what
    there is instead)."""

    def __init__(self, what, ready, seconds=None, detail=None):
        self.what, self.ready, self.seconds = what, ready, seconds or WAIT_SECONDS
        self.detail = detail

    def __repr__(self):
        return f"Wait({self.what!r})"


# Draw counters: a POST_PIXEL callback per (space, region) counts the region's redraws, so a wait
# can tell that a region has been drawn since the last action (with what that action changed).
_DRAW_WATCHED = {
    "viewport": (bpy.types.SpaceView3D, 'WINDOW'),
    "sidebar": (bpy.types.SpaceView3D, 'UI'),
    "preferences": (bpy.types.SpacePreferences, 'WINDOW'),
    "text": (bpy.types.SpaceTextEditor, 'WINDOW'),
}
DRAWS = dict.fromkeys(_DRAW_WATCHED, 0)
_DRAWS_AT_ACTION = dict(DRAWS)
_DRAW_HANDLES = []


def _count_draw(name):
    DRAWS[name] += 1


def _watch_draws():
    for name, (space, kind) in _DRAW_WATCHED.items():
        handle = space.draw_handler_add(_count_draw, (name,), kind, 'POST_PIXEL')
        _DRAW_HANDLES.append((space, handle, kind))


def unwatch_draws():
    while _DRAW_HANDLES:
        space, handle, kind = _DRAW_HANDLES.pop()
        space.draw_handler_remove(handle, kind)


def drawn(name):
    """True once region NAME (a key of _DRAW_WATCHED) has been drawn since the last action."""
    return DRAWS[name] > _DRAWS_AT_ACTION[name]


def wait_drawn(name, what):
    """Plan entries: ask for a redraw, wait until region NAME has drawn (with what the steps
    before changed)."""
    return [redraw_all, Wait(f"{what} (the {name} drawn)", lambda: drawn(name))]


# The pointer as Blender sees it: an operator invoked from a timer gets the window's last event,
# so its mouse position is where Blender last saw the pointer.  Popups invoked from Python open
# there, so they wait for it.
_SEEN = []


class WM_OT_bvh_gui_test_pointer(bpy.types.Operator):
    bl_idname = "wm.bvh_gui_test_pointer"
    bl_label = "GUI Test: Pointer"
    bl_description = "The GUI test's probe: where Blender last saw the pointer"
    bl_options = {'INTERNAL'}

    def invoke(self, context, event):
        _SEEN[:] = [event.mouse_x, event.mouse_y]
        return {'CANCELLED'}


def pointer_seen():
    """True once Blender's last event has the pointer where ``move`` put it (give or take the
    pixel row Blender's bottom-up coordinates and X's top-down ones count differently)."""
    with bpy.context.temp_override(window=window()):
        bpy.ops.wm.bvh_gui_test_pointer('INVOKE_DEFAULT')
    seen = screen_xy(*_SEEN) if _SEEN else None
    return seen is not None and all(abs(a - b) <= 1 for a, b in zip(seen, POINTER, strict=True))


def wait_pointer(what):
    return Wait(f"Blender to see the pointer {what}", pointer_seen,
                detail=lambda: f"moved to {tuple(POINTER)}, Blender's last event at "
                               f"{screen_xy(*_SEEN) if _SEEN else None}")


# Pixels: ImageMagick's import (Blender's own screenshot is black on a software-GL screen).
def capture(rect=None):
    """Raw pixels (PPM bytes) of the screen or of rect = (x, y, width, height)."""
    cmd = ["import", "-window", "root"]
    if rect:
        x, y, w, h = (int(v) for v in rect)
        cmd += ["-crop", f"{w}x{h}+{max(x, 0)}+{max(y, 0)}"]
    return subprocess.run(cmd + ["-depth", "8", "ppm:-"], capture_output=True,
                          check=True).stdout


def _ppm_pixels(data):
    """PPM bytes as an (height, width, 3) array."""
    header = data.split(b"\n", 3)
    width, height = (int(v) for v in header[1].split())
    return np.frombuffer(header[3], np.uint8).reshape(height, width, 3)


def pixels_differing(a, b):
    """How many pixels differ between two captures (all of them if their sizes differ)."""
    a, b = _ppm_pixels(a), _ppm_pixels(b)
    if a.shape != b.shape:
        return max(a.shape[0] * a.shape[1], b.shape[0] * b.shape[1])
    return int(np.count_nonzero((a != b).any(axis=2)))


def changed_box(a, b):
    """(x, y, width, height) around the pixels that differ between two captures of one size."""
    diff = (_ppm_pixels(a) != _ppm_pixels(b)).any(axis=2)
    rows, cols = np.nonzero(diff.any(axis=1))[0], np.nonzero(diff.any(axis=0))[0]
    if not len(rows):
        return None
    return (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


class Watch:
    """A part of the screen watched across actions, and three waits on it: ``still`` (two captures
    in a row agree; that picture is the reference), ``changed`` (at least ``min_pixels`` differ
    from the reference and it is still again; that picture becomes the reference), ``restored``
    (still and within ``min_pixels`` of the first reference: what covered it has gone)."""

    def __init__(self, rect, min_pixels=400):
        self.rect, self.min_pixels = rect, min_pixels
        self.reference = self.first = self.last = None
        self.moving = None   # where the last two captures differed (for a timeout's message)

    def _grab(self):
        rect = self.rect() if callable(self.rect) else self.rect
        now, previous = capture(rect), self.last
        self.last = now
        same = now == previous
        if not same and previous is not None and len(now) == len(previous):  # same size
            self.moving = changed_box(now, previous)
        return now, same

    def _detail(self):
        rect = self.rect() if callable(self.rect) else self.rect
        return (f"watching {rect or 'the whole screen'}; last change at {self.moving} "
                f"within it" if self.moving else f"watching {rect or 'the whole screen'}")

    def _still(self):
        now, same = self._grab()
        if same:
            self.reference = self.first = now
        return same

    def _changed(self):
        now, same = self._grab()
        if not same or pixels_differing(now, self.reference) < self.min_pixels:
            return False
        self.reference = now
        return True

    def _restored(self):
        now, same = self._grab()
        return same and pixels_differing(now, self.first) < self.min_pixels

    def still(self, what):
        return Wait(what, self._still, detail=self._detail)

    def changed(self, what):
        return Wait(what, self._changed, detail=self._detail)

    def restored(self, what):
        return Wait(what, self._restored, detail=self._detail)


def near_pointer(width=520, height=320):
    """The rectangle around the pointer where a popup opened there shows."""
    def rect():
        x, y = POINTER
        return x - width // 2, y - height // 2, width, height
    return rect


def popup(what, open_it, rect=None):
    """Plan entries: wait for the screen near the pointer to be still, OPEN_IT, wait for WHAT (a
    popup) to show there.  Returns the entries and the Watch (for ``popup_close``)."""
    watch = Watch(rect or near_pointer())
    return [watch.still(f"the screen near the pointer still before {what}"),
            open_it,
            watch.changed(f"{what} on screen (pixels near the pointer changed, then still)")], watch


# --- Screenshots --------------------------------------------------------------------------------
def shot(name):
    """Plan entries: redraw the window, wait until it has drawn and is still, then save it as
    NAME.png.  (Steps do not redraw the window themselves: a software-GL redraw of all of it costs
    a few tenths of a second, and most steps only check.)"""
    path = os.path.abspath(os.path.join(ARGS.shots, f"{name}.png"))
    whole = Watch(None)

    def save():
        os.makedirs(ARGS.shots, exist_ok=True)
        if INTERACTIVE:
            subprocess.run(["import", "-window", "root", path], check=True)
        else:
            with bpy.context.temp_override(window=window()):
                bpy.ops.screen.screenshot(filepath=path)
        print(f"gui: screenshot {path}")
    save.__name__ = f"shot_{name}"
    entries = [redraw_all, Wait(f"the window drawn before screenshot {name}",
                    lambda: any(drawn(n) for n in DRAWS))]
    if INTERACTIVE:
        entries.append(whole.still(f"the screen still for screenshot {name}"))
    return entries + [save]


# --- The runner -----------------------------------------------------------------------------------
PLAN = []
_RUN = {"start": 0.0, "waits": [], "actions": [], "wait_start": None}


def run(plan):
    """Run the plan from an app timer: actions one after another, each wait until it is met."""
    if NO_INPUT:
        if not ARGS.partial:
            _fail(f"cannot press keys or look at the screen ({NO_INPUT}); run in an X session "
                  f"with libXtst and ImageMagick, or pass --partial for the steps that need "
                  f"neither")
        print(f"gui: PARTIAL RUN: {NO_INPUT}; the steps that need keys or pixels are left out")
    if os.path.exists(os.path.join(ARGS.shots, "FAILED.png")):
        os.remove(os.path.join(ARGS.shots, "FAILED.png"))   # an earlier run's
    bpy.utils.register_class(WM_OT_bvh_gui_test_pointer)
    _watch_draws()
    PLAN[:] = plan
    _RUN["start"] = time.monotonic()
    bpy.app.timers.register(_run_next, first_interval=POLL_SECONDS)


def _fail(message):
    FAILURES.append(message)
    if INTERACTIVE:   # what the screen showed when it failed
        path = os.path.abspath(os.path.join(ARGS.shots, "FAILED.png"))
        os.makedirs(ARGS.shots, exist_ok=True)
        subprocess.run(["import", "-window", "root", path], check=False)
        print(f"gui: the screen at the failure: {path}")
    print("gui: FAILED:\n  " + "\n  ".join(FAILURES))
    sys.stdout.flush()
    os._exit(3)


def _run_next():
    while PLAN:
        entry = PLAN[0]
        try:
            if isinstance(entry, Wait):
                now = time.monotonic()
                _RUN["wait_start"] = _RUN["wait_start"] or now
                if not entry.ready():
                    if now - _RUN["wait_start"] > entry.seconds:
                        detail = f" ({entry.detail()})" if entry.detail else ""
                        _fail(f"timed out after {entry.seconds:.0f} s waiting for "
                              f"{entry.what}{detail}")
                    return POLL_SECONDS
                waited = time.monotonic() - _RUN["wait_start"]
                _RUN["waits"].append((waited, entry.what))
                if waited > 1.0:
                    print(f"gui: waited {waited:.1f} s for {entry.what}")
                _RUN["wait_start"] = None
                PLAN.pop(0)
                continue
            PLAN.pop(0)
            started = time.monotonic()
            entry()
            _RUN["actions"].append((time.monotonic() - started, getattr(entry, "__name__", "?")))
        except Exception:
            traceback.print_exc()
            _fail(f"step {getattr(entry, '__name__', entry)} raised")
        _DRAWS_AT_ACTION.update(DRAWS)
        # The next entry runs at once: what it needs from Blender (events handled, a redraw)
        # it waits for.
    return None


def timing_report():
    """The run's length, its slowest waits and actions (for CI's time budget)."""
    total = time.monotonic() - _RUN["start"]
    print(f"gui: the plan ran in {total:.1f} s")
    for kind in ("waits", "actions"):
        spent = sum(seconds for seconds, _ in _RUN[kind])
        slow = sorted(_RUN[kind], reverse=True)[:4]
        print(f"gui: {spent:.1f} s in {len(_RUN[kind])} {kind}; slowest: "
              + "; ".join(f"{what} {seconds:.1f} s" for seconds, what in slow))


def finish_harness():
    unwatch_draws()
    xinput.close()
    bpy.utils.unregister_class(WM_OT_bvh_gui_test_pointer)
