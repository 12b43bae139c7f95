"""Fixtures of the add-on's tests (the ``addon`` fixture itself is in tests/conftest.py)."""
import pytest


@pytest.fixture
def mon(addon):
    """The Datablocks monitor, counted once so that its baseline is the test's starting point."""
    monitor = addon.monitor.service
    monitor.tick(force=True)
    return monitor
