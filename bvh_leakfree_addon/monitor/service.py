# SPDX-License-Identifier: GPL-3.0-or-later
"""The live datablock monitor: a persistent app timer keeps per-type figures for the Datablocks
panel, the lists of what is new since the baseline, and the history graph's samples.

* ``tick()`` refreshes the figures that are due and tags the sidebar for redraw **only** when a
figure
  changed.  It keeps plain ints between ticks, never an ID reference, so file load, new file and
  undo cannot leave it holding a freed ID (no ``ReferenceError``).
* Counting a type is O(n) in C (``len()`` walks Blender's list, orphans need every ``ID.users``:
  ~50 ns per ID with 10,000 IDs, more with 100,000 as caches miss), so a type of *n* IDs is
  refreshed every ``ceil(n / ITEMS_PER_TICK)`` ticks, and at least every ``MAX_PERIOD_SECONDS``.
  Deterministic (from sizes, not from timings that jitter on a busy machine).  Small files refresh
  every tick; the panel says when a type refreshes more slowly.
* The baseline (the totals the panel's +/- column compares with, and every ID of the tracked
  types by identity: ``session_uid`` and name) is taken on the first tick after the add-on is
  enabled and again on every file load (``load_post``, persistent) and on Reset Baseline; a file
  load also forgets the last Leak Check (its objects are gone).
* An open list (a type expanded in the panel) is refreshed with its type's figures, one page of
  rows at a time (plain facts, no ID reference); it weighs ``LIST_COST_FACTOR`` times a count in
  the throttling above, so the mean tick stays within the same budget.
* Every ``history.SAMPLE_SECONDS`` the tracked total and the process's RSS are sampled for the
  graph, whose picture (a preview image, not a datablock) is redrawn then.
"""
import math
import sys
import time
import traceback

import bpy
from bpy.app.handlers import persistent

import numpy as np

from ..core.datablocks import count_type
from ..core.identity import session_uids, snapshot
from ..core.idtypes import id_collection_names
from ..core.memory import blender_memory, process_rss_bytes
from ..utils import tag_redraw
from . import history
from .pages import PAGE_SIZE, new_since
from .settings import MESHES, monitor_settings
from .state import clear_leak_check, open_lists, show_first_page

ITEMS_PER_TICK = 2500        # IDs counted per type and tick on average (~0.1 ms)
LINKED_COST_FACTOR = 4       # files with libraries pay a Python loop for the local/linked split
MAX_PERIOD_SECONDS = 10.0    # every type is refreshed at least this often
SLOW_NOTE_SECONDS = 2.0      # the panel mentions refresh periods longer than this
LIST_COST_FACTOR = 3         # an open list costs ~1.5 counts more (session_uids, its rows)


class _Job:
    """When a type is next due (tick number), how often it is refreshed and what that costs."""

    __slots__ = ("due", "period", "cost")

    def __init__(self):
        self.due, self.period, self.cost = 0, 1, 0.0


class _Monitor:
    def __init__(self):
        self.figures = {}          # name -> DatablockCount (namedtuple of ints)
        self.baseline = {}         # name -> total at the baseline
        self.baseline_ids = {}     # name -> core.identity.Snapshot (session_uids and names)
        self.lists = {}            # name -> pages.NewSince of the page shown
        self.list_keys = {}        # name -> (page, figures, session_uids, time) of that refresh
        self.baseline_time = None  # time.time() of the baseline, for the panel
        self.jobs = {}             # name -> _Job
        self.ticks = 0
        self.redraw_requests = 0   # how many times a tick tagged the sidebar (tests read it)
        self.errors = 0

    def reset(self):
        self.__init__()


_monitor = _Monitor()


# --- Reading (the panel and tests) --------------------------------------------------------------
_tracked_cache = {}


def tracked_types(settings=None):
    """Meshes first, then the table's types from the settings that exist in this Blender."""
    settings = settings or monitor_settings()
    chosen = tuple(sorted(settings.types))
    tracked = _tracked_cache.get(chosen)
    if tracked is None:  # the set of ID collections is fixed for the session: compute once
        names = set(id_collection_names())
        tracked = _tracked_cache[chosen] = (MESHES,) + tuple(
            name for name in chosen if name in names and name != MESHES)
    return tracked


