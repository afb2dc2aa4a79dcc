"""The balance sensor, its polling and availability, and the low-balance issue."""

from __future__ import annotations

from datetime import timedelta
import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import (
    issue_registry as ir,
)
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.const import BALANCE_INTERVAL, CONF_LOW_BALANCE, DOMAIN
from tests.conftest import (
    API_KEY,
    issue,
    notify,
    options_with,
    pass_minutes,
    poll_balance,
    reauth_flows,
    set_up,
)
from tests.fake_smsoffice import FakeSmsOffice

BALANCE = "sensor.sms_office_homealarm_balance"
MOTHER_ENTITY = "notify.sms_office_homealarm_mother"
COORDINATOR_LOGGER = "custom_components.smsoffice"
WARNING_OFF = options_with(**{CONF_LOW_BALANCE: 0})

pytestmark = pytest.mark.usefixtures("unload_entries")


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """Return the coordinator's lines at `level` (a warning: at it or above)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == COORDINATOR_LOGGER
        and (
            record.levelno >= level
            if level >= logging.WARNING
            else record.levelno == level
        )
    ]


async def test_balance_is_polled_every_30_minutes(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The balance is asked for every 30 minutes, not more often.

    The interval is the documented constant, not an option.
    """
    assert timedelta(minutes=30) == BALANCE_INTERVAL
    assert loaded_entry.runtime_data.balance.update_interval == BALANCE_INTERVAL
    assert not any("interval" in option for option in loaded_entry.options)
    assert len(gateway.requests_to("balance")) == 1
    gateway.balance = 700

    await pass_minutes(hass, 29)
    assert len(gateway.requests_to("balance")) == 1
    assert hass.states.get(BALANCE).state == "1000"

    await pass_minutes(hass, 31)
    assert len(gateway.requests_to("balance")) == 2
    assert hass.states.get(BALANCE).state == "700"


async def test_balance_refreshed_after_a_send(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A send is followed by a fresh balance, without waiting for the poll."""
    await notify(hass, MOTHER_ENTITY, message="Door opened")
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
    await poll_balance(hass)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    await poll_balance(hass)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    await gateway.start(port=port)
    gateway.inject("http500", endpoint="balance")
    await poll_balance(hass)
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert loaded_entry.state is ConfigEntryState.LOADED

    (lost,) = logged(caplog, logging.WARNING)
    assert "Error fetching SMS Office balance data" in lost

    gateway.balance = 880
    await poll_balance(hass)
    await poll_balance(hass)
    assert hass.states.get(BALANCE).state == "880"

    back = [line for line in logged(caplog, logging.INFO) if "recovered" in line]
    assert len(back) == 1
    assert logged(caplog, logging.WARNING) == [lost]


async def test_low_balance_issue(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """Below the threshold a repair issue appears; it clears when topped up."""
    gateway.balance = 30
    assert await set_up(hass, config_entry)

    low = issue(hass, "low_balance", config_entry)
    assert low is not None
    assert low.translation_key == "low_balance"
    assert low.severity is ir.IssueSeverity.WARNING
    assert not low.is_fixable
    assert low.translation_placeholders == {
        "title": config_entry.title,
        "balance": "30",
        "threshold": "50",
    }

    gateway.balance = 50
    await poll_balance(hass)
    assert issue(hass, "low_balance", config_entry) is None

    gateway.balance = 49
    await poll_balance(hass)
    low = issue(hass, "low_balance", config_entry)
    assert low is not None
    assert low.translation_placeholders["balance"] == "49"


@pytest.mark.parametrize("options", [WARNING_OFF])
async def test_low_balance_warning_off(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """A threshold of 0 turns the warning off."""
    gateway.balance = 0
    assert await set_up(hass, config_entry)

    assert hass.states.get(BALANCE).state == "0"
    assert issue(hass, "low_balance", config_entry) is None


@pytest.mark.parametrize(
    ("options", "balance_in_issue"),
    [(options_with(), "0"), (WARNING_OFF, None)],
    ids=["raises_the_issue", "warning_off"],
)
async def test_send_refused_for_balance(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    balance_in_issue: str | None,
) -> None:
    """A send refused for lack of balance raises the issue at once.

    A threshold of 0 stays off: then it raises none, nor does the next poll.
    """
    assert issue(hass, "low_balance", loaded_entry) is None
    gateway.balance = 0

    with pytest.raises(HomeAssistantError) as err:
        await notify(hass, MOTHER_ENTITY, message="Door opened")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert err.value.translation_key == "balance_too_low"
    assert gateway.messages == []

    def balance_in_the_issue() -> str | None:
        low = issue(hass, "low_balance", loaded_entry)
        return low and low.translation_placeholders["balance"]

    assert balance_in_the_issue() == balance_in_issue
    await poll_balance(hass)
    assert hass.states.get(BALANCE).state == "0"
    assert balance_in_the_issue() == balance_in_issue


async def test_api_access_disabled_while_polling(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """API access off (120) is no bad key: a repair issue, no reauth; cleared after.

    The sensor is unavailable meanwhile, and the entry stays loaded; the same
    key works again once API access is on.
    """
    gateway.api_access_enabled = False
    await poll_balance(hass)

    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert loaded_entry.state is ConfigEntryState.LOADED
    failure = loaded_entry.runtime_data.balance.last_exception
    assert isinstance(failure, UpdateFailed)
    assert not isinstance(failure, ConfigEntryAuthFailed)
    assert failure.translation_key == "api_access_disabled"
    assert reauth_flows(hass) == []
    access = issue(hass, "api_access_disabled", loaded_entry)
    assert access is not None
    assert access.translation_key == "api_access_disabled"
    assert access.severity is ir.IssueSeverity.ERROR
    assert not access.is_fixable
    assert access.translation_placeholders == {"title": loaded_entry.title}

    # Still off at the next poll: one issue, still no reauth.
    await poll_balance(hass)
    assert reauth_flows(hass) == []
    assert [
        key for key in ir.async_get(hass).issues if key[1].startswith("api_access")
    ] == [(DOMAIN, f"api_access_disabled_{loaded_entry.entry_id}")]

    # Switched back on: the next poll clears the issue and the sensor is back.
    gateway.api_access_enabled = True
    gateway.balance = 640
    await poll_balance(hass)
    assert issue(hass, "api_access_disabled", loaded_entry) is None
    assert hass.states.get(BALANCE).state == "640"
    assert reauth_flows(hass) == []
    # Setup and three polls, all with the same key.
    keys = [request.query["key"] for request in gateway.requests_to("balance")]
    assert keys == [API_KEY] * 4
