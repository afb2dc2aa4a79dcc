"""The logbook: one row per delivery report, Home Assistant's own, none of ours.

Through Home Assistant: the recorder and the logbook are set up, a real SMS is
sent to the fake gateway, the gateway's callback comes through the webhook,
and the logbook is read as the frontend's device pages read it. The row of a
report is the state of the event entity that took it (the recipient's, on her
device, else the account's); the integration writes no `logbook_entry` and
describes no bus event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.const import EVENT_LOGBOOK_ENTRY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from tests.conftest import GUARD, MOTHER, report
from tests.test_recipient_events import (
    ACCOUNT_EVENTS,
    GUARD_EVENTS,
    MOTHER_EVENTS,
    OTHER,
    alarm,
)

type Logbook = Callable[[str | None], Awaitable[list[dict[str, Any]]]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Any, enable_custom_integrations: None
) -> None:
    """The recorder first (before `hass`), then the custom integration."""


@pytest.fixture
async def logbook(
    hass: HomeAssistant,
    hass_ws_client: Callable[..., Awaitable[Any]],
    entity_registry: er.EntityRegistry,
) -> Logbook:
    """Return a reader of the logbook: a device page's (by an entity on it), or all."""
    # The logbook depends on the frontend only for its panel, which needs no
    # frontend set up; the newest leg has no `hass_frontend` package to set up.
    hass.config.components.add("frontend")
    assert await async_setup_component(hass, "logbook", {})
    # Before any HTTP client freezes the router (the newest release minds).
    assert await async_setup_component(hass, "websocket_api", {})
    start = dt_util.utcnow()

    async def read(device_of: str | None) -> list[dict[str, Any]]:
        await hass.async_block_till_done(wait_background_tasks=True)
        await async_wait_recording_done(hass)
        request: dict[str, Any] = {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
        }
        if device_of is not None:
            entity = entity_registry.async_get(device_of)
            assert entity is not None
            assert entity.device_id is not None
            # What the device page asks for: its device and its entities.
            request["device_ids"] = [entity.device_id]
            request["entity_ids"] = [
                entry.entity_id
                for entry in er.async_entries_for_device(
                    entity_registry, entity.device_id
                )
            ]
        client = await hass_ws_client(hass)
        await client.send_json_auto_id(request)
        response = await client.receive_json()
        assert response["success"], response
        rows: list[dict[str, Any]] = response["result"]
        return rows

    return read


def described(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the rows that are not an entity's state: written or described lines."""
    return [row for row in rows if "state" not in row]


def states(rows: list[dict[str, Any]], entity_id: str) -> list[str]:
    """Return an entity's state rows, which Home Assistant writes itself."""
    return [
        row["state"]
        for row in rows
        if row.get("entity_id") == entity_id and "state" in row
    ]


async def test_one_row_per_report_on_the_entity_that_took_it(
    hass: HomeAssistant, logbook: Logbook, http: TestClient
) -> None:
    """Her device shows her reports; the account's device the other numbers'."""
    written = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    await alarm(hass, [MOTHER, GUARD, OTHER], "alarm-0001")
    await report(http, "alarm-0001", MOTHER, "delivered")
    await report(http, "alarm-0001", GUARD, "undelivered", reason="Absent subscriber")
    await report(http, "alarm-0001", OTHER, "expired")
    await report(http, "alarm-0001", MOTHER, "delivered")  # a repeat: no news

    everything = await logbook(None)
    assert written == []
    # No line of our own, no described bus event: only entities' states.
    assert [row for row in described(everything) if "smsoffice" in str(row)] == []
    for entity_id in (MOTHER_EVENTS, GUARD_EVENTS, ACCOUNT_EVENTS):
        assert len(states(everything, entity_id)) == 1, entity_id

    mother = await logbook(MOTHER_EVENTS)
    assert len(states(mother, MOTHER_EVENTS)) == 1
    assert states(mother, GUARD_EVENTS) == states(mother, ACCOUNT_EVENTS) == []
    account = await logbook(ACCOUNT_EVENTS)
    assert len(states(account, ACCOUNT_EVENTS)) == 1
    assert states(account, MOTHER_EVENTS) == []


async def test_a_reloads_rows_are_home_assistants(
    hass: HomeAssistant,
    logbook: Logbook,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    """What the README says a reload shows: unavailable, then the last event."""
    await alarm(hass, [MOTHER], "alarm-0003")
    await report(http, "alarm-0003", MOTHER, "delivered")
    before = states(await logbook(MOTHER_EVENTS), MOTHER_EVENTS)
    assert len(before) == 1

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    rows = await logbook(MOTHER_EVENTS)
    assert described(rows) == []
    # "became unavailable" at unload, then the restored last event at set-up
    # (unavailable -> the event's time): nothing reported twice.
    assert states(rows, MOTHER_EVENTS) == [*before, "unavailable", before[-1]]
