"""Shared fixtures and helpers: a fake smsoffice.ge on loopback, a configured entry.

And what the tests do with it as a user would: set entries up, let time pass,
call the actions, bring the gateway's reports through the webhook, open the
recipient form; a stand-in for Home Assistant Cloud.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
import socket
import sys
from types import ModuleType
from typing import Any
from unittest.mock import AsyncMock, patch

from aiohttp import ClientResponse, payload
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
import homeassistant.components
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
    ConfigSubentryData,
    SubentryFlowResult,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

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
    SECTION_ADVANCED,
    SUBENTRY_RECIPIENT,
)
from tests.fake_smsoffice import FakeSmsOffice

API_KEY = "test-api-key"
SENDER = "HomeAlarm"
WEBHOOK_ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
MOTHER = "995555123456"
GUARD = "995577654321"
# The recipients of the entry `config_entry` makes: (name, number).
RECIPIENTS = (("Mother", MOTHER), ("Night guard", GUARD))
WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
TBILISI = "Asia/Tbilisi"
SECOND_KEY = "second-key"
SECOND_WEBHOOK_ID = "f" * 64


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
    return options_with()


@pytest.fixture
def config_entry(gateway: FakeSmsOffice, options: dict[str, Any]) -> MockConfigEntry:
    """An entry for the fake gateway with two saved recipients."""
    return account_entry(gateway.url, options=options)


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The entry, set up."""
    assert await set_up(hass, config_entry)
    return config_entry


