"""The preferences say which backend batched rays use here and, without Embree, why (the lines
the preferences draw, read headless; tests/addon/test_embree_install.py reads them where Blender's
installer put the add-on without embreex)."""
import sys

import pytest


@pytest.fixture
def embree_switch(addon, monkeypatch):
    """Set or clear the add-on's ``BVH_LEAKFREE_EMBREE`` switch; the probe is redone each time
    and once more afterwards (the next test sees the environment it started with)."""
    embree = addon.core.embree

    def switch(value):
        if value is None:
            monkeypatch.delenv(embree.ENV_SWITCH, raising=False)
        else:
            monkeypatch.setenv(embree.ENV_SWITCH, value)
        embree.forget()

    yield switch
    monkeypatch.undo()
    embree.forget()


def _lines(addon):
    return addon.preferences.batched_rays_lines()


def test_hidden_embree_is_named_as_the_reason_without_an_install_hint(addon, embree_switch):
    embree_switch("0")
    assert _lines(addon) == [(
        "Batched rays use mathutils, the slower backend: hidden by the environment "
        "(BVH_LEAKFREE_EMBREE=0)", 'INFO')]


def test_with_embree_the_line_names_it_and_its_version(addon, embree_switch):
    embree_switch(None)
    if not addon.core.embree.available():
        pytest.skip(f"no Embree here: {addon.core.embree.unavailable_reason()}")
    version = addon.core.embree.version()
    assert version
    assert _lines(addon) == [(f"Batched rays use Embree (embreex {version})", 'CHECKMARK')]


def test_missing_embreex_names_this_python_and_where_embree_comes_from(addon, embree_switch,
                                                                       monkeypatch):
    """As in a Blender whose Python has no embreex wheel: the import of ``embreex`` fails."""
    embree_switch(None)
    monkeypatch.setitem(sys.modules, "embreex", None)     # import embreex -> ModuleNotFoundError
    addon.core.embree.forget()
    lines = _lines(addon)
    python = "{}.{}".format(*sys.version_info[:2])
    assert lines[0] == (f"Batched rays use mathutils, the slower backend: the embreex package is "
                        f"not installed for this Python {python}", 'INFO'), lines
    assert len(lines) == 2 and "zip for your platform" in lines[1][0], lines
    assert addon.api.ray_backends() == ("mathutils",)
