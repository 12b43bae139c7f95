"""2 scaling: the per-object cost of a cold build at 200, 2,000 and 20,000 objects × 20
triangles (ours, copy_fixed, floor), and how it grows; one job per count."""
from .. import common
from ..figures import faster, fmt_ratio, ms, row
from ..measurement import Measurement

FULL = {"scaling_counts": (200, 2000, 20000), "scaling_reps": {200: 5, 2000: 2, 20000: 2},
        "scaling_ref_full_limit": 2000,   # copy_fixed above this many objects: timed on a sample
        "scaling_ref_sample": 200}
TINY = {"scaling_counts": (10, 40), "scaling_reps": {10: 1, 40: 1}, "scaling_ref_full_limit": 10,
        "scaling_ref_sample": 5}
FLAT = 1.5    # ours per object at the largest N at most this × its cost at the smallest


def plan(cfg):
    return [(f"scaling-{n}", "scaling", [n]) for n in cfg["scaling_counts"]]


def job(ctx, count):
    """Per-object cost at ``count`` objects × 20 triangles: ours, copy_fixed, floor."""
    cfg = ctx.cfg
    objects, _half = common.ico_scene(count, 1)
    reps = cfg["scaling_reps"].get(count, 1)
    sample = None if count <= cfg["scaling_ref_full_limit"] else cfg["scaling_ref_sample"]
    times = common.interleaved(
        {"copy_fixed": lambda: common.ref_copy_fixed(objects, sample=sample),
         "floor": lambda: common.ref_floor(objects),
         "ours": lambda: common.ours_cold_timed(objects)}, reps,
        setups=common.cold_setups(objects))
    common.api().clear_cache()
    per = {name: min(t) / (sample if name == "copy_fixed" and sample else count)
           for name, t in times.items()}
    return {"objects": count, "copy_fixed_sample": sample, "per_object": per,
            "times": {k: common.summary(v) for k, v in times.items()}}


def rows(jobs, cfg):
    out = []
    counts = [n for n in cfg["scaling_counts"] if f"scaling-{n}" in jobs]
    if not counts:
        return out
    first = jobs[f"scaling-{counts[0]}"]["per_object"]["ours"]
    for n in counts:
        job_ = jobs[f"scaling-{n}"]
        per = job_["per_object"]
        sampled = (f" (timed on the first {job_['copy_fixed_sample']:,} objects)"
                   if job_["copy_fixed_sample"] else "")
        words, ratio = faster(per["ours"], per["copy_fixed"], "copy_fixed")
        out.append(row("2 scaling, per object", f"{n:,} × 20 tris", ms(per["ours"]),
                       f"copy_fixed {ms(per['copy_fixed'])}{sampled}", words, "",
                       key=f"scaling.{n}", ratio=ratio))
    n = counts[-1]
    growth = jobs[f"scaling-{n}"]["per_object"]["ours"] / first
    ref_growth = (jobs[f"scaling-{n}"]["per_object"]["copy_fixed"]
                  / jobs[f"scaling-{counts[0]}"]["per_object"]["copy_fixed"])
    words = (f"ours per object at {n:,} is {fmt_ratio(growth)}× its cost at {counts[0]:,} "
             f"(copy_fixed: {fmt_ratio(ref_growth)}×)")
    out.append(row("2 scaling, growth", f"{counts[0]:,} → {n:,} objects", f"{fmt_ratio(growth)}×",
                   f"copy_fixed {fmt_ratio(ref_growth)}×", words,
                   f"flat (≤ {FLAT:g}×)", growth <= FLAT, key="scaling.growth",
                   ratio=growth))
    return out


MEASUREMENT = Measurement("scaling", rows, FULL, TINY, plan=plan, jobs={"scaling": job})
