# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators: they call the core (``api``) and report; no drawing here."""

CLASSES = ()
