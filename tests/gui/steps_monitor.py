"""GUI steps of the monitor: a script leaks, the Datablocks panel shows it; the purge's
confirmation names what goes and its redo cannot widen it; Ctrl+Z; the Leak Check's summary; the
lists of new datablocks by name after a Leak Check of a Text; who uses it; the history graph rising
and 1,000 sidebar redraws creating no datablock; F3 "leak"; the Text menu's entry."""
import bpy

from gui import (
    INTERACTIVE,
    STATE,
    Wait,
    addon_module,
    check,
    context_override,
    key,
    move,
    popup,
    region,
    screen_xy,
    shot,
    view3d_area,
    wait_drawn,
    wait_pointer,
    window,
)
from steps_common import (
    close_popup,
    f3_search,
    last_operator_name,
    monitor_current,
    pointer_to_viewport,
    ran_through_ui,
    sidebar_click,
    undo,
)

ISSUE_SCRIPT = """\
import bpy
for _ in range(3):
    bpy.data.images.new("Render", 64, 64)
used = bpy.data.materials.new("M.used")
bpy.data.materials.new("M.free")
bpy.data.objects["Cube"].data.materials.append(used)
bpy.data.node_groups.new("NodeGroup", "GeometryNodeTree")
bpy.data.meshes.remove(next(m for m in bpy.data.meshes if m.name.startswith("pool")))
"""


def _id_collections():
    """The collections of bpy.data that each hold one ID type (not 5.2's ``all_ids``), as the
    add-on's table of ID types names them."""
    return addon_module("core.idtypes").id_collection_names()


def _sizes():
    return {name: len(getattr(bpy.data, name)) for name in _id_collections()}


def _ui(fn, *args, **kwargs):
    """Run an operator in the sidebar's context, as its buttons do."""
    with context_override(view3d_area(), 'UI'):
        return fn(*args, **kwargs)


def _scroll_sidebar(top=False, pages=0):
    with context_override(view3d_area(), 'UI'):
        if top:
            for _ in range(20):
                bpy.ops.view2d.scroll_up(page=True)
        for _ in range(pages):
            bpy.ops.view2d.scroll_down(page=True)


def _every_uid():
    return {(name, id_.session_uid) for name in _id_collections()
            for id_ in getattr(bpy.data, name)}


def _orphan_meshes():
    return sum(1 for m in bpy.data.meshes if m.users == 0 and not m.use_fake_user)


def step_leak():
    """A script that leaks: copies of a mesh that nobody uses."""
    source = bpy.data.meshes[0]
    for _ in range(25):
        source.copy()
    STATE["leaked"] = 25


def step_leak_check():
    api = addon_module("api")
    orphans = api.datablock_counts({'MESH'})["meshes"].orphans
    check(orphans >= STATE["leaked"], f"the core counts {orphans} orphan meshes")


def step_leak_check_under_the_red_row():
    """Issue 23.2: the add-on's Leak Check under a red Meshes row says what it checked, and that
    the table's growth is not the add-on's."""
    result = _ui(bpy.ops.object.bvh_leak_check, 'EXEC_DEFAULT', iterations=5)
    check(result == {'FINISHED'}, f"the Leak Check ran ({result})")
    service = addon_module("monitor.service")
    check(service.growth("meshes") >= STATE["leaked"] and addon_module("monitor.panels").is_alert(
        "meshes"), f"the Meshes row is red (+{service.growth('meshes')})")
    mon = bpy.context.window_manager.bvh_leakfree.monitor
    lines = [text for text, _icon in addon_module("monitor.panels").leak_check_lines(
        mon, table_grew=True)]
    check(lines[0] == "Leak Check: Add-on's Cast"
          and "The add-on's build + cast added no datablock" in lines
          and any("is not the add-on's" in text for text in lines),
          f"the Leak Check says what it checked ({lines})")
    check(any(text.startswith("Blender memory ") for text in lines),
          "and Blender's memory beside the RSS")


