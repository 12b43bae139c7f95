"""Running the measurements: the configuration, the plan of jobs, each job in a fresh process
(or in this one), the results document and its table."""
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import common
from .measurement import JobContext
from .measurements import ALL

PACKAGE_DIR = Path(__file__).resolve().parent
BY_NAME = {m.name: m for m in ALL}
MEASUREMENTS = tuple(BY_NAME)
#: job kind → job function (``scene``: the shared job of a benchmark scene, see run_scene)
JOBS = {kind: fn for m in ALL for kind, fn in m.jobs.items()}


def config(size):
    """The run's configuration: every measurement's settings at ``size`` ("full" or "tiny")."""
    cfg = {"scenes": common.SCENES}
    for m in ALL:
        cfg.update(m.full)
    if size == "tiny":
        cfg["scenes"] = common.TINY_SCENES
        for m in ALL:
            cfg.update(m.tiny)
    return cfg


def plan(cfg, only):
    """The jobs of the measurements named in ``only``: ``[(job id, kind, args)]``.  Scene parts
    share one job per scene (``scene-<name>``, args ``[name, parts]``)."""
    chosen = [m for m in ALL if m.name in only]
    parts = {m.name for m in chosen if m.scene_part} | {n for m in chosen for n in m.needs}
    jobs = []
    for name in cfg["scenes"]:
        on_scene = [m.name for m in ALL if m.name in parts and name in m.scene_names(cfg)]
        if on_scene:
            jobs.append((f"scene-{name}", "scene", [name, on_scene]))
    for m in chosen:
        if m.plan is not None:
            jobs += m.plan(cfg)
    return jobs


def run_scene(ctx, name, parts):
    """One scene, made once, and every part measured on it in table order."""
    objects, half = common.scene_of(ctx.cfg, name)
    count, sub = ctx.cfg["scenes"][name]
    out = {"scene": name, "objects": count, "triangles": common.triangles(count, sub)}
    for part in parts:
        out[part] = BY_NAME[part].scene_part(ctx, name, objects, half)
    common.api().clear_cache()
    return out


def run_job_in_process(ctx, kind, args):
    common.factory_reset()
    try:
        return run_scene(ctx, *args) if kind == "scene" else JOBS[kind](ctx, *args)
    finally:
        common.factory_reset()


def run_job_subprocess(size, kind, args, zip_path, tmp):
    """Run one job in a fresh interpreter (the CLI's worker mode); returns its JSON."""
    out = Path(tmp) / f"{kind}-{'-'.join(map(str, args[:1] if kind == 'scene' else args))}.json"
    spec = json.dumps({"size": size, "kind": kind, "args": args,
                       "zip": str(zip_path) if zip_path else None})
    cmd = [sys.executable, str(PACKAGE_DIR), "--worker", spec, "--worker-out", str(out)]
    proc = subprocess.run(cmd, cwd=str(common.ROOT), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"bench job {kind} {args} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-4000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def worker_main(spec_json, out_path):
    spec = json.loads(spec_json)
    ctx = JobContext(config(spec["size"]), spec.get("zip"))
    result = run_job_in_process(ctx, spec["kind"], spec["args"])
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


def run_suite(size="full", only=MEASUREMENTS, in_process=False, zip_path=None,
              addon_installed=False, log=None):
    """Run the selected measurements; returns the results document (see :func:`rows`)."""
    cfg = config(size)
    ctx = JobContext(cfg, zip_path, addon_installed)
    jobs = plan(cfg, set(only))
    started = time.perf_counter()
    doc = {"meta": _meta(size, only), "jobs": {}, "failures": {}}
    tmp = tempfile.mkdtemp(prefix="bvh_bench_")
    try:
        for job_id, kind, args in jobs:
            t0 = time.perf_counter()
            try:
                if in_process:
                    result = run_job_in_process(ctx, kind, args)
                else:
                    result = run_job_subprocess(size, kind, args, zip_path, tmp)
            except Exception as ex:  # noqa: BLE001 - one broken job must not hide the others
                if in_process and not log:
                    raise
                doc["failures"][job_id] = f"{type(ex).__name__}: {ex}"
                if log is not None:
                    log(f"  {job_id}: FAILED after {time.perf_counter() - t0:.1f} s\n{ex}")
                continue
            doc["jobs"][job_id] = result
            if log is not None:
                log(f"  {job_id}: {time.perf_counter() - t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    doc["meta"]["seconds"] = time.perf_counter() - started
    doc["meta"]["load_average_end"] = common.load_average()
    doc["config"] = {k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()})
                     for k, v in cfg.items()}
    doc["rows"] = rows(doc, cfg)
    if size == "tiny":          # tiny scenes say nothing about the targets: don't judge them
        for r in doc["rows"]:
            if r["status"]:
                r["status"] = "not judged (tiny)"
    return doc


