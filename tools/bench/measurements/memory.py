"""6 peak RSS of one build: how much the process's peak resident memory rises during one build
(ours, copy_fixed), each in a fresh process (the heap trimmed and the peak mark reset first)."""
import gc
import time

from .. import common
from ..figures import less_memory, mb, row
from ..measurement import Measurement

FULL = {"peak_scenes": ("S1", "S4")}
METHODS = ("copy_fixed", "ours")


def plan(cfg):
    return [(f"peak-{s}-{m}", "peak", [s, m]) for s in cfg["peak_scenes"] for m in METHODS]


def job(ctx, name, method):
    """Peak RSS increase of one build in this (fresh) process."""
    bpy = common.bpy()
    objects, _half = common.scene_of(ctx.cfg, name)
    fn = common.REFERENCES[method]
    common.api()                                   # import outside the measured region
    bpy.context.evaluated_depsgraph_get()
    gc.collect()
    trimmed = common.trim_heap()
    can_reset = common.reset_peak_rss()
    before = common.rss_bytes()
    peak_before = common.peak_rss_bytes()
    start = time.perf_counter()
    result = fn(objects)
    seconds = time.perf_counter() - start
    peak = common.peak_rss_bytes()
    after = common.rss_bytes()
    del result
    common.api().clear_cache()
    if before is None or peak is None:
        return {"scene": name, "method": method, "peak_increase": None}
    return {"scene": name, "method": method, "seconds": seconds,
            "peak_increase": peak - before, "retained": after - before,
            "peak_was_reset": can_reset, "heap_trimmed": bool(trimmed),
            "peak_before": peak_before, "rss_before": before}


def rows(jobs, cfg):
    out = []
    for name in cfg["peak_scenes"]:
        ours, ref = jobs.get(f"peak-{name}-ours"), jobs.get(f"peak-{name}-copy_fixed")
        if not ours or not ref or ours["peak_increase"] is None:
            continue
        words, ratio = less_memory(ours["peak_increase"], ref["peak_increase"], "copy_fixed")
        out.append(row("6 peak RSS of one build", f"{common.scene_label(name, cfg['scenes'])} "
                       "(fresh process each)", mb(ours["peak_increase"]),
                       f"copy_fixed {mb(ref['peak_increase'])}", words, "ours ≤ copy_fixed",
                       ours["peak_increase"] <= ref["peak_increase"], key=f"peak.{name}",
                       ratio=ratio))
    return out


MEASUREMENT = Measurement("memory", rows, FULL, plan=plan, jobs={"peak": job})