def step_f3_purge_entries():
    """Issue 23.10: F3 "purge" shows ours beside Blender's Purge Unused Data…: its name says it
    lists what goes."""
    names = addon_module("names")
    check(names.PURGE_ALL == "List and Purge Orphans…", f"our purge's name: {names.PURGE_ALL}")


def step_purge_invoke():
    """Purge All Orphans… as the button does: the confirmation opens at the pointer."""
    with context_override(view3d_area(), 'UI'):
        result = bpy.ops.wm.bvh_purge_orphans('INVOKE_DEFAULT', types='ALL')
    check(result == {'CANCELLED'}, f"the purge's confirmation opened (invoke returned {result})")


def step_purge_names_check():
    ops = addon_module("monitor.operators")
    plan = ops.purge_plan('ALL')
    STATE["purge_plan"], STATE["before_purge"] = plan, _every_uid()
    lines = [text for text, _icon in ops.confirmation_lines(plan)]
    orphans = _orphan_meshes()
    check(any(text.startswith(f"{orphans} meshes: ") and f"and {orphans - 3} more" in text
              for text in lines),
          f"the confirmation names the leaked meshes, first few and 'and N more' ({lines[1]})")


def step_second_type():
    bpy.data.materials.new("Unused Material")   # a second type in the dialog


def step_purge_choose():
    """Keyboard in the popup: the popup opens with its first button ('Delete') under the pointer;
    Down moves to 'Delete + What Becomes Unused', the choice that deleted more than it showed."""
    key("Down")
    key("Return")


def step_purge_exec():
    """Without keys: the confirmation's 'Delete + What Becomes Unused', run as it runs."""
    with context_override(view3d_area(), 'UI'):
        bpy.ops.wm.bvh_purge_orphans('EXEC_DEFAULT', types='ALL', recursive=True)


def step_purge_check():
    orphans = _orphan_meshes()
    check(orphans == 0, f"no orphan meshes left after the confirmation's Delete ({orphans})")
    plan = STATE["purge_plan"]
    shown = {(name, uid) for name, items in plan.cascade.items() for uid, _name in items}
    gone = STATE["before_purge"] - _every_uid()
    check(gone == shown, f"'Delete + What Becomes Unused' removed exactly what its confirmation "
                         f"listed ({len(gone)} removed, {len(shown)} listed; "
                         f"{len(gone ^ shown)} differ)")
    wm = bpy.context.window_manager
    if INTERACTIVE:
        check(last_operator_name() == "WM_OT_bvh_purge_orphans",
              f"the purge ran through the interface (last operator: {last_operator_name()})")
    # What F9 / Adjust Last Operation would offer: the last registered operator with UNDO.
    redo = next((op for op in reversed(wm.operators)
                 if {'REGISTER', 'UNDO'} <= set(op.bl_options)), None)
    check(redo is None or redo.bl_idname != "WM_OT_bvh_purge_orphans",
          f"no Adjust Last Operation panel offers the purge (F9 would offer "
          f"{redo.bl_idname if redo else 'nothing'})")


def _last_undoable():
    return next((op for op in reversed(bpy.context.window_manager.operators)
                 if {'REGISTER', 'UNDO'} <= set(op.bl_options)), None)


def step_undo_noted():
    STATE["before_undo"] = len(bpy.data.meshes)


def step_undo_check():
    orphans = _orphan_meshes()
    check(orphans >= STATE["leaked"],
          f"Ctrl+Z after the purge brought the {STATE['leaked']} leaked meshes back "
          f"({orphans} orphans, {len(bpy.data.meshes)} meshes, {STATE['before_undo']} before)")


def step_cast_leak_check():
    """The Leak Check of the cast: its summary fits the default sidebar width, in ms."""
    bpy.ops.wm.bvh_purge_orphans('EXEC_DEFAULT', types='ALL')   # a clean table for the next shots
    result = _ui(bpy.ops.object.bvh_leak_check, 'EXEC_DEFAULT', iterations=20)
    check(result == {'FINISHED'}, f"the Leak Check ran ({result})")
    mon = bpy.context.window_manager.bvh_leakfree.monitor
    lines = addon_module("monitor.panels").leak_check_lines(mon)
    check(lines[-1][0].endswith(" ms") or mon.leak_check_seconds >= 1,
          f"the duration reads in ms under a second ({lines[-1][0]})")
    _scroll_sidebar(top=True, pages=1)


