"""Render a benchmark result (bench-results/bpy-<v>.json) as a Markdown table.

    python tools/bench_table.py bench-results/bpy-5.0.json            # print it
    python tools/bench_table.py bench-results/bpy-5.0.json --readme README.md

With ``--readme`` the table replaces what stands between the ``<!-- bench-table:start -->`` and
``<!-- bench-table:end -->`` markers, so the README always shows a real run.
"""
import argparse
import json
import re
from pathlib import Path

COLUMNS = ("measurement", "case", "ours", "reference", "comparison", "target", "status")
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def render(result):
    meta = result["meta"]
    missed = sum(1 for row in result["rows"] if row.get("status") == "MISSED")
    lines = [
        f"Blender {meta['bpy']}, {meta['date'][:10]}, {meta['cpus']}-core {meta['machine']} "
        f"{meta['system']} (Python {meta['python']}, load average {meta['load_average_start']:.1f}"
        f"→{meta['load_average_end']:.1f}, add-on sources {meta['addon_digest']}); "
        f"{missed} target(s) missed.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in result["rows"]:
        cells = [str(row.get(col, "")) for col in COLUMNS]
        if cells[-1] == "MISSED":
            cells[-1] = "**MISSED**"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("result")
    parser.add_argument("--readme")
    args = parser.parse_args()
    table = render(json.loads(Path(args.result).read_text()))
    if not args.readme:
        print(table)
        return
    readme = Path(args.readme)
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"bench_table: no {START} … {END} markers in {readme}")
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: f"{START}\n{table}\n{END}",
                  text, flags=re.S)
    readme.write_text(text)
    print(f"bench_table: {readme} updated from {args.result}")


if __name__ == "__main__":
    main()
