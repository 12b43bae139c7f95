# SPDX-License-Identifier: GPL-3.0-or-later
"""One name per action, everywhere: sidebar buttons, menu entries (which F3 search finds), popup
and dialog titles, reports and tooltips all spell an action the way it is written here.

A name ends in "…" exactly when the action asks something first (a confirmation or a dialog);
:func:`label` drops it for an operator's ``bl_label`` and a popup's title.  ``tests/addon/
test_names.py`` checks every operator against this table and that no draw code spells a name of
its own.  A leaf module: both features use it, it imports nothing.
"""

__all__ = ("CAST", "CAST_AGAIN", "PURGE_ALL", "PURGE_MESHES", "PURGE", "LEAK_CHECK",
           "LEAK_CHECK_SCRIPT", "RESET_BASELINE", "WHO_USES", "SELECT_USERS", "DELETE_ORPHAN",
           "LIST_NEW", "SIDEBAR_TAB", "label", "purge_meshes")

CAST = "Ray Cast from 3D Cursor"
#: the result box's button: the same action, with the sidebar's settings (its tooltip says so)
CAST_AGAIN = "Cast Again"
#: the orphan purge of every type; unlike Blender's File › Clean Up › Purge Unused Data… (counts
#: per type) its confirmation lists every datablock by name, and what becomes unused separately
PURGE_ALL = "List and Purge Orphans…"
#: the same purge, meshes only (the sidebar's button adds the count: :func:`purge_meshes`)
PURGE_MESHES = "Purge Orphan Meshes…"
#: the purge operator itself (what its buttons run once confirmed; the undo history says this)
PURGE = "Purge Orphans"
#: the Leak Check of the add-on's own BVH build + cast (not of the artist's scene or scripts)
LEAK_CHECK = "Leak Check: Add-on's Cast"
LEAK_CHECK_SCRIPT = "Leak Check: Script…"
RESET_BASELINE = "Reset Baseline"
WHO_USES = "Who Uses It"
SELECT_USERS = "Select Objects Using It"
DELETE_ORPHAN = "Delete Orphan"
LIST_NEW = "List New Datablocks"
#: the 3D viewport sidebar's tab holding both panels (a preference; plain words, not "BVH")
SIDEBAR_TAB = "Ray Cast"


def label(name):
    """``name`` without its "…": an operator's ``bl_label``, a popup's title."""
    return name[:-1] if name.endswith("…") else name


def purge_meshes(count):
    """The sidebar's mesh purge button, the count first (a narrow sidebar cuts the end):
    ``"Purge 182 Orphan Meshes…"``, ``"Purge 1 Orphan Mesh…"``."""
    return f"Purge {count:,} Orphan {'Mesh' if count == 1 else 'Meshes'}…"
