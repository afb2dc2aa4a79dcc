"""The balance sensor, its polling and availability, and the low-balance issue."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorStateClass
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smsoffice.const import (
    BALANCE_INTERVAL,
    CONF_ACCEPT_FOREIGN,
    CONF_FLASH,
    CONF_LOW_BALANCE,
    CONF_STATUS_POLLING,
    CONF_URGENT,
    DOMAIN,
)
from tests.conftest import SENDER
from tests.fake_smsoffice import FakeSmsOffice

BALANCE = "sensor.sms_office_homealarm_balance"
MOTHER_ENTITY = "notify.sms_office_homealarm_mother"
COORDINATOR_LOGGER = "custom_components.smsoffice"


def options_with(**changes: Any) -> dict[str, Any]:
    """Return the entry's options with some changed."""
    return {
        CONF_URGENT: False,
        CONF_FLASH: False,
        CONF_LOW_BALANCE: 50,
        CONF_STATUS_POLLING: False,
        CONF_ACCEPT_FOREIGN: False,
        **changes,
    }


pytestmark = pytest.mark.usefixtures("unload_entries")


async def pass_time(hass: HomeAssistant, minutes: float) -> None:
    """Let `minutes` pass, and whatever poll they start finish."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=minutes))
    await hass.async_block_till_done(wait_background_tasks=True)


def issue_id(entry: MockConfigEntry) -> str:
    """Return the id of the entry's low-balance issue."""
    return f"low_balance_{entry.entry_id}"


def access_issue_id(entry: MockConfigEntry) -> str:
    """Return the id of the entry's API-access-disabled issue."""
    return f"api_access_disabled_{entry.entry_id}"


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    """Return the re-authentication flows in progress."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def test_balance_sensor(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The sensor shows the messages left, as a measurement, on the device."""
    state = hass.states.get(BALANCE)
    assert state is not None
    assert state.state == "1000"
    assert state.attributes[ATTR_STATE_CLASS] is SensorStateClass.MEASUREMENT
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "SMS"
    assert state.attributes["friendly_name"] == f"SMS Office {SENDER} Balance"

    entity = entity_registry.async_get(BALANCE)
    assert entity is not None
    assert entity.unique_id == f"{loaded_entry.entry_id}_balance"
    assert entity.translation_key == "balance"
    device = device_registry.async_get(entity.device_id)
    assert device is not None
    assert device.identifiers == {(DOMAIN, loaded_entry.entry_id)}


