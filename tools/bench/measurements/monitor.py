"""7 monitor tick: the average cost of the Datablocks monitor's tick with 10,000 meshes in the file
(half of them used by objects, half orphans), the add-on installed from the zip and enabled,
against the obvious monitor (count every tracked type and its orphans in Python every tick)."""
import gc
import statistics
import time

from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"monitor_meshes": 10_000, "monitor_ticks": 2000, "monitor_blocks": 10}
TINY = {"monitor_meshes": 200, "monitor_ticks": 20, "monitor_blocks": 2}
TARGET_S = 1e-3  # "well under 1 ms" on average


def plan(_cfg):
    return [("monitor", "monitor", [])]


def job(ctx):
    cfg = ctx.cfg
    bpy = common.bpy()
    common.enable_addon(ctx.zip_path, ctx.addon_installed)
    try:
        monitor = common.addon_module("monitor.service")
        common.add_monitor_meshes(cfg["monitor_meshes"])
        tracked = monitor.tracked_types()
        monitor.tick(force=True)
        ticks, blocks = cfg["monitor_ticks"], cfg["monitor_blocks"]
        per_block = max(1, ticks // blocks)
        costs, block_means, naive, full = [], [], [], []
        gc.collect()
        # Blocks of ticks interleaved with the references, so that load from other processes
        # hits both; a block spans several throttled full refreshes of every type.
        for _ in range(blocks):
            with common.no_gc():
                block = []
                for _ in range(per_block):
                    start = time.perf_counter()
                    monitor.tick()
                    block.append(time.perf_counter() - start)
                start = time.perf_counter()
                _naive_tick(tracked)
                naive.append(time.perf_counter() - start)
                start = time.perf_counter()
                monitor.tick(force=True)
                full.append(time.perf_counter() - start)
            costs += block
            block_means.append(statistics.fmean(block))
        return {"meshes": len(bpy.data.meshes), "objects": len(bpy.data.objects),
                "tracked": list(tracked), "ticks": len(costs), "blocks": blocks,
                "mean": statistics.fmean(costs), "best_block_mean": min(block_means),
                "median_block_mean": statistics.median(block_means),
                "median": statistics.median(costs), "max": max(costs),
                "naive": common.summary(naive), "forced": common.summary(full),
                "mesh_period_ticks": _mesh_period(monitor)}
    finally:
        common.disable_addon()


def _mesh_period(monitor):
    job_ = getattr(monitor, "_monitor", None)
    job_ = job_.jobs.get("meshes") if job_ is not None else None
    return getattr(job_, "period", None)


def _naive_tick(names):
    """The obvious monitor: count every tracked type and its orphans in Python, every tick."""
    data = common.bpy().data
    out = {}
    for name in names:
        collection = getattr(data, name)
        out[name] = (len(collection), sum(1 for id_ in collection if id_.users == 0))
    return out


def rows(jobs, _cfg):
    mon = jobs.get("monitor")
    if not mon:
        return []
    tick = mon.get("best_block_mean", mon["mean"])
    words, ratio = faster(tick, mon["naive"]["best"], "a naive full recount per tick")
    return [row("7 monitor tick", f"{mon['meshes']:,} meshes, {mon['objects']:,} objects: "
                f"mean tick, best of {mon.get('blocks', 1)} blocks of "
                f"{mon['ticks'] // mon.get('blocks', 1):,} ticks", ms(tick),
                f"naive recount {ms(mon['naive']['best'])}", words
                + f" (mean over all ticks {ms(mon['mean'])})",
                f"< {ms(TARGET_S)} mean", tick < TARGET_S, key="monitor", ratio=ratio)]


MEASUREMENT = Measurement("monitor", rows, FULL, TINY, plan=plan, jobs={"monitor": job})
