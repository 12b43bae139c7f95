# SPDX-License-Identifier: GPL-3.0-or-later
"""Script API for pipelines: ``from bvh_leakfree_addon import api`` (or ``bl_ext.<repo>.…``).

Importable without registering the add-on; works in ``blender -b`` and the PyPI ``bpy`` module.
"""
from .core.leaks import LeakError, LeakReport, leak_guard, process_rss_bytes

__all__ = ["LeakError", "LeakReport", "leak_guard", "process_rss_bytes"]
