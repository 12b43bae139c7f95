"""Every benchmark figure in the docs comes from the benchmark results of the shipped sources.

    python tools/docs_figures.py --update README.md docs/benchmarks.md   # fill the markers in
    python tools/docs_figures.py --check  README.md docs/benchmarks.md   # exit 1 on a mismatch

The results are ``bench-results/bpy-<version>.json`` (``make bench``).  Two kinds of markers:

* ``<!--fig:SPEC-->text<!--/fig-->`` — one figure, ``SPEC`` = ``VERSIONS:WHERE:FORMAT``:

  - ``VERSIONS`` — ``5.0``, or ``4.2,4.5,5.0`` (then the text is the range ``low–high`` of the
    versions' values, or one value when they agree);
  - ``WHERE`` — ``row/<row key>/<field>`` (a row of the results table, e.g. ``row/cold.S3/ratio``)
    or ``job/<path>`` (a value under ``jobs``, e.g. ``job/scene-S3/cold/copy_fixed/best``), or
    ``A÷B``, the ratio of two such values;
  - ``FORMAT`` — ``x`` (a factor: ``3.2×``), ``xinv`` (the inverse factor: ``ours 1.3× slower``
    reads ``1.3×``), ``s``, ``ms``, ``us``, ``mb`` (bytes → ``MB``), ``int``, ``text`` (as stored).

* ``<!--bench-table:VERSION-->`` … ``<!--/bench-table-->`` — the whole results table of a version.

``tests/test_docs_figures.py`` runs the check and also fails when the results were measured on other
add-on sources than the ones in this checkout (``meta.addon_digest``), or at tiny sizes.
"""
import argparse
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
FIGURE = re.compile(r"<!--fig:(?P<spec>[^>]*?)-->(?P<text>.*?)<!--/fig-->", re.S)
TABLE = re.compile(r"<!--bench-table:(?P<version>[\d.]+)-->(?P<text>.*?)<!--/bench-table-->",
                   re.S)
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_table  # noqa: E402


def load_results(versions, results=RESULTS):
    return {v: json.loads((results / f"bpy-{v}.json").read_text(encoding="utf-8"))
            for v in versions}


def _value(doc, where):
    if "÷" in where:       # a ratio of two values of the same results
        top, bottom = where.split("÷")
        return _value(doc, top) / _value(doc, bottom)
    kind, _, path = where.partition("/")
    if kind == "row":
        key, _, field = path.rpartition("/")
        row = next((r for r in doc["rows"] if r["key"] == key), None)
        if row is None:
            raise KeyError(f"no row {key!r} in the results")
        return row[field]
    if kind == "job":
        value = doc["jobs"]
        for part in path.split("/"):
            value = value[int(part)] if isinstance(value, list) else value[part]
        return value
    raise ValueError(f"unknown figure source {where!r} (row/… or job/…)")


def _number(value, fmt):
    if fmt == "xinv":
        return 1.0 / value
    if fmt == "s":
        return value
    if fmt == "ms":
        return value * 1e3
    if fmt == "us":
        return value * 1e6
    if fmt == "mb":
        return value / 2 ** 20
    return value


def _digits(x):
    """Three significant figures (``3.21``, ``31.7``, ``933``, ``0.94``)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


UNITS = {"x": "×", "xinv": "×", "s": " s", "ms": " ms", "us": " µs", "mb": " MB", "int": ""}


def render(spec, docs):
    """The text of a ``<!--fig:spec-->`` marker from the results ``docs`` ({version: result})."""
    versions, where, fmt = spec.split(":")
    values = [_value(docs[v], where) for v in versions.split(",")]
    if fmt == "text":
        if len(set(values)) != 1:
            raise ValueError(f"{spec}: the versions disagree: {values}")
        return str(values[0])
    if fmt == "int":
        numbers = sorted(int(v) for v in values)
        texts = [f"{n:,}" for n in numbers]
    else:
        numbers = sorted(_number(float(v), fmt) for v in values)
        texts = [_digits(n) for n in numbers]
    unit = UNITS[fmt]
    if texts[0] == texts[-1]:
        return texts[0] + unit
    return f"{texts[0]}–{texts[-1]}{unit}"


def versions_used(text):
    found = set()
    for match in FIGURE.finditer(text):
        found.update(match["spec"].split(":")[0].split(","))
    found.update(match["version"] for match in TABLE.finditer(text))
    return found


def filled(text, docs):
    """``text`` with every marker's content recomputed."""
    text = FIGURE.sub(lambda m: f"<!--fig:{m['spec']}-->{render(m['spec'], docs)}<!--/fig-->",
                      text)
    return TABLE.sub(lambda m: f"<!--bench-table:{m['version']}-->\n"
                               f"{bench_table.render(docs[m['version']])}\n<!--/bench-table-->",
                     text)


def mismatches(text, docs):
    """``[(marker, written, expected)]`` for every marker whose content is not the results'."""
    out = []
    for match in FIGURE.finditer(text):
        expected = render(match["spec"], docs)
        if match["text"] != expected:
            out.append((f"fig:{match['spec']}", match["text"], expected))
    for match in TABLE.finditer(text):
        expected = f"\n{bench_table.render(docs[match['version']])}\n"
        if match["text"] != expected:
            out.append((f"bench-table:{match['version']}", "(the table)", "(another table)"))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", type=Path)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    failed = False
    for path in args.files:
        text = path.read_text(encoding="utf-8")
        docs = load_results(sorted(versions_used(text)))
        if args.update:
            path.write_text(filled(text, docs), encoding="utf-8")
            print(f"docs_figures: {path} filled from {', '.join(sorted(docs))}")
            continue
        for marker, written, expected in mismatches(text, docs):
            failed = True
            print(f"docs_figures: {path}: {marker}: says {written!r}, the results say "
                  f"{expected!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
