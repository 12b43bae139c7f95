"""Average cost of one datablock-monitor tick with 10,000 and 100,000 meshes (one object each).

    .venv/bpy-5.0/bin/python tools/bench_monitor.py [--sizes 10000 100000] [--ticks 400]

Imports the add-on package from this checkout (no install needed: without the add-on's preferences
the monitor uses its defaults: 0.5 s interval, the default table types).  Prints, per size, the
average tick (the figure the issue asks for), the cost of a full refresh of every tracked type
(what a tick would cost without throttling), and how often meshes are refreshed.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bpy  # noqa: E402

from bvh_leakfree_addon.monitor import service as monitor  # noqa: E402


def scene(meshes, with_objects):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    src = bpy.data.meshes.new("src")
    collection = bpy.context.scene.collection
    for i in range(meshes - 1):
        me = src.copy()
        if with_objects:
            collection.objects.link(bpy.data.objects.new(f"o{i}", me))


def measure(ticks):
    monitor._monitor.reset()
    monitor.tick(force=True)
    rounds = []
    for _ in range(5):  # median of 5 rounds: the machine may be shared
        start = time.perf_counter()
        for _ in range(ticks):
            monitor.tick()
        rounds.append((time.perf_counter() - start) / ticks)
    average = sorted(rounds)[2]
    start = time.perf_counter()
    full_rounds = 20
    for _ in range(full_rounds):
        monitor.tick(force=True)
    full = (time.perf_counter() - start) / full_rounds
    return average, full


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--ticks", type=int, default=200)
    args = parser.parse_args()
    print(f"Blender {bpy.app.version_string}: monitor tick, median of 5 rounds of "
          f"{args.ticks} ticks")
    for size in args.sizes:
        for with_objects in (False, True):
            scene(size, with_objects)
            average, full = measure(args.ticks)
            period = monitor.refresh_period_seconds(monitor.MESHES)
            what = f"{size:,} meshes" + (f" + {size - 1:,} objects" if with_objects else "")
            print(f"  {what:>32}: average tick {average * 1e3:.3f} ms, full refresh "
                  f"{full * 1e3:.2f} ms, meshes refreshed every {period:.1f} s")


if __name__ == "__main__":
    main()