async def test_balance_is_polled(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The balance is asked for every 30 minutes, not more often."""
    assert len(gateway.requests_to("balance")) == 1
    gateway.balance = 700

    await pass_time(hass, 29)
    assert len(gateway.requests_to("balance")) == 1
    assert hass.states.get(BALANCE).state == "1000"

    await pass_time(hass, 31)
    assert len(gateway.requests_to("balance")) == 2
    assert hass.states.get(BALANCE).state == "700"


async def test_balance_interval_is_fixed(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The poll interval is the documented constant, not an option."""
    assert timedelta(minutes=30) == BALANCE_INTERVAL
    assert loaded_entry.runtime_data.balance.update_interval == BALANCE_INTERVAL
    assert not any("interval" in option for option in loaded_entry.options)


async def test_balance_refreshed_after_a_send(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A send is followed by a fresh balance, without waiting for the poll."""
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": MOTHER_ENTITY, "message": "Door opened"},
        blocking=True,
    )
    await hass.async_block_till_done()

    assert len(gateway.messages) == 1
    assert gateway.balance == 999
    assert hass.states.get(BALANCE).state == "999"


async def test_unavailable_while_the_gateway_is_unreachable(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unavailable while polls fail; logged once when lost, once when back."""
    caplog.set_level(logging.INFO, logger=COORDINATOR_LOGGER)
    port = int(gateway.url.rsplit(":", 1)[1])

    # Two polls find nobody listening, a third gets an error page.
    await gateway.stop()
    await pass_time(hass, 31)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    await pass_time(hass, 31)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    await gateway.start(port=port)
    gateway.inject("http500", endpoint="balance")
    await pass_time(hass, 31)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert loaded_entry.state is ConfigEntryState.LOADED

    lost = [
        record
        for record in caplog.records
        if record.name == COORDINATOR_LOGGER and record.levelno >= logging.WARNING
    ]
    assert len(lost) == 1
    assert "Error fetching SMS Office balance data" in lost[0].getMessage()

    gateway.balance = 880
    await pass_time(hass, 31)
    await pass_time(hass, 31)
    assert hass.states.get(BALANCE).state == "880"

    back = [
        record
        for record in caplog.records
        if record.name == COORDINATOR_LOGGER
        and "recovered" in record.getMessage()
        and record.levelno == logging.INFO
    ]
    assert len(back) == 1
    errors = [
        record
        for record in caplog.records
        if record.name == COORDINATOR_LOGGER and record.levelno >= logging.WARNING
    ]
    assert len(errors) == 1


async def test_low_balance_issue(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Below the threshold a repair issue appears; it clears when topped up."""
    gateway.balance = 30
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    issue = issue_registry.async_get_issue(DOMAIN, issue_id(config_entry))
    assert issue is not None
    assert issue.translation_key == "low_balance"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "title": config_entry.title,
        "balance": "30",
        "threshold": "50",
    }

    gateway.balance = 50
    await pass_time(hass, 31)
    assert issue_registry.async_get_issue(DOMAIN, issue_id(config_entry)) is None

    gateway.balance = 49
    await pass_time(hass, 31)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id(config_entry))
    assert issue is not None
    assert issue.translation_placeholders["balance"] == "49"


@pytest.mark.parametrize("options", [options_with(**{CONF_LOW_BALANCE: 0})])
async def test_low_balance_warning_off(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A threshold of 0 turns the warning off."""
    gateway.balance = 0
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert hass.states.get(BALANCE).state == "0"
    assert issue_registry.async_get_issue(DOMAIN, issue_id(config_entry)) is None


async def test_send_refused_for_balance_raises_the_issue(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A send refused for lack of balance raises the issue at once."""
    assert issue_registry.async_get_issue(DOMAIN, issue_id(loaded_entry)) is None
    gateway.balance = 0

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": MOTHER_ENTITY, "message": "Door opened"},
            blocking=True,
        )
    assert err.value.translation_key == "balance_too_low"

    issue = issue_registry.async_get_issue(DOMAIN, issue_id(loaded_entry))
    assert issue is not None
    assert issue.translation_placeholders["balance"] == "0"


@pytest.mark.parametrize("options", [options_with(**{CONF_LOW_BALANCE: 0})])
async def test_low_balance_warning_off_after_a_refused_send(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A threshold of 0 stays off: a send refused for balance raises no issue."""
    gateway.balance = 0

    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": MOTHER_ENTITY, "message": "Door opened"},
            blocking=True,
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert err.value.translation_key == "balance_too_low"
    assert gateway.messages == []

    assert issue_registry.async_get_issue(DOMAIN, issue_id(loaded_entry)) is None
    await pass_time(hass, 31)
    assert hass.states.get(BALANCE).state == "0"
    assert issue_registry.async_get_issue(DOMAIN, issue_id(loaded_entry)) is None


async def test_api_access_disabled_while_polling(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """API access off (120) is no bad key: a repair issue, no reauth; cleared after.

    The sensor is unavailable meanwhile, and the entry stays loaded.
    """
    gateway.api_access_enabled = False
    await pass_time(hass, 31)

    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert loaded_entry.state is ConfigEntryState.LOADED
    failure = loaded_entry.runtime_data.balance.last_exception
    assert isinstance(failure, UpdateFailed)
    assert failure.translation_key == "api_access_disabled"
    assert reauth_flows(hass) == []
    issue = issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry))
    assert issue is not None
    assert issue.translation_key == "api_access_disabled"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    assert issue.translation_placeholders == {"title": loaded_entry.title}

    # Still off at the next poll: one issue, still no reauth.
    await pass_time(hass, 31)
    assert reauth_flows(hass) == []
    assert [
        key for key in issue_registry.issues if key[1].startswith("api_access")
    ] == [(DOMAIN, access_issue_id(loaded_entry))]

    # Switched back on: the next poll clears the issue and the sensor is back.
    gateway.api_access_enabled = True
    gateway.balance = 640
    await pass_time(hass, 31)
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry)) is None
    assert hass.states.get(BALANCE).state == "640"
    assert reauth_flows(hass) == []
