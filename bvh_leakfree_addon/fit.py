# SPDX-License-Identifier: GPL-3.0-or-later
"""Text that fits the sidebar, honestly: a number too wide for its column is shortened with a unit
("1.2k", "18k") or its column is dropped, never cut to other digits ("182" shown as "1"); text is
wrapped by its measured width.

Blender clips a label too long for its column, and a short right-aligned number loses digits without
a "…" (seen at 161 px: Meshes 182 / 179 / +181 read "1 17 +").  So the panels ask here what fits:
widths are measured with Blender's own font (``blf``, the interface font at the interface's size)
against the panel's width, which is the sidebar region's minus what Blender puts around a panel
(``PANEL_OVERHEAD_PX``, measured in Blender 4.3 and 5.2, rounded up).  A leaf module: the features
use it, it imports nothing of the add-on.
"""
import math

import bpy

import blf

__all__ = ("Measure", "measure", "panel_width", "text_width", "wrap", "short_count",
           "count_forms", "fit_columns", "wrap_lines", "CELL_PAD_PX", "PANEL_OVERHEAD_PX",
           "ICON_PX", "BOX_PX", "UNIT_PX")

#: what Blender puts around a sidebar panel's content (tabs, margins, the scroll bar), pixels at
#: interface scale 1: measured 43-44 px (sidebars 164 and 292 px wide, Blender 5.2), rounded up
PANEL_OVERHEAD_PX = 48.0
#: what a right-aligned label in a cell of fixed width needs beyond its text before Blender cuts
#: it: measured 2 px ("+181", 28 px, was cut in a 28 px cell and whole in a 30 px one), and a
#: gap between columns ("Total Orphans" must not read as one word)
CELL_PAD_PX = 10.0
#: Blender's interface unit (``ui_units_x`` counts these), pixels at scale 1
UNIT_PX = 20.0
#: a box's margins, pixels at scale 1
BOX_PX = 12.0
#: width of an icon (and the gap after it) in a label, pixels at scale 1
ICON_PX = 22.0
FONT_ID = 0                 # Blender's interface font


class Measure:
    """Text widths in pixels with the interface font at the interface's size (``scale``: the
    interface scale; 1 in background mode, where Blender gives 0)."""

    def __init__(self, context=None):
        prefs = getattr(context or bpy.context, "preferences", None)
        scale = getattr(getattr(prefs, "system", None), "ui_scale", 0.0) or 1.0
        self.scale = scale if math.isfinite(scale) and scale > 0.0 else 1.0
        points = 11.0
        styles = getattr(prefs, "ui_styles", None)
        if styles is not None and len(styles):
            points = styles[0].widget.points or points
        self.points = points
        self._cache = {}

    def __call__(self, text):
        width = self._cache.get(text)
        if width is None:
            blf.size(FONT_ID, self.points * self.scale)
            width = blf.dimensions(FONT_ID, text)[0]
            if width <= 0.0 and text:     # no font (should not happen): a generous estimate
                width = 0.62 * self.points * self.scale * len(text)
            self._cache[text] = width
        return width

    def px(self, value):
        """``value`` pixels at scale 1, at this interface scale."""
        return value * self.scale


def measure(context=None):
    """A :class:`Measure` for ``context`` (the panel being drawn)."""
    return Measure(context)


def panel_width(context, scale):
    """Pixels a sidebar panel's content has, at most: the region's width minus what Blender draws
    around panels (300 px minus that when there is no region: background mode)."""
    region = getattr(context, "region", None)
    width = region.width if region is not None and region.width > 1 else 300
    return max(0.0, width - PANEL_OVERHEAD_PX * scale)


def _sign(value, signed):
    if value < 0:
        return "-"
    return "+" if signed and value > 0 else ""


def _compact(number, decimals):
    """``number`` (≥ 1000) with k, M, G or T: rounded to ``decimals``, trailing ".0" dropped."""
    for unit, size in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)):
        scaled = round(number / size, decimals)
        if scaled < 1000 or unit == "T":
            text = f"{scaled:.{decimals}f}"
            return (text[:-2] if text.endswith(".0") else text) + unit
    raise AssertionError("unreachable")


