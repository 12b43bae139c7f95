# SPDX-License-Identifier: GPL-3.0-or-later
"""How numbers read, once for the whole add-on (the leak report, the cast, the monitor): a count
with its noun, a signed change, a duration."""

__all__ = ("MB", "count", "signed", "duration")

MB = 2 ** 20   #: bytes in the megabytes every memory figure is given in


def count(n, noun, plural=None):
    """``1 object``, ``1,200 objects`` (``plural``: when it is not ``noun + 's'``)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def signed(value, digits=1):
    """``+1.2``, ``-0.4``, and ``+0.0``, never ``-0.0`` (a shrink smaller than the last digit
    reads as no change)."""
    return f"{round(value, digits) + 0.0:+.{digits}f}"


def duration(seconds):
    """``340 ms`` under a second, ``1.2 s`` above (a fast run must not read "0.0 s"), ``< 1 ms``
    under a millisecond."""
    if seconds < 1.0:
        return f"{max(seconds * 1e3, 0.0):.0f} ms" if seconds >= 0.001 else "< 1 ms"
    return f"{seconds:.1f} s"