def rows(doc, cfg):
    """Every measurement's rows, in table order."""
    return [r for m in ALL for r in m.rows(doc["jobs"], cfg)]


def _meta(size, only):
    return {"bpy": bpy_version(), "python": platform.python_version(),
            "machine": platform.machine(), "system": platform.system(), "cpus": os.cpu_count(),
            "size": size, "only": list(only), "date": datetime.datetime.now().astimezone()
            .isoformat(timespec="seconds"), "load_average_start": common.load_average(),
            "git": _git_head(), "addon_digest": addon_digest()}


def addon_digest():
    """Short digest of the add-on's sources, so results can be tied to the code measured."""
    digest = hashlib.sha1()
    root = common.ROOT
    for path in sorted((root / "bvh_leakfree_addon").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def bpy_version():
    """The bpy version without importing bpy in the parent (slow): from the wheel's metadata."""
    if "bpy" in sys.modules:
        return sys.modules["bpy"].app.version_string
    try:
        from importlib.metadata import version
        return version("bpy")
    except Exception:  # noqa: BLE001 - metadata missing: ask bpy itself
        return common.bpy().app.version_string


def _git_head():
    root = str(common.ROOT)
    try:
        proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bvh_leakfree_addon"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        head = proc.stdout.strip()
        return head + ("+dirty" if dirty.stdout.strip() else "") if head else None
    except (OSError, subprocess.SubprocessError):
        return None


def dump_json(doc):
    """Indented JSON with lists of numbers kept on one line (the per-cycle series stay short in
    diffs)."""
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    number_list = re.compile(r"\[\s*(-?[0-9][-0-9.eE+]*(?:,\s*-?[0-9][-0-9.eE+]*)*)\s*\]")
    return number_list.sub(lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",")
                           .replace(" ,", ",") + "]", text) + "\n"


def format_table(doc):
    meta = doc["meta"]
    lines = [f"### Blender {meta['bpy']} — {meta['date'][:10]}, {meta['cpus']} cores "
             f"({meta['machine']}, Python {meta['python']}), load average "
             f"{_fmt_load(meta.get('load_average_start'))} → "
             f"{_fmt_load(meta.get('load_average_end'))}"
             f", suite {meta.get('seconds', 0):.0f} s"
             f"{' [TINY sizes]' if meta['size'] == 'tiny' else ''}",
             "",
             "| measurement | case | ours | reference | comparison | target | status |",
             "|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        comparison = r["comparison"] + (f"; {r['agreement']}" if r.get("agreement") else "")
        lines.append(f"| {r['measurement']} | {r['case']} | {r['ours']} | {r['reference']} | "
                     f"{comparison} | {r['target']} | "
                     f"{'**MISSED**' if r['status'] == 'MISSED' else r['status']} |")
    missed = [r for r in doc["rows"] if r["status"] == "MISSED"]
    lines.append("")
    for job_id, message in doc.get("failures", {}).items():
        lines.append(f"FAILED job {job_id}: {message.splitlines()[0]}")
    if meta["size"] == "tiny":
        lines.append("Tiny sizes (smoke test): targets not judged.")
    elif missed:
        lines.append(f"{len(missed)} target(s) MISSED: " + "; ".join(
            f"{r['measurement']} {r['case']}" for r in missed))
    else:
        lines.append("All targets met.")
    return "\n".join(lines)


def _fmt_load(value):
    return "n/a" if value is None else f"{value:.1f}"