def step_script_setup():
    """A Text with the issue's script, a pool of meshes it removes, a fresh baseline, the lists
    of the four types it touches open, and the Text in an editor at the bottom."""
    for i in range(4):
        bpy.data.meshes.new(f"pool{i}").use_fake_user = True
    text = bpy.data.texts.new("leaky.py")
    text.write(ISSUE_SCRIPT)
    STATE["text"] = text.name
    result = _ui(bpy.ops.wm.bvh_reset_baseline, 'EXEC_DEFAULT')
    check(result == {'FINISHED'}, "baseline reset")
    for name in ("meshes", "materials", "images", "node_groups"):
        _ui(bpy.ops.wm.bvh_datablock_list, 'EXEC_DEFAULT', collection=name, action='TOGGLE')
    area = next(a for a in window().screen.areas if a.type == 'PROPERTIES')
    area.type = 'TEXT_EDITOR'
    space = area.spaces.active
    space.text = text
    space.show_line_numbers = True
    space.top = 0
    STATE["text_area"] = area
    _scroll_sidebar(top=True)


def step_script_run():
    result = _ui(bpy.ops.wm.bvh_leak_check_script, 'EXEC_DEFAULT', text=STATE["text"],
                 iterations=1)
    check(result == {'FINISHED'}, f"the Leak Check of 'leaky.py' ran ({result})")
    mon = bpy.context.window_manager.bvh_leakfree.monitor
    details = mon.leak_check_lines
    cube_mesh = bpy.data.objects["Cube"].data.name
    for name in ("Render, Render.001, Render.002", f"M.used ← Mesh '{cube_mesh}'", "M.free",
                 "NodeGroup", "−1 mesh removed (pool0)"):
        check(name in details, f"the Leak Check names {name!r}")
    service = addon_module("monitor.service")
    service.tick(force=True)
    names = {name: [r.name for r in service.new_list(name).rows]
             for name in ("images", "materials", "node_groups")}
    check(names == {"images": ["Render.002", "Render.001", "Render"],
                    "materials": ["M.free", "M.used"], "node_groups": ["NodeGroup"]},
          f"the panel's lists hold the six new datablocks ({names})")
    meshes = service.new_list("meshes")
    check(meshes.removed == 1 and meshes.removed_names == ("pool0",),
          f"the meshes list names the removed mesh ({meshes.removed_names})")
    _scroll_sidebar(top=True)


def step_scroll_lists():
    _scroll_sidebar(pages=1)


def step_who_uses():
    mat = bpy.data.materials["M.used"]
    result = _ui(bpy.ops.wm.bvh_datablock_users, 'INVOKE_DEFAULT', collection="materials",
                 session_uid=mat.session_uid)
    check(result == {'FINISHED'}, f"the 'who uses it' popup opened ({result})")
    lines = addon_module("monitor.inspect").users_lines(mat)
    check(lines[1][0] == f"Mesh '{bpy.data.objects['Cube'].data.name}'",
          f"who uses M.used: {lines}")


def step_delete_orphan():
    """Delete one orphan made by the script from its row (Ctrl+Z follows: it comes back)."""
    mat = bpy.data.materials["M.free"]
    STATE["deleted_uid"] = mat.session_uid
    del mat
    result = _ui(bpy.ops.wm.bvh_delete_orphan, 'EXEC_DEFAULT', collection="materials",
                 session_uid=STATE["deleted_uid"])
    check(result == {'FINISHED'} and "M.free" not in bpy.data.materials,
          f"the row's delete removed the script's orphan M.free ({result})")


