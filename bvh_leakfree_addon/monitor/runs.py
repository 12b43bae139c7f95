# SPDX-License-Identifier: GPL-3.0-or-later
"""How a leak check runs: one at a time, with the window's progress bar, stopped by Ctrl+C or
``sys.exit()`` with a one-line reason, and aware of files a script loads."""
import contextlib

import bpy

from ..core.numbers import count

__all__ = ("RUNNING_MESSAGE", "one_at_a_time", "Stopped", "stop_text", "Progress", "watch_loads")

RUNNING_MESSAGE = ("a leak check is running already (a script cannot start one: it would run "
                   "itself again and again)")
_running = []     # the leak check under way (at most one), see one_at_a_time


@contextlib.contextmanager
def one_at_a_time():
    """Refuse a second leak check while one runs (``ValueError``: reported in one line)."""
    if _running:
        raise ValueError(RUNNING_MESSAGE)
    _running.append(True)
    try:
        yield
    finally:
        _running.clear()


class Stopped(Exception):
    """The check was stopped from outside the work it runs: Ctrl+C, ``sys.exit()``."""


def stop_text(ex, runs):
    how = "Ctrl+C" if isinstance(ex, KeyboardInterrupt) else "sys.exit()"
    return f"stopped by {how} after {count(runs, 'run')}"


class Progress:
    """The window manager's progress bar, read from the context at each call (a script may load
    a file, which replaces the window manager)."""

    def __init__(self, context, total):
        self.context = context
        self._call("progress_begin", 0, total)

    def _call(self, name, *args):
        wm = self.context.window_manager
        if wm is not None:
            with contextlib.suppress(ReferenceError):
                getattr(wm, name)(*args)

    def update(self, value):
        self._call("progress_update", value)

    def end(self):
        self._call("progress_end")


@contextlib.contextmanager
def watch_loads():
    """``[count]`` of files loaded while the block runs (a handler of its own, removed after)."""
    loads = [0]

    @bpy.app.handlers.persistent
    def loading(*_args):
        loads[0] += 1

    handlers = bpy.app.handlers.load_pre
    handlers.append(loading)
    try:
        yield loads
    finally:
        if loading in handlers:
            handlers.remove(loading)
