"""Shared fixtures: a fake smsoffice.ge on loopback and a configured entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
import socket
from typing import Any

from aiohttp import ClientResponse, payload
from aiohttp.test_utils import TestClient
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import Event, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.smsoffice.config_flow import account_id
from custom_components.smsoffice.const import (
    CONF_ACCEPT_FOREIGN,
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_FLASH,
    CONF_LOW_BALANCE,
    CONF_NUMBER,
    CONF_SENDER,
    CONF_STATUS_POLLING,
    CONF_URGENT,
    CONF_WEBHOOK_ID,
    DOMAIN,
    EVENT_DELIVERY_STATUS,
    SUBENTRY_RECIPIENT,
)
from tests.fake_smsoffice import FakeSmsOffice

API_KEY = "test-api-key"
SENDER = "HomeAlarm"
WEBHOOK_ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
MOTHER = "995555123456"
GUARD = "995577654321"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def loopback_sockets(socket_enabled: None) -> None:
    """Allow sockets: the harness still lets them connect to 127.0.0.1 only."""


@pytest.fixture
async def gateway() -> AsyncIterator[FakeSmsOffice]:
    """Run a fake smsoffice.ge on loopback."""
    fake = FakeSmsOffice(
        api_keys=[API_KEY], senders=["smsoffice", SENDER], slow_seconds=3
    )
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def options() -> dict[str, Any]:
    """Options of the entry (tests may change them before setup)."""
    return {
        CONF_URGENT: False,
        CONF_FLASH: False,
        CONF_LOW_BALANCE: 50,
        CONF_STATUS_POLLING: False,
        CONF_ACCEPT_FOREIGN: False,
    }


@pytest.fixture
def config_entry(gateway: FakeSmsOffice, options: dict[str, Any]) -> MockConfigEntry:
    """An entry for the fake gateway with two saved recipients."""
    return MockConfigEntry(
        domain=DOMAIN,
        version=1,
        minor_version=2,
        title=f"SMS Office {SENDER}",
        unique_id=account_id(API_KEY),
        data={
            CONF_API_KEY: API_KEY,
            CONF_SENDER: SENDER,
            CONF_BASE_URL: gateway.url,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
        },
        options=options,
        subentries_data=[
            ConfigSubentryData(
                data={"name": "Mother", CONF_NUMBER: MOTHER},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Mother",
                unique_id=MOTHER,
            ),
            ConfigSubentryData(
                data={"name": "Night guard", CONF_NUMBER: GUARD},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Night guard",
                unique_id=GUARD,
            ),
        ],
    )


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The entry, set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.fixture
async def unload_entries(hass: HomeAssistant) -> AsyncIterator[None]:
    """Unload every entry a test leaves loaded (no lingering poll timers)."""
    yield
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def http(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client_no_auth: Any
) -> AsyncIterator[TestClient]:
    """An HTTP client of Home Assistant; the entry is unloaded afterwards."""
    yield await hass_client_no_auth()
    if loaded_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(loaded_entry.entry_id)


@pytest.fixture
def events(hass: HomeAssistant) -> list[Event]:
    """The `smsoffice_delivery_status` events fired."""
    return async_capture_events(hass, EVENT_DELIVERY_STATUS)


async def post_with_a_held_body[T](
    http: TestClient, path: str, body: bytes, meanwhile: Coroutine[Any, Any, T]
) -> tuple[ClientResponse, T]:
    """POST a form whose body stops after 10 bytes until `meanwhile` has run.

    The request's head and first bytes reach Home Assistant first: what
    `meanwhile` does (an unload, a removal) happens while the callback is on
    its way. Returns the response and what `meanwhile` returned.
    """
    held = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        await held.wait()
        yield body[10:]

    request = asyncio.ensure_future(
        http.post(
            path,
            data=payload.AsyncIterablePayload(chunks()),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    await asyncio.sleep(0.05)  # the request's head and first chunk are in
    assert not request.done()
    result = await meanwhile
    held.set()
    return await request, result


def closed_port_url() -> str:
    """Return a loopback URL nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
