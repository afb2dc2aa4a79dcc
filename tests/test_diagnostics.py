"""Diagnostics: what helps to debug an entry, without its secrets."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smsoffice.const import CONF_CLOUDHOOK_URL
from tests.conftest import API_KEY, SENDER, WEBHOOK_ID
from tests.fake_smsoffice import FakeSmsOffice

CLOUDHOOK = "https://hooks.nabu.casa/SECRETCLOUDHOOK"
REDACTED = "**REDACTED**"


pytestmark = pytest.mark.usefixtures("unload_entries")


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    """The entry, the gateway, the balance and the outbox; no key, no webhook id."""
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": "notify.sms_office_homealarm_mother", "message": "Hello"},
        blocking=True,
    )

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, loaded_entry
    )

    assert diagnostics == {
        "entry": {
            "title": f"SMS Office {SENDER}",
            "data": {
                "api_key": REDACTED,
                "sender": SENDER,
                "base_url": gateway.url,
                "webhook_id": REDACTED,
            },
            "options": dict(loaded_entry.options),
            "recipients": 2,
        },
        "gateway": gateway.url,
        "balance": {"value": 999, "last_update_success": True},
        "outbox": {"records": 1, "by_status": {"sent": 1}},
        "status_polling": False,
    }
    dumped = json.dumps(diagnostics)
    assert API_KEY not in dumped
    assert WEBHOOK_ID not in dumped


async def test_diagnostics_redact_the_cloudhook(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    config_entry: MockConfigEntry,
) -> None:
    """A cloudhook URL is a secret too."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_CLOUDHOOK_URL: CLOUDHOOK}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, config_entry
    )

    assert diagnostics["entry"]["data"][CONF_CLOUDHOOK_URL] == REDACTED
    dumped = json.dumps(diagnostics)
    for secret in (API_KEY, WEBHOOK_ID, CLOUDHOOK, "SECRETCLOUDHOOK"):
        assert secret not in dumped
