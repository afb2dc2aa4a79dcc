"""Fixtures of the client's tests: none of Home Assistant.

In the main test run tests/conftest.py applies here too; its autouse fixture
that starts Home Assistant for every test is replaced by one that does
nothing. Run alone (`--confcutdir=tests/client`), that conftest is not loaded
at all.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Start no Home Assistant: the client needs none."""