def figures(name):
    """``DatablockCount`` of ``name`` from the last refresh, or None before its first refresh."""
    return _monitor.figures.get(name)


def growth(name):
    """Change of the total of ``name`` since the baseline (0 when unknown)."""
    count = _monitor.figures.get(name)
    base = _monitor.baseline.get(name)
    return 0 if count is None or base is None else count.total - base


def baseline_time():
    return _monitor.baseline_time


def refresh_period_seconds(name, interval=None):
    """Seconds between two refreshes of ``name`` (the timer interval for cheap types)."""
    job = _monitor.jobs.get(name)
    interval = monitor_settings().interval if interval is None else interval
    return (job.period if job else 1) * interval


def slow_types(interval=None):
    """``[(name, seconds)]`` of tracked types refreshed less often than every
    ``SLOW_NOTE_SECONDS``."""
    interval = monitor_settings().interval if interval is None else interval
    return [(name, job.period * interval) for name, job in _monitor.jobs.items()
            if job.period * interval > SLOW_NOTE_SECONDS]


def redraw_requests():
    return _monitor.redraw_requests


def new_list(name):
    """``pages.NewSince`` of the open list of ``name`` (the page shown), or None."""
    return _monitor.lists.get(name)


def tracked_total():
    """Sum of the totals of every tracked type (the history graph's upper line)."""
    return sum(count.total for count in _monitor.figures.values())


# --- Refreshing ---------------------------------------------------------------------------------
def tick(force=False):
    """Refresh the figures that are due (all with ``force``); True when a figure changed.

    Tags the 3D viewport sidebars for redraw only when something changed.
    """
    settings = monitor_settings()
    names = tracked_types(settings)
    interval = settings.interval
    max_period = max(1, math.ceil(MAX_PERIOD_SECONDS / interval))
    lists = open_lists()
    mon = _monitor
    mon.ticks += 1
    changed = False
    has_libraries = None
    for name in names:
        job = mon.jobs.get(name)
        if job is None:
            job = mon.jobs[name] = _Job()
        elif mon.ticks < job.due and not force and (name not in lists or name in mon.lists):
            continue
        if has_libraries is None:
            has_libraries = len(bpy.data.libraries) > 0
        start = time.perf_counter()
        count = count_type(name, has_libraries)
        if name not in mon.baseline:
            mon.baseline[name] = count.total
            mon.baseline_ids[name] = snapshot(name)
            if mon.baseline_time is None:
                mon.baseline_time = time.time()
        if name in lists:
            changed |= _refresh_list(mon, name, lists[name], count, force)
        job.cost = time.perf_counter() - start
        weight = count.total * (LINKED_COST_FACTOR if has_libraries else 1)
        weight *= LIST_COST_FACTOR if name in lists else 1
        job.period = min(max_period, max(1, math.ceil(weight / ITEMS_PER_TICK)))
        job.due = _free_tick(mon, name, mon.ticks + job.period) if job.period > 1 else mon.ticks + 1
        if mon.figures.get(name) != count:
            mon.figures[name] = count
            changed = True
    for name in [name for name in mon.figures if name not in names]:  # types taken off the table
        del mon.figures[name]
        mon.jobs.pop(name, None)
        changed = True
    for name in [name for name in mon.lists if name not in lists or name not in names]:
        del mon.lists[name]                                             # lists closed
        mon.list_keys.pop(name, None)
        changed = True
    changed |= _sample(force)
    if changed:
        request_redraw()
    return changed


