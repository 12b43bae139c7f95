"""Draw docs/bench.png from the benchmark results (tools/bench --out bench-results/bpy-X.json).

    .venv/bpy-5.0/bin/python tools/bench_chart.py bench-results docs/bench.png

Top (the headline): the 1,000-cycle sampler loop with copy_leaky, copy_fixed and ours — bpy.data
mesh count and process RSS per cycle.  Middle: cold-build speedup over copy_fixed per scene (ours
and the C floor), one bar group per Blender version, with the targets.  Bottom (when the results
hold the ``soak`` measurement): the synthetic-data loop (objects made,
built, cast against and deleted every iteration) with ours, the BlenderProc drop-in and
copy_fixed — RSS held after each tenth iteration, and time per iteration.

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
    soak = any(d["jobs"].get(f"soak-{p}") for d in docs for p, _c, _l in SOAK_PATTERNS)
    rows = 3 if soak else 2
    fig = plt.figure(figsize=(12, 8.6 + (4.0 if soak else 0.0)), dpi=110)
    grid = fig.add_gridspec(rows, 2, height_ratios=(1.15, 1.0, 1.0)[:rows], hspace=0.45,
                            wspace=0.22)
    ax_mesh, ax_rss = (fig.add_subplot(grid[0, i]) for i in range(2))
    ax_cold = fig.add_subplot(grid[1, :])
    _trend(ax_mesh, ax_rss, docs)
    _cold(ax_cold, docs)
    if soak:
        _soak(fig.add_subplot(grid[2, 0]), fig.add_subplot(grid[2, 1]), docs)
    meta = docs[-1]["meta"]
    versions = ", ".join(d["meta"]["bpy"] for d in docs)
    fig.suptitle("BVH ray casting over many objects: leak-free and fast vs the "
                 "copy–transform–bmesh "
                 f"pattern\nBlender {versions} (PyPI bpy) · {meta['date'][:10]} · "
                 f"{meta['cpus']}-core shared machine", fontsize=12)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, bbox_inches="tight")
    plt.close(fig)
    return out_path


def _trend(ax_mesh, ax_rss, docs):
    drawn = False
    last = len(docs) - 1
    for v, doc in enumerate(docs):
        style = VERSION_STYLES[(last - v) % len(VERSION_STYLES)]   # newest Blender: solid
        for pattern, colour, label in PATTERNS:
            job = doc["jobs"].get(f"trend-{pattern}")
            if not job:
                continue
            cycles = range(1, len(job["meshes"]) + 1)
            width = 2.2 if pattern == "copy_fixed" else 1.5     # ours is drawn over copy_fixed
            ax_mesh.plot(cycles, job["meshes"], style, color=colour, lw=width,
                         label=label if v == last else None)
            rss = job["rss_mb"]
            if rss and rss[0] is not None:
                ax_rss.plot(cycles, [r - rss[0] for r in rss], style, color=colour, lw=width)
            if v == last:
                _label_end(ax_mesh, len(job["meshes"]), job["meshes"][-1], f"{job['meshes'][-1]:,}",
                           colour, pattern)
                if rss and rss[0] is not None:
                    _label_end(ax_rss, len(rss), rss[-1] - rss[0], f"{rss[-1] - rss[0]:+.0f} MB",
                               colour, pattern)
            drawn = True
    if not drawn:
        for ax in (ax_mesh, ax_rss):
            ax.text(0.5, 0.5, "no trend results", ha="center", transform=ax.transAxes)
        return
    job = docs[-1]["jobs"].get("trend-ours") or {}
    scene = (f"{job['objects']} objects × {job['triangles'] // job['objects']} tris"
             if job else "")
    ax_mesh.set_title(f"bpy.data.meshes after each cycle (move all, build, cast; {scene})",
                      fontsize=10)
    ax_mesh.set_xlabel("cycle")
    ax_mesh.set_ylabel("meshes in the file")
    ax_mesh.legend(loc="upper left", fontsize=7.5)
    ax_rss.set_title("process RSS growth since the first cycle", fontsize=10)
    ax_rss.set_xlabel("cycle")
    ax_rss.set_ylabel("MB")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=colour, lw=1.6, label=pattern)
               for pattern, colour, _ in PATTERNS]
    if len(docs) > 1:
        handles += [Line2D([], [], color="grey",
                           ls=VERSION_STYLES[(last - v) % len(VERSION_STYLES)],
                           label=f"Blender {doc['meta']['bpy']}") for v, doc in enumerate(docs)]
    ax_rss.legend(handles=handles, loc="upper left", fontsize=7.5, ncol=2 if len(docs) > 1 else 1)
    for ax in (ax_mesh, ax_rss):
        ax.grid(alpha=0.3)


def _label_end(ax, x, y, text, colour, pattern):
    """Final value at the end of a line; copy_fixed and ours often coincide (both flat)."""
    offset = {"copy_leaky": (0, 4), "copy_fixed": (0, 10), "ours": (0, -12)}[pattern]
    ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha="right",
                fontsize=7.5, color=colour, fontweight="bold")


def _short(version):
    """``'4.2.23'`` → ``'4.2'``."""
    return ".".join(version.split(".")[:2])


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
        bars = ax.bar(pos, ours, width * 0.9, color="#2ca02c",
                      alpha=0.55 + 0.45 * (v + 1) / len(docs), edgecolor="black", lw=0.5)
        ax.scatter(pos, floor, marker="_", s=260, color="black", zorder=3,
                   label="floor: Σ BVHTree.FromObject (C, no merging)" if v == 0 else None)
        for bar, value, low in zip(bars, ours, floor, strict=False):
            if np.isfinite(value):
                # with more than two versions the bars are too narrow for the floor distance (the
                # black mark shows it; the tables give it)
                floor_text = f"\n{low / value:.2f}× floor" if len(docs) <= 2 else ""
                version = doc["meta"]["bpy"] if len(docs) <= 2 else _short(doc["meta"]["bpy"])
                ax.annotate(f"{value:.3g}×{floor_text}\n{version}",
                            (bar.get_x() + bar.get_width() / 2, value), ha="center",
                            va="bottom", fontsize=7, xytext=(0, 2), zorder=4,
                            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                                  "alpha": 0.7},
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


SOAK_PATTERNS = (("ours", "#2ca02c", "ours (api.build + ray_cast_many)"),
                 ("dropin", "#1f77b4", "drop-in (api.create_bvh_tree_multi_objects)"),
                 ("copy_fixed", "#ff7f0e", "copy_fixed (BlenderProc v2.8)"))


def _soak(ax_rss, ax_time, docs):
    import numpy as np
    last = len(docs) - 1
    job = None
    steady = []   # the smoothed times after the first iterations (the warm-up is off the scale)
    for v, doc in enumerate(docs):
        style = VERSION_STYLES[(last - v) % len(VERSION_STYLES)]
        for pattern, colour, label in SOAK_PATTERNS:
            job = doc["jobs"].get(f"soak-{pattern}") or job
            run = doc["jobs"].get(f"soak-{pattern}")
            if not run:
                continue
            held = run.get("held_mb") or []
            if held:
                x = [i + 1 for i in run["held_at"]]
                ax_rss.plot(x, [h - held[0] for h in held], style, color=colour, lw=1.5,
                            label=label if v == last else None)
            seconds = np.asarray(run["seconds"]) * 1e3
            window = max(1, len(seconds) // 50)
            smooth = [float(np.median(seconds[max(0, i - window):i + 1]))
                      for i in range(len(seconds))]
            ax_time.plot(range(1, len(seconds) + 1), smooth, style, color=colour, lw=1.5)
            steady.extend(smooth[max(1, len(smooth) // 50):])
    case = (f"{job['objects']} new objects, {job['rays']:,} rays per iteration" if job else "")
    ax_rss.set_title(f"synthetic-data loop: RSS held ({case})", fontsize=10)
    ax_rss.set_xlabel("iteration")
    ax_rss.set_ylabel("MB since the first sample (heap trimmed)")
    ax_rss.legend(loc="upper left", fontsize=7.5)
    ax_time.set_title("time per iteration (running median" + ("; warm-up off the scale)"
                                                              if steady else ")"), fontsize=10)
    if steady:
        ax_time.set_ylim(0, max(steady) * 1.3)
    ax_time.set_xlabel("iteration")
    ax_time.set_ylabel("ms")
    if len(docs) > 1:
        from matplotlib.lines import Line2D
        ax_time.legend(handles=[Line2D([], [], color="grey",
                                       ls=VERSION_STYLES[(last - v) % len(VERSION_STYLES)],
                                       label=f"Blender {doc['meta']['bpy']}")
                                for v, doc in enumerate(docs)], loc="upper right", fontsize=7.5)
    for ax in (ax_rss, ax_time):
        ax.grid(alpha=0.3)


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
