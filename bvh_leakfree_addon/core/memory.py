# SPDX-License-Identifier: GPL-3.0-or-later
"""The process's resident memory (RSS), read the way each platform gives it: ``/proc`` on Linux,
``GetProcessMemoryInfo`` on Windows, ``task_info`` on macOS; None elsewhere."""
import os
import sys

__all__ = ("process_rss_bytes",)


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
