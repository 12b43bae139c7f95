"""``python tools/bench ...``: the benchmarks' command line (see ``cli``)."""
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a folder: Python put this folder first on sys.path; import the package from tools/
    # instead (its modules are not top-level modules).
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from bench.cli import main
else:
    from .cli import main

main()
