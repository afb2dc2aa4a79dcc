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
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.smsoffice.const import CONF_CLOUDHOOK_URL
from tests.conftest import API_KEY, WEBHOOK_ID, notify, set_up
from tests.fake_smsoffice import FakeSmsOffice

CLOUDHOOK = "https://hooks.nabu.casa/SECRETCLOUDHOOK"
REDACTED = "**REDACTED**"


pytestmark = pytest.mark.usefixtures("unload_entries")


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The entry, the gateway, the balance and the outbox; no key, no webhook id.

    The gateway's address (a port of its own each run) is checked apart.
    """
    await notify(hass, "notify.sms_office_homealarm_mother", message="Hello")

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, loaded_entry
    )

    assert diagnostics == snapshot(exclude=props("gateway", "base_url"))
    assert diagnostics["gateway"] == gateway.url
    assert diagnostics["entry"]["data"]["base_url"] == gateway.url
    assert diagnostics["entry"]["options"] == dict(loaded_entry.options)
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
    assert await set_up(hass, config_entry)

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, config_entry
    )

    assert diagnostics["entry"]["data"][CONF_CLOUDHOOK_URL] == REDACTED
    dumped = json.dumps(diagnostics)
    for secret in (API_KEY, WEBHOOK_ID, CLOUDHOOK, "SECRETCLOUDHOOK"):
        assert secret not in dumped
