"""The API reference is generated from the docstrings (``make docs``): every public name of the
documented modules has one that gives its parameters, what it returns and what it raises."""
import importlib
import types

import pytest
from helpers import load_script

rules = load_script("tools/api_docs.py")


@pytest.mark.parametrize("module_name", rules.MODULES)
def test_every_public_name_has_a_complete_docstring(module_name):
    module = importlib.import_module(module_name)
    assert rules.problems(module) == []


def _module(**names):
    module = types.ModuleType("fake", "A module.")
    module.__all__ = list(names)
    for name, value in names.items():
        setattr(module, name, value)
    return module


def test_the_rules_name_what_a_docstring_lacks():
    def bare(a, b=1):
        pass

    def half(a, b=1):
        """Do it.

        Args:
            a: the first.

        Returns:
            Nothing.
        """

    def whole(a, *, b=1):
        """Do it.

        Args:
            a: the first.
            b: the second.

        Returns:
            None.

        Raises:
            ValueError: when ``a`` is bad.
        """

    class Record:
        """A record."""
        __slots__ = ("x", "y")

        @property
        def z(self):
            return 1

        def run(self):
            """Run.

            Returns:
                Nothing.

            Raises:
                Nothing.
            """

    assert rules.problems(_module(bare=bare)) == ["fake.bare: no docstring"]
    assert rules.problems(_module(half=half)) == [
        "fake.half: 'Args:' does not describe b", "fake.half: no 'Raises:' section"]
    assert rules.problems(_module(whole=whole)) == []
    assert rules.problems(_module(Record=Record)) == [
        "fake.Record: 'Attributes:' does not describe x, y", "fake.Record.z: no docstring"]


def test_make_docs_renders_the_reference_offline(tmp_path):
    """What ``make docs`` runs, into a temporary folder (pdoc is installed in the 5.3 venv)."""
    pdoc = pytest.importorskip("pdoc", reason="pdoc is installed by `make docs` (5.3 venv)")
    from pdoc import render
    render.configure(docformat="google", show_source=False)
    pdoc.pdoc(*rules.MODULES, output_directory=tmp_path)
    for module_name in rules.MODULES:
        page = tmp_path / (module_name.replace(".", "/") + ".html")
        text = page.read_text(encoding="utf-8")
        module = importlib.import_module(module_name)
        for name in module.__all__:
            assert f'id="{name}"' in text, f"{name} missing from {page.name}"
