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

The latest full build is kept here, as a :class:`BuildState` (immutable), so ``build()`` with
the very same object list can adopt it; :func:`forget` lets it go (``cache.clear()`` too).

A build (``SceneBVH._build``) is planned here (:func:`plan`: which objects, the stamp, the rows a
moves-only rebuild reuses), gathered (``gather``), given its top level (``toplevel``) and finished
here (:func:`finish`: the cache's eviction, the stats, the state kept for the fast path).
"""
import operator
import time
from dataclasses import dataclass
from functools import cached_property

import bpy

from . import cache, handles, validate, watch
from .results import BuildStats
from .toplevel import TopLevel, boxes_of
from .validate import ObjectList

__all__ = ("BuildState", "Movable", "Plan", "stamp_now", "as_sequence", "plan", "rows_to_keep",
           "finish", "remember", "forget", "adoptable", "movable", "same_inputs",
           "recent_checked", "known_uid")

_recent = None   # BuildState of the latest full build the watch vouched for (see remember)


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
    global _recent
    if state.stamp is not None and state.inputs is not None:
        _recent = state


def forget():
    """Stop holding the latest full build (a new full build is starting, or the cache is
    cleared: the trees only that build used must not stay alive)."""
    global _recent
    _recent = None


cache.add_holder(lambda: (0, 0, 0), forget)   # its trees are the cache's: counted there


def adoptable(objects, depsgraph, flags):
    """The latest full build when it was made from the very same object list (same Python
    objects, same order) with the same ``flags`` ``(evaluated, instances, epsilon)`` and nothing
    changed since; else None."""
    state = _recent
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
    state = _recent
    if state is None or not _same_objects(raw_input, state.inputs):
        return None
    return state.objects


def known_uid(obj):
    """The ``session_uid`` the latest full build (or ``update()``, see ``handles.remember_stale``)
    read for that very Python object, or None (to name an object whose reference went stale:
    ``validate.check_objects``)."""
    state = _recent
    uids = getattr(state.objects, "_uids", None) if state is not None else None
    if uids is not None:
        for known, uid in zip(state.objects, uids.tolist(), strict=False):
            if known is obj:
                return uid
    return handles.stale_uid(obj)


# --- One build: its plan and its end -------------------------------------------------------------
@dataclass(eq=False)
class Plan:
    """What one build works from (:func:`plan`); its ``stats`` fill in as it goes."""

    objects: ObjectList    #: the checked objects (alive ones only, for ``update()``)
    inputs: tuple          #: the object list as passed, None once objects were dropped from it
    flags: tuple           #: ``(evaluated, instances, epsilon)``
    depsgraph: object      #: the live depsgraph the build reads
    stamp_arg: object      #: what :func:`stamp_now` is asked about (``handles``: None for the
                           #: context's own)
    stamp: tuple           #: ``stamp_now()`` before anything was gathered, or None
    stats: BuildStats
    earlier: list          #: ``toplevel.boxes_of`` of earlier builds (box arrays to reuse)
    moved: Movable         #: the last build's rows, when only transforms changed since; or None
    reuse: bool
    deleted: int           #: input objects dropped as deleted since the last build
    start: float


def plan(previous, inputs, objects, flags, stamp_arg, depsgraph, reuse, drop_deleted, start):
    """The :class:`Plan` of a build of ``objects`` (the checked list of the object list as passed,
    ``inputs``) with ``flags``, after ``previous`` (the ``BuildState`` of the ``SceneBVH`` being
    updated, or None); ``drop_deleted``: leave out objects deleted since, and fetch again those
    whose references went stale (``update()``).

    ``depsgraph`` must have been evaluated already (``evaluated_depsgraph_get``), so that the
    stamp (of ``stamp_arg``), read now, comes after every pending change.  The latest full build
    is let go here, so that trees only it used are freed before new ones are built.  ``start``:
    ``perf_counter()`` when the build began (its ``stats.build_seconds`` count from there)."""
    deleted = []
    if drop_deleted:
        live, deleted, refetched = validate.live_objects(objects)
        if deleted or refetched:
            objects = live
            inputs = None   # no longer the caller's list: never adopted for it
    stamp = stamp_now(stamp_arg) if flags[0] else None
    stats = BuildStats()
    stats.objects_skipped.extend((name, "deleted since the last build") for name in deleted)
    recent = _recent
    earlier = [boxes_of(state.top) for state in (previous, recent) if state is not None]
    last = previous if previous is not None else (
        recent if same_inputs(inputs, recent) else None)
    moved = last.movable if reuse and not deleted and movable(last, stamp, flags) else None
    del recent, last
    forget()
    cache.next_generation()
    return Plan(objects, inputs, flags, depsgraph, stamp_arg, stamp, stats, earlier, moved,
                reuse, len(deleted), start)


def rows_to_keep(plan, items, builder, instancers):
    """The :class:`Movable` rows a later moves-only rebuild of this build may reuse: the reused
    rows again, or the rows just walked when nothing in them needs the walk (no instances, no
    edit-mode geometry, matrices read in one batch); None otherwise."""
    if builder is None:
        return plan.moved
    if (plan.stamp is None or instancers or items.any_instances or builder.rows is None
            or builder.saw_edit_mode):
        return None
    return Movable(objs=tuple(items.objs), entries=tuple(items.entries), keys=tuple(items.keys),
                   uids=plan.objects.uids()[items.src],
                   skipped=tuple(plan.stats.objects_skipped[plan.deleted:]))


def finish(plan, top, saw_edit_mode, rows):
    """End the build: the cache drops what no build uses, the stats are completed, and the
    :class:`BuildState` is returned and kept for the fast path when the watch vouches for it
    (nothing was evaluated while gathering, no edit-mode geometry).  ``rows``: see
    :func:`rows_to_keep`."""
    cache.evict()
    stats = plan.stats
    stats.instances = len(top)
    stats.trees = len({id(e) for e in top.entries})
    stats.triangles = int(sum(e.triangles for e in top.entries))
    stats.reused = stats.meshes_rebuilt == 0
    stats.build_seconds = time.perf_counter() - plan.start
    stamp = plan.stamp
    if stamp is None or saw_edit_mode or stamp != stamp_now(plan.stamp_arg):
        stamp = None
    evaluated, instances, epsilon = plan.flags
    state = BuildState(inputs=plan.inputs, objects=plan.objects, evaluated=evaluated,
                       instances=instances, epsilon=epsilon, stamp=stamp, top=top, stats=stats,
                       movable=rows if stamp is not None else None)
    remember(state)
    return state
