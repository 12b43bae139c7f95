# SPDX-License-Identifier: GPL-3.0-or-later
"""Blender's own memory figure, read beside the process's RSS.

``Scene.statistics(view_layer)`` ends with what Blender's status bar shows: the guarded allocator's
in-use total ("… | Memory: 10.7 MiB | 4.2.23").  It follows datablocks closely (300 meshes of 2,000
vertices: 10.7 → 18.9 MiB, back to 10.8 MiB once removed), where the RSS also moves with the C
allocator's caches and freed pages kept for reuse.  Reading it costs ~0.01 ms (the scene statistics
are cached until the depsgraph changes; the memory total is read each time).

The text is made for the eye, so it is read strictly: the field must be Blender's own
``IFACE_("Memory: %s")`` (looked up in the interface's language: a translated interface writes the
label in its language) with a binary unit as ``BLI_str_format_byte_unit`` writes it.  Anything else
gives no figure: :func:`memory_figure` then falls back to the RSS and says so in its note — never a
wrong figure.  Each figure carries its resolution: Blender prints MiB with one decimal, GiB with two
(a GiB figure is exact to ~10 MiB), so a difference smaller than that is not a change.
"""
import os
import re
import sys
from typing import NamedTuple

import bpy

__all__ = ("MemoryFigure", "parse_statistics_memory", "blender_memory", "memory_figure",
           "memory_change", "mib_text", "process_rss_bytes", "MEMORY_FORMAT", "BLENDER", "RSS")

