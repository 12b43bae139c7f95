# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators behind the rows of the Datablocks panel's lists of new datablocks: open a list and
page it, who uses a datablock (a popup from ``bpy.data.user_map``), select the objects that use
it, delete one orphan (undoable).

Rows name their datablock by identity (collection + ``session_uid``), never by name: a linked
"Cube" and a local "Cube" are two rows.  Every operator here looks the ID up again when it runs,
so a row that went stale (undo, file load, a script) ends in a clear message, not an error.
"""
import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

from ..core import idtypes
from ..core.identity import describe, find_by_uid
from ..core.idtypes import is_orphan
from ..core.numbers import count
from ..names import DELETE_ORPHAN, LIST_NEW, SELECT_USERS, WHO_USES
from ..utils import reports_errors, runtime_state, view_layer_members
from . import service
from .operators import undo_step
from .pages import page_count
from .settings import LISTABLE

__all__ = ("WM_OT_bvh_datablock_list", "WM_OT_bvh_datablock_users", "WM_OT_bvh_select_users",
           "WM_OT_bvh_delete_orphan", "users_lines", "objects_using", "SELECTABLE")

#: types whose datablocks objects can use (directly or through other datablocks): the list rows
#: offer "select the objects that use it" only for these
SELECTABLE = frozenset(LISTABLE) - {"scenes", "texts", "worlds"}
#: walking up from a datablock to the objects that use it stops at these (they hold objects)
_WALK_STOP = frozenset({"SCENE", "COLLECTION", "WINDOWMANAGER", "WORKSPACE", "SCREEN",
                        "LIBRARY"})
_LIST_ACTIONS = (
    ('TOGGLE', "Open/Close", "Open or close the list"),
    ('NEXT', "Next Page", "Show the next page of the list"),
    ('PREVIOUS', "Previous Page", "Show the previous page of the list"),
)


def _collection_prop(description):
    return StringProperty(name="Type", description=description, options={'SKIP_SAVE'})


def _uid_prop():
    return IntProperty(name="Session UID", min=0, options={'SKIP_SAVE'},
                       description="The datablock's session_uid (its identity in this session)")


def _lookup(collection, uid):
    """The ID, or a ValueError whose message the operator reports."""
    if collection not in idtypes.id_collection_names():
        raise ValueError(f"'{collection}' is not a datablock type")
    found = find_by_uid(collection, uid)
    if found is None:
        raise ValueError(f"that {idtypes.in_words(collection, 1)} no longer exists (undo, a file "
                         "load or a script removed it)")
    return found


class WM_OT_bvh_datablock_list(bpy.types.Operator):
    bl_idname = "wm.bvh_datablock_list"
    bl_label = LIST_NEW
    bl_description = ("Open or close the list of the datablocks of this type that are new since "
                      "the baseline, or show another page of it")
    bl_options = {'INTERNAL'}

    collection: EnumProperty(
        name="Type", items=[(name, idtypes.label(name), "") for name in LISTABLE],
        description="The datablock type whose list to open, close or page")
    action: EnumProperty(name="Action", items=_LIST_ACTIONS, default='TOGGLE',
                         description="What to do with the list")

    @classmethod
    def poll(cls, context):
        return runtime_state(context) is not None

    @reports_errors
    def execute(self, context):
        mon = runtime_state(context).monitor
        name, index = self.collection, LISTABLE.index(self.collection)
        if self.action == 'TOGGLE':
            expanded = set(mon.expanded)
            expanded ^= {name}
            mon.expanded = expanded
            mon.pages[index] = 0
        else:
            view = service.new_list(name)
            pages = page_count(view.new) if view is not None else 1
            step = 1 if self.action == 'NEXT' else -1
            mon.pages[index] = max(0, min(pages - 1, mon.pages[index] + step))
        service.refresh_list(name)
        return {'FINISHED'}


def users_lines(id_):
    """Who uses ``id_``, as popup lines ``[(text, icon)]`` (from ``bpy.data.user_map``)."""
    users = sorted(bpy.data.user_map(subset={id_}).get(id_, ()), key=describe)
    name = idtypes.collection_of_code(id_.id_type) or ""
    lines = []
    if users:
        lines.append((f"{describe(id_)} is used by:", 'LINKED'))
        lines += [(describe(user), idtypes.icon(idtypes.collection_of_code(user.id_type) or ""))
                  for user in users]
    elif id_.use_fake_user:
        lines.append((f"{describe(id_)}: only its fake user", 'FAKE_USER_ON'))
    elif name and is_orphan(name, id_):
        lines.append((f"{describe(id_)} is used by nothing: an orphan", 'ORPHAN_DATA'))
    else:
        lines.append((f"{describe(id_)}: {id_.users} user(s) outside the datablocks (the "
                      "interface, or Blender itself)", 'INFO'))
    if id_.use_fake_user and users:
        lines.append(("and its fake user", 'FAKE_USER_ON'))
    return lines


class WM_OT_bvh_datablock_users(bpy.types.Operator):
    bl_idname = "wm.bvh_datablock_users"
    bl_label = WHO_USES
    bl_description = "Show which datablocks use this one"
    bl_options = {'INTERNAL'}

    collection: _collection_prop("The datablock's type (bpy.data collection name)")
    session_uid: _uid_prop()

    @classmethod
    def poll(cls, context):
        return context.window_manager is not None

    @reports_errors
    def invoke(self, context, _event):
        lines = users_lines(_lookup(self.collection, self.session_uid))

        def draw(menu, _context):
            for text, icon in lines:
                menu.layout.label(text=text, icon=icon)

        context.window_manager.popup_menu(draw, title=WHO_USES, icon='LINKED')
        return {'FINISHED'}

    @reports_errors
    def execute(self, _context):
        lines = users_lines(_lookup(self.collection, self.session_uid))
        self.report({'INFO'}, " ".join(text for text, _icon in lines))
        return {'FINISHED'}


def objects_using(id_):
    """The objects that use ``id_`` directly or through other datablocks (a material through
    its meshes, an image through materials and node groups); ``id_`` itself if it is an object."""
    if id_.id_type == 'OBJECT':
        return [id_]
    user_map = bpy.data.user_map()
    found, seen, pending = {}, {id_.session_uid}, [id_]
    while pending:
        current = pending.pop()
        for user in user_map.get(current, ()):
            if user.session_uid in seen:
                continue
            seen.add(user.session_uid)
            if user.id_type == 'OBJECT':
                found[user.session_uid] = user
            elif user.id_type not in _WALK_STOP:
                pending.append(user)
    return sorted(found.values(), key=lambda obj: obj.name)


class WM_OT_bvh_select_users(bpy.types.Operator):
    bl_idname = "wm.bvh_select_users"
    bl_label = SELECT_USERS
    bl_description = ("Select the objects in this view layer that use this datablock, directly "
                      "or through other datablocks (Ctrl+Z restores the selection)")
    bl_options = {'REGISTER', 'INTERNAL'}   # undo steps pushed by hand (see operators.undo_step)

    collection: _collection_prop("The datablock's type (bpy.data collection name)")
    session_uid: _uid_prop()

    @classmethod
    def poll(cls, context):
        if context.view_layer is None or context.mode != 'OBJECT':
            cls.poll_message_set("Needs Object Mode")
            return False
        return True

    @reports_errors
    def execute(self, context):
        id_ = _lookup(self.collection, self.session_uid)
        label = describe(id_)
        layer_objects = context.view_layer.objects
        members = view_layer_members(context.view_layer)   # by identity, never by name
        objects = [obj for obj in objects_using(id_) if obj.as_pointer() in members]
        del id_
        if not objects:
            self.report({'INFO'}, f"No object in this view layer uses {label}")
            return {'CANCELLED'}
        undo_step(context, f"Before {SELECT_USERS}")
        for obj in context.selected_objects:
            obj.select_set(False)
        for obj in objects:
            obj.select_set(True)
        layer_objects.active = objects[0]
        undo_step(context, SELECT_USERS)
        names = ", ".join(obj.name for obj in objects[:3]) + (", …" if len(objects) > 3 else "")
        self.report({'INFO'}, f"Selected {count(len(objects), 'object')} using {label}: {names}")
        return {'FINISHED'}


class WM_OT_bvh_delete_orphan(bpy.types.Operator):
    bl_idname = "wm.bvh_delete_orphan"
    bl_label = DELETE_ORPHAN
    bl_description = ("Delete this unused datablock (only an orphan: nothing uses it and it has "
                      "no fake user); Ctrl+Z brings it back")
    bl_options = {'REGISTER', 'INTERNAL'}   # undo steps pushed by hand (see operators.undo_step)

    collection: _collection_prop("The datablock's type (bpy.data collection name)")
    session_uid: _uid_prop()

    @classmethod
    def poll(cls, context):
        return context.window_manager is not None

    @reports_errors
    def execute(self, context):
        id_ = _lookup(self.collection, self.session_uid)
        label = describe(id_)
        if not is_orphan(self.collection, id_):
            reason = "it has a fake user" if id_.use_fake_user else f"{id_.users} user(s)"
            self.report({'WARNING'}, f"{label} is not an orphan ({reason}): kept")
            return {'CANCELLED'}
        undo_step(context, f"Before {DELETE_ORPHAN}")
        bpy.data.batch_remove([id_])
        del id_
        undo_step(context, f"Delete {label}")
        service.tick(force=True)       # the counts and the open lists
        self.report({'INFO'}, f"Deleted {label} (an orphan); Ctrl+Z brings it back")
        return {'FINISHED'}
