# SPDX-License-Identifier: GPL-3.0-or-later
"""The fast paths of ``build()``/``update()``: skip the per-object walk when the change watch
proves it unnecessary.

A build is *stamped* with ``(changes, moves, depsgraph pointer)``: the counts come from the change
watch (``watch``: one callback in the depsgraph, frame, undo/redo and load handlers).

* *Unchanged*: the same stamp later means nothing was evaluated in between, so the evaluated data
  the build read is still what the depsgraph holds: the build is adopted as it is.
* *Moved* (:func:`movable`): only the moves count differs, so every evaluated mesh is still the
  one the build read and only world matrices changed: the build's rows (:class:`Movable`) are
  reused with matrices read again in one batch (``viewlayer``), no per-object work.  Builds with
  instances or edit-mode geometry are never moved this way (instance matrices come from the
  depsgraph's instance iterator; edit-mode edits bypass the depsgraph).

The latest full build is kept as a :class:`BuildState` (immutable) so ``build()`` with the very
same object list can adopt it.
"""
import operator
from dataclasses import dataclass
from functools import cached_property

import bpy

from . import cache, handles, watch
from .results import BuildStats
from .toplevel import TopLevel
from .validate import ObjectList

__all__ = ("BuildState", "Movable", "stamp_now", "as_sequence", "remember", "adoptable", "movable",
           "same_inputs", "recent_checked", "known_uid")


@dataclass(frozen=True, eq=False)
class Movable:
    """The rows of a build whose matrices alone can be read again (see the module): the rows as
    gathered (before rows with a singular matrix were dropped) and the skip reasons found."""

    objs: tuple            #: row → original object
    entries: tuple         #: row → ``GeomEntry``
    keys: tuple            #: row → ``as_pointer()`` of its object
    uids: object           #: int64 array: row → ``session_uid`` of its object
    skipped: tuple         #: (name, reason) of the input objects the build skipped

    @cached_property
    def trees(self):
        """The distinct entries."""
        return tuple({id(e): e for e in self.entries}.values())


@dataclass(frozen=True, eq=False)
class BuildState:
    """A finished build, as :class:`SceneBVH` holds it and the fast path remembers it."""

    inputs: tuple          #: the object list as passed (compared by identity), or None
    objects: ObjectList    #: the checked, de-duplicated objects
    evaluated: bool
    instances: bool
    epsilon: float
    stamp: tuple           #: ``stamp_now()`` when the build started, None when not vouched for
    top: TopLevel
    stats: BuildStats
    movable: Movable = None   #: set when a moves-only rebuild may reuse this build's rows

    def flags(self):
        return (self.evaluated, self.instances, self.epsilon)


def stamp_now(depsgraph_arg):
    """``(changes count, moves count, depsgraph pointer)`` when the change watch can vouch for the
    depsgraph, else None (see ``watch``).

    Only the context's own depsgraph qualifies, and only after ``evaluated_depsgraph_get()``:
    that evaluates whatever is tagged, which fires the watch for every pending change.  Outside
    object mode edits can bypass the depsgraph (edit-mode bmesh, sculpting): never vouched for.
    """
    context = bpy.context
    view_layer = getattr(context, "view_layer", None)
    if view_layer is None:
        return None
    if depsgraph_arg is not None:
        own = view_layer.depsgraph
        if own is None or own.as_pointer() != depsgraph_arg.as_pointer():
            return None
    current = context.evaluated_depsgraph_get()
    if context.mode != 'OBJECT':
        return None
    return (watch.change_count(), watch.move_count(), current.as_pointer())


def as_sequence(objects):
    """The object list as passed, as a tuple, when it can be compared later; else None."""
    if isinstance(objects, bpy.types.Object):
        return (objects,)
    if type(objects) in (list, tuple):
        return tuple(objects)
    return None


def _same_objects(a, b):
    return a is not None and b is not None and len(a) == len(b) and all(map(operator.is_, a, b))


def remember(state):
    """Keep ``state`` as the latest full build (only builds the watch vouched for)."""
    if state.stamp is not None and state.inputs is not None:
        cache.remember_build(state)


def adoptable(objects, depsgraph, flags):
    """The latest full build when it was made from the very same object list (same Python
    objects, same order) with the same ``flags`` ``(evaluated, instances, epsilon)`` and nothing
    changed since; else None."""
    state = cache.recent_build()
    if state is None or not _same_objects(as_sequence(objects), state.inputs):
        return None
    if flags != state.flags() or state.stamp is None or state.stamp != stamp_now(depsgraph):
        return None
    return state


def movable(state, stamp, flags):
    """True when ``state`` (an earlier build of the same object list) can be brought up to date by
    reading matrices only: built with ``flags``, vouched for, and since then the change watch saw
    moves and nothing else, on the same depsgraph."""
    return (state is not None and state.movable is not None and stamp is not None
            and state.stamp is not None and state.flags() == flags
            and state.stamp[0] == stamp[0] and state.stamp[2] == stamp[2])


def same_inputs(raw_input, state):
    """``raw_input`` (see :func:`as_sequence`) is the very list ``state`` was built from."""
    return state is not None and _same_objects(raw_input, state.inputs)


def recent_checked(raw_input):
    """The checked object list of the latest full build when ``raw_input`` is the very same list,
    else None.  Type checks and de-duplication depend only on those objects; a since deleted
    object raises ``ReferenceError`` while gathering, and the build then names it with
    ``validate.check_objects`` as the first check would have."""
    state = cache.recent_build()
    if state is None or not _same_objects(raw_input, state.inputs):
        return None
    return state.objects


def known_uid(obj):
    """The ``session_uid`` the latest full build (or ``update()``, see ``handles.remember_stale``)
    read for that very Python object, or None (to name an object whose reference went stale:
    ``validate.check_objects``)."""
    state = cache.recent_build()
    uids = getattr(state.objects, "_uids", None) if state is not None else None
    if uids is not None:
        for known, uid in zip(state.objects, uids.tolist(), strict=False):
            if known is obj:
                return uid
    return handles.stale_uid(obj)
