"""The folder listing is the architecture, and imports run one way.

Every module of the package is parsed (ast, nothing is imported) and its imports of the package's
own modules are checked:

* no import cycle, counting imports inside functions too;
* the core imports nothing of the add-on outside ``core/``;
* each part imports only parts of a lower layer (below), or modules of its own folder:
  shared leaf helpers (``utils``, ``names``, ``fit``) → core → api → cursor_ray (the ray from
  the 3D cursor both features use) → the features, side by side (``cast/`` and ``monitor/`` share
  a layer, so neither imports the other) → preferences, state → ``__init__`` (registration);
* imports inside functions only in ``__init__`` (the features load in ``register()``, so that
  ``from bvh_leakfree_addon import api`` loads no UI module), never to dodge a cycle.
"""
import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "bvh_leakfree_addon"

LAYERS = {
    "utils": 0,
    "names": 0,
    "fit": 0,
    "sidebar": 1,
    "core": 1,
    "api": 2,
    "blenderproc_compat": 3,
    "cursor_ray": 3,
    "cast": 4,
    "monitor": 4,
    "preferences": 5,
    "state": 5,
    "__init__": 6,
}
LAZY_IMPORTS_ALLOWED = {"__init__"}


def _module_name(path, root=PACKAGE_DIR):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _modules(root=PACKAGE_DIR):
    return {_module_name(path, root): path for path in sorted(root.rglob("*.py"))}


MODULES = _modules()


def _is_package(name, root=PACKAGE_DIR):
    return name == "__init__" or (root / name.replace(".", "/") / "__init__.py").exists()


def _resolve(importer, level, module, names, modules=MODULES, root=PACKAGE_DIR):
    """Package-internal modules an import statement loads (relative imports only: the add-on
    never imports itself by absolute name)."""
    if level == 0:
        return []
    base = [] if importer == "__init__" else importer.split(".")
    if not _is_package(importer, root):
        base = base[:-1]
    base = base[:len(base) - (level - 1)] if level > 1 else base
    target = base + (module.split(".") if module else [])
    out = []
    for name in names:
        candidate = ".".join(target + [name])
        if candidate in modules:
            out.append(candidate)
        elif target:
            out.append(".".join(target))
        else:
            out.append("__init__")
    return out


