"""8 re-evaluated mesh: the peak RSS while one ~1 M-triangle mesh is re-evaluated ten times (a
Displace modifier's strength changes, then a build and a cast), against the peak of its first
build: the cache must drop each replaced tree (issue 11: 1.0.0 kept all of them)."""
import gc

from .. import common
from ..figures import fmt_ratio, mb, row
from ..measurement import Measurement

FULL = {"reeval_segments": 708,       # a grid of 2 × 708² ≈ 1.0 M triangles
        "reeval_times": 10}
TINY = {"reeval_segments": 40, "reeval_times": 3}


def plan(_cfg):
    return [("reeval", "reeval", [])]


def job(ctx):
    import bmesh
    cfg = ctx.cfg
    bpy = common.bpy()
    core = common.api()
    n = cfg["reeval_segments"]
    mesh = bpy.data.meshes.new("grid")
    bm = bmesh.new()
    try:
        bmesh.ops.create_grid(bm, x_segments=n, y_segments=n, size=10.0)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    grid = bpy.data.objects.new("grid", mesh)
    bpy.context.scene.collection.objects.link(grid)
    mod = grid.modifiers.new("Displace", 'DISPLACE')
    mod.mid_level = 0.0
    bpy.context.evaluated_depsgraph_get()
    gc.collect()
    common.trim_heap()
    can_reset = common.reset_peak_rss()
    before = common.rss_bytes()
    core.build([grid]).ray_cast((0.1, 0.1, 5.0), (0, 0, -1))
    first_peak = common.peak_rss_bytes()
    tree_bytes = core.cache_info().bytes
    trees = []
    for i in range(cfg["reeval_times"]):
        mod.strength = 0.1 * (i + 1)
        core.build([grid]).ray_cast((0.1, 0.1, 5.0), (0, 0, -1))
        trees.append(core.cache_info().trees)
    last_peak = common.peak_rss_bytes()
    info = core.cache_info()
    core.clear_cache()
    if before is None or first_peak is None:
        return {"peak_first": None}
    return {"triangles": info.triangles, "tree_bytes": tree_bytes, "times": cfg["reeval_times"],
            "peak_first": first_peak - before, "peak_last": last_peak - before,
            "cache_trees": trees, "cache_bytes_end": info.bytes, "peak_was_reset": can_reset}


def rows(jobs, _cfg):
    job_ = jobs.get("reeval")
    if not job_ or job_.get("peak_first") is None:
        return []
    growth = job_["peak_last"] - job_["peak_first"]
    budget = 2 * job_["tree_bytes"]
    trees = growth / job_["tree_bytes"] if job_["tree_bytes"] else 0.0
    words = (f"peak RSS {fmt_ratio(trees)} trees' worth more than the first build's after "
             f"{job_['times']} re-evaluations (one tree: {mb(job_['tree_bytes'])}; the cache held "
             f"at most {max(job_['cache_trees'])} tree(s))")
    return [row("8 re-evaluated mesh, peak RSS",
                f"{job_['triangles']:,} tris × {job_['times']} re-evaluations", mb(growth),
                f"first build's peak {mb(job_['peak_first'])}", words,
                "≤ 2 trees above a single build", growth <= budget, key="reeval",
                ratio=trees)]


MEASUREMENT = Measurement("reeval", rows, FULL, TINY, plan=plan, jobs={"reeval": job})
