"""Delivery reports through the webhook: real HTTP requests to /api/webhook/<id>."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import payload
from aiohttp.test_utils import TestClient
from homeassistant.core import Event, HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.smsoffice.const import (
    CONF_ACCEPT_FOREIGN,
    CONF_CLOUDHOOK_URL,
    CONF_WEBHOOK_ID,
)
from custom_components.smsoffice.webhook import MAX_BODY_BYTES, webhook_url
from tests.conftest import GUARD, MOTHER, WEBHOOK_ID, post_with_a_held_body
from tests.fake_smsoffice import FakeSmsOffice

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
# Mother's delivery event entity, on her device: it takes her reports.
EVENT_ENTITY = "event.sms_office_homealarm_mother_delivery_report"
GUARD_EVENT_ENTITY = "event.sms_office_homealarm_night_guard_delivery_report"
REFERENCE = "alarm-0001"


async def send(
    hass: HomeAssistant, recipients: list[str], reference: str | None = REFERENCE
) -> dict[str, Any]:
    """Send a message through the action and return its response."""
    data: dict[str, Any] = {"recipients": recipients, "message": "The alarm went off"}
    if reference is not None:
        data["reference"] = reference
    response = await hass.services.async_call(
        "smsoffice", "send_sms", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def callback_params(**overrides: str | None) -> dict[str, str]:
    """Return the parameters of a well-formed callback, with some changed or removed."""
    params: dict[str, str | None] = {
        "reference": REFERENCE,
        "status": "delivered",
        "reason": "",
        "destination": MOTHER,
        "timestamp": "20250102030405",
        "operator": "28202",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


async def get(http: TestClient, params: dict[str, str]) -> tuple[int, str]:
    """Make one GET callback; return the status and the body."""
    response = await http.get(WEBHOOK_PATH, params=params)
    return response.status, await response.text()


async def test_gateway_callbacks_after_a_real_send(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """The fake gateway calls back for each destination: OK, one event each."""
    gateway.callback_url = str(http.make_url(WEBHOOK_PATH))
    gateway.set_outcome(GUARD, "undelivered")
    sent = await send(hass, [MOTHER, GUARD], reference=None)

    callbacks = await gateway.wait_for_callbacks(2)
    await hass.async_block_till_done()

    assert [(c.http_status, c.body) for c in callbacks] == [(200, "OK"), (200, "OK")]
    by_destination = {event.data["destination"]: event.data for event in events}
    assert len(events) == 2
    mother = by_destination[MOTHER]
    assert mother["config_entry_id"] == loaded_entry.entry_id
    assert mother["reference"] == sent["reference"]
    assert mother["status"] == "delivered"
    assert mother["reason"] == ""
    assert mother["operator"] == "28202"
    assert mother["source"] == "webhook"
    assert mother["timestamp"].endswith("+04:00")
    guard = by_destination[GUARD]
    assert guard["status"] == "undelivered"
    assert guard["reason"] == "Absent subscriber"

    outbox = loaded_entry.runtime_data.tracker.outbox
    assert outbox.get(sent["reference"], MOTHER).status == "delivered"
    assert outbox.get(sent["reference"], GUARD).status == "undelivered"

    # Each report on its recipient's event entity.
    for entity_id, status in (
        (EVENT_ENTITY, "delivered"),
        (GUARD_EVENT_ENTITY, "undelivered"),
    ):
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.attributes["event_type"] == status
        assert state.attributes["reference"] == sent["reference"]


async def test_gateway_pending_then_delivered_title_case(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
) -> None:
    """Statuses are compared without case; pending then delivered are two events."""
    gateway.callback_url = str(http.make_url(WEBHOOK_PATH))
    gateway.status_case = "title"
    gateway.set_outcome(MOTHER, "pending_then_delivered")
    await send(hass, [MOTHER])

    callbacks = await gateway.wait_for_callbacks(2)
    await hass.async_block_till_done()

    assert [c.params["status"] for c in callbacks] == ["Pending", "Delivered"]
    assert all(c.body == "OK" for c in callbacks)
    assert [e.data["status"] for e in events] == ["pending", "delivered"]
    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.attributes["event_type"] == "delivered"


async def test_get_callback_fields(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """A GET callback: Georgian local time, reason and operator kept."""
    await send(hass, [MOTHER])

    status, body = await get(
        http,
        callback_params(
            status="UNDELIVERED",
            reason="Absent subscriber",
            destination=f"+{MOTHER}",
            timestamp="20250102030405",
            operator="28201",
        ),
    )
    await hass.async_block_till_done()

    assert (status, body) == (200, "OK")
    assert len(events) == 1
    assert events[0].data == {
        "config_entry_id": events[0].data["config_entry_id"],
        "reference": REFERENCE,
        "destination": MOTHER,
        "status": "undelivered",
        "reason": "Absent subscriber",
        "timestamp": "2025-01-02T03:04:05+04:00",
        "operator": "28201",
        "source": "webhook",
    }
    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.attributes["event_type"] == "undelivered"
    assert state.attributes["destination"] == MOTHER
    assert state.attributes["reason"] == "Absent subscriber"
    assert state.attributes["timestamp"] == "2025-01-02T03:04:05+04:00"
    assert state.attributes["operator"] == "28201"


async def test_callback_without_timestamp(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """Only reference, destination and status are required."""
    await send(hass, [MOTHER])

    status, body = await get(
        http, {"reference": REFERENCE, "destination": MOTHER, "status": "expired"}
    )
    await hass.async_block_till_done()

    assert (status, body) == (200, "OK")
    assert events[0].data["timestamp"] is None
    assert events[0].data["status"] == "expired"


async def test_destination_in_national_form_matches(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """A destination written another way still finds the message it reports on."""
    await send(hass, [MOTHER])

    status, _ = await get(http, callback_params(destination="00" + MOTHER))
    await hass.async_block_till_done()

    assert status == 200
    assert [e.data["destination"] for e in events] == [MOTHER]


async def test_destination_the_message_was_not_sent_to(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """A known reference at a number it was not sent to is acknowledged, not applied."""
    await send(hass, [MOTHER])

    # As normalised, in a national form that has to be read first, and digits
    # that are no number.
    for destination in (GUARD, "0" + GUARD[3:], "123456"):
        status, body = await get(http, callback_params(destination=destination))
        assert (status, body) == (200, "OK")
    await hass.async_block_till_done()

    assert events == []


async def test_post_form_callback(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """A POST with a form body is read like a GET."""
    await send(hass, [MOTHER])

    response = await http.post(WEBHOOK_PATH, data=callback_params())
    await hass.async_block_till_done()

    assert response.status == 200
    assert await response.text() == "OK"
    assert [e.data["status"] for e in events] == ["delivered"]


async def test_post_query_callback(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """A POST with the parameters in the query, and no body."""
    await send(hass, [MOTHER])

    response = await http.post(WEBHOOK_PATH, params=callback_params(status="Delivered"))
    await hass.async_block_till_done()

    assert response.status == 200
    assert await response.text() == "OK"
    assert len(events) == 1


async def test_post_chunked_form_callback(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """A form body sent in chunks is read whole."""
    await send(hass, [MOTHER])
    body = "&".join(f"{k}={v}" for k, v in callback_params().items()).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]
            await asyncio.sleep(0.01)  # arrives in pieces: the handler must wait

    response = await http.post(
        WEBHOOK_PATH,
        data=payload.AsyncIterablePayload(chunks()),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    await hass.async_block_till_done()

    assert response.status == 200
    assert len(events) == 1


async def test_forged_reference_is_acknowledged_and_ignored(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """A reference never sent here: OK (not to give anything away), no event."""
    status, body = await get(http, callback_params(reference="someone-else"))
    await hass.async_block_till_done()

    assert (status, body) == (200, "OK")
    # A well-formed destination that is no possible phone number: also ignored.
    status, body = await get(http, callback_params(destination="9" * 15))
    assert (status, body) == (200, "OK")
    assert events == []
    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.state == "unknown"


@pytest.fixture
def options(options: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Options, changed by an indirect parameter."""
    options.update(getattr(request, "param", {}))
    return options


