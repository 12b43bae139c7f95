"""Make numpy importable for the GUI test's Blender when that Blender lacks it.

Official Blender builds bundle numpy; some distribution packages (e.g. Debian's ``blender`` without
``python3-numpy``) do not.  The add-on needs numpy, so for the GUI acceptance test this script asks
the given Blender for its Python version and whether numpy imports; if not, it downloads a matching
numpy wheel from PyPI (kept in the project's wheelhouse so later runs work offline) and unpacks it
into ``--out``, which the driver puts on ``sys.path`` (the add-on itself never touches
``sys.path``).

    python tools/gui_site.py --blender "blender" --out build/gui-site
"""
import argparse
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PROBE = ("import sys; print('GUI_SITE_PY', '%d.%d' % sys.version_info[:2]); "
         "import numpy; print('GUI_SITE_NUMPY')")


def probe(blender):
    cmd = shlex.split(blender) + ["--background", "--factory-startup", "--python-expr", PROBE]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    version = next((line.split()[1] for line in out.splitlines()
                    if line.startswith("GUI_SITE_PY")), None)
    if version is None:
        sys.exit(f"gui_site: could not run {blender!r} to ask for its Python version:\n{out}")
    return version, "GUI_SITE_NUMPY" in out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--blender", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--wheelhouse",
                        default=str(Path.home() / ".cache/bvh_leakfree_addon/wheels"))
    args = parser.parse_args()
    out = Path(args.out)
    version, has_numpy = probe(args.blender)
    if has_numpy:
        print(f"gui_site: Blender's Python {version} has numpy")
        shutil.rmtree(out, ignore_errors=True)
        return
    wheelhouse = Path(args.wheelhouse) / f"gui-py{version}"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--no-deps",
           "--python-version", version, "--platform", "manylinux2014_x86_64",
           "-d", str(wheelhouse), "numpy<2.3"]
    if subprocess.run(pip).returncode != 0:
        print("gui_site: no package index reachable, using the wheelhouse")
    wheels = sorted(wheelhouse.glob("numpy-*.whl"))
    if not wheels:
        sys.exit(f"gui_site: Blender's Python {version} lacks numpy and no wheel could be fetched")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with zipfile.ZipFile(wheels[-1]) as whl:
        whl.extractall(out)
    print(f"gui_site: Blender's Python {version} lacks numpy: unpacked {wheels[-1].name} "
          f"into {out}")


if __name__ == "__main__":
    main()
