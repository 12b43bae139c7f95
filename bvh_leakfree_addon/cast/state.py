# SPDX-License-Identifier: GPL-3.0-or-later
"""The cast's runtime state: the last result, kept on the WindowManager (never saved in a .blend)
for the sidebar and the overlay, and forgotten when a file is loaded (its objects are gone).

Its properties are generated from the result's declaration (:mod:`.result`): the same fields
under the same names, so storing is one loop and the rendering reads the state as it reads a
result.  It keeps the settings the result was cast with, so that the sidebar can tell that its
settings (the defaults of the next cast) are not those of the result it shows: after a change in
the sidebar, or an F9 change of one cast."""
import math

import bpy

from .. import api
from ..utils import reset_properties, runtime_state, tag_redraw
from .result import FIELDS, state_properties

__all__ = ("CastResultState", "store_result", "store_failure", "clear_result", "register",
           "unregister", "runtime_hooks_active")

FAR = 1e30   # an infinite distance is stored as this (a float property holds no infinity)


class CastResultState(bpy.types.PropertyGroup):
    """The last "Ray Cast from 3D Cursor" result (``window_manager.bvh_leakfree.cast``)."""

    __annotations__ = state_properties()


def store_result(context, result):
    """Keep ``result`` (a ``result.CastResult``) for the panel and overlay; the stored state, or
    None without the add-on's state."""
    state = runtime_state(context)
    if state is None:
        return None
    cast = state.cast
    for name in FIELDS:
        value = getattr(result, name)
        setattr(cast, name, value if not isinstance(value, float) or math.isfinite(value)
                else FAR)
    cast.has_result = True
    cast.error = ""
    return cast


def store_failure(context, message):
    """The last cast could not be made (``message`` says why): the box says so and shows no
    earlier result, the overlay draws none."""
    state = runtime_state(context)
    if state is None:
        return None
    reset_properties(state.cast)
    state.cast.error = message
    return state.cast


def clear_result(context):
    """Forget the last result: every property back to its default."""
    state = runtime_state(context)
    if state is not None:
        reset_properties(state.cast)


@bpy.app.handlers.persistent
def _on_load_post(*_args):
    """A loaded file has other objects: the last result (and the core's cache) is stale."""
    clear_result(bpy.context)
    api.clear_cache()
    tag_redraw()


def register():
    unregister()   # a reload that skipped unregister must not leave a second handler
    bpy.app.handlers.load_post.append(_on_load_post)


def unregister():
    handlers = bpy.app.handlers.load_post
    for fn in list(handlers):
        if fn is _on_load_post or (getattr(fn, "__module__", None) == __name__
                                   and getattr(fn, "__name__", None) == _on_load_post.__name__):
            handlers.remove(fn)


def runtime_hooks_active():
    return (["load_post handler (clears the last cast)"]
            if _on_load_post in bpy.app.handlers.load_post else [])
