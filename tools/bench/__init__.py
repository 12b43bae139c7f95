"""The benchmarks: the add-on's core against the copy–transform–bmesh pattern and Blender's
built-ins, inside the real ``bpy`` module of the interpreter that runs them.

    .venv/bpy-5.3/bin/python tools/bench [--tiny] [--only cold,loop,...] [--out FILE.json]
                                         [--zip dist/bvh_leakfree_addon-<version>.zip]

``make bench`` runs it once per Blender version (``BENCH_VERSIONS="5.3"`` to pick one,
``BENCH_ARGS="--only cold,recast"`` for some measurements) and then draws ``docs/bench.png``
with ``tools/bench_chart.py``.

Every figure is a ratio against a reference measured in the same run (absolute times are printed
for context only): the machine is shared and noisy.  Times are best-of-N (builds) or medians
(loops of many iterations), with one untimed warm-up, references and ours interleaved so that load
from other processes hits both.  Each ratio is printed in words ("ours 3.2× faster than
copy_fixed"); a target that is not reached is printed as MISSED.  References (``common``):
``copy_fixed`` is BlenderProc 2.8.0's own ``create_bvh_tree_multi_objects``, imported
(``requirements/blenderproc.txt``; its steps written here where it is not installed),
``copy_leaky`` those steps without the fix (the leak it had: kept only to show it),
``scene_ray_cast`` (``Scene.ray_cast`` in a Python loop: ray throughput and the correctness
oracle) and ``floor`` (Σ per-object ``BVHTree.FromObject``, Blender's C build: the
near-physical limit).

Isolation: every job runs in a fresh subprocess (``python tools/bench --worker …``), so leaked
meshes and allocator state never carry over; ``--in-process`` runs them one after the other in
this process (each after a factory reset), as the smoke test does with ``--tiny``.

The package:

* ``measurements/`` — one module per measurement (an ``--only`` name), each ending with its
  ``MEASUREMENT`` (``measurement.Measurement``: settings at full and tiny size, the jobs it plans
  and runs, the rows it makes of their results); ``measurements/__init__.py`` lists them in the
  order of the table.  Adding a measurement is one module there plus its line in that list.
* ``common`` — what they share: scenes, references, timing, process memory, the installed add-on.
* ``figures`` — how a figure reads (ratios in words, units, a row with its target and status).
* ``suite`` — configuration, plan, running the jobs, the results document and its table;
  ``cli`` — the command line.
"""
from .suite import MEASUREMENTS, addon_digest, dump_json, format_table, run_suite

__all__ = ("MEASUREMENTS", "addon_digest", "dump_json", "format_table", "run_suite")