def step_delete_undone():
    back = bpy.data.materials.get("M.free")
    check(back is not None, "Ctrl+Z brought the deleted orphan M.free back")
    check("NodeGroup" in bpy.data.node_groups and "Render.002" in bpy.data.images,
          "and the script's other datablocks are still there")
    if back is not None:
        print(f"gui: M.free after undo: session_uid {back.session_uid} "
              f"(before the delete: {STATE['deleted_uid']})")


def rise(batch):
    """Plan entries: a leak that keeps growing by BATCH meshes, and a wait for the history's
    next sample (one every history.SAMPLE_SECONDS) to have them: the graph's upper line rises."""
    def step():
        source = bpy.data.objects["Cube"].data
        for _ in range(batch):
            source.copy()
        service = addon_module("monitor.service")
        service.tick()   # as the monitor's timer does: a sample when one is due
        STATE["rise_total"] = service.tracked_total()
    step.__name__ = f"step_rise_{batch}"

    def sampled():
        samples = addon_module("monitor.history").history.samples
        return bool(samples) and samples[-1][1] >= STATE["rise_total"]
    return [step, Wait(f"the history's sample after {batch} more meshes", sampled)]


def step_graph_check():
    history = addon_module("monitor.history")
    samples = list(history.history.samples)
    totals = [sample[1] for sample in samples[-5:]]
    check(len(samples) >= 5 and totals == sorted(totals) and totals[-1] > totals[0],
          f"the history's last samples rise ({totals})")
    check(history.graph.icon_id != 0 and history.graph.renders > 0,
          f"the graph is a preview image (icon {history.graph.icon_id}, "
          f"{history.graph.renders} pictures drawn)")
    # Issue 23.9: each half says what it shows and its scale from zero; Blender's own memory
    lines = [text for text, _icon in addon_module("monitor.panels").history_lines(
        history.history.span(samples[-1][0]))]
    check(lines[0].startswith("Upper half: datablocks in the rows above, 0 to ")
          and any(text.startswith("Lower half: Blender memory, 0 to ") for text in lines),
          f"the graph's scales are named ({lines[:3]})")
    check(all(sample[3] is not None and sample[3] > 0 for sample in samples[-5:]),
          "the history samples Blender's own memory")
    for name in ("meshes", "materials", "images", "node_groups"):   # close the lists
        _ui(bpy.ops.wm.bvh_datablock_list, 'EXEC_DEFAULT', collection=name, action='TOGGLE')
    _scroll_sidebar(top=True, pages=1)


def step_redraws():
    """1,000 redraws of the sidebar (the graph among them) create no datablock."""
    before = _sizes()
    with context_override(view3d_area(), 'UI'):
        bpy.ops.wm.redraw_timer(type='DRAW', iterations=1000)
    grown = {k: v - before[k] for k, v in _sizes().items() if v != before[k]}
    check(not grown, f"1,000 sidebar redraws created no datablock ({grown or 'no growth'})")


def step_menus_check():
    cleanup = [getattr(fn, "__qualname__", "") for fn in
               bpy.types.TOPBAR_MT_file_cleanup._dyn_ui_initialize()]
    text_menu = [getattr(fn, "__qualname__", "") for fn in
                 bpy.types.TEXT_MT_text._dyn_ui_initialize()]
    check("draw_cleanup_entries" in cleanup, "File › Clean Up has the Leak Check entries")
    check("draw_text_menu_entry" in text_menu, "Text › has 'Leak Check: Script…'")
    _scroll_sidebar(top=True)