def _refresh_list(mon, name, page, count=None, force=False):
    """Recompute the open list of ``name`` at ``page``; True when what it shows changed.

    Skipped when the collection holds the same IDs in the same order (a rename re-sorts it) with
    the same figures as at the last refresh, unless ``force`` or the rows are older than
    ``MAX_PERIOD_SECONDS`` (a changed user count alone shows then)."""
    baseline = mon.baseline_ids.get(name)
    if baseline is None:
        return False
    uids = session_uids(name, count.total if count is not None else None)
    now = time.monotonic()
    key = mon.list_keys.get(name)
    if (not force and key is not None and key[0] == page and key[1] == count
            and now - key[3] < MAX_PERIOD_SECONDS and np.array_equal(key[2], uids)):
        return False
    mon.list_keys[name] = (page, count, uids, now)
    view = new_since(baseline, page * PAGE_SIZE, PAGE_SIZE, uids=uids)
    previous = mon.lists.get(name)
    if page > 0 and previous is not None and view.new > previous.new:
        # newest first: what arrived is on the first page, and a later page now shows other
        # rows than it did; go to the first page (issue 23.13: it stayed on page 4)
        show_first_page(bpy.context, name)
        page = 0
        mon.list_keys[name] = (page, count, uids, now)
        view = new_since(baseline, 0, PAGE_SIZE, uids=uids)
    if previous == view:
        return False
    mon.lists[name] = view
    return True


def refresh_list(name):
    """Recompute one open list now (the panel's open/page buttons); True when it changed."""
    lists = open_lists()
    if name not in lists:
        changed = _monitor.lists.pop(name, None) is not None
    else:
        changed = _refresh_list(_monitor, name, lists[name], force=True)
    if changed:
        request_redraw()
    return changed


def _sample(force=False):
    """A history sample (and a new picture) when one is due; True when the graph changed."""
    if not _monitor.figures:
        return False
    memory = blender_memory()
    if not history.history.sample(time.time(), tracked_total(), process_rss_bytes(),
                                  memory[0] if memory is not None else None, force):
        return False
    return history.graph.update(history.history, time.time())


def _free_tick(mon, name, due):
    """``due`` or a later tick no other throttled type is due on: big types take turns."""
    taken = {job.due for other, job in mon.jobs.items() if other != name and job.period > 1}
    while due in taken:
        due += 1
    return due


def request_redraw():
    """Tag every 3D viewport sidebar for redraw (cheap; nothing when there is no window)."""
    _monitor.redraw_requests += 1
    tag_redraw(region_type='UI')


def reset_baseline():
    """Take a new baseline now (all tracked types are counted at once)."""
    mon = _monitor
    mon.baseline.clear()
    mon.baseline_ids.clear()
    mon.lists.clear()
    mon.list_keys.clear()
    mon.baseline_time = None
    tick(force=True)
    request_redraw()  # the +/- column changed even when no count did


def _restart():
    """Forget everything about the previous file and count the current one."""
    _monitor.reset()
    history.history.clear()
    tick(force=True)


def _timer():
    """The app timer: refresh, then ask to be called again after the preference's interval."""
    try:
        tick()
    except Exception:  # a timer that raises is dropped by Blender: log and keep monitoring
        _monitor.errors += 1
        if _monitor.errors <= 3:
            traceback.print_exc(file=sys.stderr)
    return monitor_settings().interval


@persistent
def _on_load_post(*_args):
    """A file was loaded (or File › New): new figures, new baseline, no leak check yet."""
    _restart()
    clear_leak_check(bpy.context)


# --- Registration -------------------------------------------------------------------------------
def runtime_hooks_active():
    live = []
    if bpy.app.timers.is_registered(_timer):
        live.append("app timer monitor._timer")
    if _on_load_post in bpy.app.handlers.load_post:
        live.append("load_post handler monitor._on_load_post")
    if history.graph.live:
        live.append("preview collection monitor.history (graph)")
    return live


def register():
    _monitor.reset()
    history.history.clear()
    history.graph.register()
    # The first tick takes the baseline; at start-up bpy.data is not readable inside register().
    if not bpy.app.timers.is_registered(_timer):
        bpy.app.timers.register(_timer, first_interval=0.0, persistent=True)
    if _on_load_post not in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.append(_on_load_post)


def unregister():
    if bpy.app.timers.is_registered(_timer):
        bpy.app.timers.unregister(_timer)
    while _on_load_post in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_on_load_post)
    history.graph.unregister()
    history.history.clear()
    _monitor.reset()
