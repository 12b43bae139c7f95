"""Shared test helpers (real bpy, no mocks)."""
import importlib.util
import sys
from pathlib import Path

import bpy

import addon_utils

from bvh_leakfree_addon.core.idtypes import id_collection_names

ROOT = Path(__file__).resolve().parent.parent
REPO = "user_default"
ADDON_MODULE = f"bl_ext.{REPO}.bvh_leakfree_addon"


def load_script(relative_path):
    """A script of the repository (tools/, examples/) as a module, without touching sys.path."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(f"_script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_tool_package(name):
    """A package of the repository's tools (``tools/<name>/``) with its submodules, as the module
    ``name``, without touching sys.path; loaded once per session."""
    if name in sys.modules:
        return sys.modules[name]
    path = ROOT / "tools" / name
    spec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                  submodule_search_locations=[str(path)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def enable_addon():
    module = addon_utils.enable(ADDON_MODULE, default_set=True, handle_error=_raise)
    assert module is not None, f"could not enable {ADDON_MODULE}"
    return module


def disable_addon():
    addon_utils.disable(ADDON_MODULE, default_set=True, handle_error=_raise)


def _raise(ex):
    raise ex


def handler_snapshot():
    """Every app handler list, as (name, number of callbacks)."""
    out = {}
    for name in dir(bpy.app.handlers):
        value = getattr(bpy.app.handlers, name)
        if isinstance(value, list):
            out[name] = [getattr(fn, "__qualname__", repr(fn)) for fn in value]
    return out


def ui_draw_functions_snapshot():
    """Draw functions appended to any menu, header or panel (``Menu.append`` & co.)."""
    out = {}
    for name in dir(bpy.types):
        cls = getattr(bpy.types, name, None)
        init = getattr(cls, "_dyn_ui_initialize", None)
        if init is None:
            continue
        try:
            funcs = init()
        except Exception:
            continue
        out[name] = [getattr(fn, "__module__", "") + "." + getattr(fn, "__qualname__", repr(fn))
                     for fn in funcs]
    return out


def keymap_snapshot():
    kc = bpy.context.window_manager.keyconfigs.addon
    if kc is None:
        return {}
    return {km.name: [kmi.idname for kmi in km.keymap_items] for km in kc.keymaps}


def live_runtime_hooks(package):
    """Timers, draw handlers and the like that the add-on's modules report as live.

    Each module of the add-on that owns a runtime hook exposes ``runtime_hooks_active()`` returning
    a list of human-readable names of the hooks it currently holds.
    """
    live = []
    for name, module in list(sys.modules.items()):
        if name == package or name.startswith(package + "."):
            probe = getattr(module, "runtime_hooks_active", None)
            if probe is not None:
                live += [f"{name}: {hook}" for hook in probe()]
    return live


def link_two_library_meshes(tmp_path):
    """Two meshes, ``lib0`` and ``lib1``, linked from a library file written to ``tmp_path``, with
    no user here (linked orphans)."""
    lib = [bpy.data.meshes.new(f"lib{i}") for i in range(2)]
    path = tmp_path / "lib.blend"
    bpy.data.libraries.write(str(path), set(lib), fake_user=True)
    bpy.data.batch_remove(lib)
    with bpy.data.libraries.load(str(path), link=True) as (_src, dst):
        dst.meshes = ["lib0", "lib1"]


def id_collection_sizes():
    """len() of every ID type's collection of bpy.data (never ``all_ids`` (5.2): see
    ``core.compat``)."""
    return {name: len(getattr(bpy.data, name)) for name in id_collection_names()}


# --- Crash-class cases: each in a fresh interpreter ---------------------------------------------
_PRELUDE = """\
import faulthandler, os, sys
faulthandler.enable()
sys.path[:0] = {paths!r}
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
"""
_EPILOGUE = """
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


class Snippet:
    """What a snippet run by :func:`run_in_blender` did: ``returncode``, ``stdout``,
    ``stderr``, and ``lines`` (stdout's lines)."""

    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.lines = proc.stdout.splitlines()

    def output(self, tail=6000):
        return (f"exit code {self.returncode}\n--- stdout ---\n{self.stdout[-tail:]}\n"
                f"--- stderr ---\n{self.stderr[-tail:]}")

    def check(self):
        """Assert the snippet ended normally (a segfault fails here, with its output)."""
        assert self.returncode == 0, self.output()
        return self


def run_in_blender(code, *, timeout=300, exit_normally=False, env=None):
    """Run ``code`` in a fresh interpreter of this venv, set up as the suite is
    (tests/conftest.py): ``BLENDER_USER_RESOURCES`` in a throwaway folder before ``import bpy``,
    factory settings, the repository and tests/, tests/core on ``sys.path``, and
    ``faulthandler`` on (a segfault prints the Python stack).  The snippet ends with
    ``os._exit(0)`` (the bpy module 4.2/4.5 may crash in its own exit), unless
    ``exit_normally``.  Returns a :class:`Snippet`; a crash fails only the test that ran it."""
    import os
    import shutil
    import subprocess
    import tempfile
    import textwrap

    user_dir = tempfile.mkdtemp(prefix="bvh_leakfree_user_")
    paths = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "core")]
    script = _PRELUDE.format(paths=paths) + textwrap.dedent(code)
    if not exit_normally:
        script += _EPILOGUE
    run_env = dict(os.environ if env is None else env)
    run_env["BLENDER_USER_RESOURCES"] = user_dir
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=run_env, timeout=timeout, cwd=str(ROOT))
    finally:
        shutil.rmtree(user_dir, ignore_errors=True)
    return Snippet(proc)
