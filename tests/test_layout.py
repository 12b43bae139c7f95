"""The folder listing is the architecture, and imports run one way.

Every module of the package is parsed (ast, nothing is imported) and its imports of the package's
own modules are checked:

* no import cycle, counting imports inside functions too;
* the core imports nothing of the add-on outside ``core/``;
* each part imports only parts of a lower layer (below), or modules of its own folder:
  shared leaf helpers (``utils``, ``names``, ``fit``) → core → api → cast → monitor (the Leak
  Check uses the cast: the one declared direction between the features) → preferences, state →
  ``__init__`` (registration);
* imports inside functions only in ``__init__`` (the features load in ``register()``, so that
  ``from bvh_leakfree_addon import api`` loads no UI module), never to dodge a cycle.
"""
import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "bvh_leakfree_addon"

LAYERS = {
    "utils": 0,
    "names": 0,
    "fit": 0,
    "sidebar": 1,
    "core": 1,
    "api": 2,
    "cast": 3,
    "monitor": 4,
    "preferences": 5,
    "state": 5,
    "__init__": 6,
}
LAZY_IMPORTS_ALLOWED = {"__init__"}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


MODULES = _modules()


def _is_package(name):
    return name == "__init__" or (PACKAGE_DIR / name.replace(".", "/") / "__init__.py").exists()


def _resolve(importer, level, module, names):
    """Package-internal modules an import statement loads (relative imports only: the add-on
    never imports itself by absolute name)."""
    if level == 0:
        return []
    base = [] if importer == "__init__" else importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[:len(base) - (level - 1)] if level > 1 else base
    target = base + (module.split(".") if module else [])
    out = []
    for name in names:
        candidate = ".".join(target + [name])
        if candidate in MODULES:
            out.append(candidate)
        elif target:
            out.append(".".join(target))
        else:
            out.append("__init__")
    return out


def _imports(name, path):
    """(imported module, line, inside a function?) for each package-internal import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                names = [alias.name for alias in child.names]
                for target in _resolve(name, child.level, child.module, names):
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


def test_no_import_cycles():
    state = {}
    stack = []

    def walk(node):
        state[node] = "open"
        stack.append(node)
        for target, _line, _lazy in GRAPH[node]:
            if target == node:
                continue
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                walk(target)
        stack.pop()
        state[node] = "done"

    for name in GRAPH:
        if name not in state:
            walk(name)


def test_core_imports_only_core():
    for name, imports in GRAPH.items():
        if _part(name) == "core":
            outside = [(t, line) for t, line, _ in imports if _part(t) != "core"]
            assert outside == [], f"{name} imports outside core/: {outside}"


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_run_one_way(name):
    mine = _part(name)
    for target, line, _lazy in GRAPH[name]:
        theirs = _part(target)
        if theirs == mine:
            continue
        assert LAYERS[theirs] < LAYERS[mine], (
            f"{name}:{line} imports {target}: {mine} (layer {LAYERS[mine]}) may only import "
            f"lower layers, {theirs} is layer {LAYERS[theirs]}")


def test_function_level_imports_only_for_lazy_feature_loading():
    lazy = [(name, target, line) for name, imports in GRAPH.items()
            for target, line, in_function in imports
            if in_function and name not in LAZY_IMPORTS_ALLOWED]
    assert lazy == []


def test_the_checker_sees_a_cycle_and_a_wrong_direction():
    """The rules above are only worth something if they can fail: feed them known-bad imports."""
    assert _resolve("cast.service", 2, "monitor", ["service"]) == ["monitor.service"]
    assert _resolve("core.bvh", 1, None, ["cache"]) == ["core.cache"]
    assert _resolve("core.bvh", 2, None, ["api"]) == ["api"]
    assert _resolve("__init__", 1, None, ["cast"]) == ["cast"]
    assert LAYERS["monitor"] > LAYERS["cast"]     # so cast → monitor would be refused


def test_no_module_over_400_lines_without_a_reason():
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > 400:
            head = "\n".join(lines[:15])
            assert "over 400 lines because" in head, f"{name} has {len(lines)} lines"
