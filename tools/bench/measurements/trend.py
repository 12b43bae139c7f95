"""6 1,000-cycle trend: sampler cycles (move every object, build, cast a few rays) with each
pattern — copy_leaky, copy_fixed, ours — each in a fresh process: ``bpy.data`` growth, RSS and
time per cycle."""
import statistics
import time

from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"trend_cycles": 1000,
        "trend_scene": (50, 2),             # 50 objects × 80 triangles
        "trend_rays": 10}
TINY = {"trend_cycles": 4, "trend_scene": (4, 1), "trend_rays": 3}
PATTERNS = ("copy_leaky", "copy_fixed", "ours")


def plan(_cfg):
    return [(f"trend-{p}", "trend", [p]) for p in PATTERNS]


def job(ctx, pattern):
    from mathutils import Vector
    cfg = ctx.cfg
    bpy = common.bpy()
    count, sub = cfg["trend_scene"]
    objects, half = common.ico_scene(count, sub)
    core = common.api()
    origins, directions = common.random_rays(cfg["trend_rays"], common.scene_center(objects),
                                             half, objects, 5)
    ray_vectors = [(Vector(o), Vector(d)) for o, d in zip(origins, directions, strict=False)]
    move = common.mover(objects, half, 13)
    if pattern == "ours":
        def cycle():
            bvh = core.build(objects, reuse=False)   # full rebuild every cycle, as the references
            bvh.ray_cast_many(origins, directions)
    else:
        build = common.REFERENCES[pattern]

        def cycle():
            tree = build(objects)
            for o, d in ray_vectors:
                tree.ray_cast(o, d)
    ids_before = common.id_sizes()
    meshes, rss, seconds = [], [], []
    for _ in range(cfg["trend_cycles"]):
        start = time.perf_counter()
        move()
        bpy.context.evaluated_depsgraph_get()
        cycle()
        seconds.append(time.perf_counter() - start)
        meshes.append(len(bpy.data.meshes))
        value = common.rss_bytes()
        rss.append(None if value is None else round(value / 2**20, 3))
    ids_after = common.id_sizes()
    core.clear_cache()
    grown = {k: ids_after[k] - ids_before[k] for k in ids_before if ids_after[k] != ids_before[k]}
    return {"pattern": pattern, "objects": count, "triangles": common.triangles(count, sub),
            "meshes": meshes, "rss_mb": rss, "seconds": [round(s, 7) for s in seconds],
            "ids_grown": grown, "meshes_at_start": ids_before["meshes"]}


def trend_summary(job_):
    """Mesh growth over all cycles, RSS growth after warm-up (first 10% of cycles), time."""
    n = len(job_["meshes"])
    warm = max(1, n // 10)
    rss = job_["rss_mb"]
    seconds = job_["seconds"]
    k = max(1, n // 10)
    return {"mesh_growth": job_["meshes"][-1] - job_["meshes_at_start"],
            "rss_growth_mb": (rss[-1] - rss[warm - 1]) if rss[-1] is not None else None,
            "cycles_after_warmup": n - warm,
            "first_median": statistics.median(seconds[:k]),
            "last_median": statistics.median(seconds[-k:]),
            "median": statistics.median(seconds)}


def rows(jobs, _cfg):
    out = []
    got = {p: jobs.get(f"trend-{p}") for p in PATTERNS}
    if not all(got.values()):
        return out
    s = {p: trend_summary(j) for p, j in got.items()}
    cycles = len(got["ours"]["meshes"])
    objects = got['ours']['objects']
    case = f"{cycles:,} cycles, {objects} × {got['ours']['triangles'] // objects} tris"
    for p in PATTERNS:
        t = s[p]
        leak_free = t["mesh_growth"] == 0 and not got[p]["ids_grown"]
        others = {k: v for k, v in got[p]["ids_grown"].items() if k != "meshes"}
        extra = f"; other ID growth {others}" if others else ""
        words = (f"{p}: bpy.data.meshes {t['mesh_growth']:+,}, RSS {t['rss_growth_mb']:+.1f} MB "
                 f"over the last {t['cycles_after_warmup']:,} cycles{extra}")
        out.append(row("6 1,000-cycle trend", f"{case}: {p}",
                       f"{t['mesh_growth']:+,} meshes", f"RSS {t['rss_growth_mb']:+.1f} MB", words,
                       "no ID growth" if p == "ours" else "", leak_free if p == "ours" else None,
                       key=f"trend.{p}"))
    # The patterns ran in separate processes, so their times are not compared with each other
    # (the interleaved loop measurement does that); copy_leaky is compared with itself.
    leaky = s["copy_leaky"]
    words, _ = faster(leaky["last_median"], leaky["first_median"], "its first 10%",
                      subject="copy_leaky's last 10% of cycles")
    out.append(row("6 1,000-cycle trend, leak cost", f"{case}: copy_leaky, same process",
                   ms(leaky["last_median"]), f"first 10% {ms(leaky['first_median'])}",
                   words + " (medians; the leak's slowdown, noisy)", "", key="trend.leaky"))
    return out


MEASUREMENT = Measurement("trend", rows, FULL, TINY, plan=plan, jobs={"trend": job})
