"""Issue 23.10 and 23.12: one name per action everywhere, "…" exactly where something is asked
first, our purge named so that F3 tells it from Blender's, and no "BVH" jargon in the tab or the
add-on list.  The names live in bvh_leakfree_addon/names.py; the draw code spells none itself."""
import ast
from pathlib import Path

import bpy

import addon_utils
import pytest
from helpers import ADDON_MODULE, ROOT

PACKAGE = ROOT / "bvh_leakfree_addon"


def _operators(addon):
    return {cls.bl_idname: cls for cls in addon.classes() if issubclass(cls, bpy.types.Operator)}


def test_every_operator_is_labelled_by_its_one_name(addon):
    names = addon.names
    expected = {
        "object.bvh_cast_from_cursor": names.CAST,
        "object.bvh_cast_from_cursor_step": names.CAST,      # the same cast as an undo step
        "wm.bvh_purge_orphans": names.PURGE,
        "object.bvh_leak_check": names.LEAK_CHECK,
        "wm.bvh_leak_check_script": names.LEAK_CHECK_SCRIPT,
        "wm.bvh_reset_baseline": names.RESET_BASELINE,
        "wm.bvh_datablock_users": names.WHO_USES,
        "wm.bvh_select_users": names.SELECT_USERS,
        "wm.bvh_delete_orphan": names.DELETE_ORPHAN,
        "wm.bvh_datablock_list": names.LIST_NEW,
    }
    operators = _operators(addon)
    assert set(operators) == set(expected)
    for idname, name in expected.items():
        assert operators[idname].bl_label == names.label(name), idname
    # The old spellings the issue found, gone.
    labels = {cls.bl_label for cls in operators.values()}
    assert not labels & {"BVH Leak Check", "Leak Check Script", "Purge Orphan Data",
                         "Reset Datablock Baseline"}


def test_an_ellipsis_exactly_where_something_is_asked_first(addon):
    """The purge opens its confirmation and the script check its dialog: "…"; the rest act at
    once.  (Who Uses It shows facts, asks nothing.)"""
    names = addon.names
    asks = {names.PURGE_ALL, names.PURGE_MESHES, names.LEAK_CHECK_SCRIPT}
    acts = {names.CAST, names.CAST_AGAIN, names.LEAK_CHECK, names.RESET_BASELINE, names.PURGE,
            names.WHO_USES, names.SELECT_USERS, names.DELETE_ORPHAN, names.LIST_NEW}
    assert all(name.endswith("…") for name in asks)
    assert not any(name.endswith("…") for name in acts)
    assert names.purge_meshes(182) == "Purge 182 Orphan Meshes…"
    assert names.purge_meshes(1) == "Purge 1 Orphan Mesh…"
    assert names.purge_meshes(1200) == "Purge 1,200 Orphan Meshes…"
    operators = _operators(addon)
    for idname in ("wm.bvh_purge_orphans", "wm.bvh_leak_check_script"):
        assert hasattr(operators[idname], "invoke"), idname
    for idname in ("object.bvh_leak_check", "wm.bvh_reset_baseline"):
        assert not hasattr(operators[idname], "invoke"), idname


def _operator_texts(path):
    """Every ``text=`` given to a ``.operator(...)`` call in ``path`` (ast nodes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "operator":
            for keyword in node.keywords:
                if keyword.arg == "text":
                    yield node.lineno, keyword.value


def test_no_draw_code_spells_a_name_of_its_own():
    """A button's text is a name from names.py (or "", an icon button): a string typed in the
    draw code would be a second name for the action."""
    typed = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, value in _operator_texts(path):
            if isinstance(value, ast.Constant) and value.value != "":
                typed.append(f"{path.relative_to(ROOT)}:{line}: {value.value!r}")
            elif isinstance(value, ast.JoinedStr):
                typed.append(f"{path.relative_to(ROOT)}:{line}: an f-string")
    assert typed == []


def test_menus_and_popup_titles_use_the_names(addon):
    names = addon.names
    source = (PACKAGE / "monitor" / "leak_check.py").read_text(encoding="utf-8")
    assert "text=LEAK_CHECK," in source and source.count("text=LEAK_CHECK_SCRIPT") == 2
    assert "Leak Check This Script" not in source
    panels = (PACKAGE / "monitor" / "panels.py").read_text(encoding="utf-8")
    assert "text=names.PURGE_ALL" in panels and "(BVH Monitor)" not in panels
    operators = addon.monitor.operators
    assert operators.purge_title('ALL') == names.label(names.PURGE_ALL)
    assert operators.purge_title('MESH') == names.label(names.PURGE_MESHES)


def test_our_purge_says_how_it_differs_from_blenders(addon):
    """F3 "purge" lists Blender's "Purge Unused Data…" beside ours: our name says it lists what
    goes first, and its tooltip says how it differs."""
    names = addon.names
    assert names.PURGE_ALL != "Purge Unused Data…" and names.PURGE_ALL.startswith("List ")
    text = addon.monitor.operators.purge_description('ALL', False, False, False)
    assert "Purge Unused Data" in text and "by name" in text


def test_each_confirmation_button_has_a_tooltip_of_its_own(addon):
    """Issue 23.5: the two buttons shared one tooltip describing only the plain delete."""
    describe = addon.monitor.operators.purge_description
    plain = describe('ALL', False, False, True)
    cascade = describe('ALL', True, False, True)
    linked = describe('ALL', True, True, True)
    assert len({plain, cascade, linked, describe('ALL', False, False, False)}) == 4
    assert "only the orphans listed first" in plain
    assert "becomes unused" in cascade and "library" in linked
    op = bpy.ops.wm.bvh_purge_orphans.get_rna_type()
    assert op.properties["confirmed"].is_hidden


def test_the_tab_and_the_add_on_list_entry_say_no_bvh(addon):
    """Issue 23.12: the tab was "BVH", and the add-on sat under "BioVision Motion Capture (BVH)
    format" in Preferences › Add-ons (sorted by name)."""
    assert addon.sidebar.DEFAULT_CATEGORY == addon.names.SIDEBAR_TAB == "Ray Cast"
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    assert prefs.sidebar_category == "Ray Cast"
    ours = addon_utils.module_bl_info(addon)["name"]
    assert "BVH" not in ours
    entries = sorted(((addon_utils.module_bl_info(mod)["name"], mod.__name__)
                      for mod in addon_utils.modules(refresh=False)),
                     key=lambda entry: entry[0].casefold())
    index = next(i for i, (_name, module) in enumerate(entries) if module == ADDON_MODULE)
    neighbours = [name for name, _module in entries[max(0, index - 1):index + 2]]
    assert not any("BVH" in name for name in neighbours), neighbours


@pytest.mark.parametrize("path", ["README.md", "docs/ui-tour.md"])
def test_the_docs_use_the_names(path):
    text = Path(ROOT / path).read_text(encoding="utf-8")
    for old in ("Purge All Orphans…", "Purge Orphan Data (BVH Monitor)", "Leak Check This Script",
                "Leak Check: BVH Build + Cast", "Sidebar › BVH"):
        assert old not in text, old
