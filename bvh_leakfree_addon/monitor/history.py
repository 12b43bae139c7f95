# SPDX-License-Identifier: GPL-3.0-or-later
"""The Datablocks panel's history graph: the tracked datablock total and Blender's own memory over
the last minutes (a rising line is what a leak looks like).

Drawn without creating any datablock: the picture is a preview image of a
``bpy.utils.previews`` collection (not in ``bpy.data``, never saved), filled from numpy and shown
with ``UILayout.template_icon``.  One preview, created on register, its pixels replaced when a new
sample comes in, removed on unregister.  Samples are plain floats.

The picture is square (``template_icon`` draws a square): datablocks in the upper half, memory in
the lower half (Blender's own figure, ``core.memory``, which follows datablocks; the process's RSS
when Blender's cannot be read).  Each half starts at zero and ends at a round value above the
largest sample (:func:`axis_top`), which the panel names: a wobble of 40 MiB on 1,090 MiB stays a
wobble instead of filling the pane.  The time shown is the samples' span, between one and five
minutes; the panel says which.
"""
import collections
import math
from typing import NamedTuple

import bpy.utils.previews

import numpy as np

__all__ = ("HISTORY_SECONDS", "SAMPLE_SECONDS", "SIZE", "History", "Series", "Span", "axis_top",
           "render", "Graph", "history", "graph")

HISTORY_SECONDS = 300.0     # the graph shows the last five minutes at most
MIN_SPAN_SECONDS = 60.0     # and at least one (a fresh history fills the width, not a sliver)
SAMPLE_SECONDS = 2.0        # one sample every two seconds at most
SIZE = 192                  # pixels of the square picture
MAX_SAMPLES = int(HISTORY_SECONDS / SAMPLE_SECONDS) + 8

BACKGROUND = (38, 38, 38)
FRAME = (70, 70, 70)
TOTAL_COLOR = (255, 150, 50)    # orange: datablocks
MEMORY_COLOR = (90, 170, 255)   # blue: memory
MIB = 2.0 ** 20                 # memory axes are in MiB


class Series(NamedTuple):
    """One line of the graph over the time shown: the first and last sample, the lowest and the
    highest (a dip and a rise show even when first and last are equal)."""

    first: float
    last: float
    low: float
    high: float


class Span(NamedTuple):
    """What the graph shows, for the panel's words: the datablocks, Blender's memory and the RSS
    (None when unknown), over ``seconds``."""

    totals: Series
    memory: Series
    rss: Series
    seconds: float


def _series(values):
    known = values[~np.isnan(values)]
    if not len(known):
        return None
    return Series(float(known[0]), float(known[-1]), float(known.min()), float(known.max()))


def axis_top(high, unit=1.0):
    """The top of a zero-based axis for values up to ``high``: the next of 1, 2, 2.5, 5 times a
    power of ten, in ``unit`` (memory: MiB, so that the scale reads "0 to 2,000 MiB"); one unit
    for nothing."""
    if not (high > 0.0) or not math.isfinite(high):
        return unit
    target = high / unit
    power = 10.0 ** math.floor(math.log10(target))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= target * (1.0 - 1e-12):
            return step * power * unit
    return 10.0 * power * unit


class History:
    """The last ``HISTORY_SECONDS`` of samples ``(time, datablocks, rss bytes, Blender memory
    bytes)`` (memory figures None when unknown)."""

    def __init__(self):
        self.samples = collections.deque(maxlen=MAX_SAMPLES)
        self.version = 0        # bumped on every sample: the picture is redrawn when it moved

    def clear(self):
        self.samples.clear()
        self.version += 1

    def sample(self, now, total, rss, memory=None, force=False):
        """Record one sample unless the last one is younger than ``SAMPLE_SECONDS``; True when
        recorded."""
        if not force and self.samples and now - self.samples[-1][0] < SAMPLE_SECONDS:
            return False
        self.samples.append((float(now), float(total), None if rss is None else float(rss),
                             None if memory is None else float(memory)))
        self.version += 1
        return True

    def window(self, now):
        """Samples of the last ``HISTORY_SECONDS`` as arrays ``(times, totals, rss, memory)``
        (NaN where unknown)."""
        rows = [s for s in self.samples if now - s[0] <= HISTORY_SECONDS]
        if not rows:
            empty = np.zeros(0)
            return empty, empty, empty, empty
        data = np.array([(t, n, math.nan if r is None else r, math.nan if m is None else m)
                         for t, n, r, m in rows], dtype=float)
        return data[:, 0], data[:, 1], data[:, 2], data[:, 3]

    def span(self, now):
        """:class:`Span` of the window, or None without samples."""
        times, totals, rss, memory = self.window(now)
        if not len(times):
            return None
        return Span(_series(totals), _series(memory), _series(rss), now - times[0])