@pytest.mark.parametrize("options", [{CONF_ACCEPT_FOREIGN: True}], indirect=True)
async def test_foreign_reports_when_accepted(
    hass: HomeAssistant, http: TestClient, events: list[Event]
) -> None:
    """With accept_foreign_reports, other systems' messages fire events too, once."""
    for _ in range(2):
        status, body = await get(http, callback_params(reference="crm-42"))
        assert (status, body) == (200, "OK")
    status, body = await get(
        http, callback_params(reference="crm-42", status="pending")
    )
    assert (status, body) == (200, "OK")
    await hass.async_block_till_done()

    assert [(e.data["reference"], e.data["status"]) for e in events] == [
        ("crm-42", "delivered")
    ]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"reference": None}, "missing or invalid reference"),
        ({"reference": "   "}, "missing or invalid reference"),
        ({"reference": "r" * 21}, "missing or invalid reference"),
        ({"destination": None}, "missing or invalid destination"),
        ({"destination": "not-a-number"}, "missing or invalid destination"),
        ({"destination": "12345"}, "missing or invalid destination"),
        ({"destination": "9" * 16}, "missing or invalid destination"),
        ({"destination": "²²²²²²²²"}, "missing or invalid destination"),
        ({"destination": "٩٩٥٥٥٥١٢٣٤٥٦"}, "missing or invalid destination"),
        ({"status": None}, "missing or unknown status"),
        ({"status": "sent"}, "missing or unknown status"),
        ({"status": ""}, "missing or unknown status"),
        ({"timestamp": "2025-01-02 03:04:05"}, "invalid timestamp"),
        ({"timestamp": "20251302030405"}, "invalid timestamp"),
        ({"timestamp": "20250230030405"}, "invalid timestamp"),
        ({"timestamp": "2025112030405"}, "invalid timestamp"),
        ({"timestamp": "202501020304051"}, "invalid timestamp"),
        ({"timestamp": "2025010203040\u0665"}, "invalid timestamp"),
    ],
)
async def test_malformed_callbacks(
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    overrides: dict[str, str | None],
    reason: str,
) -> None:
    """Anything that cannot be a report: 400 with a short reason, nothing fired."""
    await send(hass, [MOTHER])

    status, body = await get(http, callback_params(**overrides))
    assert (status, body) == (400, reason)
    response = await http.post(WEBHOOK_PATH, data=callback_params(**overrides))
    assert (response.status, await response.text()) == (400, reason)
    await hass.async_block_till_done()

    assert events == []
    outbox = hass.config_entries.async_entries("smsoffice")[
        0
    ].runtime_data.tracker.outbox
    assert outbox.get(REFERENCE, MOTHER).status is None


