"""Webhook mode: a message whose final report does not come is asked about.

smsoffice.ge can lose a callback (or send it to a wrong URL). A message with
no final report is asked about 30 minutes to 2 hours after it went out, then
at growing intervals until it settles or 72 hours have passed, within the
status budget; one whose final report came is never asked about.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
import itertools
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.const import DOMAIN
from custom_components.smsoffice.outbox import MAX_RECORDS, SAVE_DELAY
from custom_components.smsoffice.status_polling import (
    MAX_REQUESTS_IN_FLIGHT,
    MAX_REQUESTS_PER_MINUTE,
    STATUS_POLL_GIVE_UP,
    STRAGGLER_FIRST,
)
from tests.conftest import GUARD, MOTHER, advance
from tests.fake_smsoffice import FakeSmsOffice
from tests.test_tracking import (
    REFERENCE,
    WEBHOOK_PATH,
    announced,
    callback,
    send_call,
)

pytestmark = pytest.mark.usefixtures("unload_entries")

# The window of the first check after a message went out.
EARLIEST = timedelta(minutes=30)
LATEST = timedelta(hours=2)


def status_times(gateway: FakeSmsOffice, destination: str = MOTHER) -> list[float]:
    """Return when the gateway was asked about `destination`."""
    return [
        r.at
        for r in gateway.requests_to("status")
        if r.params["destination"] == destination
    ]


async def step_through(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    total: timedelta,
    step: timedelta = timedelta(minutes=10),
) -> None:
    """Move time on by `total`, a `step` at a time."""
    for _ in range(int(total / step)):
        await advance(hass, freezer, step)


def stored_record(hass_storage: dict[str, Any], entry_id: str) -> dict[str, Any]:
    """Return the only record of the entry's outbox file."""
    stored = hass_storage[f"{DOMAIN}.outbox.{entry_id}"]["data"]
    (row,) = stored["records"]
    return dict(zip(stored["fields"], row, strict=True))


async def test_a_lost_callback_is_found_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Delivered, but the callback never came: asked once, announced once."""
    sent_at = dt_util.utcnow().timestamp()
    await send_call(hass, [MOTHER])
    await advance(hass, freezer, EARLIEST - timedelta(seconds=30))
    assert gateway.requests_to("status") == []

    await step_through(hass, freezer, LATEST)
    (asked,) = status_times(gateway)
    assert EARLIEST.total_seconds() <= asked - sent_at <= LATEST.total_seconds()
    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "poll")]
    # Settled: never asked again.
    await step_through(hass, freezer, STATUS_POLL_GIVE_UP, timedelta(hours=6))
    assert len(gateway.requests_to("status")) == 1
    assert len(events) == 1


async def test_a_final_callback_means_no_check(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Each number's final report came: nothing is asked, ever."""
    await send_call(hass, [MOTHER, GUARD])
    await advance(hass, freezer, timedelta(minutes=1))
    await callback(http, destination=MOTHER)
    await advance(hass, freezer, timedelta(minutes=28))
    await callback(http, destination=GUARD)  # late, but before the check

    await step_through(
        hass, freezer, STATUS_POLL_GIVE_UP + timedelta(hours=2), timedelta(hours=1)
    )
    assert gateway.requests_to("status") == []
    assert [e.data["source"] for e in events] == ["webhook", "webhook"]


