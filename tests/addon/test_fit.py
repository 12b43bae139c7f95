"""Issue 23.1: numbers in narrow columns shorten honestly (1.2k, 18k) or their column is dropped,
never cut to other digits; names get a line of their own; wrapped text is measured.  The widths
are Blender's own font metrics (``blf``); the GUI test looks at the sidebar at 161 and 221 px."""
from types import SimpleNamespace

import bpy

import pytest
from test_cast_support import cube

MESHES = "meshes"


@pytest.mark.parametrize("value, signed, text", [
    (0, True, "0"), (7, False, "7"), (182, False, "182"), (181, True, "+181"), (-3, True, "-3"),
    (999, False, "999"), (1000, False, "1k"), (1234, False, "1.2k"), (18234, False, "18k"),
    (18234, True, "+18k"), (99949, False, "100k"), (182345, False, "182k"),
    (999500, False, "1M"), (1234567, False, "1.2M"), (-1234, True, "-1.2k"),
])
def test_short_count_rounds_with_a_unit(addon, value, signed, text):
    assert addon.fit.short_count(value, signed) == text
    assert len(text.lstrip("+-")) <= 4


def test_count_forms_go_from_exact_to_short(addon):
    fit = addon.fit
    assert fit.count_forms(182) == ["182"]
    assert fit.count_forms(181, signed=True) == ["+181"]
    assert fit.count_forms(0, signed=True) == ["0"]
    assert fit.count_forms(18234) == ["18,234", "18.2k", "18k"]
    assert fit.count_forms(1234, signed=True) == ["+1,234", "+1.2k"]
    # Every form of a number reads as that number, rounded: never other digits.
    for value in (1234, 18234, 182345, 1234567):
        for form in fit.count_forms(value):
            number = float(form.replace(",", "").rstrip("kM")) * (
                1e3 if form.endswith("k") else 1e6 if form.endswith("M") else 1)
            assert abs(number - value) <= 0.05 * value, (form, value)


def _measure(text):
    return 7.0 * len(text)     # a monospaced stand-in, for the arithmetic of fit_columns


def test_fit_columns_keeps_exact_forms_when_there_is_room(addon):
    fit = addon.fit
    columns = [(("Total", "All"), [fit.count_forms(18234)], 1),
               (("Orphans", "Orph."), [fit.count_forms(179)], 2),
               (("+/-", "±"), [fit.count_forms(18181, signed=True)], 0)]
    wide = fit.fit_columns(columns, 400, _measure, 16, 60)
    assert [(i, header, cells) for i, header, cells, _px in wide] == [
        (0, "Total", ["18,234"]), (1, "Orphans", ["179"]), (2, "+/-", ["+18,181"])]
    assert sum(px for *_rest, px in wide) + 60 <= 400


def test_fit_columns_shortens_then_drops_the_least_important(addon):
    fit = addon.fit
    columns = [(("Total", "All"), [fit.count_forms(18234)], 1),
               (("Orphans", "Orph."), [fit.count_forms(17979)], 2),
               (("+/-", "±"), [fit.count_forms(18181, signed=True)], 0)]
    for width in range(60, 400, 7):
        fitted = fit.fit_columns(columns, width, _measure, 16, 60)
        used = sum(px for *_rest, px in fitted) + 60
        assert used <= width or not fitted, (width, fitted)
        shown = [i for i, *_rest in fitted]
        # +/- goes last, Orphans first
        assert shown in ([0, 1, 2], [0, 2], [2], []), (width, shown)
        for i, header, cells, px in fitted:
            assert px >= max(_measure(t) for t in [header, *cells]) + 16
            assert all(cell in fit.count_forms(v, signed=(i == 2))
                       for cell, v in zip(cells, [(18234, 17979, 18181)[i]], strict=True))
    narrow = fit.fit_columns(columns, 120, _measure, 16, 60)
    assert [(i, cells) for i, _h, cells, _px in narrow] == [(2, ["+18.2k"])]
    narrower = fit.fit_columns(columns, 105, _measure, 16, 60)
    assert [(i, cells) for i, _h, cells, _px in narrower] == [(2, ["+18k"])]


def test_wrap_lines_never_exceeds_the_width(addon):
    fit = addon.fit
    text = "The growth in the table above is not the add-on's: find its source with a script"
    for width in (60, 100, 180, 400):
        lines = fit.wrap_lines(text, width, _measure)
        assert " ".join(lines) == text
        assert all(_measure(line) <= width or " " not in line for line in lines)


def _context(width):
    """A sidebar of ``width`` pixels, as a panel's draw sees it (the real preferences)."""
    return SimpleNamespace(region=SimpleNamespace(width=width),
                           preferences=bpy.context.preferences)


@pytest.mark.parametrize("width", [161, 221, 292, 400])
def test_the_datablocks_table_fits_every_width_with_blenders_font(addon, mon, width):
    """The issue's numbers (Meshes 182 / 179 / +181, and a 18,234 one): at every width each
    shown cell fits its column by Blender's font metrics, the columns fit the panel, and +/- is
    the last to go."""
    for _ in range(181):
        bpy.data.meshes.new("leak")
    cube("Keeper")
    mon.tick(force=True)
    rows = addon.monitor.rows
    context = _context(width)
    shape = rows.table(context, mon.tracked_types())
    measure, content = addon.fit.text_width(context)
    assert content == width - addon.fit.PANEL_OVERHEAD_PX * measure.scale
    shown = [index for index, *_rest in shape.columns]
    assert 2 in shown, (width, shape.columns)
    total = 0.0
    for index, header, cells, pixels in shape.columns:
        widest = max(measure(text) for text in [header, *cells])
        assert widest + measure.px(addon.fit.CELL_PAD_PX) <= pixels + 1e-6, (header, cells)
        total += pixels
        values = {0: mon.figures(MESHES).total, 1: mon.figures(MESHES).orphans,
                  2: mon.growth(MESHES)}
        assert cells[shape.rows[MESHES]] in addon.fit.count_forms(values[index],
                                                                  signed=index == 2)
    assert total + measure.px(rows.NAME_MIN_PX) <= content
    if width >= 292:
        assert shown == [0, 1, 2]


def test_list_rows_give_names_a_line_of_their_own_when_narrow(addon):
    rows = addon.monitor.rows
    info = SimpleNamespace(users=12)
    narrow = addon.fit.text_width(_context(161))
    wide = addon.fit.text_width(_context(400))
    assert not rows.rows_on_one_line(narrow, [info])
    assert rows.rows_on_one_line(wide, [info])
