"""Device triggers on the account's and the recipients' devices.

Through Home Assistant's device automation API and real automations.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smsoffice.const import DOMAIN
from tests.conftest import (
    GUARD,
    MOTHER,
    entry_device,
    recipient_form,
    report,
    submit_recipient,
)
from tests.test_recipient_events import (
    OTHER,
    TRANSLATIONS,
    alarm,
)


async def capabilities(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    device_id: str,
    trigger_type: str,
) -> dict[str, Any]:
    """Return what the automation editor is told of a trigger's fields."""
    assert await async_setup_component(hass, "device_automation", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "device_automation/trigger/capabilities",
            "trigger": {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": device_id,
                "type": trigger_type,
            },
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    result: dict[str, Any] = response["result"]
    return result


async def test_triggers_of_the_account_and_the_recipients_devices(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Each device of the entry offers delivered and not delivered."""
    devices = [
        entry_device(hass, loaded_entry),
        entry_device(hass, loaded_entry, MOTHER),
        entry_device(hass, loaded_entry, GUARD),
    ]
    assert (
        len(
            dr.async_entries_for_config_entry(dr.async_get(hass), loaded_entry.entry_id)
        )
        == 3
    )
    for device in devices:
        triggers = await async_get_device_automations(
            hass, DeviceAutomationType.TRIGGER, device.id
        )
        ours = sorted(
            (t["type"], t["device_id"]) for t in triggers if t["domain"] == DOMAIN
        )
        assert ours == [("delivered", device.id), ("not_delivered", device.id)]


async def test_a_recipients_triggers_have_no_fields(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """They are hers: no recipient to pick."""
    device = entry_device(hass, loaded_entry, MOTHER)
    for trigger_type in ("delivered", "not_delivered"):
        result = await capabilities(hass, hass_ws_client, device.id, trigger_type)
        assert result.get("extra_fields", []) == []


def test_trigger_types_are_translated() -> None:
    """The automation editor's names (2025.4 shows "undefined" without them)."""
    for language in ("en", "ka"):
        strings = json.loads((TRANSLATIONS / f"{language}.json").read_text("utf-8"))
        names = strings["device_automation"]["trigger_type"]
        assert set(names) == {"delivered", "not_delivered"}, language
        assert all(name.strip() for name in names.values()), language


async def test_recipient_field_offers_saved_recipients(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    device = entry_device(hass, loaded_entry)
    result = await capabilities(hass, hass_ws_client, device.id, "not_delivered")
    (field,) = result["extra_fields"]
    assert field["name"] == "recipient"
    assert field["optional"] is True
    select = field["selector"]["select"]
    assert select["custom_value"] is True
    assert sorted(o["value"] for o in select["options"]) == sorted([MOTHER, GUARD])
    assert {o["label"] for o in select["options"]} == {
        f"Mother ({MOTHER})",
        f"Night guard ({GUARD})",
    }


async def automation_with(
    hass: HomeAssistant, device_id: str, trigger_type: str, **extra: Any
) -> list[ServiceCall]:
    """Set up an automation on the trigger; return the calls of its action."""
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {
                    "platform": "device",
                    "domain": DOMAIN,
                    "device_id": device_id,
                    "type": trigger_type,
                    **extra,
                },
                "actions": {
                    "service": "test.automation",
                    "data_template": {
                        "destination": "{{ trigger.destination }}",
                        "status": "{{ trigger.status }}",
                        "reference": "{{ trigger.reference }}",
                    },
                },
            }
        },
    )
    return calls


@pytest.mark.parametrize(
    ("recipient", "fired_for"),
    [(None, [MOTHER, GUARD]), ("555 12 34 56", [MOTHER])],
    ids=["any_recipient", "mother_only"],
)
async def test_not_delivered_fires_a_real_automation(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    http: TestClient,
    recipient: str | None,
    fired_for: list[str],
) -> None:
    """'When the SMS to Mother was not delivered', built without YAML in the UI."""
    device = entry_device(hass, loaded_entry)
    extra = {} if recipient is None else {"recipient": recipient}
    calls = await automation_with(hass, device.id, "not_delivered", **extra)
    await alarm(hass, ["Mother", "Night guard"], "alarm-1")

    await report(http, "alarm-1", MOTHER, "pending")
    await report(http, "alarm-1", MOTHER, "undelivered")
    await report(http, "alarm-1", GUARD, "expired")
    await report(http, "alarm-1", GUARD, "expired")  # a repeat: no news
    await hass.async_block_till_done()

    assert [str(call.data["destination"]) for call in calls] == fired_for
    assert {call.data["reference"] for call in calls} == {"alarm-1"}
    assert all(call.data["status"] in ("undelivered", "expired") for call in calls)


