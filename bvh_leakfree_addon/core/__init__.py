# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure core: geometry gathering → BVH → queries → datablock accounting.  Imports no UI."""
