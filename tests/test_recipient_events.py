"""Each report is one event of one delivery event entity: hers, else the account's.

A saved recipient's entity sits on her device (with her notify entity) and
takes the reports for her number; the account's takes every other number's.
Driven as a user does: real sends to the fake gateway, callbacks through the
webhook, recipients added, changed and removed through their flows, the entity
registry changed as the entity settings dialog does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import json
from pathlib import Path

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.smsoffice.client import DeliveryStatus
from custom_components.smsoffice.const import (
    CONF_ACCEPT_FOREIGN,
    DOMAIN,
)
from tests.conftest import (
    GUARD,
    MOTHER,
    recipient_form,
    report,
    send_sms,
    set_up,
    subentry_id,
    submit_recipient,
)

ACCOUNT_EVENTS = "event.sms_office_homealarm_delivery_reports_other_numbers"
MOTHER_EVENTS = "event.sms_office_homealarm_mother_delivery_report"
GUARD_EVENTS = "event.sms_office_homealarm_night_guard_delivery_report"
MOTHER_NOTIFY = "notify.sms_office_homealarm_mother"
OTHER = "995599000111"  # no saved recipient has this number
TRANSLATIONS = (
    Path(__file__).parent.parent / "custom_components" / DOMAIN / "translations"
)


async def alarm(hass: HomeAssistant, recipients: list[str], reference: str) -> None:
    """Send the alarm's SMS with `smsoffice.send_sms`."""
    await send_sms(
        hass, recipients=recipients, message="The alarm went off", reference=reference
    )


@pytest.fixture
def reported(
    hass: HomeAssistant, http: TestClient
) -> Callable[..., Awaitable[list[str]]]:
    """Bring a report through the webhook; return the event entities it changed."""
    changes = async_capture_events(hass, EVENT_STATE_CHANGED)

    async def bring(reference: str, number: str, status: str, **more: str) -> list[str]:
        changes.clear()
        await report(http, reference, number, status, **more)
        await hass.async_block_till_done()
        entity_ids = [str(change.data["entity_id"]) for change in changes]
        return [entity_id for entity_id in entity_ids if entity_id.startswith("event.")]

    return bring


async def test_a_report_is_one_event_of_one_entity(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    events: list[Event],
    reported: Callable[..., Awaitable[list[str]]],
) -> None:
    """Hers for a saved recipient's number, the account's for any other."""
    await alarm(hass, [MOTHER, GUARD, OTHER], "alarm-0001")

    assert await reported("alarm-0001", MOTHER, "delivered", operator="28202") == [
        MOTHER_EVENTS
    ]
    assert await reported("alarm-0001", OTHER, "expired") == [ACCOUNT_EVENTS]
    assert await reported(
        "alarm-0001", GUARD, "undelivered", reason="Absent subscriber"
    ) == [GUARD_EVENTS]
    assert await reported("alarm-0001", GUARD, "undelivered") == []  # a repeat: no news

    # Each carries the bus event's data, the status as its event type.
    assert len(events) == 3
    for event, entity_id in zip(
        events, (MOTHER_EVENTS, ACCOUNT_EVENTS, GUARD_EVENTS), strict=True
    ):
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.attributes["event_type"] == event.data["status"]
        for key, value in event.data.items():
            if key != "status":
                assert state.attributes[key] == value, key
    mother = hass.states.get(MOTHER_EVENTS)
    assert mother is not None
    assert mother.attributes["source"] == "webhook"
    assert mother.attributes["config_entry_id"] == loaded_entry.entry_id
    assert mother.attributes["operator"] == "28202"
    assert mother.attributes["friendly_name"] == (
        "SMS Office HomeAlarm Mother Delivery report"
    )
    account = hass.states.get(ACCOUNT_EVENTS)
    assert account is not None
    assert account.attributes["friendly_name"] == (
        "SMS Office HomeAlarm Delivery reports (other numbers)"
    )


