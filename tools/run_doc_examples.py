"""Run the examples of a guide (docs/pipelines.md) exactly as printed, each in a fresh interpreter.

    python tools/run_doc_examples.py docs/pipelines.md [--allow requirements/pipeline.txt]
    python tools/run_doc_examples.py docs/pipelines.md --extract build/doc-examples

An example is a ```python block preceded by a line ``<!-- example: NAME (runs in CI) -->``; every
other block is illustration.  Each example is written to ``NAME.py`` in a temporary folder and run
there with this interpreter (``python NAME.py``), so ``bvh_leakfree_addon`` must come from what is
installed, never from a checkout next to it: that is checked first, and with ``--allow`` also that
the environment holds nothing but the distributions that requirements file names (with their own
dependencies' names listed there too), pip's own, and this project's wheel.  ``--extract``
only writes the example files (for ``blender -b --python``).

Standard library only: it runs in the bare pipeline environment (``make test-examples``).
"""
import argparse
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARKER = re.compile(r"<!-- example: ([A-Za-z0-9_-]+)[^>]*-->\s*\n```python\n(.*?)```", re.S)
BASE = {"pip", "setuptools", "wheel", "bvh_leakfree_addon", "bvh-leakfree-addon"}


def examples(text):
    """``[(name, code)]`` of the marked examples, in order."""
    found = MARKER.findall(text)
    names = [name for name, _code in found]
    if len(set(names)) != len(names):
        raise SystemExit(f"run_doc_examples: duplicate example names: {names}")
    return found


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def check_environment(allow_file):
    """The package is imported from the installed distribution; with ``allow_file``, nothing but
    the allowed distributions is installed."""
    spec = importlib.util.find_spec("bvh_leakfree_addon")
    if spec is None:
        raise SystemExit("run_doc_examples: bvh_leakfree_addon is not installed here")
    dist = importlib.metadata.distribution("bvh_leakfree_addon")
    installed_at = Path(dist.locate_file("bvh_leakfree_addon")).resolve()
    if Path(spec.origin).resolve().parent != installed_at:
        raise SystemExit(f"run_doc_examples: bvh_leakfree_addon comes from {spec.origin}, not "
                         f"from the installed distribution at {installed_at}")
    print(f"run_doc_examples: bvh_leakfree_addon {dist.version} from {installed_at}")
    if allow_file is None:
        return
    allowed = {_normal(n) for n in BASE}
    for line in Path(allow_file).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            allowed.add(_normal(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]))
    present = {_normal(d.metadata["Name"]) for d in importlib.metadata.distributions()}
    extra = sorted(present - allowed)
    if extra:
        raise SystemExit(f"run_doc_examples: not a bare pipeline environment, also installed: "
                         f"{', '.join(extra)}")
    print(f"run_doc_examples: installed: {', '.join(sorted(present))}")


def run(name, code, folder, timeout):
    path = Path(folder) / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("BLENDER_USER_RESOURCES", str(Path(folder) / "blender-user"))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, path.name], cwd=str(folder), env=env,
                          capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    output = (proc.stdout + proc.stderr).strip()
    ok = proc.returncode == 0 and "Traceback" not in output and proc.stdout.strip()
    print(f"--- example {name}: {'ok' if ok else 'FAILED'} ({seconds:.1f} s)")
    print("\n".join("    " + line for line in output.splitlines()[-12:]))
    return bool(ok)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide")
    parser.add_argument("--allow", help="requirements file naming the allowed distributions")
    parser.add_argument("--extract", help="only write the examples into this folder")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    found = examples(Path(args.guide).read_text(encoding="utf-8"))
    if not found:
        raise SystemExit(f"run_doc_examples: no marked examples in {args.guide}")
    if args.extract:
        out = Path(args.extract)
        out.mkdir(parents=True, exist_ok=True)
        for name, code in found:
            (out / f"{name}.py").write_text(code, encoding="utf-8")
        print(f"run_doc_examples: {len(found)} examples written to {out}")
        return
    check_environment(args.allow)
    with tempfile.TemporaryDirectory(prefix="bvh_doc_examples_") as folder:
        failed = [name for name, code in found if not run(name, code, folder, args.timeout)]
    if failed:
        raise SystemExit(f"run_doc_examples: {len(failed)} of {len(found)} examples failed: "
                         f"{', '.join(failed)}")
    print(f"run_doc_examples: all {len(found)} examples of {args.guide} ran")


if __name__ == "__main__":
    main()
