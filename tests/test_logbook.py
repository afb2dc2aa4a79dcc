"""The logbook: one readable, translated line per delivery report, none for a reload.

Through Home Assistant: the recorder and the logbook are set up, a real SMS is
sent to the fake gateway, the gateway's callback comes through the webhook,
and the logbook is read as the frontend's device page reads it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.smsoffice.const import DOMAIN
from tests.conftest import GUARD, MOTHER, WEBHOOK_ID
from tests.fake_smsoffice import FakeSmsOffice

EVENT_ENTITY = "event.sms_office_homealarm_delivery_report"
OTHER = "995599000111"  # no saved recipient has this number

type Logbook = Callable[..., Awaitable[list[dict[str, Any]]]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Any, enable_custom_integrations: None
) -> None:
    """The recorder first (before `hass`), then the custom integration."""


@pytest.fixture
async def logbook(
    hass: HomeAssistant,
    hass_ws_client: Callable[..., Awaitable[Any]],
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> Logbook:
    """Return a reader of the logbook as the account's device page shows it."""
    # The logbook depends on the frontend only for its panel, which needs no
    # frontend set up; the newest leg has no `hass_frontend` package to set up.
    hass.config.components.add("frontend")
    assert await async_setup_component(hass, "logbook", {})
    # Before any HTTP client freezes the router (the newest release minds).
    assert await async_setup_component(hass, "websocket_api", {})
    start = dt_util.utcnow()

    async def read(*, device_page: bool = True) -> list[dict[str, Any]]:
        await hass.async_block_till_done(wait_background_tasks=True)
        await async_wait_recording_done(hass)
        request: dict[str, Any] = {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
        }
        if device_page:
            entries = hass.config_entries.async_entries(DOMAIN)
            device = next(
                device
                for device in dr.async_entries_for_config_entry(
                    device_registry, entries[0].entry_id
                )
                if (DOMAIN, entries[0].entry_id) in device.identifiers
            )
            # What the device page asks for: its device and its entities.
            request["device_ids"] = [device.id]
            request["entity_ids"] = [
                entity.entity_id
                for entity in er.async_entries_for_device(entity_registry, device.id)
            ]
        client = await hass_ws_client(hass)
        await client.send_json_auto_id(request)
        response = await client.receive_json()
        assert response["success"], response
        lines: list[dict[str, Any]] = response["result"]
        return lines

    return read


async def send(hass: HomeAssistant, recipients: list[str], reference: str) -> None:
    """Send an SMS with `smsoffice.send_sms`."""
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {
            "recipients": recipients,
            "message": "The alarm went off",
            "reference": reference,
        },
        blocking=True,
        return_response=True,
    )


async def report(
    http: TestClient, reference: str, number: str, status: str, **more: str
) -> None:
    """Deliver the gateway's callback through the webhook."""
    response = await http.get(
        f"/api/webhook/{WEBHOOK_ID}",
        params={
            "reference": reference,
            "destination": number,
            "status": status,
            **more,
        },
    )
    assert (response.status, await response.text()) == (200, "OK")


def ours(lines: list[dict[str, Any]]) -> list[str]:
    """Return the messages of the lines the integration writes."""
    assert all(
        (line["domain"], line["entity_id"]) == (DOMAIN, EVENT_ENTITY)
        for line in lines
        if "message" in line
    ), lines
    return [line["message"] for line in lines if "message" in line]


def home_assistants(lines: list[dict[str, Any]]) -> list[str]:
    """Return the event entity's state lines, which Home Assistant writes itself."""
    return [
        line["state"]
        for line in lines
        if line.get("entity_id") == EVENT_ENTITY and "state" in line
    ]


async def test_logbook_one_line_per_report(
    hass: HomeAssistant,
    logbook: Logbook,
    gateway: FakeSmsOffice,
    http: TestClient,
) -> None:
    """What happened and to whom: a saved recipient by name, else the number."""
    await send(hass, [MOTHER, GUARD, OTHER], "alarm-0001")
    await report(http, "alarm-0001", MOTHER, "delivered")
    await report(http, "alarm-0001", GUARD, "undelivered", reason="Absent subscriber")
    await report(http, "alarm-0001", OTHER, "expired")
    await report(http, "alarm-0001", MOTHER, "delivered")  # a repeat: no news

    lines = await logbook()
    assert ours(lines) == [
        "SMS to Mother was delivered",
        "SMS to Night guard could not be delivered (Absent subscriber)",
        f"SMS to {OTHER} expired before it was delivered",
    ]
    # Home Assistant's own line for each trigger of the event entity: no
    # integration can leave an entity's state changes out of the logbook.
    assert len(home_assistants(lines)) == 3
    # The whole logbook: the bus event is not a line of its own.
    assert ours(await logbook(device_page=False)) == ours(lines)


@pytest.mark.parametrize(
    ("status", "more", "english", "georgian"),
    [
        (
            "pending",
            {},
            "SMS to Mother is on its way",
            "SMS გზაშია მიმღებისკენ: Mother",
        ),
        ("delivered", {}, "SMS to Mother was delivered", "SMS მიეწოდა მიმღებს: Mother"),
        (
            "undelivered",
            {},
            "SMS to Mother could not be delivered",
            "SMS ვერ მიეწოდა მიმღებს: Mother",
        ),
        (
            "undelivered",
            {"reason": "Absent subscriber"},
            "SMS to Mother could not be delivered (Absent subscriber)",
            "SMS ვერ მიეწოდა მიმღებს: Mother (Absent subscriber)",
        ),
        (
            "expired",
            {},
            "SMS to Mother expired before it was delivered",
            "SMS-ის ვადა ამოიწურა და ვერ მიეწოდა მიმღებს: Mother",
        ),
        (
            "unknown",
            {},
            "SMS to Mother has an unknown delivery status",
            "SMS-ის მიწოდების სტატუსი უცნობია, მიმღები: Mother",
        ),
    ],
)
@pytest.mark.parametrize("language", ["en", "ka"])
async def test_logbook_line_in_the_servers_language(  # noqa: PLR0917 - fixtures
    hass: HomeAssistant,
    logbook: Logbook,
    gateway: FakeSmsOffice,
    http: TestClient,
    language: str,
    status: str,
    more: dict[str, str],
    english: str,
    georgian: str,
) -> None:
    """Each status in words, in the language Home Assistant's server speaks."""
    hass.config.language = language  # changed after set-up: loaded when needed
    await send(hass, [MOTHER], "alarm-0002")
    await report(http, "alarm-0002", MOTHER, status, **more)
    assert ours(await logbook()) == [english if language == "en" else georgian]


async def test_logbook_no_line_for_a_reload(
    hass: HomeAssistant,
    logbook: Logbook,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    """A reload sends nothing and reports nothing: no line of ours."""
    await send(hass, [MOTHER], "alarm-0003")
    await report(http, "alarm-0003", MOTHER, "delivered")
    before = await logbook()
    assert ours(before) == ["SMS to Mother was delivered"]

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    after = await logbook()
    assert ours(after) == ours(before)
    # Home Assistant's own: "became unavailable" at unload, then the restored
    # last event at set-up (unavailable -> the event's time).
    assert home_assistants(after)[len(home_assistants(before)) :] == [
        "unavailable",
        home_assistants(before)[-1],
    ]