def text_width(context, inset=0.0):
    """``(measure, pixels)``: the text measure for ``context`` and the width text has in a panel
    drawn there, ``inset`` pixels (at scale 1, e.g. :data:`BOX_PX` in a box) narrower."""
    measured = measure(context)
    return measured, panel_width(context, measured.scale) - measured.px(inset)


def wrap(layout, context, text, icon='NONE', alert=False, measured=None):
    """``text`` as labels wrapped to the panel's width by their measured width (the sidebar may be
    narrow; a word wider than the panel keeps a line of its own, which Blender ends with "…").
    ``measured``: :func:`text_width`'s answer for the layout (default: the panel's)."""
    measured_text, width = measured or text_width(context)
    if icon != 'NONE':
        width -= measured_text.px(ICON_PX)
    col = layout.column(align=True)
    col.alert = alert
    lines = wrap_lines(text, width - measured_text.px(CELL_PAD_PX), measured_text)
    for index, part in enumerate(lines):
        col.label(text=part, icon=icon if index == 0 else ('BLANK1' if icon != 'NONE' else 'NONE'))


def short_count(value, signed=False):
    """``value`` in at most four figures with a unit: ``182``, ``1.2k``, ``18k``, ``182k``,
    ``1.2M`` (rounded, never cut); ``signed``: ``+181``, ``-3``, ``0`` for no change."""
    number = abs(int(value))
    if number < 1000:
        return f"{_sign(value, signed)}{number}"
    one = _compact(number, 1)
    return _sign(value, signed) + (one if len(one.rstrip("kMGT")) <= 3 else _compact(number, 0))


def count_forms(value, signed=False):
    """Ways to show ``value``, longest first, each once: ``["18,234", "18.2k", "18k"]``,
    ``["182"]``."""
    number = abs(int(value))
    sign = _sign(value, signed)
    forms = [f"{sign}{number:,}"]
    if number >= 1000:
        forms.append(sign + _compact(number, 1))
    whole = _compact(number, 0) if number >= 1000 else ""
    if len(whole) >= 3:          # two figures at least: 1,234 never reads "1k", 1.2M never "1M"
        forms.append(sign + whole)
    out = []
    for form in forms:
        if form not in out:
            out.append(form)
    return out


def fit_columns(columns, width, measure_text, pad, min_first):
    """Which number columns a table shows, and how, in ``width`` pixels.

    ``columns``: ``[(headers, cells, priority)]``: each column's header forms (longest first),
    its cells' forms (each a list, longest first: :func:`count_forms`) and its priority (lower
    is kept longer).  ``min_first``: pixels the first (name) column needs.  Returns ``[(index,
    header, cells, pixels)]`` of the columns shown, in their order: every cell in its longest form
    that fits, the columns of lowest priority dropped first when even the shortest forms do not.
    """
    def need(forms_list):
        return max(measure_text(forms[-1]) for forms in forms_list) + pad

    shown = sorted(range(len(columns)), key=lambda i: columns[i][2])
    while shown:
        minimal = sum(max(need([columns[i][0]]), need(columns[i][1])) for i in shown)
        if minimal + min_first <= width:
            break
        shown.pop()          # the lowest priority goes
    shown.sort()
    result = []
    spare = width - min_first - sum(max(need([columns[i][0]]), need(columns[i][1]))
                                    for i in shown)
    for i in shown:
        headers, cells, _priority = columns[i]
        base = max(need([headers]), need(cells))
        best = None
        for level in range(max(len(headers), max((len(c) for c in cells), default=1))):
            header = headers[min(level, len(headers) - 1)]
            texts = [forms[min(level, len(forms) - 1)] for forms in cells]
            pixels = max([measure_text(header)] + [measure_text(t) for t in texts]) + pad
            if pixels <= base + spare:
                best = (header, texts, pixels)
                break
        if best is None:
            best = (headers[-1], [forms[-1] for forms in cells], base)
        spare -= best[2] - base
        result.append((i, *best))
    return result


def wrap_lines(text, width, measure_text):
    """``text`` in lines no wider than ``width`` pixels (a word longer than that keeps a line of
    its own: Blender ends it with "…")."""
    words = text.split()
    if not words:
        return [""]
    lines = [words[0]]
    for word in words[1:]:
        candidate = lines[-1] + " " + word
        if measure_text(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines

