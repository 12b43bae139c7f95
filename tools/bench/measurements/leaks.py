"""9 and 10: leak hunting by identity (issue 14).

* ``guard-<n>``   ``leak_guard``'s overhead (enter + exit) in a file of ``n`` IDs (half meshes, half
  objects), for a clean block and for the issue's script (3 images, 2 materials — one used by a
  mesh —, 1 node group added, 1 mesh removed: names, orphans and ``user_map`` on the added),
  against two references measured in the same process, turn by turn: ``count_guard`` (1.0.0's
  guard: ``len()`` of every collection before and after) and ``naive_identity`` (the obvious
  identity guard: ``{id.session_uid: id.name}`` of every ID in Python, before and after);
* ``monitor-lists``  the monitor's mean tick at 10,000 meshes with the additions of issue 14
  switched on (the meshes, materials and images lists open, the history sampled and its picture
  drawn), against the same ticks with every list closed; plus 1,000 pictures of the graph and the
  ID growth they cause (must be 0).
"""
import gc
import importlib
import statistics
import time

from .. import common
from ..figures import faster, ms, row
from ..measurement import Measurement

FULL = {"leaks_ids": (10_000, 100_000), "leaks_reps": {10_000: 9, 100_000: 5},
        "leaks_monitor_meshes": 10_000, "leaks_monitor_ticks": 2000, "leaks_monitor_blocks": 10,
        "leaks_graph_pictures": 1000}
TINY = {"leaks_ids": (200, 1000), "leaks_reps": {200: 2, 1000: 2},
        "leaks_monitor_meshes": 200, "leaks_monitor_ticks": 20, "leaks_monitor_blocks": 2,
        "leaks_graph_pictures": 20}
GUARD_PER_ID_TARGET_S = 1e-6     # the guard's clean overhead: at most 1 µs per ID in the file
MONITOR_TARGET_S = 1e-3          # the issue: the tick stays under 1 ms mean at 10,000 meshes


def plan(cfg):
    return ([(f"guard-{n}", "guard", [n]) for n in cfg["leaks_ids"]]
            + [("monitor-lists", "monitor_lists", [])])


