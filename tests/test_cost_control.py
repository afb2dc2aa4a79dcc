"""Cost control through Home Assistant: transliteration, the daily limit, duplicates.

Each test drives the integration as a user does (actions, options, reloads,
frozen time) against the fake gateway, and checks what the gateway received,
what the actions answered, the repair issues and what was stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.smsoffice.client import estimate_parts
from custom_components.smsoffice.const import (
    CONF_BASE_URL,
    CONF_DAILY_CREDIT_LIMIT,
    CONF_DUPLICATE_WINDOW,
    CONF_TRANSLITERATE,
    DOMAIN,
    MAX_DUPLICATE_WINDOW,
)
from custom_components.smsoffice.usage import MAX_RECENT, SAVE_DELAY
from tests.conftest import (
    GUARD,
    MOTHER,
    TBILISI,
    account_entry,
    advance,
    call_action,
    held_send,
    issue,
    notify,
    notify_legacy,
    options_with,
    reload,
    send_sms,
    set_up,
    set_up_at,
    store_usage,
)
from tests.fake_smsoffice import FakeSmsOffice

pytestmark = pytest.mark.usefixtures("unload_entries")

CREDITS_TODAY = "sensor.sms_office_homealarm_credits_today"
MOTHER_ENTITY = "notify.sms_office_homealarm_mother"


def limit_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """Return the daily limit's repair issue of the entry, if raised."""
    return issue(hass, "daily_limit_reached", entry)


def assert_limit_issue(hass: HomeAssistant, entry: MockConfigEntry, limit: int) -> None:
    """The daily limit's repair issue is raised (active), naming `limit`."""
    raised = limit_issue(hass, entry)
    assert raised is not None
    assert raised.active
    assert raised.translation_key == "daily_limit_reached"
    assert raised.translation_placeholders == {
        "title": entry.title,
        "limit": str(limit),
    }


async def over_the_limit(
    hass: HomeAssistant, *recipients: str, **data: Any
) -> HomeAssistantError:
    """Send, which the daily limit must refuse before any request; the refusal."""
    with pytest.raises(HomeAssistantError) as refused:
        await send_sms(hass, recipients=list(recipients), **data)
    assert refused.value.translation_key == "daily_limit_reached"
    return refused.value


def usage_key(entry: MockConfigEntry) -> str:
    """Return the key of the entry's usage in the store."""
    return f"{DOMAIN}.usage.{entry.entry_id}"


@pytest.fixture
def saved_usage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """Return a reader of the entry's usage file, once its save is due."""

    async def read() -> dict[str, Any]:
        await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))
        data: dict[str, Any] = hass_storage[usage_key(loaded_entry)]["data"]
        return data

    return read


async def restarted(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    entry: MockConfigEntry,
    stored: dict[str, Any],
) -> MockConfigEntry:
    """Restart: a new Home Assistant knows only `stored` of the entry's usage.

    The entry is removed (its file with it) and added again, with the file as
    an earlier run left it; returned set up.
    """
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert usage_key(entry) not in hass_storage
    again = account_entry(
        entry.data[CONF_BASE_URL], entry_id=entry.entry_id, options=dict(entry.options)
    )
    store_usage(hass_storage, again, stored)
    assert await set_up(hass, again)
    return again


async def save_options(
    hass: HomeAssistant, entry: MockConfigEntry, **changes: Any
) -> None:
    """Change options in the options form, as a user does; the entry reloads."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    # The form's keys are schema markers: as the frontend sends them, strings.
    keys = [str(key) for key in result["data_schema"].schema]
    current = {key: entry.options[key] for key in keys if key in entry.options}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**current, **changes}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def restart_issue_registry(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Load the repair issues as Home Assistant's next start does, from its file."""
    registry = ir.async_get(hass)
    hass_storage[ir.STORAGE_KEY] = {
        "version": ir.STORAGE_VERSION_MAJOR,
        "minor_version": ir.STORAGE_VERSION_MINOR,
        "key": ir.STORAGE_KEY,
        "data": registry._data_to_save(),
    }
    await ir.async_load(hass)


# ------------------------------------------------------------ transliteration

MIXED = "სიგნალიზაცია! Alarm #3 at 22:15 🚨 კარი ღიაა"
MIXED_LATIN = "signalizatsia! Alarm #3 at 22:15 🚨 kari ghiaa"
GEORGIAN = (
    "ყურადღება! სარდაფში წყალი ჟონავს. "
    "გადაკეტეთ მთავარი ონკანი 2 წუთში და დაურეკეთ ხელოსანს."
)
GEORGIAN_LATIN = (
    "quradgheba! sardapshi tsqali zhonavs. "
    "gadaketet mtavari onkani 2 tsutshi da daureket khelosans."
)