def _rgba(color, alpha=255):
    """A colour as one packed pixel (bytes R, G, B, A in memory)."""
    return np.array([(*color, alpha)], dtype=np.uint8).view(np.uint32)[0]


def _mix(color, weight):
    return tuple(int(b * (1 - weight) + c * weight) for b, c in zip(BACKGROUND, color, strict=True))


_BACKGROUND = _rgba(BACKGROUND)
_FRAME = _rgba(FRAME)


def render(times, totals, rss, memory, now, size=SIZE):
    """The picture as ``(size, size)`` packed RGBA pixels (uint32), bottom row first (Blender's
    order): datablocks above, Blender's memory below (the RSS where Blender's is unknown), each
    from zero to :func:`axis_top` of its largest sample."""
    image = np.full((size, size), _BACKGROUND, dtype=np.uint32)
    half = size // 2
    image[[0, half - 1, half + 1, size - 1], :] = _FRAME
    span = min(HISTORY_SECONDS, max(MIN_SPAN_SECONDS, now - times[0])) if len(times) else 1.0
    x = (times - (now - span)) / span * (size - 1)
    _plot(image, x, totals, half + 3, size - 4, TOTAL_COLOR)
    lower = memory if len(memory) and not np.isnan(memory).all() else rss
    known = ~np.isnan(lower)
    _plot(image, x[known], lower[known], 2, half - 3, MEMORY_COLOR, MIB)
    return image


def _plot(image, x, values, bottom, top, color, unit=1.0):
    """A line with a faint fill below it, ``values`` scaled from zero (row ``bottom``) to
    :func:`axis_top` of the largest (row ``top``)."""
    if not len(x):
        return
    low, high = 0.0, axis_top(float(values.max()), unit)
    width = image.shape[1]
    first = min(width - 1, max(0, int(math.ceil(x[0]))))
    last = min(width - 1, max(first, int(x[-1])))
    columns = np.arange(first, last + 1)
    y = np.interp(columns, x, values)
    rows = np.rint(bottom + (y - low) / (high - low) * (top - bottom)).astype(int)
    rows = np.clip(rows, bottom, top)
    previous = np.concatenate((rows[:1], rows[:-1]))
    lo, hi = np.minimum(rows, previous), np.maximum(rows, previous)
    grid = np.arange(bottom, top + 1)[:, None]
    pane = image[bottom:top + 1, first:last + 1]     # a view: written in place
    pane[grid <= rows] = _rgba(_mix(color, 0.25))
    pane[(grid >= lo) & (grid <= hi)] = _rgba(color)


class Graph:
    """The one preview image the panel shows (``icon_id`` 0: none, e.g. in background mode)."""

    def __init__(self):
        self._collection = None
        self._preview = None
        self.version = -1          # the history version the pixels show
        self.renders = 0

    def register(self):
        if self._collection is None:
            self._collection = bpy.utils.previews.new()
            self._preview = self._collection.new("bvh_leakfree_history")
            self._preview.image_size = (SIZE, SIZE)
            self.version = -1

    def unregister(self):
        if self._collection is not None:
            bpy.utils.previews.remove(self._collection)
        self._collection = self._preview = None

    @property
    def live(self):
        return self._collection is not None

    @property
    def previews(self):
        """How many previews the collection holds (always one while registered)."""
        return len(self._collection) if self._collection is not None else 0

    @property
    def icon_id(self):
        return self._preview.icon_id if self._preview is not None else 0

    def update(self, source, now):
        """Redraw the pixels from ``source`` (a :class:`History`) if it has new samples."""
        if self._preview is None or source.version == self.version:
            return False
        image = render(*source.window(now), now)
        self._preview.image_pixels.foreach_set(image.view(np.int32).ravel())
        self.version = source.version
        self.renders += 1
        return True


history = History()
graph = Graph()
