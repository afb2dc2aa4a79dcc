"""Notify: an entity per saved recipient, and the legacy `notify.<name>` action."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType
from typing import Any

from homeassistant.components.notify import (
    ATTR_MESSAGE,
    ATTR_TITLE,
    DOMAIN as NOTIFY_DOMAIN,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    discovery,
    entity_registry as er,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.const import CONF_FLASH, CONF_URGENT, DOMAIN
from tests.client.test_numbers import many_usable
from tests.conftest import (
    API_KEY,
    GUARD,
    MOTHER,
    SENDER,
    entry_device,
    issue,
    notify as notify_entity,
    notify_legacy,
    recipient_form,
    set_up,
    subentry_id,
    submit_recipient,
)
from tests.fake_smsoffice import FakeSmsOffice

MOTHER_ENTITY = "notify.sms_office_homealarm_mother"
GUARD_ENTITY = "notify.sms_office_homealarm_night_guard"
LEGACY = "sms_office_homealarm"


def sends(gateway: FakeSmsOffice) -> list[dict[str, str]]:
    """Return the forms of the send requests, checking how they were made."""
    forms = []
    for request in gateway.requests_to("send"):
        assert (request.method, request.path) == ("POST", "/api/v2/send/")
        assert request.raw_query_string == ""
        assert request.form["key"] == API_KEY
        forms.append(request.form)
    return forms


def add_subentry(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    subentry_type: str,
    name: str,
    number: str,
) -> None:
    """Add a subentry to the entry, as an integration's flow would."""
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType({"name": name, "number": number}),
            subentry_type=subentry_type,
            title=name,
            unique_id=number,
        ),
    )


pytestmark = pytest.mark.usefixtures("unload_entries")


# ------------------------------------------------------------------ entities


def service_and_recipient_devices(
    hass: HomeAssistant, entry: MockConfigEntry
) -> tuple[dr.DeviceEntry, dict[str, dr.DeviceEntry]]:
    """Return the entry's service device and its recipients' devices by number."""
    numbers = [subentry.data["number"] for subentry in entry.subentries.values()]
    return entry_device(hass, entry), {
        number: entry_device(hass, entry, number) for number in numbers
    }


