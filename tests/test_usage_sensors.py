"""The usage sensors: messages and credits of today and of this month.

Counted in Home Assistant's time zone (Tbilisi here, UTC+4), back to 0 at
local midnight and on the first of the month without a send, kept through
reloads and restarts, recorded as totals with their last reset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import ATTR_LAST_RESET
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.conftest import (
    GUARD,
    MOTHER,
    advance,
    reload,
    send_sms,
    set_up_at,
)
from tests.test_cost_control import restarted, usage_key

pytestmark = pytest.mark.usefixtures("unload_entries")

SLUG = "sms_office_homealarm"
SENT_TODAY = f"sensor.{SLUG}_messages_sent_today"
CREDITS_TODAY = f"sensor.{SLUG}_credits_today"
CREDITS_MONTH = f"sensor.{SLUG}_credits_this_month"
TBILISI = dt_util.get_time_zone("Asia/Tbilisi")


def values(hass: HomeAssistant) -> tuple[str, str, str]:
    """Return the states of sent today, credits today, credits this month."""
    states = [
        hass.states.get(entity_id)
        for entity_id in (SENT_TODAY, CREDITS_TODAY, CREDITS_MONTH)
    ]
    assert all(states)
    return tuple(state.state for state in states if state)  # type: ignore[return-value]


def last_reset(hass: HomeAssistant, entity_id: str) -> datetime:
    state = hass.states.get(entity_id)
    assert state is not None
    return dt_util.parse_datetime(state.attributes[ATTR_LAST_RESET])  # type: ignore[return-value]


async def test_usage_sensors(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """One message per number reached; credits are parts times numbers."""
    assert values(hass) == ("0", "0", "0")
    # Recorded as totals (their registry entries: tests/test_entities.py).
    for entity_id in (SENT_TODAY, CREDITS_TODAY, CREDITS_MONTH):
        state = hass.states.get(entity_id)
        assert state is not None
        assert ATTR_LAST_RESET in state.attributes
    assert last_reset(hass, CREDITS_TODAY) == dt_util.start_of_local_day()
    assert last_reset(hass, CREDITS_MONTH) == dt_util.start_of_local_day(
        dt_util.now().date().replace(day=1)
    )

    await send_sms(hass, recipients=[MOTHER, GUARD], message="x" * 161)  # 2 parts
    assert values(hass) == ("2", "4", "4")
    await send_sms(
        hass, recipients=[MOTHER, "not a number"], message="Hi", skip_invalid=True
    )
    assert values(hass) == ("3", "5", "5")


async def test_usage_sensors_at_midnight_and_month_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """Midnight resets the day; the first of the month the month too; no send needed."""
    await set_up_at(
        hass, freezer, config_entry, datetime(2026, 11, 29, 23, 55, tzinfo=TBILISI)
    )
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Late")
    assert values(hass) == ("2", "2", "2")

    # 30 November, 00:00:01 in Tbilisi (20:00:01 UTC the day before).
    await advance(hass, freezer, timedelta(minutes=5, seconds=1))
    assert values(hass) == ("0", "0", "2")
    assert last_reset(hass, CREDITS_TODAY) == datetime(2026, 11, 30, tzinfo=TBILISI)
    assert last_reset(hass, CREDITS_MONTH) == datetime(2026, 11, 1, tzinfo=TBILISI)

    await send_sms(hass, recipients=[MOTHER], message="Morning")
    assert values(hass) == ("1", "1", "3")

    # 1 December, 00:00:01: a new day and a new month.
    await advance(hass, freezer, timedelta(days=1))
    assert values(hass) == ("0", "0", "0")
    assert last_reset(hass, CREDITS_TODAY) == datetime(2026, 12, 1, tzinfo=TBILISI)
    assert last_reset(hass, CREDITS_MONTH) == datetime(2026, 12, 1, tzinfo=TBILISI)
    # ... and the next midnight too (the timer is scheduled again).
    await send_sms(hass, recipients=[GUARD], message="December")
    await advance(hass, freezer, timedelta(days=1))
    assert values(hass) == ("0", "0", "1")


async def test_usage_sensors_across_a_reload_and_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
) -> None:
    await set_up_at(
        hass, freezer, config_entry, datetime(2026, 11, 30, 12, 0, tzinfo=TBILISI)
    )
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Noon")
    await reload(hass, config_entry)
    assert values(hass) == ("2", "2", "2")

    # Stored within the save delay.
    await advance(hass, freezer, timedelta(seconds=5))
    stored = hass_storage[usage_key(config_entry)]["data"]
    assert (stored["day"], stored["month"]) == ("2026-11-30", "2026-11")
    assert (stored["sent_today"], stored["credits_today"]) == (2, 2)

    # A restart, the file stored the day before.
    stored = {**stored, "day": "2026-11-29", "credits_month": 7}
    await restarted(hass, hass_storage, config_entry, stored)
    assert values(hass) == ("0", "0", "7")
    await send_sms(hass, recipients=[GUARD], message="After the restart")
    assert values(hass) == ("1", "1", "8")