def _imports(name, path, modules=MODULES, root=PACKAGE_DIR):
    """(imported module, line, inside a function?) for each package-internal import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                names = [alias.name for alias in child.names]
                for target in _resolve(name, child.level, child.module, names, modules, root):
                    found.append((target, child.lineno, in_function))
            elif isinstance(child, ast.Import):
                assert not any(a.name.startswith("bvh_leakfree_addon") for a in child.names), \
                    f"{name}:{child.lineno} imports the add-on by absolute name"
            visit(child, nested)

    visit(tree, False)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(name):
    return name.split(".")[0]


def test_every_module_belongs_to_a_declared_part():
    assert {_part(name) for name in MODULES} <= set(LAYERS), set(map(_part, MODULES)) - set(LAYERS)


def find_cycle(graph):
    """An import cycle of ``graph`` (``{module: [(imported module, line, lazy), …]}``) as the list
    of modules along it, first repeated at the end; None when there is none."""
    state = {}
    stack = []

    def walk(node):
        state[node] = "open"
        stack.append(node)
        for target, _line, _lazy in graph.get(node, ()):
            if target == node:
                continue
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = walk(target)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for name in graph:
        if name not in state:
            found = walk(name)
            if found:
                return found
    return None


def wrong_directions(graph):
    """``[(module, line, imported module)]`` of every import of a part of the same or a higher
    layer (imports within one part are free)."""
    wrong = []
    for name, imports in graph.items():
        mine = _part(name)
        for target, line, _lazy in imports:
            theirs = _part(target)
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                wrong.append((name, line, target))
    return wrong


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_core_imports_only_core():
    for name, imports in GRAPH.items():
        if _part(name) == "core":
            outside = [(t, line) for t, line, _ in imports if _part(t) != "core"]
            assert outside == [], f"{name} imports outside core/: {outside}"


def test_imports_run_one_way():
    assert wrong_directions(GRAPH) == [], (
        "a part may only import parts of a lower layer (LAYERS); (module, line, import): "
        f"{wrong_directions(GRAPH)}")


def test_the_features_sit_side_by_side():
    """Neither feature imports the other: what both need lives below them."""
    assert LAYERS["cast"] == LAYERS["monitor"]
    crossing = [(name, target) for name, imports in GRAPH.items()
                for target, _line, _lazy in imports
                if {_part(name), _part(target)} == {"cast", "monitor"}]
    assert crossing == []


def test_function_level_imports_only_for_lazy_feature_loading():
    lazy = [(name, target, line) for name, imports in GRAPH.items()
            for target, line, in_function in imports
            if in_function and name not in LAZY_IMPORTS_ALLOWED]
    assert lazy == []


def test_the_checker_sees_a_cycle_and_a_wrong_direction():
    """The rules above are only worth something if they can fail: hand them known-bad graphs."""
    assert _resolve("cast.service", 2, "monitor", ["service"]) == ["monitor.service"]
    assert _resolve("core.bvh", 1, None, ["cache"]) == ["core.cache"]
    assert _resolve("core.bvh", 2, None, ["api"]) == ["api"]
    assert _resolve("__init__", 1, None, ["cast"]) == ["cast"]
    # a real cycle, three modules long, beside a clean part of the graph
    cyclic = {"core.a": [("core.b", 1, False)], "core.b": [("core.c", 2, False)],
              "core.c": [("core.a", 3, False)], "utils": [], "api": [("core.a", 4, False)]}
    assert find_cycle(cyclic) in (["core.a", "core.b", "core.c", "core.a"],
                                  ["core.b", "core.c", "core.a", "core.b"],
                                  ["core.c", "core.a", "core.b", "core.c"])
    cyclic["core.c"] = []
    assert find_cycle(cyclic) is None
    # a feature importing the other (either way), the core importing the API
    wrong = {"cast.panels": [("monitor.service", 7, False)],
             "monitor.leak_check": [("cast.service", 9, False)],
             "core.bvh": [("api", 3, False)], "api": [("core.bvh", 1, False)]}
    assert sorted(wrong_directions(wrong)) == [("cast.panels", 7, "monitor.service"),
                                              ("core.bvh", 3, "api"),
                                              ("monitor.leak_check", 9, "cast.service")]


MAX_LINES = 400


def test_no_module_over_400_lines():
    """A module that grows past this does more than one thing: split it by concern."""
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


# --- The change watch is the core's only runtime hook ---------------------------------------------
HOOK_OWNER = "core.watch"


def touches_app_handlers(source):
    """Lines of ``source`` that reach ``bpy.app.handlers`` (an attribute chain ending in
    ``app.handlers``, or an import of ``bpy.app.handlers``)."""
    return [node.lineno for node in ast.walk(ast.parse(source)) if _reaches_handlers(node)]


def _reaches_handlers(node):
    if isinstance(node, ast.Attribute):
        return (node.attr == "handlers" and isinstance(node.value, ast.Attribute)
                and node.value.attr == "app")
    if isinstance(node, ast.ImportFrom):
        return node.module == "bpy.app.handlers" or (
            node.module == "bpy.app" and any(alias.name == "handlers" for alias in node.names))
    if isinstance(node, ast.Import):
        return any(alias.name == "bpy.app.handlers" for alias in node.names)
    return False


def test_only_the_change_watch_touches_app_handlers_in_the_core():
    touching = {name: lines for name, path in MODULES.items() if _part(name) == "core"
                and (lines := touches_app_handlers(path.read_text(encoding="utf-8")))}
    assert set(touching) == {HOOK_OWNER}, touching
    # the check sees each way in
    assert touches_app_handlers("import bpy\nbpy.app.handlers.load_post.append(f)") == [2]
    assert touches_app_handlers("from bpy.app.handlers import persistent") == [1]
    assert touches_app_handlers("handlers = bpy.app.handlers") == [1]
    assert touches_app_handlers("from bpy.app import handlers") == [1]
    assert touches_app_handlers("bpy.app.timers.register(f)") == []
    assert touches_app_handlers("from bpy.app import timers") == []


# --- A module's private names are its own ------------------------------------------------------
def private_reads(source):
    """``(line, name)`` where ``source`` reaches a private name (``_x``) of another module of the
    package: ``from .m import _x``, or ``m._x`` on anything it imported from the package (a module
    with ``from . import m``, or a class or function), so no module reads, or keeps an alias of,
    another's private state (e.g. the cache's dicts)."""
    tree = ast.parse(source)
    modules, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            for alias in node.names:
                if _private(alias.name):
                    found.append((node.lineno, alias.name))
                modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and _private(node.attr)):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return sorted(found)


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_no_module_reads_another_modules_private_names():
    reads = {name: found for name, path in MODULES.items()
             if (found := private_reads(path.read_text(encoding="utf-8")))}
    assert reads == {}
    # the check sees each way in, and leaves public names and a module's own privates alone
    assert private_reads("from . import cache\nENTRIES = cache._entries") == [(2, "cache._entries")]
    assert private_reads("from .cache import _entries") == [(1, "_entries")]
    assert private_reads("from ..core import cache as c\nc._by_owner.get(k)") == \
        [(2, "c._by_owner")]
    assert private_reads("from . import cache\ncache.lookup(k)\n_own = 1\nx = _own") == []
    assert private_reads("from . import cache\ncache.__name__") == []


# --- The benchmark tool (tools/bench/) ----------------------------------------------------------
BENCH_DIR = PACKAGE_DIR.parent / "tools" / "bench"
BENCH_MODULES = _modules(BENCH_DIR)
BENCH_GRAPH = {name: _imports(name, path, BENCH_MODULES, BENCH_DIR)
               for name, path in BENCH_MODULES.items()}
#: what a measurement module may import of the tool (never another measurement, nor the suite)
MEASUREMENT_IMPORTS = {"common", "figures", "measurement"}
MAX_TOOL_LINES = 700


def test_the_bench_tool_has_no_import_cycle():
    cycle = find_cycle(BENCH_GRAPH)
    assert cycle is None, "import cycle in tools/bench: " + " → ".join(cycle)


def test_bench_measurements_stand_side_by_side():
    """A measurement imports only the shared pieces below it: adding one touches no other."""
    wrong = [(name, target, line) for name, imports in BENCH_GRAPH.items()
             if name.startswith("measurements.") for target, line, _lazy in imports
             if target not in MEASUREMENT_IMPORTS]
    assert wrong == []


def test_every_bench_measurement_is_one_module_registered_once():
    listed = []
    init = ast.parse((BENCH_DIR / "measurements" / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(init):
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["ALL"]:
            listed = [element.value.id for element in node.value.elts]
    modules = sorted(name.split(".", 1)[1] for name in BENCH_MODULES
                     if name.startswith("measurements."))
    assert sorted(listed) == modules and len(set(listed)) == len(listed)
    for name in modules:
        tree = ast.parse(BENCH_MODULES[f"measurements.{name}"].read_text(encoding="utf-8"))
        assigned = [t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
        assert "MEASUREMENT" in assigned, f"measurements/{name}.py defines no MEASUREMENT"


def test_no_bench_module_over_700_lines():
    long = {name: n for name, path in BENCH_MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_TOOL_LINES}
    assert long == {}
