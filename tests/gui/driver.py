"""GUI acceptance test: runs inside a real, windowed Blender.

    blender --factory-startup --python-exit-code 3 --python tests/gui/driver.py -- \
        --zip dist/bvh_leakfree_addon-<version>.zip --shots gui-shots

It installs the built zip with Blender's extension installer into a temporary local repository
(removed at the end, so the user's own extensions are untouched), enables it, and steps through the
UI the way a user would, saving a screenshot after each step:

1. the 3D viewport sidebar on the add-on's tab, 2. the cast operator run in the viewport's context
(as the button does) with its hit and overlay, 3. F3 search for the operator, 4. the add-on's
preferences,
5. the Datablocks panel while a script leaks meshes, 6. after the panel's purge button.

It fails (exit status 3) on any Python traceback Blender prints (panel draw errors only print, so
stderr is watched), on an unexpected operator result, or when an expected entry is missing from the
menus, the last-operator list or the preferences.  Screenshots use ImageMagick's ``import`` when it
is there (Blender's own screenshot is black on software-GL virtual screens), else Blender's
operator. Keys and typing use ``xdotool`` when it is there; without it the F3 step only checks the
menu data.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # gui.py and the steps beside it

import steps_cast  # noqa: E402
import steps_common  # noqa: E402
import steps_monitor  # noqa: E402
from gui import run  # noqa: E402

run(steps_common.START + steps_cast.PLAN + steps_common.PREFERENCES + steps_monitor.PLAN
    + steps_common.END)