# --- leak_guard overhead -----------------------------------------------------------------------
def _file_of(ids):
    """``ids`` IDs: half meshes (all used), half objects in the scene, plus a pool to remove."""
    bpy = common.bpy()
    common.factory_reset()
    src = bpy.data.meshes.new("m")
    collection = bpy.context.scene.collection
    for i in range(ids // 2):
        collection.objects.link(bpy.data.objects.new(f"o{i}", src if i == 0 else src.copy()))
    for i in range(50):
        bpy.data.meshes.new(f"pool{i}").use_fake_user = True
    return bpy.data.objects["o0"]


def _issue_script(bpy, cube):
    for _ in range(3):
        bpy.data.images.new("Render", 4, 4)
    used = bpy.data.materials.new("M.used")
    bpy.data.materials.new("M.free")
    cube.data.materials.append(used)
    bpy.data.node_groups.new("NodeGroup", "GeometryNodeTree")
    bpy.data.meshes.remove(next(m for m in bpy.data.meshes if m.name.startswith("pool")))


def _undo_script(bpy):
    """Put the file back as it was before the script (so every repetition sees the same file)."""
    bpy.data.batch_remove(list(bpy.data.images) + list(bpy.data.materials)
                          + list(bpy.data.node_groups))
    bpy.data.meshes.new("pool").use_fake_user = True


def _count_guard(bpy, names):
    before = {name: len(getattr(bpy.data, name)) for name in names}
    return lambda: {name: len(getattr(bpy.data, name)) - before[name] for name in names}


def _naive_identity(bpy, names):
    before = {name: {id_.session_uid: id_.name for id_ in getattr(bpy.data, name)}
              for name in names}

    def close():
        out = {}
        for name in names:
            now = {id_.session_uid: id_.name for id_ in getattr(bpy.data, name)}
            added = [now[uid] for uid in now.keys() - before[name].keys()]
            removed = [before[name][uid] for uid in before[name].keys() - now.keys()]
            if added or removed:
                out[name] = (added, removed)
        return out
    return close


def job_guard(ctx, ids):
    cfg = ctx.cfg
    bpy = common.bpy()
    common.api()     # puts the checkout on sys.path
    leaks = importlib.import_module("bvh_leakfree_addon.core.leaks")
    idtypes = importlib.import_module("bvh_leakfree_addon.core.idtypes")
    cube = _file_of(ids)
    names = idtypes.id_collection_names()
    total = sum(len(getattr(bpy.data, name)) for name in names)
    times = {key: [] for key in ("ours", "count_guard", "naive_identity",
                                 "ours_script", "naive_script", "script_alone")}
    report_text = ""
    gc.collect()
    for _ in range(cfg["leaks_reps"][ids]):
        with common.no_gc():
            start = time.perf_counter()
            with leaks.leak_guard(raise_on_leak=False):
                pass
            times["ours"].append(time.perf_counter() - start)
            start = time.perf_counter()
            _count_guard(bpy, names)()
            times["count_guard"].append(time.perf_counter() - start)
            start = time.perf_counter()
            _naive_identity(bpy, names)()
            times["naive_identity"].append(time.perf_counter() - start)
            start = time.perf_counter()
            _issue_script(bpy, cube)
            times["script_alone"].append(time.perf_counter() - start)
            _undo_script(bpy)
            start = time.perf_counter()
            with leaks.leak_guard(raise_on_leak=False) as report:
                _issue_script(bpy, cube)
            times["ours_script"].append(time.perf_counter() - start)
            report_text = report.summary()
            _undo_script(bpy)
            start = time.perf_counter()
            close = _naive_identity(bpy, names)
            _issue_script(bpy, cube)
            close()
            times["naive_script"].append(time.perf_counter() - start)
            _undo_script(bpy)
    return {"ids": total, "asked": ids, "report": report_text,
            **{key: common.summary(value) for key, value in times.items()}}


# --- the monitor with lists open and the graph ---------------------------------------------------
def job_monitor_lists(ctx):
    cfg = ctx.cfg
    bpy = common.bpy()
    common.enable_addon(ctx.zip_path, ctx.addon_installed)
    try:
        service = common.addon_module("monitor.service")
        history = common.addon_module("monitor.history")
        common.add_monitor_meshes(cfg["leaks_monitor_meshes"])
        service.reset_baseline()
        for i in range(30):            # something new since the baseline, so the lists show rows
            bpy.data.meshes.new(f"new{i}")
            bpy.data.materials.new(f"mat{i}")
        mon = bpy.context.window_manager.bvh_leakfree.monitor
        lists = {"meshes", "materials", "images"}
        ticks, blocks = cfg["leaks_monitor_ticks"], cfg["leaks_monitor_blocks"]
        per_block = max(1, ticks // blocks)
        closed, opened, leaking = [], [], []
        for _ in range(blocks):         # closed, open and open while leaking take turns
            for state, out, leak in ((set(), closed, False), (lists, opened, False),
                                     (lists, leaking, True)):
                mon.expanded = state
                service.tick(force=True)
                gc.collect()
                with common.no_gc():
                    spent = 0.0
                    for _ in range(per_block):
                        if leak:        # every list changes: each refresh rebuilds its page
                            bpy.data.meshes.new("leak")
                            bpy.data.materials.new("leak")
                        start = time.perf_counter()
                        service.tick()
                        spent += time.perf_counter() - start
                    out.append(spent / per_block)
        bpy.data.batch_remove([m for m in bpy.data.meshes if m.name.startswith("leak")]
                              + [m for m in bpy.data.materials if m.name.startswith("leak")])
        rows = len(service.new_list("meshes").rows)
        # The graph: one sample and one picture every SAMPLE_SECONDS (a tick every `interval`).
        before = common.id_sizes()
        pictures = []
        clock = time.time()
        for _ in range(cfg["leaks_graph_pictures"]):
            clock += history.SAMPLE_SECONDS
            start = time.perf_counter()
            history.history.sample(clock, service.tracked_total(), None)
            history.graph.update(history.history, clock)
            pictures.append(time.perf_counter() - start)
        after = common.id_sizes()
        interval = common.addon_module("monitor.settings").monitor_settings().interval
        return {"meshes": len(bpy.data.meshes), "lists": sorted(lists), "rows": rows,
                "ticks": per_block * blocks, "blocks": blocks,
                "closed_best": min(closed), "closed_median": statistics.median(closed),
                "open_best": min(opened), "open_median": statistics.median(opened),
                "leaking_best": min(leaking), "leaking_median": statistics.median(leaking),
                "picture": common.summary(pictures), "interval": interval,
                "sample_seconds": history.SAMPLE_SECONDS,
                "graph_id_growth": {k: v - before[k] for k, v in after.items() if v != before[k]},
                "previews": history.graph.previews}
    finally:
        common.disable_addon()


# --- rows ----------------------------------------------------------------------------------------
def rows(jobs, _cfg):
    out = []
    for key in sorted((k for k in jobs if k.startswith("guard-")), key=lambda k: int(k[6:])):
        job = jobs[key]
        ids = job["ids"]
        # best of N, as for builds: the guard's own cost, without the shared machine's load
        ours, count, naive = (job[k]["best"] for k in ("ours", "count_guard", "naive_identity"))
        words, ratio = faster(ours, naive, "a naive Python identity guard")
        words += (f" ({ours / ids * 1e9:.0f} ns per ID; 1.0.0's count-only guard "
                  f"{ms(count)})")
        out.append(row("9 leak_guard overhead", f"{ids:,} IDs, clean block (best of "
                         f"{job['ours']['n']})", ms(ours),
                         f"naive_identity {ms(naive)}", words,
                         f"≤ {GUARD_PER_ID_TARGET_S * 1e6:g} µs per ID",
                         ours <= GUARD_PER_ID_TARGET_S * ids, key=f"guard.{job['asked']}",
                         ratio=ratio, per_id_us=ours / ids * 1e6))
        overhead = job["ours_script"]["best"] - job["script_alone"]["best"]
        ref = job["naive_script"]["best"] - job["script_alone"]["best"]
        words, ratio = faster(overhead, ref, "a naive Python identity guard")
        out.append(row("9 leak_guard overhead", f"{ids:,} IDs, the issue's script (6 added, "
                         "1 removed, named, who uses)", ms(overhead),
                         f"naive_identity {ms(ref)}", words + f"; report: {job['report']}",
                         key=f"guard.script.{job['asked']}", ratio=ratio))
    mon = jobs.get("monitor-lists")
    if mon:
        graph = mon["picture"]["median"] * mon["interval"] / mon["sample_seconds"]
        case = (f"{mon['meshes']:,} meshes, lists of {', '.join(mon['lists'])} open: mean tick, "
                f"best of {mon['blocks']} blocks of {mon['ticks'] // mon['blocks']:,} ticks")
        for variant, what in (("open", "nothing changes"),
                              ("leaking", "a mesh and a material leak before every tick")):
            tick = mon[f"{variant}_best"] + graph
            words = (f"{what}; with the graph's picture ({ms(mon['picture']['median'])} every "
                     f"{mon['sample_seconds']:g} s = {ms(graph)} per tick): "
                     f"{ms(tick - mon['closed_best'])} more per tick than with every list "
                     f"closed ({ms(mon['closed_best'])})")
            out.append(row("10 monitor tick, issue 14", f"{case}, {what}", ms(tick),
                             f"lists closed {ms(mon['closed_best'])}", words,
                             f"< {ms(MONITOR_TARGET_S)} mean", tick < MONITOR_TARGET_S,
                             key=f"monitor_lists.{variant}"))
        growth = mon["graph_id_growth"]
        out.append(row("10 history graph", f"{mon['picture']['n']:,} pictures of the graph",
                         f"{sum(growth.values()):+,} IDs", f"{mon['previews']} preview image",
                         f"bpy.data growth {growth or 'none'}; the picture is one preview image "
                         "(not a datablock)", "0 ID growth", not growth, key="graph"))
    return out


MEASUREMENT = Measurement("leaks", rows, FULL, TINY, plan=plan,
                          jobs={"guard": job_guard, "monitor_lists": job_monitor_lists})