async def test_send_sms_transliterates_mixed_text(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Georgian letters become Latin; Latin, digits, signs and emoji stay."""
    response = await send_sms(
        hass, recipients=[MOTHER], message=MIXED, transliterate=True
    )

    assert gateway.messages[-1].content == MIXED_LATIN
    # The emoji keeps it UCS-2: the answer describes the text that was sent.
    assert response["transliterated"] is True
    assert (response["encoding"], response["characters"]) == (
        "UCS-2",
        len(MIXED_LATIN),
    )
    assert (response["parts"], response["credits"]) == (1, 1)

    # Without an emoji the Latin text is GSM-7: one part instead of two.
    assert estimate_parts(GEORGIAN).parts == 2
    response = await send_sms(
        hass, recipients=[MOTHER, GUARD], message=GEORGIAN, transliterate=True
    )
    assert gateway.messages[-1].content == GEORGIAN_LATIN
    assert gateway.messages[-1].parts == 1
    assert response["encoding"] == "GSM-7"
    assert response["characters"] == len(GEORGIAN_LATIN)
    assert (response["parts"], response["credits"]) == (1, 2)

    # The option is off: as written, and said so.
    response = await send_sms(hass, recipients=[MOTHER], message=GEORGIAN)
    assert gateway.messages[-1].content == GEORGIAN
    assert response["transliterated"] is False
    assert (response["encoding"], response["parts"], response["credits"]) == (
        "UCS-2",
        2,
        2,
    )


@pytest.mark.parametrize("options", [options_with(**{CONF_TRANSLITERATE: True})])
async def test_transliterate_option_and_field(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The option applies to every send; the field, when given, wins."""
    response = await send_sms(hass, recipients=[MOTHER], message=GEORGIAN)
    assert gateway.messages[-1].content == GEORGIAN_LATIN
    assert response["transliterated"] is True

    response = await send_sms(
        hass, recipients=[MOTHER], message=GEORGIAN, transliterate=False
    )
    assert gateway.messages[-1].content == GEORGIAN
    assert response["transliterated"] is False

    # Latin text: nothing to change, nothing transliterated.
    response = await send_sms(hass, recipients=[MOTHER], message="Gate open")
    assert gateway.messages[-1].content == "Gate open"
    assert response["transliterated"] is False

    # The notify entities follow the option (a title too).
    await notify(hass, MOTHER_ENTITY, title="სიგნალიზაცია", message="კარი ღიაა")
    assert gateway.messages[-1].content == "signalizatsia\nkari ghiaa"

    # The legacy action: the option, or its `data`.
    await hass.async_block_till_done()
    await notify_legacy(hass, message="კარი ღიაა", target=[GUARD])
    assert gateway.messages[-1].content == "kari ghiaa"
    await notify_legacy(
        hass, message="კარი ღიაა", target=[GUARD], data={"transliterate": False}
    )
    assert gateway.messages[-1].content == "კარი ღიაა"


async def test_legacy_notify_transliterate_field(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    await hass.async_block_till_done()
    await notify_legacy(
        hass, message=MIXED, target=["Mother"], data={"transliterate": True}
    )
    assert gateway.messages[-1].content == MIXED_LATIN


async def test_estimate_as_written_and_transliterated(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """What the text costs as written, and beside it in Latin letters; nothing sent."""
    before = len(gateway.requests)
    response = await call_action(
        hass, "estimate", message=GEORGIAN, recipients=["Mother", "Night guard"]
    )
    assert response == {
        "encoding": "UCS-2",
        "characters": len(GEORGIAN),
        "parts": 2,
        "per_part": 67,
        "recipients": 2,
        "credits": 4,
        "transliterated": {
            "message": GEORGIAN_LATIN,
            "encoding": "GSM-7",
            "characters": len(GEORGIAN_LATIN),
            "parts": 1,
            "credits": 2,
        },
    }
    # Mixed text with an emoji: Latin letters do not make it GSM-7.
    response = await call_action(hass, "estimate", message=MIXED)
    assert response["transliterated"] == {
        "message": MIXED_LATIN,
        "encoding": "UCS-2",
        "characters": len(MIXED_LATIN),
        "parts": 1,
        "credits": 1,
    }
    # No Georgian letters: nothing beside. Asked not to: nothing beside.
    assert "transliterated" not in await call_action(
        hass, "estimate", message="Gate open 🚪"
    )
    assert "transliterated" not in await call_action(
        hass, "estimate", message=GEORGIAN, transliterate=False
    )
    assert len(gateway.requests) == before

    # The estimate is what send_sms then answers.
    sent = await send_sms(
        hass,
        recipients=["Mother", "Night guard"],
        message=GEORGIAN,
        transliterate=True,
    )
    assert (sent["encoding"], sent["parts"], sent["credits"]) == ("GSM-7", 1, 2)


# ------------------------------------------------------------ the daily limit


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 5})])
async def test_daily_limit_at_its_exact_boundary(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Up to the limit is sent; one credit more is refused before any request."""
    await send_sms(hass, recipients=[MOTHER, GUARD], message="One")  # 2
    # Two parts to two numbers would make 6: refused, 3 left.
    refused = await over_the_limit(hass, MOTHER, GUARD, message="x" * 161)
    assert refused.translation_placeholders == {
        "limit": "5",
        "left": "3",
        "credits": "4",
    }
    assert "3" in str(refused)
    assert "5" in str(refused)
    assert_limit_issue(hass, loaded_entry, 5)
    sends = len(gateway.requests_to("send"))

    # Exactly up to the limit: 3 more credits.
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Two")  # 4
    await send_sms(hass, recipients=[MOTHER], message="Three")  # 5
    assert len(gateway.requests_to("send")) == sends + 2
    refused = await over_the_limit(hass, GUARD, message="Four")
    assert refused.translation_placeholders["left"] == "0"
    assert len(gateway.requests_to("send")) == sends + 2
    assert hass.states.get(CREDITS_TODAY).state == "5"

    # A scheduled message counts on the day it is requested, as does one
    # sent by a notify entity: refused as well.
    with pytest.raises(HomeAssistantError):
        await send_sms(
            hass,
            recipients=[GUARD],
            message="Tomorrow",
            schedule=(dt_util.now() + timedelta(days=1)).isoformat(),
        )
    with pytest.raises(HomeAssistantError):
        await notify(hass, MOTHER_ENTITY, message="Five")
    assert len(gateway.requests_to("send")) == sends + 2


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 3})])
async def test_scheduled_message_counts_on_the_day_requested(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    response = await send_sms(
        hass,
        recipients=[MOTHER, GUARD],
        message="Tomorrow",
        schedule=(dt_util.now() + timedelta(days=1)).isoformat(),
    )
    assert response["status"] == "scheduled"
    assert hass.states.get(CREDITS_TODAY).state == "2"
    await over_the_limit(hass, MOTHER, GUARD, message="Now")


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 2})])
async def test_daily_limit_across_local_midnight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    config_entry: MockConfigEntry,
) -> None:
    """The day is Home Assistant's (Tbilisi, UTC+4): it ends at 20:00 UTC."""
    local = datetime(2026, 11, 30, 23, 50, tzinfo=dt_util.get_time_zone(TBILISI))
    await set_up_at(hass, freezer, config_entry, local)  # 19:50 UTC

    await send_sms(hass, recipients=[MOTHER, GUARD], message="Before midnight")
    await over_the_limit(hass, MOTHER, message="Still today")
    assert limit_issue(hass, config_entry) is not None

    # 23:59:59: still today.
    await advance(hass, freezer, timedelta(minutes=9, seconds=59))
    assert limit_issue(hass, config_entry) is not None
    await over_the_limit(hass, MOTHER, message="Still today")

    # Local midnight: the issue goes, the count starts again (without a send).
    await advance(hass, freezer, timedelta(seconds=2))
    assert limit_issue(hass, config_entry) is None
    assert hass.states.get(CREDITS_TODAY).state == "0"
    await send_sms(hass, recipients=[MOTHER, GUARD], message="A new day")
    assert gateway.messages[-1].content == "A new day"
    await over_the_limit(hass, MOTHER, message="Too much again")


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 3})])
async def test_daily_limit_survives_reload_and_is_stored(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    saved_usage: Callable[[], Awaitable[dict[str, Any]]],
) -> None:
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Two credits")
    await over_the_limit(hass, MOTHER, GUARD, message="Two more")

    await reload(hass, loaded_entry)

    # Still 1 left, and the refusal of today is still a repair issue.
    assert limit_issue(hass, loaded_entry) is not None
    await over_the_limit(hass, MOTHER, GUARD, message="Two more")
    await send_sms(hass, recipients=[MOTHER], message="One more")

    stored = await saved_usage()
    assert stored["day"] == dt_util.now().date().isoformat()
    assert stored["credits_today"] == 3
    assert stored["sent_today"] == 3
    assert stored["credits_month"] == 3


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 4})])
async def test_daily_limit_after_a_restart(
    hass: HomeAssistant, hass_storage: dict[str, Any], config_entry: MockConfigEntry
) -> None:
    """What an earlier run of Home Assistant stored counts: 3 of 4 used today."""
    now = dt_util.now()
    store_usage(
        hass_storage,
        config_entry,
        {
            "day": now.date().isoformat(),
            "month": f"{now.year:04d}-{now.month:02d}",
            "sent_today": 3,
            "credits_today": 3,
            "credits_month": 10,
            "limit_reached_on": now.date().isoformat(),
            "recent": [],
        },
    )
    assert await set_up(hass, config_entry)

    # The refusal's repair issue is not among the saved ones: it was cleared
    # before the restart (room was made), and stays cleared.
    assert limit_issue(hass, config_entry) is None
    assert hass.states.get(CREDITS_TODAY).state == "3"
    refused = await over_the_limit(hass, MOTHER, GUARD, message="Two")
    assert refused.translation_placeholders["left"] == "1"
    await send_sms(hass, recipients=[MOTHER], message="One")
    assert hass.states.get(CREDITS_TODAY).state == "4"


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 2})])
async def test_parallel_sends_at_the_limit(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A send still out holds its credits: a second one cannot pass the limit."""
    first = await held_send(hass, gateway, recipients=[MOTHER, GUARD], message="First")
    refused = await over_the_limit(hass, MOTHER, message="Second")
    assert refused.translation_placeholders["left"] == "0"
    gateway.release()
    assert (await first)["credits"] == 2
    assert [m.content for m in gateway.messages] == ["First"]
    assert hass.states.get(CREDITS_TODAY).state == "2"


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 2})])
async def test_credits_of_a_failed_send_are_released(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Held while out; given back when the gateway refuses the send.

    The refusal meanwhile raised the issue; the credits given back clear it.
    """
    first = await held_send(
        hass, gateway, recipients=[MOTHER, GUARD], message="First", sender="Unknown"
    )
    await over_the_limit(hass, MOTHER, message="Second")
    assert limit_issue(hass, loaded_entry) is not None
    gateway.release()
    with pytest.raises(HomeAssistantError) as failed:
        await first
    assert failed.value.translation_key == "sender_rejected"
    assert hass.states.get(CREDITS_TODAY).state == "0"
    assert limit_issue(hass, loaded_entry) is None

    await send_sms(hass, recipients=[MOTHER, GUARD], message="Now it fits")
    assert hass.states.get(CREDITS_TODAY).state == "2"


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 2})])
async def test_raising_the_limit_in_the_options_clears_the_issue(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The repair says to raise the limit: saving a limit with room clears it."""
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Two credits")
    await over_the_limit(hass, MOTHER, message="Refused")
    assert_limit_issue(hass, loaded_entry, 2)

    await save_options(hass, loaded_entry, **{CONF_DAILY_CREDIT_LIMIT: 4})
    assert limit_issue(hass, loaded_entry) is None
    # Cleared for the rest of the day: another reload does not bring it back.
    await reload(hass, loaded_entry)
    assert limit_issue(hass, loaded_entry) is None

    await send_sms(hass, recipients=[MOTHER, GUARD], message="Now it fits")
    await over_the_limit(hass, MOTHER, message="Over the new limit")
    assert_limit_issue(hass, loaded_entry, 4)


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 5})])
async def test_a_raise_that_leaves_no_room_keeps_the_issue(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """4 credits sent, then the limit lowered to 2: raising it to 4 is not enough."""
    await send_sms(hass, recipients=[MOTHER, GUARD], message="x" * 161)  # 4
    await save_options(hass, loaded_entry, **{CONF_DAILY_CREDIT_LIMIT: 2})
    await over_the_limit(hass, MOTHER, message="Refused")
    assert limit_issue(hass, loaded_entry) is not None

    await save_options(hass, loaded_entry, **{CONF_DAILY_CREDIT_LIMIT: 4})
    # It names the limit as it is now, not the one of the refusal.
    assert_limit_issue(hass, loaded_entry, 4)

    await save_options(hass, loaded_entry, **{CONF_DAILY_CREDIT_LIMIT: 5})
    assert limit_issue(hass, loaded_entry) is None
    await send_sms(hass, recipients=[MOTHER], message="The fifth credit")


@pytest.mark.parametrize(
    ("options", "then", "kept"),
    [
        (options_with(**{CONF_DAILY_CREDIT_LIMIT: 5}), [MOTHER], False),  # 3: 2 left
        (options_with(**{CONF_DAILY_CREDIT_LIMIT: 4}), [MOTHER, GUARD], True),  # 4
    ],
    ids=["credits_left_clear_it", "the_last_credits_keep_it"],
)
async def test_a_send_after_a_refusal(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, then: list[str], kept: bool
) -> None:
    """A send refused (3 or 2 credits left); a send after it that leaves room
    shows there is room and clears the issue, one that uses the last credits
    keeps it."""
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Two")  # 2
    await over_the_limit(hass, MOTHER, GUARD, message="x" * 161)  # 4
    assert limit_issue(hass, loaded_entry) is not None

    await send_sms(hass, recipients=then, message="After")
    found = limit_issue(hass, loaded_entry)
    assert (found is not None and found.active) is kept


@pytest.mark.parametrize("options", [options_with(**{CONF_DAILY_CREDIT_LIMIT: 2})])
async def test_the_limit_issue_survives_a_restart(
    hass: HomeAssistant, hass_storage: dict[str, Any], loaded_entry: MockConfigEntry
) -> None:
    """Home Assistant keeps the issue through a restart (inactive): the set-up shows it."""
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Two credits")
    await over_the_limit(hass, MOTHER, message="Refused")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    await restart_issue_registry(hass, hass_storage)
    kept = limit_issue(hass, loaded_entry)
    assert kept is not None
    assert not kept.active
    assert await set_up(hass, loaded_entry)
    assert_limit_issue(hass, loaded_entry, 2)

    # A raise with room still clears it.
    await save_options(hass, loaded_entry, **{CONF_DAILY_CREDIT_LIMIT: 3})
    assert limit_issue(hass, loaded_entry) is None


# ------------------------------------------------------ duplicate suppression


@pytest.mark.parametrize("options", [options_with(**{CONF_DUPLICATE_WINDOW: 10})])
async def test_duplicates_inside_and_after_the_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    first = await send_sms(hass, recipients=["555123456"], message="Gate open")
    assert first["status"] == "accepted"
    assert first["suppressed"] == []

    # The same number written otherwise: nothing sent, the earlier reference.
    again = await send_sms(hass, recipients=["+995 555 12 34 56"], message="Gate open")
    assert again["status"] == "suppressed"
    assert again["reference"] == first["reference"]
    assert again["suppressed"] == [MOTHER]
    assert (again["recipients"], again["credits"]) == ([], 0)
    assert len(gateway.messages) == 1

    # Only some numbers had it: the others get it.
    some = await send_sms(
        hass, recipients=["+995 555 12 34 56", GUARD], message="Gate open"
    )
    assert some["status"] == "accepted"
    assert some["recipients"] == [GUARD]
    assert some["suppressed"] == [MOTHER]
    assert some["credits"] == 1
    assert gateway.messages[-1].destinations == [GUARD]

    # Another text is no duplicate.
    await send_sms(hass, recipients=[MOTHER], message="Gate closed")
    assert len(gateway.messages) == 3

    # After the window: sent again.
    await advance(hass, freezer, timedelta(minutes=10, seconds=1))
    after = await send_sms(hass, recipients=["0555123456"], message="Gate open")
    assert after["status"] == "accepted"
    assert after["suppressed"] == []
    assert gateway.messages[-1].destinations == [MOTHER]


@pytest.mark.parametrize("options", [options_with(**{CONF_DUPLICATE_WINDOW: 5})])
async def test_notify_skips_duplicates_silently(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await hass.async_block_till_done()
    caplog.set_level(logging.DEBUG, logger="custom_components.smsoffice")
    for _ in range(2):
        await notify(hass, MOTHER_ENTITY, message="Gate open")
    assert len(gateway.messages) == 1
    # The legacy action, with the number written otherwise: skipped too.
    await notify_legacy(hass, message="Gate open", target=["555 12 34 56"])
    assert len(gateway.messages) == 1
    assert "Not sending the same text again within 5 minutes" in caplog.text
    assert "test-api-key" not in caplog.text


async def test_duplicates_off_by_default(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    for _ in range(2):
        response = await send_sms(hass, recipients=[MOTHER], message="Gate open")
        assert response["status"] == "accepted"
    assert len(gateway.messages) == 2


@pytest.mark.parametrize("options", [options_with(**{CONF_DUPLICATE_WINDOW: 60})])
async def test_duplicates_across_a_reload_and_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    saved_usage: Callable[[], Awaitable[dict[str, Any]]],
) -> None:
    first = await send_sms(hass, recipients=[MOTHER], message="Gate open")
    await reload(hass, loaded_entry)
    again = await send_sms(hass, recipients=["555123456"], message="Gate open")
    assert again["status"] == "suppressed"
    assert again["reference"] == first["reference"]

    # Stored: the number and a hash of the text, never the text itself.
    stored = await saved_usage()
    ((digest, number, _, reference),) = stored["recent"]
    assert (number, reference) == (MOTHER, first["reference"])
    assert "Gate open" not in str(stored)
    assert digest

    # A restart: only what was stored is known.
    await restarted(hass, hass_storage, loaded_entry, stored)
    again = await send_sms(hass, recipients=["+995555123456"], message="Gate open")
    assert again["status"] == "suppressed"
    assert again["reference"] == first["reference"]
    assert len(gateway.messages) == 1


@pytest.mark.parametrize(
    "options", [options_with(**{CONF_DUPLICATE_WINDOW: MAX_DUPLICATE_WINDOW})]
)
async def test_recent_messages_kept_to_their_bounds(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    saved_usage: Callable[[], Awaitable[dict[str, Any]]],
) -> None:
    """At most `MAX_RECENT` (text, number) pairs, the oldest go first; a day at most."""
    gateway.balance = 10**6
    numbers = [f"995577{index:06d}" for index in range(MAX_RECENT + 2)]
    await send_sms(hass, recipients=numbers, message="Water cut")
    # The first two were forgotten: they get the text again, the others not.
    again = await send_sms(
        hass, recipients=[*numbers[:3], numbers[-1]], message="Water cut"
    )
    assert again["recipients"] == numbers[:2]
    assert again["suppressed"] == [numbers[2], numbers[-1]]
    recent = (await saved_usage())["recent"]
    assert len(recent) == MAX_RECENT
    # Oldest first: the two sent again are the newest; 2 and 3 made room.
    assert [row[1] for row in recent[:1]] == [numbers[4]]
    assert [row[1] for row in recent[-2:]] == numbers[:2]

    # A day later every one of them is forgotten at the next send.
    await advance(hass, freezer, timedelta(minutes=MAX_DUPLICATE_WINDOW, seconds=1))
    await send_sms(hass, recipients=[MOTHER], message="Water back")
    recent = (await saved_usage())["recent"]
    assert [row[1] for row in recent] == [MOTHER]
    last = await send_sms(hass, recipients=numbers[-1:], message="Water cut")
    assert last["recipients"] == numbers[-1:]


async def test_removing_the_entry_clears_the_limit_issue(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, options=options_with(**{CONF_DAILY_CREDIT_LIMIT: 1})
    )
    assert await set_up(hass, config_entry)
    await over_the_limit(hass, MOTHER, GUARD, message="Two")
    assert limit_issue(hass, config_entry) is not None
    assert await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert limit_issue(hass, config_entry) is None


@pytest.mark.parametrize("options", [options_with(**{CONF_DUPLICATE_WINDOW: 10})])
async def test_parallel_duplicates(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The same text meanwhile waits for a send still out, and is suppressed
    once that is accepted (tests/test_send_races.py: when it fails); a failed
    send does not suppress the next one."""
    first = await held_send(
        hass, gateway, recipients=[MOTHER], message="Gate open", reference="gate-1"
    )
    again = asyncio.ensure_future(
        send_sms(hass, recipients=["555123456"], message="Gate open")
    )
    gateway.release()
    assert (await first)["status"] == "accepted"
    assert ((await again)["status"], (await again)["reference"]) == (
        "suppressed",
        "gate-1",
    )
    assert len(gateway.messages) == 1

    with pytest.raises(HomeAssistantError):
        await send_sms(hass, recipients=[GUARD], message="Gate open", sender="Unknown")
    retry = await send_sms(hass, recipients=[GUARD], message="Gate open")
    assert retry["status"] == "accepted"
    assert gateway.messages[-1].destinations == [GUARD]