async def test_no_parameters(http: TestClient, events: list[Event]) -> None:
    """A bare GET (someone checking the URL) is refused without an error."""
    assert await get(http, {}) == (400, "missing or invalid reference")
    assert events == []


async def test_body_not_utf8(http: TestClient, events: list[Event]) -> None:
    """A form body that is not UTF-8 is refused."""
    response = await http.post(
        WEBHOOK_PATH,
        data=b"reference=\xff\xfe&status=delivered",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (response.status, await response.text()) == (400, "body is not UTF-8")
    assert events == []


async def test_other_methods_refused(http: TestClient) -> None:
    """Only GET and POST (Home Assistant answers the others)."""
    response = await http.put(WEBHOOK_PATH, params=callback_params())
    assert response.status == 405


async def test_oversized_query(http: TestClient, events: list[Event]) -> None:
    """A long query is refused by us; a huge one by the HTTP server; never a 500."""
    status, body = await get(http, callback_params(reason="x" * (MAX_BODY_BYTES + 1)))
    assert (status, body) == (400, "query too long")

    response = await http.get(WEBHOOK_PATH + "?reason=" + "x" * 200_000)
    assert response.status in (400, 414, 431)
    assert events == []


async def test_oversized_body(http: TestClient, events: list[Event]) -> None:
    """A large body is refused, with or without a length."""
    big = callback_params(reason="x" * (MAX_BODY_BYTES + 1))
    response = await http.post(WEBHOOK_PATH, data=big)
    assert (response.status, await response.text()) == (400, "body too large")

    huge = b"reason=" + b"x" * 1_000_000

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    response = await http.post(
        WEBHOOK_PATH,
        data=payload.AsyncIterablePayload(chunks()),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (response.status, await response.text()) == (400, "body too large")
    assert events == []


async def test_duplicate_callbacks(
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """The same report twice: OK both times, one event."""
    await send(hass, [MOTHER])

    assert await get(http, callback_params()) == (200, "OK")
    assert await get(http, callback_params(status="DELIVERED")) == (200, "OK")
    await hass.async_block_till_done()

    assert len(events) == 1
    record = loaded_entry.runtime_data.tracker.outbox.get(REFERENCE, MOTHER)
    assert record.status == "delivered"


async def test_out_of_order_statuses(
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Delivered, then a late Pending: one event, the status stays delivered."""
    await send(hass, [MOTHER, GUARD])

    assert await get(http, callback_params()) == (200, "OK")
    assert await get(http, callback_params(status="pending")) == (200, "OK")
    assert await get(http, callback_params(status="unknown")) == (200, "OK")
    # Another destination of the same message is a separate report.
    assert await get(http, callback_params(destination=GUARD, status="unknown")) == (
        200,
        "OK",
    )
    assert await get(http, callback_params(destination=GUARD, status="pending")) == (
        200,
        "OK",
    )
    await hass.async_block_till_done()

    assert [(e.data["destination"], e.data["status"]) for e in events] == [
        (MOTHER, "delivered"),
        (GUARD, "unknown"),
    ]
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert outbox.get(REFERENCE, MOTHER).status == "delivered"
    assert outbox.get(REFERENCE, GUARD).status == "unknown"
    state = hass.states.get(GUARD_EVENT_ENTITY)
    assert state is not None
    assert state.attributes["event_type"] == "unknown"


async def test_restart_between_send_and_report(
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """The outbox survives an unload and reload; reports match before and after."""
    await send(hass, [MOTHER, GUARD])
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    # While unloaded the webhook stays: the report is applied, once.
    assert await get(http, callback_params()) == (200, "OK")
    await hass.async_block_till_done()
    assert [(e.data["destination"], e.data["status"]) for e in events] == [
        (MOTHER, "delivered")
    ]

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    # The same report again is no news; the other destination's is.
    assert await get(http, callback_params()) == (200, "OK")
    assert await get(http, callback_params(destination=GUARD, status="expired")) == (
        200,
        "OK",
    )
    await hass.async_block_till_done()

    assert [
        (e.data["reference"], e.data["destination"], e.data["status"]) for e in events
    ] == [(REFERENCE, MOTHER, "delivered"), (REFERENCE, GUARD, "expired")]
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert outbox.get(REFERENCE, MOTHER).status == "delivered"
    assert outbox.get(REFERENCE, GUARD).status == "expired"


async def test_reports_after_the_entry_is_removed(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Reports that arrive after the entry is removed: no 500, no event."""
    gateway.callback_url = str(http.make_url(WEBHOOK_PATH))
    gateway.callback_delay = 1.0  # time enough to remove the entry
    await send(hass, [MOTHER, GUARD])

    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    callbacks = await gateway.wait_for_callbacks(2)
    await hass.async_block_till_done()

    assert [c.http_status for c in callbacks] == [200, 200]
    assert events == []
    assert hass.states.get(EVENT_ENTITY) is None


async def test_callback_while_not_loaded_is_acknowledged(
    hass: HomeAssistant,
    http: TestClient,
    loaded_entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """A request still coming in when the entry unloads: OK, and applied.

    Its body is held back until the entry has unloaded. Whether Home Assistant
    had passed it to the handler by then or not, the webhook is still there.
    """
    await send(hass, [MOTHER])
    outbox = loaded_entry.runtime_data.tracker.outbox
    body = "&".join(f"{k}={v}" for k, v in callback_params().items()).encode()
    response, unloaded = await post_with_a_held_body(
        http,
        WEBHOOK_PATH,
        body,
        hass.config_entries.async_unload(loaded_entry.entry_id),
    )
    assert unloaded

    assert (response.status, await response.text()) == (200, "OK")
    await hass.async_block_till_done()
    assert [(e.data["reference"], e.data["status"]) for e in events] == [
        (REFERENCE, "delivered")
    ]
    assert outbox.get(REFERENCE, MOTHER).status == "delivered"


async def test_webhook_url(hass: HomeAssistant) -> None:
    """The URL to paste, and whether the internet reaches it."""
    data = {CONF_WEBHOOK_ID: WEBHOOK_ID}
    assert webhook_url(hass, data) == (WEBHOOK_PATH, False)

    await async_process_ha_core_config(
        hass, {"internal_url": "http://192.168.1.10:8123"}
    )
    assert webhook_url(hass, data) == ("http://192.168.1.10:8123" + WEBHOOK_PATH, False)

    await async_process_ha_core_config(
        hass, {"external_url": "https://home.example.ge"}
    )
    assert webhook_url(hass, data) == ("https://home.example.ge" + WEBHOOK_PATH, True)

    cloudhook = "https://hooks.nabu.casa/abc"
    assert webhook_url(hass, {**data, CONF_CLOUDHOOK_URL: cloudhook}) == (
        cloudhook,
        True,
    )
