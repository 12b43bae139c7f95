"""Draw docs/bench.png from the benchmark results (tools/bench.py --out bench-results/bpy-X.json).

    .venv/bpy-5.0/bin/python tools/bench_chart.py bench-results docs/bench.png

Top (the headline): the 1,000-cycle sampler loop with copy_leaky, copy_fixed and ours — bpy.data
mesh count and process RSS per cycle.  Bottom: cold-build speedup over copy_fixed per scene (ours and
the C floor), one bar group per Blender version, with the targets.

matplotlib is a development dependency (requirements/bench.txt, installed by ``make bench``), never
an add-on dependency.
"""
import argparse
import json
import sys
from pathlib import Path

PATTERNS = (("copy_leaky", "#d62728", "copy_leaky (copies never removed)"),
            ("copy_fixed", "#ff7f0e", "copy_fixed (copies removed one by one)"),
            ("ours", "#2ca02c", "ours (api.build, full rebuild every cycle)"))
VERSION_STYLES = ("-", "--", ":", "-.")
SCENES = ("S1", "S2", "S3", "S4")
COLD_TARGETS = {"S1": 3.0, "S2": 5.0, "S3": 100.0, "S4": 2.5}


def load(paths):
    """Result documents from files and/or directories (*.json), oldest Blender first."""
    docs = []
    for path in map(Path, paths):
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for file in files:
            doc = json.loads(file.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and "jobs" in doc and "meta" in doc:
                docs.append(doc)
    return sorted(docs, key=lambda d: _version_key(d["meta"]["bpy"]))


def _version_key(text):
    return tuple(int(p) if p.isdigit() else 0 for p in text.split(".")[:3])


def draw(docs, out_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not docs:
        raise SystemExit("bench_chart: no benchmark results to draw")
    fig = plt.figure(figsize=(12, 8.2), dpi=110)
    grid = fig.add_gridspec(2, 2, height_ratios=(1.15, 1.0), hspace=0.42, wspace=0.22)
    ax_mesh, ax_rss = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    ax_cold = fig.add_subplot(grid[1, :])
    _trend(ax_mesh, ax_rss, docs)
    _cold(ax_cold, docs)
    meta = docs[-1]["meta"]
    versions = ", ".join(d["meta"]["bpy"] for d in docs)
    fig.suptitle("BVH ray casting over many objects: leak-free and fast vs the copy–transform–bmesh "
                 f"pattern\nBlender {versions} (PyPI bpy) · {meta['date'][:10]} · "
                 f"{meta['cpus']}-core shared machine", fontsize=12)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, bbox_inches="tight")
    plt.close(fig)
    return out_path


def _trend(ax_mesh, ax_rss, docs):
    drawn = False
    for v, doc in enumerate(docs):
        style = VERSION_STYLES[v % len(VERSION_STYLES)]
        for pattern, colour, label in PATTERNS:
            job = doc["jobs"].get(f"trend-{pattern}")
            if not job:
                continue
            cycles = range(1, len(job["meshes"]) + 1)
            version_label = f"{label}, {doc['meta']['bpy']}" if len(docs) > 1 else label
            ax_mesh.plot(cycles, job["meshes"], style, color=colour, lw=1.6,
                         label=version_label if v == len(docs) - 1 or len(docs) == 1 else None)
            rss = job["rss_mb"]
            if rss and rss[0] is not None:
                ax_rss.plot(cycles, [r - rss[0] for r in rss], style, color=colour, lw=1.3,
                            label=f"{pattern}, Blender {doc['meta']['bpy']}")
            drawn = True
    if not drawn:
        for ax in (ax_mesh, ax_rss):
            ax.text(0.5, 0.5, "no trend results", ha="center", transform=ax.transAxes)
        return
    ax_mesh.set_title("bpy.data.meshes after each build + cast cycle")
    ax_mesh.set_xlabel("cycle")
    ax_mesh.set_ylabel("meshes in the file")
    ax_mesh.legend(loc="upper left", fontsize=8)
    ax_mesh.grid(alpha=0.3)
    ax_rss.set_title("process RSS growth since the first cycle")
    ax_rss.set_xlabel("cycle")
    ax_rss.set_ylabel("MB")
    ax_rss.legend(loc="upper left", fontsize=7, ncol=1 if len(docs) == 1 else 2)
    ax_rss.grid(alpha=0.3)


def _cold(ax, docs):
    import numpy as np
    width = 0.8 / max(1, len(docs))
    x = np.arange(len(SCENES))
    labels = []
    for name in SCENES:
        job = next((d["jobs"].get(f"scene-{name}") for d in docs if d["jobs"].get(f"scene-{name}")),
                   None)
        labels.append(f"{name}\n{job['objects']:,} × {job['triangles'] // job['objects']:,} tris"
                      if job else name)
    any_bar = False
    for v, doc in enumerate(docs):
        ours, floor = [], []
        for name in SCENES:
            cold = doc["jobs"].get(f"scene-{name}", {}).get("cold")
            if cold:
                ref = cold["copy_fixed"]["best"]
                ours.append(ref / cold["ours"]["best"])
                floor.append(ref / cold["floor"]["best"])
            else:
                ours.append(np.nan)
                floor.append(np.nan)
        pos = x - 0.4 + width * (v + 0.5)
        bars = ax.bar(pos, ours, width * 0.9, color="#2ca02c", alpha=0.55 + 0.45 * (v + 1) / len(docs),
                      edgecolor="black", lw=0.5)
        ax.scatter(pos, floor, marker="_", s=260, color="black", zorder=3,
                   label="floor: Σ BVHTree.FromObject (C, no merging)" if v == 0 else None)
        for bar, value in zip(bars, ours):
            if np.isfinite(value):
                ax.annotate(f"{value:.3g}×\n{doc['meta']['bpy']}", (bar.get_x() + bar.get_width() / 2,
                            value), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                            textcoords="offset points")
                any_bar = True
    for i, name in enumerate(SCENES):
        ax.hlines(COLD_TARGETS[name], i - 0.45, i + 0.45, colors="#d62728", linestyles="--", lw=1.2,
                  label="target" if i == 0 else None)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_ylabel("× faster than copy_fixed (log)")
    ax.set_title("cold build of a queryable structure: speedup over copy_fixed "
                 "(bars: ours, one per Blender version)")
    ax.grid(axis="y", alpha=0.3, which="both")
    if any_bar:
        ax.legend(loc="upper left", fontsize=8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="result JSON files or directories; the last "
                        "argument is the PNG to write")
    args = parser.parse_args(argv)
    if len(args.inputs) < 2:
        parser.error("give at least one results file or directory and the output PNG")
    *inputs, out = args.inputs
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit("bench_chart: matplotlib is not installed here: `make bench` installs "
                 "requirements/bench.txt into the Blender 5.0 venv")
    path = draw(load(inputs), out)
    print(f"bench_chart: wrote {path}")


if __name__ == "__main__":
    main()
