# SPDX-License-Identifier: GPL-3.0-or-later
"""(placeholder, filled in by its issue)"""

CLASSES = ()
