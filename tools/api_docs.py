# SPDX-License-Identifier: GPL-3.0-or-later
"""The public API's docstring rules, checked by tests/test_api_docs.py and applied by ``make docs``.

Public = every name in a documented module's ``__all__``, and every attribute of an exported class
whose name does not start with ``_``.  Each needs a docstring; a function or method's docstring
gives its parameters (an ``Args:`` section naming each one), what it returns (``Returns:`` or
``Yields:``) and its errors (``Raises:``): Google style, which ``make docs`` renders with pdoc.
A class documents its public fields (``Attributes:``) unless each is a documented property.
"""
import inspect
import re

MODULES = ("bvh_leakfree_addon.api", "bvh_leakfree_addon.blenderproc_compat")
SECTION = re.compile(r"^\s*(Args|Returns|Yields|Raises|Attributes):\s*$", re.M)


def sections(doc):
    """``{section name: its text}`` of a Google-style docstring."""
    found = {}
    marks = list(SECTION.finditer(doc))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(doc)
        found[mark.group(1)] = doc[mark.end():end]
    return found


def _parameters(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.name not in ("self", "cls")]


def _lists(text, name):
    return re.search(rf"^\s*\*{{0,2}}{re.escape(name)}\b.*:", text, re.M) is not None


def callable_problems(label, fn):
    """What ``fn``'s docstring lacks, as sentences (empty: none)."""
    doc = inspect.getdoc(fn) or ""
    if not doc.strip():
        return [f"{label}: no docstring"]
    found = sections(doc)
    problems = []
    params = _parameters(fn)
    if params and "Args" not in found:
        problems.append(f"{label}: no 'Args:' section for {', '.join(params)}")
    elif params:
        missing = [p for p in params if not _lists(found["Args"], p)]
        if missing:
            problems.append(f"{label}: 'Args:' does not describe {', '.join(missing)}")
    if "Returns" not in found and "Yields" not in found:
        problems.append(f"{label}: no 'Returns:' (or 'Yields:') section")
    if "Raises" not in found:
        problems.append(f"{label}: no 'Raises:' section")
    return problems


def _public_members(cls):
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        yield name, value


def _field_names(cls):
    """Public data fields of ``cls``: slots, namedtuple fields, plain class attributes."""
    names = []
    for klass in cls.__mro__:
        if klass is object:
            continue
        names += [s for s in getattr(klass, "__slots__", ()) if not s.startswith("_")]
        names += [f for f in getattr(klass, "_fields", ()) if not f.startswith("_")]
    return list(dict.fromkeys(names))


def class_problems(label, cls):
    """What ``cls`` and its public members lack."""
    doc = inspect.getdoc(cls) or ""
    if not doc.strip() or cls.__doc__ is None:
        return [f"{label}: no docstring"]
    problems = []
    fields = [f for f in _field_names(cls) if not isinstance(vars(cls).get(f), property)]
    if fields:
        described = sections(doc).get("Attributes", "")
        missing = [f for f in fields if not _lists(described, f)]
        if missing:
            problems.append(f"{label}: 'Attributes:' does not describe {', '.join(missing)}")
    for name, member in _public_members(cls):
        if name in fields:
            continue
        where = f"{label}.{name}"
        if isinstance(member, property):
            if not (member.__doc__ or "").strip():
                problems.append(f"{where}: no docstring")
        elif isinstance(member, (staticmethod, classmethod)):
            problems += callable_problems(where, member.__func__)
        elif inspect.isfunction(member):
            problems += callable_problems(where, member)
    return problems


def problems(module):
    """Every rule broken by ``module``'s public names."""
    out = []
    if not (module.__doc__ or "").strip():
        out.append(f"{module.__name__}: no module docstring")
    for name in module.__all__:
        value = getattr(module, name)
        label = f"{module.__name__}.{name}"
        if inspect.isclass(value):
            out += class_problems(label, value)
        elif callable(value):
            out += callable_problems(label, value)
    return out
