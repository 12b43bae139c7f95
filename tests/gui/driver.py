"""GUI acceptance test: runs inside a real, windowed Blender.

    blender --factory-startup --python-exit-code 3 --python tests/gui/driver.py -- \
        --zip dist/bvh_leakfree_addon-<version>.zip --shots gui-shots [--partial]

It installs the built zip with Blender's extension installer into a temporary local repository
(removed at the end, so the user's own extensions are untouched), enables it, and drives the UI the
way a user would, saving a screenshot at each stage: the sidebar on the add-on's tab, clicks on the
cast button and what the casts leave on screen, the stale-result mark, F3 search and the redo
panel, the preferences and a tab rename, a leak in the Datablocks panel, the purge confirmation
and Ctrl+Z, the Leak Check of the cast and of a script, the lists, who uses a datablock, the
history graph, F3 "leak" and the Text menu; and issue 23's: the undo of a cast that snapped,
a cursor on a surface, the overlay at Resolution Scale 2, the table in a narrow sidebar.

Every step waits for what it needs on screen (gui.py's waits: a region drawn, Blender seeing the
pointer, a popup open, the screen still, a state reached), never a fixed delay.  It fails (exit
status 3) on a wait that times out (naming it), on any Python traceback Blender prints (panel draw
errors only print, so stderr is watched), on an unexpected operator result, or when an expected
entry is missing from the menus, the last-operator list or the preferences; FAILED.png in the
screenshot folder is the screen at that moment.  Keys, typing and the pointer go through the X
display's XTEST extension (xinput.py), screenshots and pixel waits through ImageMagick's
``import`` (Blender's own screenshot is black on software-GL virtual screens); without either the
run fails, or with ``--partial`` runs the steps that need neither.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # gui.py and the steps beside it

import steps_artist  # noqa: E402
import steps_cast  # noqa: E402
import steps_common  # noqa: E402
import steps_monitor  # noqa: E402
from gui import run  # noqa: E402

run(steps_common.START + steps_cast.PLAN + steps_artist.PLAN_CAST + steps_common.PREFERENCES
    + steps_monitor.PLAN + steps_artist.PLAN_MONITOR + steps_common.END)