async def test_delivered_fires_once_per_report(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, http: TestClient
) -> None:
    device = entry_device(hass, loaded_entry)
    calls = await automation_with(hass, device.id, "delivered", recipient=GUARD)
    await alarm(hass, ["Mother", "Night guard"], "door-1")

    await report(http, "door-1", MOTHER, "delivered")
    await report(http, "door-1", GUARD, "delivered")
    await report(http, "door-1", GUARD, "delivered")
    await report(http, "forged", GUARD, "delivered")  # never sent here
    await hass.async_block_till_done()

    assert [(str(c.data["destination"]), c.data["status"]) for c in calls] == [
        (GUARD, "delivered")
    ]


@pytest.mark.parametrize(
    ("trigger_type", "fired"),
    [
        ("delivered", [(MOTHER, "delivered")]),
        ("not_delivered", [(MOTHER, "undelivered"), (MOTHER, "expired")]),
    ],
)
async def test_a_recipients_trigger_fires_for_her_reports(
    hass: HomeAssistant,
    http: TestClient,
    loaded_entry: MockConfigEntry,
    trigger_type: str,
    fired: list[tuple[str, str]],
) -> None:
    """A real automation on her device: her reports only, once each."""
    device = entry_device(hass, loaded_entry, MOTHER)
    calls = await automation_with(hass, device.id, trigger_type)
    await alarm(hass, [MOTHER, GUARD, OTHER], "alarm-2")
    await alarm(hass, [MOTHER], "alarm-3")
    await alarm(hass, [MOTHER], "alarm-4")

    await report(http, "alarm-2", GUARD, "delivered")
    await report(http, "alarm-2", GUARD, "undelivered")
    await report(http, "alarm-2", OTHER, "expired")
    await report(http, "alarm-2", MOTHER, "pending")
    await report(http, "alarm-2", MOTHER, "delivered")
    await report(http, "alarm-2", MOTHER, "delivered")  # a repeat: no news
    await report(http, "alarm-3", MOTHER, "undelivered")
    await report(http, "alarm-4", MOTHER, "expired")
    await hass.async_block_till_done()

    assert [(str(c.data["destination"]), c.data["status"]) for c in calls] == fired


async def test_a_recipients_trigger_follows_her_number(
    hass: HomeAssistant, http: TestClient, loaded_entry: MockConfigEntry
) -> None:
    """Her number changed after the automation was set up: her new one counts."""
    device = entry_device(hass, loaded_entry, MOTHER)
    calls = await automation_with(hass, device.id, "delivered")
    form = await recipient_form(hass, loaded_entry, MOTHER)
    await submit_recipient(hass, form, "Mother", "599 00 01 11")
    await alarm(hass, [MOTHER, OTHER], "alarm-5")

    await report(http, "alarm-5", MOTHER, "delivered")
    await report(http, "alarm-5", OTHER, "delivered")
    await hass.async_block_till_done()
    assert [str(c.data["destination"]) for c in calls] == [OTHER]


@pytest.mark.parametrize(
    ("number", "recipient", "logged"),
    [
        (None, "mom", "Not a phone number: mom"),
        (MOTHER, GUARD, "A recipient's device takes no recipient"),
    ],
    ids=["account_device_no_number", "recipients_device_any_recipient"],
)
async def test_a_wrong_recipient_is_refused(  # noqa: PLR0917
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    number: str | None,
    recipient: str,
    logged: str,
) -> None:
    """The account's trigger takes a phone number; a recipient's takes none."""
    device = entry_device(hass, loaded_entry, number)
    calls = await automation_with(hass, device.id, "delivered", recipient=recipient)
    assert calls == []
    assert logged in caplog.text


async def test_no_triggers_on_other_devices(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device of the entry that is none of ours, or one that is gone."""
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=loaded_entry.entry_id,
        identifiers={("test", loaded_entry.entry_id)},
    )
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, other.id
    )
    assert [t for t in triggers if t["domain"] == DOMAIN] == []
    calls = await automation_with(hass, other.id, "delivered")
    assert calls == []
    assert f"Not an SMS Office device: {other.id}" in caplog.text

    # A device removed while its automation editor was open: no recipients.
    result = await capabilities(hass, hass_ws_client, "0" * 32, "delivered")
    (field,) = result["extra_fields"]
    assert field["selector"]["select"]["options"] == []
