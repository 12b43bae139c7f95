# SPDX-License-Identifier: GPL-3.0-or-later
"""Casts and undo: a cast that changed something (snapped the cursor, changed the selection) is
one undo step; a cast that changed nothing is none, as a glance at the scene is none.  Ctrl+Z on a
cast's step puts back what it changed, the 3D cursor included, and the result box and overlay show
what they showed before it; Ctrl+Shift+Z shows the cast again.

Blender's undo restores the selection but never the 3D cursor (its own Snap Cursor operators are
undo steps that leave the cursor where it went), and it keeps no add-on state on the window
manager.  So each cast that makes a step leaves its number on the scene
(``Scene.bvh_leakfree_cast_step``, a hidden integer: the undo step holds it), and this module keeps,
per number, the result box before and after it and the cursor before and after it (plain values,
the last ``HISTORY`` casts).  After an undo or redo, the scene's number says which cast the scene
is at: the box and the cursor follow.  A cursor moved by hand since is left where it is.

In Edit Mode Blender's undo keeps mesh data only: the number does not move there, and the cursor
stays where the cast put it (Select Object does nothing in Edit Mode).
"""
import collections
from typing import NamedTuple

import bpy
from bpy.app.handlers import persistent
from bpy.props import IntProperty

from mathutils import Quaternion

from ..utils import runtime_state, tag_redraw
from .service import place_cursor

__all__ = ("HISTORY", "STEP_PROPERTY", "Entry", "cursor_pose", "snapshot", "restore", "record",
           "step_of", "follow", "clear", "register", "unregister", "runtime_hooks_active")

HISTORY = 64                            # casts remembered (plain values, ~1 kB each)
STEP_PROPERTY = "bvh_leakfree_cast_step"
_SAME = 1e-6                            # cursor poses closer than this are the same


class Entry(NamedTuple):
    """What one cast with an undo step changed: the result box before and after (snapshots),
    the cursor's pose before and after (``cursor_pose``; equal when it did not snap)."""

    before: dict
    after: dict
    cursor_before: tuple
    cursor_after: tuple


_entries = collections.OrderedDict()    # cast number -> Entry
_serial = [0]                           # the last number given


def cursor_pose(scene):
    """The 3D cursor's location and rotation (as a quaternion), as plain floats."""
    cursor = scene.cursor
    return (*cursor.location, *cursor.matrix.to_quaternion())


def _set_cursor(scene, pose):
    place_cursor(scene.cursor, pose[:3], Quaternion(pose[3:]))


def _same(a, b):
    return all(abs(x - y) <= _SAME for x, y in zip(a, b, strict=True))


def snapshot(state):
    """Every property of the result state ``state`` as plain values (vectors as tuples)."""
    out = {}
    for prop in state.bl_rna.properties:
        name = prop.identifier
        if name == "rna_type":
            continue
        value = getattr(state, name)
        out[name] = tuple(value) if getattr(prop, "is_array", False) else value
    return out


def restore(state, values):
    """Put ``values`` (a :func:`snapshot`) back into the result state ``state``."""
    for name, value in values.items():
        setattr(state, name, value)


def record(context, before, cursor_before):
    """A cast that changed something has finished: remember it and leave its number on the scene
    (the undo step Blender pushes next holds it).  ``before`` is the result box's snapshot before
    the cast, ``cursor_before`` the cursor's pose then.  Returns the number."""
    state = runtime_state(context)
    scene = context.scene
    if state is None or scene is None:
        return 0
    _serial[0] += 1
    number = _serial[0]
    _entries[number] = Entry(before, snapshot(state.cast), cursor_before, cursor_pose(scene))
    while len(_entries) > HISTORY:
        _entries.popitem(last=False)
    setattr(scene, STEP_PROPERTY, number)
    return number


def step_of(scene):
    """The number of the last cast the scene's undo state holds (0: none)."""
    return getattr(scene, STEP_PROPERTY, 0) if scene is not None else 0


def follow(context, number_before):
    """After an undo or redo: the scene is at cast ``step_of(scene)``, the box was at
    ``number_before``.  Undo (fewer): the box shows what it showed before the oldest cast undone
    and the cursor goes back where it was, unless moved since; redo (more): the newest cast redone
    shows again and the cursor goes where it put it.  Returns True when something moved."""
    scene = context.scene
    state = runtime_state(context)
    number = step_of(scene)
    if state is None or number == number_before:
        return False
    if number < number_before:      # undone: the casts number+1 .. number_before
        undone = [n for n in _entries if number < n <= number_before]
        if not undone:
            return False
        first, last = _entries[undone[0]], _entries[undone[-1]]
        restore(state.cast, first.before)
        if _same(cursor_pose(scene), last.cursor_after):
            _set_cursor(scene, first.cursor_before)
    else:                           # redone: the casts number_before+1 .. number
        redone = [n for n in _entries if number_before < n <= number]
        if not redone:
            return False
        first, last = _entries[redone[0]], _entries[redone[-1]]
        restore(state.cast, last.after)
        if _same(cursor_pose(scene), first.cursor_before):
            _set_cursor(scene, last.cursor_after)
    tag_redraw(context)
    return True


def clear():
    """Forget every cast (a file was loaded: its undo history is gone)."""
    _entries.clear()


# --- Handlers ---------------------------------------------------------------------------------
_before = {"number": 0}


@persistent
def _on_undo_pre(scene, *_args):
    _before["number"] = step_of(scene)


@persistent
def _on_undo_post(*_args):
    follow(bpy.context, _before["number"])


@persistent
def _on_load_post(*_args):
    clear()


_HANDLERS = (("undo_pre", _on_undo_pre), ("redo_pre", _on_undo_pre),
             ("undo_post", _on_undo_post), ("redo_post", _on_undo_post),
             ("load_post", _on_load_post))


def register():
    unregister()
    setattr(bpy.types.Scene, STEP_PROPERTY, IntProperty(
        name="Last Cast's Undo Step", min=0, options={'HIDDEN'},
        description="Number of the last ray cast from the 3D cursor that changed something "
                    "(the undo step holds it, so that the add-on can tell a cast was undone)"))
    for name, fn in _HANDLERS:
        getattr(bpy.app.handlers, name).append(fn)


def unregister():
    for name, fn in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        for registered in list(handlers):
            if registered is fn or (getattr(registered, "__module__", None) == __name__
                                    and getattr(registered, "__name__", None) == fn.__name__):
                handlers.remove(registered)
    if hasattr(bpy.types.Scene, STEP_PROPERTY):
        delattr(bpy.types.Scene, STEP_PROPERTY)
    clear()


def runtime_hooks_active():
    live = [f"{name} handler (undo follows the cast)" for name, fn in _HANDLERS
            if fn in getattr(bpy.app.handlers, name)]
    if hasattr(bpy.types.Scene, STEP_PROPERTY):
        live.append(f"Scene.{STEP_PROPERTY} (the cast's undo step)")
    return live
