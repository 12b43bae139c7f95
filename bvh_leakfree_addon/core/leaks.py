# SPDX-License-Identifier: GPL-3.0-or-later
"""Leak accounting: ID collection sizes, ``leak_guard`` and the process's resident memory."""
import contextlib
import os
import sys

import bpy

from .idtypes import id_collection_names

__all__ = ("LeakError", "leak_guard", "LeakReport", "id_collection_names", "collection_sizes",
           "process_rss_bytes")


class LeakError(RuntimeError):
    """Raised by ``leak_guard`` when ID collections grew inside the guarded block."""

    def __init__(self, growth):
        self.growth = dict(growth)
        parts = ", ".join(f"{name} +{delta}" for name, delta in sorted(self.growth.items()))
        super().__init__(f"bpy.data grew inside leak_guard: {parts}")


def collection_sizes(names=None):
    """``{collection name: len(bpy.data.<name>)}`` (Blender counts a linked list: O(n), in C)."""
    names = id_collection_names() if names is None else names
    return {name: len(getattr(bpy.data, name)) for name in names}


class LeakReport:
    """What ``leak_guard`` saw: sizes before and after, and the collections that grew."""

    def __init__(self, names):
        self.names = tuple(names)
        self.before = collection_sizes(self.names)
        self.after = None
        self.growth = {}

    def close(self):
        self.after = collection_sizes(self.names)
        self.growth = {name: self.after[name] - self.before[name] for name in self.names
                       if self.after[name] > self.before[name]}

    @property
    def leaked(self):
        return bool(self.growth)

    def __repr__(self):
        return f"<LeakReport growth={self.growth!r}>"


@contextlib.contextmanager
def leak_guard(collections=None, *, raise_on_leak=True):
    """Snapshot the size of every ``bpy.data`` ID collection (or the named ones) and compare on
    exit.

    On exit a collection that grew is a leak: ``LeakError`` names each one and by how much (or, with
    ``raise_on_leak=False``, the yielded ``LeakReport`` records it).  An exception raised inside the
    block propagates unchanged; the report is still filled in.

        with leak_guard() as report:
            my_blenderproc_loop()
    """
    if isinstance(collections, str):
        collections = (collections,)
    names = id_collection_names() if collections is None else tuple(collections)
    known = set(id_collection_names())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"not bpy.data ID collections: {', '.join(unknown)}")
    report = LeakReport(names)
    failed = False
    try:
        yield report
    except BaseException:
        failed = True
        raise
    finally:
        report.close()
        if report.leaked and raise_on_leak and not failed:
            raise LeakError(report.growth)


def process_rss_bytes():
    """Resident set size of this process in bytes, or None where the platform gives no figure."""
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
