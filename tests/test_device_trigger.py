"""Device triggers on the account's device, through Home Assistant's device automation API."""

from __future__ import annotations

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
from tests.conftest import GUARD, MOTHER, WEBHOOK_ID
from tests.fake_smsoffice import FakeSmsOffice

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"


def account_device(hass: HomeAssistant, entry: MockConfigEntry) -> dr.DeviceEntry:
    """Return the account's (service) device."""
    (device,) = (
        device
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), entry.entry_id
        )
        if device.identifiers == {(DOMAIN, entry.entry_id)}
    )
    return device


async def report(
    http: TestClient, reference: str, destination: str, status: str
) -> None:
    """Deliver one callback of the gateway to the webhook."""
    response = await http.get(
        WEBHOOK_PATH,
        params={
            "reference": reference,
            "destination": destination,
            "status": status,
            "timestamp": "20261130120000",
        },
    )
    assert (response.status, await response.text()) == (200, "OK")


async def test_triggers_of_the_account_device(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    device = account_device(hass, loaded_entry)
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, device.id
    )
    ours = sorted(
        (t["type"], t["device_id"]) for t in triggers if t["domain"] == DOMAIN
    )
    assert ours == [("delivered", device.id), ("not_delivered", device.id)]

    # A recipient's device has none of its own.
    recipient = next(
        d
        for d in dr.async_entries_for_config_entry(
            dr.async_get(hass), loaded_entry.entry_id
        )
        if d.id != device.id
    )
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, recipient.id
    )
    assert [t for t in triggers if t["domain"] == DOMAIN] == []


async def test_recipient_field_offers_saved_recipients(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    assert await async_setup_component(hass, "device_automation", {})
    device = account_device(hass, loaded_entry)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "device_automation/trigger/capabilities",
            "trigger": {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": device.id,
                "type": "not_delivered",
            },
        }
    )
    result = (await client.receive_json())["result"]
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


async def send(hass: HomeAssistant, reference: str) -> None:
    """Send to Mother and the night guard."""
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {
            "recipients": ["Mother", "Night guard"],
            "message": "x",
            "reference": reference,
        },
        blocking=True,
        return_response=True,
    )


@pytest.mark.parametrize(
    ("recipient", "fired_for"),
    [(None, [MOTHER, GUARD]), ("555 12 34 56", [MOTHER])],
    ids=["any_recipient", "mother_only"],
)
async def test_not_delivered_fires_a_real_automation(  # noqa: PLR0917
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
    recipient: str | None,
    fired_for: list[str],
) -> None:
    """'When the SMS to Mother was not delivered', built without YAML in the UI."""
    device = account_device(hass, loaded_entry)
    extra = {} if recipient is None else {"recipient": recipient}
    calls = await automation_with(hass, device.id, "not_delivered", **extra)
    await send(hass, "alarm-1")

    await report(http, "alarm-1", MOTHER, "pending")
    await report(http, "alarm-1", MOTHER, "undelivered")
    await report(http, "alarm-1", GUARD, "expired")
    await report(http, "alarm-1", GUARD, "expired")  # a repeat: no news
    await hass.async_block_till_done()

    assert [str(call.data["destination"]) for call in calls] == fired_for
    assert {call.data["reference"] for call in calls} == {"alarm-1"}
    assert all(call.data["status"] in ("undelivered", "expired") for call in calls)


async def test_delivered_fires_once_per_report(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    device = account_device(hass, loaded_entry)
    calls = await automation_with(hass, device.id, "delivered", recipient=GUARD)
    await send(hass, "door-1")

    await report(http, "door-1", MOTHER, "delivered")
    await report(http, "door-1", GUARD, "delivered")
    await report(http, "door-1", GUARD, "delivered")
    await report(http, "forged", GUARD, "delivered")  # never sent here
    await hass.async_block_till_done()

    assert [(str(c.data["destination"]), c.data["status"]) for c in calls] == [
        (GUARD, "delivered")
    ]


async def test_a_recipient_that_is_no_number_is_refused(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    device = account_device(hass, loaded_entry)
    calls = await automation_with(hass, device.id, "delivered", recipient="mom")
    assert calls == []
    assert "Not a phone number: mom" in caplog.text
