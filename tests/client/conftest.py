"""Fixtures of the client's tests: an aiohttp session, and no Home Assistant.

In the main test run tests/conftest.py applies here too; its autouse fixture
that starts Home Assistant for every test is replaced by one that does
nothing. Run alone (`--confcutdir=tests/client`), that conftest is not loaded
at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Start no Home Assistant: the client needs none."""


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a session that resolves names without opening a DNS socket."""
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with aiohttp.ClientSession(connector=connector) as client_session:
        yield client_session
