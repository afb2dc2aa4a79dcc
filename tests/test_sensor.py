"""The balance sensor, its polling and availability, and the low-balance issue."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smsoffice.const import (
    CONF_ACCEPT_FOREIGN,
    CONF_BALANCE_INTERVAL,
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
        CONF_BALANCE_INTERVAL: 30,
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
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "messages"
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


@pytest.mark.parametrize("options", [options_with(**{CONF_BALANCE_INTERVAL: 5})])
async def test_balance_interval_from_the_options(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The interval of the options is used."""
    gateway.balance = 42
    await pass_time(hass, 6)
    assert len(gateway.requests_to("balance")) == 2
    assert hass.states.get(BALANCE).state == "42"


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
