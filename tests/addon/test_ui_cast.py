"""Sidebar panel of the cast, the menu entries F3 searches, the sidebar tab from the preferences."""
import bpy

import pytest
from helpers import disable_addon, ui_draw_functions_snapshot
from test_cast_support import cast_state, cube, select_only, set_cursor


def _menu_entries(menu):
    return [name for name in ui_draw_functions_snapshot().get(menu, [])
            if "bvh_leakfree_addon" in name]


def test_panel_registered_first_in_the_ray_cast_tab(addon):
    panel = addon.cast.panels.VIEW3D_PT_bvh_cast
    assert panel.is_registered
    assert panel.bl_space_type == 'VIEW_3D' and panel.bl_region_type == 'UI'
    assert panel.bl_category == "Ray Cast" and panel.bl_order == 0
    assert issubclass(panel, addon.sidebar.BVHSidebarPanel)


def test_sidebar_tab_rename_moves_every_panel(addon):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    panels = [cls for cls in addon.classes() if issubclass(cls, addon.sidebar.BVHSidebarPanel)]
    assert addon.cast.panels.VIEW3D_PT_bvh_cast in panels
    prefs.sidebar_category = "Ray Tools"
    for cls in panels:
        assert cls.is_registered and cls.bl_category == "Ray Tools"
        assert getattr(bpy.types, cls.__name__).bl_category == "Ray Tools"
    prefs.sidebar_category = "  "  # blank → back to the default tab
    assert all(cls.bl_category == "Ray Cast" for cls in panels)


@pytest.mark.parametrize("menu", ["VIEW3D_MT_object", "VIEW3D_MT_snap"])
def test_menu_entries_added_and_removed(installed_zip, menu):
    from helpers import enable_addon

    assert _menu_entries(menu) == []
    enable_addon()
    assert len(_menu_entries(menu)) == 1
    disable_addon()
    assert _menu_entries(menu) == []


def test_result_lines_for_a_hit_and_a_miss(addon):
    obj = cube("Target")
    select_only(obj)
    set_cursor((0.0, 0.0, 4.0))
    assert not cast_state().has_result
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_NEG_Z')
    texts = [line[0] for line in addon.cast.result.result_lines(cast_state())]
    assert texts.pop(0) == "Ray: Global -Z (0.00, 0.00, -1.00)"
    assert texts.pop(0) == "straight down"   # where it went, in words
    assert texts[0] == "Hit: Target"
    assert "Face: " in texts[1]
    assert texts[2] == "Location: (0.00, 0.00, 1.00)"
    assert texts[3] == "Normal: (0.000, 0.000, 1.000)"
    assert texts[4] == "Distance: 3.000 m"
    assert texts[5] == "Cast into 1 selected object (12 tris)"
    assert texts[6].startswith("BVH ")
    bpy.ops.object.bvh_cast_from_cursor(direction='GLOBAL_Z', distance=10.0)
    texts = [line[0] for line in addon.cast.result.result_lines(cast_state())]
    assert texts[:4] == ["Ray: Global +Z (0.00, 0.00, 1.00)", "straight up", "No hit within 10 m",
                         "Unselected objects are not hit"]


def test_panel_poll(addon):
    assert addon.cast.panels.VIEW3D_PT_bvh_cast.poll(bpy.context)