async def test_recipient_devices_hang_off_the_service_device(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """After setup and after a recipient is added through its form."""
    service, recipients = service_and_recipient_devices(hass, loaded_entry)
    assert set(recipients) == {MOTHER, GUARD}
    for device in recipients.values():
        assert device.via_device_id == service.id

    result = await recipient_form(hass, loaded_entry)
    result = await submit_recipient(hass, result, "Neighbour", "599 00 01 11")
    assert result["type"] is FlowResultType.CREATE_ENTRY

    again, recipients = service_and_recipient_devices(hass, loaded_entry)
    assert again.id == service.id
    assert set(recipients) == {MOTHER, GUARD, "995599000111"}
    for device in recipients.values():
        assert device.via_device_id == service.id
    assert hass.states.get("notify.sms_office_homealarm_neighbour") is not None
    # Home Assistant logs a `via_device` it cannot resolve (or a deprecated one).
    assert "via_device" not in caplog.text


async def test_removing_a_recipient_removes_its_device(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """No stale device: a recipient's device and entity go with its subentry."""
    service, recipients = service_and_recipient_devices(hass, loaded_entry)
    guard = subentry_id(loaded_entry, GUARD)
    assert hass.config_entries.async_remove_subentry(loaded_entry, guard)
    await hass.async_block_till_done()

    devices = dr.async_get(hass)
    assert devices.async_get(recipients[GUARD].id) is None
    assert devices.async_get(recipients[MOTHER].id) is not None
    assert devices.async_get(service.id) is not None
    assert er.async_get(hass).async_get(GUARD_ENTITY) is None
    assert hass.states.get(GUARD_ENTITY) is None


async def test_entity_sends_to_its_recipient(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    await notify_entity(hass, MOTHER_ENTITY, **{ATTR_MESSAGE: "Alarm at home"})
    await notify_entity(
        hass,
        GUARD_ENTITY,
        **{ATTR_MESSAGE: "Front door opened", ATTR_TITLE: "Alarm"},
    )

    first, second = sends(gateway)
    assert (first["destination"], first["content"]) == (MOTHER, "Alarm at home")
    assert (second["destination"], second["content"]) == (
        GUARD,
        "Alarm\nFront door opened",
    )
    for form in (first, second):
        assert form["sender"] == SENDER
        assert (form["urgent"], form["contentType"]) == ("false", "1")
        assert 1 <= len(form["reference"]) <= 20
    assert first["reference"] != second["reference"]
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert outbox.get(first["reference"], MOTHER) is not None
    assert outbox.get(second["reference"], GUARD) is not None

    state = hass.states.get(MOTHER_ENTITY)
    assert state is not None
    assert dt_util.parse_datetime(state.state) is not None


@pytest.mark.parametrize("options", [{CONF_URGENT: True, CONF_FLASH: True}])
async def test_entity_uses_the_default_options(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    await notify_entity(hass, MOTHER_ENTITY, **{ATTR_MESSAGE: "Urgent"})
    (form,) = sends(gateway)
    assert (form["urgent"], form["contentType"]) == ("true", "2")


async def test_entity_raises_translated_errors(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    gateway.balance = 0
    with pytest.raises(HomeAssistantError) as err:
        await notify_entity(hass, MOTHER_ENTITY, **{ATTR_MESSAGE: "Hi"})
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "balance_too_low"
    assert issue(hass, "low_balance", loaded_entry) is not None

    with pytest.raises(ServiceValidationError) as err:
        await notify_entity(hass, MOTHER_ENTITY, **{ATTR_MESSAGE: "x" * 1001})
    assert err.value.translation_key == "invalid_content"
    assert len(gateway.requests_to("send")) == 1


async def test_a_new_recipient_gets_an_entity(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    add_subentry(hass, loaded_entry, "recipient", "Neighbour", "995599000111")
    await hass.async_block_till_done()
    await notify_entity(
        hass, "notify.sms_office_homealarm_neighbour", **{ATTR_MESSAGE: "Hi"}
    )
    (form,) = sends(gateway)
    assert form["destination"] == "995599000111"


# ---------------------------------------------------------- legacy action


async def test_legacy_action_with_names_and_numbers(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    assert hass.services.has_service(NOTIFY_DOMAIN, LEGACY)
    await notify_legacy(
        hass,
        message="Water leak",
        title="Basement",
        target=["mother", "Night guard", "555 11 22 33"],
    )
    await notify_legacy(hass, message="Single", target="+995 577 65 43 21")

    first, second = sends(gateway)
    assert first["destination"] == f"{MOTHER},{GUARD},995555112233"
    assert first["content"] == "Basement\nWater leak"
    assert second["destination"] == GUARD
    assert second["content"] == "Single"


async def test_legacy_action_to_many_targets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    """Above `INLINE_LIMIT` the numbers are checked in a worker thread, the same way."""
    raw, usable, expected = many_usable()

    await notify_legacy(
        hass, message="Storm", target=["Mother", *usable, "night GUARD"]
    )
    with pytest.raises(ServiceValidationError) as err:
        await notify_legacy(hass, message="Storm", target=["Mother", *raw])

    (form,) = sends(gateway)
    assert form["destination"] == ",".join([MOTHER, *expected.valid, GUARD])
    assert err.value.translation_key == "invalid_number"
    assert err.value.translation_placeholders == {
        "numbers": ", ".join(expected.invalid)
    }


async def test_legacy_action_data_reaches_the_gateway(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    when = (dt_util.now() + timedelta(hours=1)).replace(microsecond=0)
    await notify_legacy(
        hass,
        message="Later",
        target=[MOTHER],
        data={
            "sender": "smsoffice",
            "urgent": True,
            "flash": True,
            "schedule": when.isoformat(),
            "reference": "legacy-1",
        },
    )
    (form,) = sends(gateway)
    assert form["sender"] == "smsoffice"
    assert (form["urgent"], form["contentType"]) == ("true", "2")
    assert form["scheduledAt"] == str(int(when.timestamp()))
    assert form["reference"] == "legacy-1"
    assert loaded_entry.runtime_data.tracker.outbox.get("legacy-1", MOTHER) is not None


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"message": "Hi"}, "no_target"),
        ({"message": "Hi", "target": []}, "no_target"),
        ({"message": "Hi", "target": ["Aunt"]}, "invalid_number"),
        (
            {"message": "Hi", "target": [MOTHER], "data": {"colour": "red"}},
            "invalid_notify_data",
        ),
        (
            {"message": "Hi", "target": [MOTHER], "data": {"schedule": "soon"}},
            "invalid_notify_data",
        ),
        (
            {"message": "Hi", "target": [MOTHER], "data": {"sender": "Bad sender!"}},
            "invalid_sender",
        ),
    ],
)
async def test_legacy_action_refuses_invalid_input(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    data: dict[str, Any],
    key: str,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await notify_legacy(hass, **data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert gateway.requests_to("send") == []


async def test_legacy_action_raises_gateway_errors(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    with pytest.raises(HomeAssistantError) as err:
        await notify_legacy(
            hass, message="Hi", target=[MOTHER], data={"sender": "NotApproved"}
        )
    assert err.value.translation_key == "sender_rejected"
    assert len(gateway.requests_to("send")) == 1


async def test_legacy_action_follows_the_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert not hass.services.has_service(NOTIFY_DOMAIN, LEGACY)

    assert await set_up(hass, loaded_entry)
    assert hass.services.has_service(NOTIFY_DOMAIN, LEGACY)
    await notify_legacy(hass, message="Back", target=["Mother"])
    assert [form["content"] for form in sends(gateway)] == ["Back"]


async def test_legacy_platform_is_not_for_yaml(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """`notify: - platform: smsoffice` in YAML makes no action: set it up in the UI."""
    assert await async_setup_component(
        hass, NOTIFY_DOMAIN, {NOTIFY_DOMAIN: [{"platform": DOMAIN, "name": "yaml"}]}
    )
    await hass.async_block_till_done()
    assert not hass.services.has_service(NOTIFY_DOMAIN, "yaml")
    assert "Failed to initialize notification service smsoffice" in caplog.text


async def test_legacy_platform_needs_its_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Discovered for an entry that is gone: no action, and no error."""
    await discovery.async_load_platform(
        hass, NOTIFY_DOMAIN, DOMAIN, {"name": "gone", "entry_id": "gone"}, {}
    )
    await hass.async_block_till_done()
    assert not hass.services.has_service(NOTIFY_DOMAIN, "gone")
    assert hass.services.has_service(NOTIFY_DOMAIN, LEGACY)  # the entry's own
    assert "Error setting up platform" not in caplog.text


async def test_only_recipients_are_notify_targets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    add_subentry(hass, loaded_entry, "template", "Template", "995599000222")
    await hass.async_block_till_done()
    assert hass.states.get("notify.sms_office_homealarm_template") is None
    with pytest.raises(ServiceValidationError) as err:
        await notify_legacy(hass, message="Hi", target=["Template"])
    assert err.value.translation_key == "invalid_number"
    assert gateway.requests_to("send") == []