@pytest.fixture
async def entry_without_api_access(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The entry, set up while API access is off (120): its set-up waits to retry.

    With the API-access repair issue raised, and no re-authentication.
    """
    gateway.api_access_enabled = False
    assert not await set_up(hass, config_entry)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass) == []
    assert issue(hass, "api_access_disabled", config_entry)
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
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's extension, in `tests/snapshots` as in core.

    Chosen here: which plugin's `snapshot` fixture wins varies by harness.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


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


# ------------------------------------------------------------------ entries


def options_with(**changes: Any) -> dict[str, Any]:
    """Return the options of `config_entry` (polling off), with some changed."""
    return {
        CONF_URGENT: False,
        CONF_FLASH: False,
        CONF_LOW_BALANCE: 50,
        CONF_STATUS_POLLING: False,
        CONF_ACCEPT_FOREIGN: False,
        **changes,
    }


def recipient_data(name: str, number: str) -> ConfigSubentryData:
    """Return a saved recipient, as an entry's subentry."""
    return ConfigSubentryData(
        data={"name": name, CONF_NUMBER: number},
        subentry_type=SUBENTRY_RECIPIENT,
        title=name,
        unique_id=number,
    )


def account_entry(
    base_url: str,
    api_key: str = API_KEY,
    sender: str = SENDER,
    webhook_id: str = WEBHOOK_ID,
    *,
    recipients: Iterable[tuple[str, str]] = RECIPIENTS,
    **fields: Any,
) -> MockConfigEntry:
    """Return an entry of the account with this key (not added yet).

    `fields` go to `MockConfigEntry` as they are (options, version, entry_id).
    """
    return MockConfigEntry(
        **{
            "domain": DOMAIN,
            "version": 1,
            "minor_version": 2,
            "title": f"SMS Office {sender}",
            "unique_id": account_id(api_key),
            "data": {
                CONF_API_KEY: api_key,
                CONF_SENDER: sender,
                CONF_BASE_URL: base_url,
                CONF_WEBHOOK_ID: webhook_id,
            },
            "subentries_data": [recipient_data(*saved) for saved in recipients],
            **fields,
        }
    )


def account_input(
    base_url: str, api_key: str = API_KEY, sender: str = SENDER
) -> dict[str, Any]:
    """Return what a user types in the account form."""
    return {
        CONF_API_KEY: api_key,
        CONF_SENDER: sender,
        SECTION_ADVANCED: {CONF_BASE_URL: base_url},
    }


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> bool:
    """Add the entry (unless it is added) and set it up; return if that worked."""
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    result = await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return result


async def set_up_second_account(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> MockConfigEntry:
    """Set up a second account on the gateway: sender smsoffice, no recipients."""
    gateway.api_keys.add(SECOND_KEY)
    entry = account_entry(
        gateway.url, SECOND_KEY, "smsoffice", SECOND_WEBHOOK_ID, recipients=()
    )
    assert await set_up(hass, entry)
    return entry


async def reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload the entry and set it up again."""
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await set_up(hass, entry)


def subentry_id(entry: MockConfigEntry, number: str) -> str:
    """Return the subentry id of the saved recipient with this number."""
    return next(
        subentry.subentry_id
        for subentry in entry.subentries.values()
        if subentry.data[CONF_NUMBER] == number
    )


async def recipient_form(
    hass: HomeAssistant, entry: MockConfigEntry, number: str | None = None
) -> SubentryFlowResult:
    """Open the recipient form: adding one, or editing the one with this number."""
    context: dict[str, Any] = {"source": SOURCE_USER}
    if number is not None:
        context = {
            "source": SOURCE_RECONFIGURE,
            "subentry_id": subentry_id(entry, number),
        }
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_RECIPIENT), context=context
    )


async def submit_recipient(
    hass: HomeAssistant, form: SubentryFlowResult, name: str, number: str
) -> SubentryFlowResult:
    """Submit the recipient form as typed; let the reload it starts finish."""
    result = await hass.config_entries.subentries.async_configure(
        form["flow_id"], {"name": name, CONF_NUMBER: number}
    )
    await hass.async_block_till_done()
    return result


def entry_device(
    hass: HomeAssistant, entry: MockConfigEntry, number: str | None = None
) -> dr.DeviceEntry:
    """Return the account's service device, or the saved recipient's device.

    Found among the entry's devices: `async_get_device` is deprecated in newer
    releases (identifiers are unique per config entry only).
    """
    identifier = entry.entry_id
    if number is not None:
        identifier = f"{entry.entry_id}_{subentry_id(entry, number)}"
    (device,) = (
        device
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), entry.entry_id
        )
        if device.identifiers == {(DOMAIN, identifier)}
    )
    return device


def issue(
    hass: HomeAssistant, kind: str, entry: MockConfigEntry
) -> ir.IssueEntry | None:
    """Return the entry's repair issue of this kind (`low_balance`, ...), if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{entry.entry_id}")


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    """Return the re-authentication flows in progress."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


# --------------------------------------------------------------------- time


async def pass_minutes(hass: HomeAssistant, minutes: float) -> None:
    """Let `minutes` pass (real time), and whatever poll they start finish."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=minutes))
    await hass.async_block_till_done(wait_background_tasks=True)


async def poll_balance(hass: HomeAssistant) -> None:
    """Let the balance poll interval (30 minutes) pass, and the poll finish."""
    await pass_minutes(hass, 31)


async def set_up_at(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    local: datetime,
) -> None:
    """Set the entry up at a time of Home Assistant's time zone, Tbilisi's (UTC+4)."""
    await hass.config.async_set_time_zone(TBILISI)
    freezer.move_to(local)
    assert await set_up(hass, entry)


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta
) -> None:
    """Move frozen time on and let what is due run, polls included.

    What runs is let finish first: a request still out when time jumps would
    time out, and its retry would wait for a time that never comes.
    """
    await hass.async_block_till_done(wait_background_tasks=True)
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


# ------------------------------------------------------------------ actions


async def call_action(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    """Call the action `smsoffice.<service>` and return its response."""
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def send_sms(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call `smsoffice.send_sms` and return its response."""
    return await call_action(hass, "send_sms", **data)


async def notify(hass: HomeAssistant, entity_id: str, **data: Any) -> None:
    """Call `notify.send_message` for one entity."""
    await hass.services.async_call(
        "notify", "send_message", {"entity_id": entity_id, **data}, blocking=True
    )


async def notify_legacy(hass: HomeAssistant, **data: Any) -> None:
    """Call the entry's legacy `notify.sms_office_homealarm` action."""
    await hass.services.async_call(
        "notify", "sms_office_homealarm", data, blocking=True
    )


async def held_send(
    hass: HomeAssistant, gateway: FakeSmsOffice, **data: Any
) -> asyncio.Future[dict[str, Any]]:
    """Start a send the gateway holds until `gateway.release()`; return it.

    A plain future: waiting for Home Assistant to be idle does not wait for it.
    """
    gateway.inject("hold", endpoint="send")
    sending = asyncio.ensure_future(send_sms(hass, **data))
    await gateway.wait_for_held()
    return sending


def store_usage(
    hass_storage: dict[str, Any], entry: MockConfigEntry, data: dict[str, Any]
) -> None:
    """Store the entry's usage (counts, recent messages) as an earlier run did."""
    key = f"{DOMAIN}.usage.{entry.entry_id}"
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": data}


async def report(
    http: TestClient, reference: str, number: str, status: str, **more: str
) -> None:
    """Bring the gateway's delivery report through the webhook."""
    response = await http.get(
        WEBHOOK_PATH,
        params={"reference": reference, "destination": number, "status": status} | more,
    )
    assert (response.status, await response.text()) == (200, "OK")


# ------------------------------------------------------------ a stand-in cloud


class CloudNotAvailableError(Exception):
    """Home Assistant Cloud's error: the cloud cannot be used."""


class CloudNotConnectedError(CloudNotAvailableError):
    """Home Assistant Cloud's error: logged in but not connected."""


@contextmanager
def stand_in_cloud(
    hass: HomeAssistant, *, active: bool, loaded: bool = True, **calls: AsyncMock
) -> Iterator[None]:
    """Stand in for Home Assistant Cloud: a subscription (or not) and `calls`.

    The real component cannot be imported everywhere the tests run (newer
    releases need system libraries for its camera dependency), so the
    integration's lazy `from homeassistant.components import cloud` gets this.
    Unless `loaded` is false, the cloud counts as loaded.
    """
    if loaded:
        hass.config.components.add("cloud")
    stand_in = ModuleType("homeassistant.components.cloud")
    vars(stand_in).update(
        CloudNotAvailable=CloudNotAvailableError,
        CloudNotConnected=CloudNotConnectedError,
        async_active_subscription=lambda hass: active,
        **calls,
    )
    with (
        patch.dict(sys.modules, {"homeassistant.components.cloud": stand_in}),
        patch.object(homeassistant.components, "cloud", stand_in, create=True),
    ):
        yield
