"""Claims of the docs that the code decides: the version in install lines, how the package is
installed, the menu and button names (a name in bold with "…" is a label the add-on registers)."""
import re
import tomllib

import pytest
from helpers import ROOT

VERSION = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))["version"]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = sorted((ROOT / "bvh_leakfree_addon").rglob("*.py"))
# Blender's own dialogs that the docs name
BLENDERS_OWN = {"Install from Disk…", "Purge Unused Data…"}


def _pages():
    return [(page, page.read_text(encoding="utf-8")) for page in PAGES]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_install_lines_name_this_version(page):
    text = page.read_text(encoding="utf-8")
    named = set(re.findall(r"bvh_leakfree_addon(?:-|==)(\d+\.\d+\.\d+)", text))
    assert named <= {VERSION}, f"{page.name} names version(s) {named - {VERSION}}, not {VERSION}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_package_is_never_installed_by_its_bare_name(page):
    """It is not on PyPI: `pip install bvh_leakfree_addon` would take whatever another project
    published under the name."""
    text = page.read_text(encoding="utf-8")
    bare = re.findall(r"pip install [^\n`]*?(?<![/\w.-])[\"']?bvh_leakfree_addon(?![-\w])[^\n`]*",
                      text)
    assert bare == [], f"{page.name}: {bare}"


def _labels():
    """Every label the add-on's code spells: bl_label, text=, name= and menu texts."""
    found = set()
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"""(?:bl_label|text|name|label)\s*=\s*["']([^"'\n]+)["']""",
                                source))
        found |= set(re.findall(r"""["']([^"'\n]*…)["']""", source))
    return found


def test_every_dialog_name_the_docs_give_is_one_the_add_on_shows():
    """Names in bold ending in "…" (a dialog follows) are labels of the add-on's buttons and menu
    entries, word for word: one name per action."""
    labels = _labels() | BLENDERS_OWN
    missing = []
    for page, text in _pages():
        for path in re.findall(r"\*\*([^*\n]+…)\*\*", text):
            name = path.split("›")[-1].strip()          # a menu path: its last entry
            counted = re.sub(r"\bN ", "", name)       # "Purge N Orphan Meshes…": a count shown
            if name not in labels and counted not in labels:
                missing.append(f"{page.name}: **{name}**")
    assert missing == []