async def test_other_systems_reports(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    events: list[Event],
    reported: Callable[..., Awaitable[list[str]]],
) -> None:
    """Reports of messages sent elsewhere (the option on) go by number too."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_ACCEPT_FOREIGN: True}
    )
    await hass.async_block_till_done()  # saved options reload the entry
    assert await reported("elsewhere-1", OTHER, "delivered") == [ACCOUNT_EVENTS]
    assert await reported("elsewhere-2", MOTHER, "delivered") == [MOTHER_EVENTS]
    assert len(events) == 2


@pytest.mark.parametrize("language", ["en", "ka"])
@pytest.mark.parametrize("key", ["delivery", "other_numbers"])
def test_event_types_have_names(language: str, key: str) -> None:
    """Every status, in English and Georgian, for both kinds of entity."""
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))
    names = strings["entity"]["event"][key]["state_attributes"]["event_type"]["state"]
    assert set(names) == {status.value for status in DeliveryStatus}
    english_names = english["entity"]["event"][key]["state_attributes"]["event_type"]
    for status, name in names.items():
        assert name.strip(), status
        if language == "ka":
            assert name != english_names["state"][status], status
            assert any("\u10d0" <= letter <= "\u10ff" for letter in name), status


async def test_removing_a_recipient(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    reported: Callable[..., Awaitable[list[str]]],
) -> None:
    """Her entity and device go; a later report for her number is the account's."""
    await alarm(hass, [MOTHER, GUARD], "alarm-0002")
    entity = entity_registry.async_get(MOTHER_EVENTS)
    assert entity is not None
    device_id = entity.device_id or ""

    assert hass.config_entries.async_remove_subentry(
        loaded_entry, subentry_id(loaded_entry, MOTHER)
    )
    await hass.async_block_till_done()
    assert entity_registry.async_get(MOTHER_EVENTS) is None
    assert entity_registry.async_get(MOTHER_NOTIFY) is None
    assert hass.states.get(MOTHER_EVENTS) is None
    assert device_registry.async_get(device_id) is None

    assert await reported("alarm-0002", MOTHER, "delivered") == [ACCOUNT_EVENTS]
    assert await reported("alarm-0002", GUARD, "delivered") == [GUARD_EVENTS]


async def test_adding_and_changing_recipients(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    reported: Callable[..., Awaitable[list[str]]],
) -> None:
    """The number's recipient is the one saved when the report comes."""
    await alarm(hass, [OTHER, MOTHER], "alarm-0003")

    # A new recipient with the number: her new entity takes its report.
    form = await recipient_form(hass, loaded_entry)
    await submit_recipient(hass, form, "Neighbour", "599 00 01 11")
    assert await reported("alarm-0003", OTHER, "delivered") == [
        "event.sms_office_homealarm_neighbour_delivery_report"
    ]

    # Mother gets another number: reports for her old one are the account's,
    # for the new one hers.
    new_number = "995568001122"
    form = await recipient_form(hass, loaded_entry, MOTHER)
    await submit_recipient(hass, form, "Mother", "568 00 11 22")
    await alarm(hass, [new_number], "alarm-0004")
    assert await reported("alarm-0003", MOTHER, "delivered") == [ACCOUNT_EVENTS]
    assert await reported("alarm-0004", new_number, "delivered") == [MOTHER_EVENTS]


async def test_a_disabled_entity_gets_no_reports_later(
    hass: HomeAssistant,
    http: TestClient,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    events: list[Event],
) -> None:
    """Enabling it again replays none of the reports that came meanwhile."""
    await alarm(hass, [MOTHER, OTHER], "alarm-0005")
    for entity_id in (ACCOUNT_EVENTS, MOTHER_EVENTS):
        entity_registry.async_update_entity(
            entity_id, disabled_by=er.RegistryEntryDisabler.USER
        )
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ACCOUNT_EVENTS) is None
    assert hass.states.get(MOTHER_EVENTS) is None

    await report(http, "alarm-0005", OTHER, "delivered")
    await report(http, "alarm-0005", MOTHER, "undelivered")
    await hass.async_block_till_done()
    assert [event.data["destination"] for event in events] == [OTHER, MOTHER]

    for entity_id in (ACCOUNT_EVENTS, MOTHER_EVENTS):
        entity_registry.async_update_entity(entity_id, disabled_by=None)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    for entity_id in (ACCOUNT_EVENTS, MOTHER_EVENTS):
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == "unknown", entity_id
        assert state.attributes.get("event_type") is None, entity_id


async def test_only_a_set_up_gaps_reports_are_held(
    hass: HomeAssistant,
    http: TestClient,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A report that waited over a minute for its entity is not shown."""
    await alarm(hass, [MOTHER, GUARD], "alarm-0006")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await report(http, "alarm-0006", MOTHER, "delivered")
    freezer.tick(timedelta(seconds=30))
    await report(http, "alarm-0006", GUARD, "delivered")
    freezer.tick(timedelta(seconds=31))

    assert await set_up(hass, loaded_entry)
    mother = hass.states.get(MOTHER_EVENTS)
    guard = hass.states.get(GUARD_EVENTS)
    assert mother is not None
    assert guard is not None
    assert mother.state == "unknown"  # 61 s: not a set-up gap's
    assert guard.attributes["event_type"] == "delivered"  # 31 s