async def test_asked_at_growing_intervals_for_72_hours(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """A message that stays pending (a pending report came): asked until 72 hours."""
    gateway.set_outcome(MOTHER, "pending")
    sent_at = dt_util.utcnow().timestamp()
    await send_call(hass, [MOTHER])
    response = await http.get(
        WEBHOOK_PATH,
        params={"reference": REFERENCE, "destination": MOTHER, "status": "pending"},
    )
    assert (response.status, await response.text()) == (200, "OK")

    # Every time a check can fall due is a multiple of 30 minutes after the send.
    await step_through(
        hass, freezer, STATUS_POLL_GIVE_UP + timedelta(hours=12), timedelta(minutes=30)
    )
    times = [at - sent_at for at in status_times(gateway)]
    assert EARLIEST.total_seconds() <= times[0] <= LATEST.total_seconds()
    assert times[-1] <= STATUS_POLL_GIVE_UP.total_seconds()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == sorted(gaps)  # never closer together than before
    assert gaps[-1] > 4 * gaps[0]  # and really growing
    assert 5 <= len(times) <= 30  # far fewer than status polling's
    # The pending status was known already: nothing more was announced.
    assert announced(events) == [(REFERENCE, MOTHER, "pending", "webhook")]
    record = loaded_entry.runtime_data.tracker.outbox.get(REFERENCE, MOTHER)
    assert record.given_up


async def test_a_scheduled_message_from_its_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Scheduled a day ahead: asked about 30 minutes to 2 hours after that time."""
    scheduled = dt_util.utcnow() + timedelta(days=1)
    await send_call(hass, [MOTHER], schedule=scheduled.isoformat())
    await advance(hass, freezer, timedelta(days=1) + EARLIEST - timedelta(seconds=30))
    assert gateway.requests_to("status") == []

    await step_through(hass, freezer, LATEST - EARLIEST)
    (asked,) = status_times(gateway)
    since = asked - scheduled.timestamp()
    assert EARLIEST.total_seconds() <= since <= LATEST.total_seconds()
    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "poll")]


async def test_the_check_time_survives_a_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
) -> None:
    """The time is saved with the record; a reload keeps it (and asks nothing now)."""
    sent_at = dt_util.utcnow().timestamp()
    await send_call(hass, [MOTHER])
    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))
    due = stored_record(hass_storage, loaded_entry.entry_id)["next_poll"]
    assert due == pytest.approx(sent_at + STRAGGLER_FIRST.total_seconds(), abs=1)

    await advance(hass, freezer, timedelta(minutes=20))
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await advance(hass, freezer, timedelta(minutes=9))
    assert gateway.requests_to("status") == []
    await advance(hass, freezer, timedelta(minutes=2))
    (asked,) = status_times(gateway)
    assert asked >= due
    # Settled by that check: nothing is due any more, in the file too.
    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))
    stored = stored_record(hass_storage, loaded_entry.entry_id)
    assert (stored["status"], stored["next_poll"], stored["polls"]) == (
        "delivered",
        None,
        1,
    )


async def test_stragglers_within_the_budget_oldest_first(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Two bulk sends without callbacks: 60 a minute, 4 at once, the older first."""
    first = [f"99555{n:07d}" for n in range(150)]
    second = [f"99557{n:07d}" for n in range(150)]
    await send_call(hass, first, reference="first")
    await advance(hass, freezer, timedelta(minutes=1))
    await send_call(hass, second, reference="second")
    started = dt_util.utcnow().timestamp()
    await advance(hass, freezer, STRAGGLER_FIRST - timedelta(minutes=2))
    assert gateway.requests_to("status") == []

    await step_through(hass, freezer, timedelta(minutes=10), timedelta(seconds=20))
    asked = gateway.requests_to("status")
    assert len(asked) == 300
    assert len(events) == 300
    order = [r.params["reference"] for r in asked]
    assert order == ["first"] * 150 + ["second"] * 150
    per_minute = Counter(int((r.at - started) // 60) for r in asked)
    assert max(per_minute.values()) <= MAX_REQUESTS_PER_MINUTE
    assert gateway.most_in_flight["status"] <= MAX_REQUESTS_IN_FLIGHT


async def test_the_checks_keep_no_message_the_outbox_dropped(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Bulk sends past the outbox's bound: the checks' queue keeps no record the
    outbox dropped (half an hour before their check comes), nor grows past it."""
    gateway.balance = 10**6
    for first in (0, MAX_RECORDS // 2 + 1):
        numbers = [
            f"995577{index:06d}" for index in range(first, first + MAX_RECORDS // 2 + 1)
        ]
        await hass.services.async_call(
            DOMAIN,
            "send_sms",
            {"recipients": numbers, "message": "Water cut"},
            blocking=True,
        )
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert len(outbox) == MAX_RECORDS
    # Internals: nothing else shows what is kept in memory.
    queued = [record for _, _, record, _ in loaded_entry.runtime_data.poller._queue]
    assert len(queued) == MAX_RECORDS
    assert all(outbox.holds(record) for record in queued)