MEMORY_FORMAT = "Memory: %s"      # Blender's message id of the field (info_stats.cc)
BLENDER = "blender"               # MemoryFigure.source: Blender's guarded allocator
RSS = "rss"                       # MemoryFigure.source: the process's resident set size
#: binary units as BLI_str_format_byte_unit writes them, with their order (1024 ** order)
_UNITS = {"B": 0, "KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4, "PiB": 5}
_VALUE = r"(?P<value>[0-9]+(?:\.[0-9]+)?) (?P<unit>" + "|".join(_UNITS) + r")"
UNREADABLE_NOTE = ("Blender's memory figure could not be read from the scene statistics "
                   "(a translated interface?): process memory (RSS) instead")
NO_SCENE_NOTE = "no scene to read Blender's memory figure from: process memory (RSS) instead"


class MemoryFigure(NamedTuple):
    """One memory reading.

    Attributes:
        bytes: the figure, in bytes.
        resolution: what its last digit is worth, in bytes (Blender prints MiB with one decimal,
            GiB with two): a change smaller than this is no change.
        source: ``"blender"`` (Blender's own allocated memory, what its status bar shows) or
            ``"rss"`` (the process's resident set size).
        note: '' for Blender's figure; for the RSS, why Blender's could not be read.
    """

    bytes: int
    resolution: int
    source: str
    note: str = ""

    @property
    def label(self):
        """What the figure is called in the interface: "Blender memory" or "Process memory
        (RSS)"."""
        return "Blender memory" if self.source == BLENDER else "Process memory (RSS)"


def parse_statistics_memory(text, memory_format=MEMORY_FORMAT):
    """``(bytes, resolution)`` from the text of ``Scene.statistics()``, or None when no field of it
    is exactly ``memory_format`` (e.g. ``"Memory: %s"``, or its translation) filled with a size.

    ``resolution`` is one unit of the last decimal Blender prints for that unit (it strips trailing
    zeros, so "80 MiB" is exact to 0.1 MiB too)."""
    if not isinstance(text, str) or "%s" not in memory_format:
        return None
    head, _, tail = memory_format.partition("%s")
    pattern = re.compile(re.escape(head) + _VALUE + re.escape(tail))
    found = [match for field in text.split(" | ")
             if (match := pattern.fullmatch(field.strip())) is not None]
    if len(found) != 1:     # none, or ambiguous: no figure rather than a guess
        return None
    order = _UNITS[found[0]["unit"]]
    unit = 1024 ** order
    decimals = max(order - 1, 0)
    return round(float(found[0]["value"]) * unit), max(1, round(unit / 10 ** decimals))


def _memory_format():
    """The field's label in the interface's language (the message id when not translated)."""
    try:
        translated = bpy.app.translations.pgettext_iface(MEMORY_FORMAT)
    except (AttributeError, RuntimeError, ValueError):
        return MEMORY_FORMAT
    return translated if isinstance(translated, str) and "%s" in translated else MEMORY_FORMAT


def _scene_and_layer(scene, view_layer):
    if scene is None:
        scene = getattr(bpy.context, "scene", None)
        if view_layer is None:
            view_layer = getattr(bpy.context, "view_layer", None)
    if scene is None and len(bpy.data.scenes):
        scene = bpy.data.scenes[0]
    if scene is not None and (view_layer is None or view_layer not in scene.view_layers.values()):
        view_layer = scene.view_layers[0] if len(scene.view_layers) else None
    return scene, view_layer


def blender_memory(scene=None, view_layer=None):
    """``(bytes, resolution)`` of Blender's allocated memory, read from
    ``scene.statistics(view_layer)`` (default: the context's, else the first scene), or None when
    there is no scene or the text cannot be read."""
    scene, view_layer = _scene_and_layer(scene, view_layer)
    if scene is None or view_layer is None:
        return None
    try:
        text = scene.statistics(view_layer)
    except (AttributeError, ReferenceError, RuntimeError, TypeError):
        return None
    return parse_statistics_memory(text, _memory_format())


def memory_figure(scene=None, view_layer=None):
    """Blender's own allocated memory now, or the process's RSS when it cannot be read.

    Blender's figure comes from ``scene.statistics(view_layer)`` (its guarded allocator's total:
    what the status bar shows); it follows datablocks where the RSS also moves with the C
    allocator.  Read strictly: a text it cannot read (a translated interface, say) gives the RSS
    with a note, never a wrong figure.  Costs ~0.01 ms.

    Args:
        scene: the scene whose statistics to read (default: the context's, else the first).
        view_layer: its view layer (default: the context's when it belongs to ``scene``, else the
            scene's first).

    Returns:
        A :class:`MemoryFigure`, or None when neither figure is known (no scene and no RSS on
        this platform).

    Raises:
        Nothing.
    """
    scene, view_layer = _scene_and_layer(scene, view_layer)
    reading = blender_memory(scene, view_layer) if scene is not None else None
    if reading is not None:
        return MemoryFigure(reading[0], reading[1], BLENDER)
    rss = process_rss_bytes()
    if rss is None:
        return None
    return MemoryFigure(rss, 1, RSS, UNREADABLE_NOTE if scene is not None else NO_SCENE_NOTE)


def memory_change(before, after):
    """``(bytes, resolution)`` of the change from the figure ``before`` to ``after``, or None when
    either is unknown or they come from different sources (Blender's figure and the RSS cannot be
    compared).  A change smaller than ``resolution`` is no change."""
    if before is None or after is None or before.source != after.source:
        return None
    return after.bytes - before.bytes, max(before.resolution, after.resolution)


def mib_text(value, resolution=1, signed=False):
    """``value`` bytes in MiB with as many decimals as ``resolution`` allows (at most one):
    ``"1,090 MiB"``, ``"+8.4 MiB"``; a change within the resolution reads ``"+0 MiB"`` or
    ``"+0.0 MiB"``, never ``"-0.0"``."""
    decimals = 1 if resolution < 2 ** 20 else 0
    mib = value / 2 ** 20
    if abs(value) < resolution:
        mib = 0.0
    mib = round(mib, decimals) + 0.0
    return f"{mib:{'+' if signed else ''},.{decimals}f} MiB"


# --- Process memory ------------------------------------------------------------------------------
def process_rss_bytes():
    """The resident set size (RSS) of this process: the memory it holds in RAM now.

    Read from ``/proc/self/statm`` on Linux, ``GetProcessMemoryInfo`` on Windows and
    ``task_info`` on macOS.

    Returns:
        Bytes, or None where the platform gives no figure.

    Raises:
        Nothing: a failed read is None.
    """
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/statm", "rb") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return None
    if sys.platform == "win32":
        return _windows_rss()
    if sys.platform == "darwin":
        return _mac_rss()
    return None


def _windows_rss():
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD),
                    ("PeakWorkingSetSize", ctypes.c_size_t), ("WorkingSetSize", ctypes.c_size_t),
                    ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
                    ("QuotaPagedPoolUsage", ctypes.c_size_t),
                    ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
                    ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
                    ("PagefileUsage", ctypes.c_size_t), ("PeakPagefileUsage", ctypes.c_size_t)]

    try:
        counters = Counters()
        counters.cb = ctypes.sizeof(Counters)
        handle = ctypes.windll.kernel32.GetCurrentProcess()
        if ctypes.windll.psapi.GetProcessMemoryInfo(handle, ctypes.byref(counters), counters.cb):
            return int(counters.WorkingSetSize)
    except (AttributeError, OSError):
        pass
    return None


def _mac_rss():
    import ctypes
    import ctypes.util

    class TimeValue(ctypes.Structure):
        _fields_ = [("seconds", ctypes.c_int), ("microseconds", ctypes.c_int)]

    class BasicInfo(ctypes.Structure):
        _fields_ = [("virtual_size", ctypes.c_uint64), ("resident_size", ctypes.c_uint64),
                    ("resident_size_max", ctypes.c_uint64), ("user_time", TimeValue),
                    ("system_time", TimeValue), ("policy", ctypes.c_int),
                    ("suspend_count", ctypes.c_int)]

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        info = BasicInfo()
        count = ctypes.c_uint(ctypes.sizeof(BasicInfo) // 4)
        task = libc.mach_task_self()
        MACH_TASK_BASIC_INFO = 20
        if libc.task_info(task, MACH_TASK_BASIC_INFO, ctypes.byref(info), ctypes.byref(count)) == 0:
            return int(info.resident_size)
    except (AttributeError, OSError):
        pass
    return None