def step_pointer_to_text():
    area = STATE["text_area"]
    move(*screen_xy(area.x + area.width // 2, area.y + area.height - 20))


def step_text_menu():
    area = STATE["text_area"]
    with bpy.context.temp_override(window=window(), area=area, region=region(area, 'WINDOW')):
        bpy.ops.wm.call_menu(name="TEXT_MT_text")


def _purge_through_the_confirmation():
    if not INTERACTIVE:
        return [step_second_type, step_purge_invoke, step_purge_names_check, step_purge_exec,
                step_purge_check]
    opening, _popup = popup("the purge's confirmation", step_purge_invoke)
    note, ran = ran_through_ui("WM_OT_bvh_purge_orphans",
                               "Down, Return in the purge's confirmation")
    return [
        step_second_type, *pointer_to_viewport(), *opening, step_purge_names_check,
        *shot("06a_purge_confirmation_names"),
        note, step_purge_choose, ran,
        step_purge_check,
        monitor_current("the purge"),
        *shot("06_datablocks_purged"),
    ]


def _f9_and_undo():
    """F9 after the purge: Blender offers the last operator with a redo panel, not the purge;
    then Ctrl+Z in the 3D viewport, as a user would."""
    if not INTERACTIVE:
        print("gui: no X input or no ImageMagick: F9 and Ctrl+Z after the purge skipped")
        return []
    opening, f9_popup = popup("the F9 popup", lambda: key("F9"))
    # The casts that changed something were undone and redone, which empties Blender's list of
    # operators: F9 may have nothing to offer (then no popup opens), and never the purge.
    opening[-1] = Wait("the F9 popup on screen, or nothing for F9 to offer",
                       lambda: _last_undoable() is None or f9_popup._changed(),
                       detail=f9_popup._detail)
    return [
        *pointer_to_viewport(), *opening,
        *shot("06b_f9_offers_no_purge"),
        *close_popup(f9_popup, "the F9 popup"),
        step_undo_noted,
        *undo("the leaked meshes", lambda: _orphan_meshes() >= STATE["leaked"]),
        step_undo_check,
    ]


def _who_uses_and_delete():
    if not INTERACTIVE:
        return [step_who_uses, step_delete_orphan]
    opening, users_popup = popup("the 'who uses it' popup", step_who_uses)
    return [
        *pointer_to_viewport(), *opening,
        *shot("09_who_uses_it"),
        *close_popup(users_popup, "the 'who uses it' popup"),
        step_delete_orphan,
        *undo("the deleted orphan M.free", lambda: "M.free" in bpy.data.materials),
        step_delete_undone,
    ]


def _f3_leak_and_text_menu():
    if not INTERACTIVE:
        return []
    search, search_popup = f3_search("leak", "the Leak Check")
    purge, purge_popup = f3_search("purge", "our purge and Blender's",
                                   prepare=step_f3_purge_entries)
    opening, menu = popup("the Text menu", step_text_menu)
    return [
        *search,
        *shot("11_f3_leak"),
        *close_popup(search_popup, "the F3 search popup"),
        *purge,
        *shot("11b_f3_purge"),
        *close_popup(purge_popup, "the F3 search popup"),
        step_pointer_to_text, wait_pointer("over the Text editor"),
        *opening,
        *shot("12_text_menu_leak_check"),
        *close_popup(menu, "the Text menu"),
    ]


PLAN = [
    step_leak,
    step_leak_check,
    monitor_current("the leaked meshes"),
    *shot("05_datablocks_leak"),
    step_leak_check_under_the_red_row,
    *shot("05b_leak_check_under_a_red_row"),
    *_purge_through_the_confirmation(),
    *_f9_and_undo(),
    step_cast_leak_check,
    monitor_current("the purge and the Leak Check"),
    *shot("07_leak_check_summary"),
    step_script_setup,
    # fold the Ray Cast panel (a click on its header): room for the Datablocks panel
    *(sidebar_click("the Ray Cast panel's header", 12, dx=60, changes=True)
      if INTERACTIVE else []),
    step_script_run,
    monitor_current("what the script made"),
    *shot("08_datablocks_new_names"),
    step_scroll_lists,
    *shot("08b_datablocks_new_names_more"),
    *_who_uses_and_delete(),
    *rise(20), *rise(40), *rise(60), *rise(80), *rise(100),
    step_graph_check,
    monitor_current("the growing leak"),
    *shot("10_history_graph"),
    step_redraws,
    step_menus_check,
    *wait_drawn("sidebar", "the sidebar scrolled to the top"),
    *_f3_leak_and_text_menu(),
]
