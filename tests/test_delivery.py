"""Delivery reports by status polling and the delivery event entity."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
import itertools
import json
from pathlib import Path
import time
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smsoffice.client import DeliveryStatus
from custom_components.smsoffice.const import (
    CONF_ACCEPT_FOREIGN,
    CONF_CLOUDHOOK_URL,
    CONF_STATUS_POLLING,
    DOMAIN,
)
from custom_components.smsoffice.outbox import MAX_RECORDS
from custom_components.smsoffice.status_polling import (
    CATCH_UP_DELAY,
    MAX_REQUESTS_IN_FLIGHT,
    STATUS_POLL_FIRST,
    STATUS_POLL_GIVE_UP,
    STATUS_POLL_MAX,
)
from tests.conftest import GUARD, MOTHER, WEBHOOK_ID
from tests.fake_smsoffice import FakeSmsOffice

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
# Mother's delivery event entity, on her device: it takes her reports.
EVENT_ENTITY = "event.sms_office_homealarm_mother_delivery_report"
ACCOUNT_EVENT_ENTITY = "event.sms_office_homealarm_delivery_reports_other_numbers"
REFERENCE = "alarm-0001"


@pytest.fixture
def options(options: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Options with status polling on, changed by an indirect parameter."""
    options[CONF_STATUS_POLLING] = True
    options.update(getattr(request, "param", {}))
    return options


@pytest.fixture
async def entry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, loaded_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The loaded entry with time frozen; unloaded afterwards."""
    # With time frozen, a retry's sleep would last until the next tick: a
    # request that finds a closed keep-alive connection is retried at once.
    loaded_entry.runtime_data.client._retry_delay = 0
    yield loaded_entry
    if loaded_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def send(
    hass: HomeAssistant, recipients: list[str], reference: str = REFERENCE
) -> None:
    """Send a message (with the reference `REFERENCE` unless told otherwise)."""
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {
            "recipients": recipients,
            "message": "The alarm went off",
            "reference": reference,
        },
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta
) -> None:
    """Move time on and let what is due run, polls included."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def polls(gateway: FakeSmsOffice) -> int:
    """Return how many status requests the gateway received."""
    return len(gateway.requests_to("status"))


def stored_outbox(
    entry_id: str, fields: list[str], rows: list[list[Any]]
) -> tuple[str, dict[str, Any]]:
    """Return an outbox file as a previous run left it (for `hass_storage`)."""
    key = f"{DOMAIN}.outbox.{entry_id}"
    return key, {"version": 2, "key": key, "data": {"fields": fields, "records": rows}}


async def wait_for_held(
    hass: HomeAssistant, gateway: FakeSmsOffice, count: int
) -> None:
    """Wait until the gateway holds `count` requests; fail after about 5 s.

    In real time: with time frozen the event loop's clock stands still, so
    `gateway.wait_for_held`'s own timeout would never come (a hang, not a
    failure, if the requests never do).
    """
    for _ in range(500):
        if gateway.held >= count:
            return
        await hass.async_add_executor_job(time.sleep, 0.01)
    pytest.fail(f"the gateway holds {gateway.held} requests, not {count}")


async def callback(http: TestClient, **params: str) -> None:
    """Make one GET callback to the webhook, as the gateway does; expect OK."""
    response = await http.get(WEBHOOK_PATH, params=params)
    assert (response.status, await response.text()) == (200, "OK")


async def test_polling_settles_without_a_webhook(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """No webhook at all: the first poll after the delay settles each destination."""
    gateway.set_outcome(GUARD, "expired")
    await send(hass, [MOTHER, GUARD])
    assert polls(gateway) == 0

    await advance(hass, freezer, STATUS_POLL_FIRST - timedelta(seconds=1))
    assert polls(gateway) == 0
    await advance(hass, freezer, timedelta(seconds=2))

    assert polls(gateway) == 2
    assert sorted((e.data["destination"], e.data["status"]) for e in events) == [
        (MOTHER, "delivered"),
        (GUARD, "expired"),
    ]
    assert all(e.data["source"] == "poll" for e in events)
    assert all(e.data["config_entry_id"] == entry.entry_id for e in events)
    assert all(e.data["timestamp"] is None for e in events)
    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.attributes["event_type"] in ("delivered", "expired")

    # Settled: no more polls, however long we wait.
    await advance(hass, freezer, timedelta(hours=2))
    assert polls(gateway) == 2
    assert len(events) == 2


async def test_polling_backs_off_and_gives_up_after_72_hours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """A message that stays pending is polled less and less, then given up."""
    gateway.set_outcome(MOTHER, "pending")
    await send(hass, [MOTHER])

    times: list[float] = []
    elapsed = timedelta()
    step = timedelta(seconds=15)
    while elapsed < STATUS_POLL_GIVE_UP + timedelta(hours=1):
        before = polls(gateway)
        await advance(hass, freezer, step)
        elapsed += step
        if polls(gateway) > before:
            times.append(elapsed.total_seconds())
        step = (
            timedelta(seconds=15)
            if elapsed < timedelta(hours=1)
            else timedelta(minutes=10)
        )

    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] == pytest.approx(STATUS_POLL_FIRST.total_seconds(), abs=15)
    assert gaps[:4] == pytest.approx([60, 120, 240, 480], abs=15)
    # Then every half hour (measured in 10-minute steps), until 72 hours.
    later = [gap for time, gap in zip(times[1:], gaps, strict=True) if time > 7200]
    assert later
    assert all(abs(gap - STATUS_POLL_MAX.total_seconds()) <= 600 for gap in later)
    assert STATUS_POLL_GIVE_UP.total_seconds() - 3600 < times[-1]
    assert times[-1] <= STATUS_POLL_GIVE_UP.total_seconds()
    # Pending fired once; repeats of the same status fire nothing.
    assert [e.data["status"] for e in events] == ["pending"]
    record = entry.runtime_data.tracker.outbox.get(REFERENCE, MOTHER)
    assert record.given_up
    assert record.next_poll is None

    count = polls(gateway)
    await advance(hass, freezer, timedelta(days=1))
    assert polls(gateway) == count


@pytest.mark.usefixtures("entry")
async def test_report_fires_once_whichever_way_comes_first(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    hass_client_no_auth: Callable[[], Any],
) -> None:
    """The webhook before the poll (and the poll before the webhook): one event."""
    client: TestClient = await hass_client_no_auth()
    gateway.callback_url = str(client.make_url(WEBHOOK_PATH))
    await send(hass, [MOTHER])
    await gateway.wait_for_callbacks(1)
    await hass.async_block_till_done()
    assert [e.data["source"] for e in events] == ["webhook"]

    await advance(hass, freezer, STATUS_POLL_FIRST + timedelta(seconds=1))
    # Settled by the webhook: nothing left to poll.
    assert polls(gateway) == 0

    # Now the other way round: the poll settles it, the callback comes later.
    gateway.callback_url = None
    events.clear()
    await send(hass, [GUARD], "alarm-0002")
    await advance(hass, freezer, STATUS_POLL_FIRST + timedelta(seconds=1))
    assert [e.data["source"] for e in events] == ["poll"]
    response = await client.get(
        WEBHOOK_PATH,
        params={
            "reference": "alarm-0002",
            "destination": GUARD,
            "status": "delivered",
            "timestamp": "20250102030405",
        },
    )
    assert response.status == 200
    assert await response.text() == "OK"
    await hass.async_block_till_done()
    assert len(events) == 1


async def test_poll_errors_are_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """A failed status request is tried again later."""
    gateway.inject("http500", endpoint="status")
    await send(hass, [MOTHER])

    await advance(hass, freezer, STATUS_POLL_FIRST + timedelta(seconds=1))
    assert polls(gateway) == 1
    assert events == []

    await advance(hass, freezer, STATUS_POLL_FIRST * 2 + timedelta(seconds=1))
    assert polls(gateway) == 2
    assert [e.data["status"] for e in events] == ["delivered"]


@pytest.mark.usefixtures("unload_entries")
async def test_damaged_records_are_skipped_and_polling_goes_on(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A damaged outbox file: its unreadable records are skipped, the rest polled.

    Every field is checked when read (a poll count that is no number, a
    scheduled time that is text), so a damaged record never reaches polling.
    """
    now = time.time() - 60
    key, stored = stored_outbox(
        config_entry.entry_id,
        ["reference", "destination", "sent_at", "polls", "scheduled_at"],
        [
            ["many-polls", GUARD, now, "many", None],
            ["text-time", GUARD, now, 0, "tomorrow"],
            ["fine", GUARD, now, 0, None],
        ],
    )
    hass_storage[key] = stored
    gateway.set_outcome(GUARD, "delivered")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert "Skipped 2 unreadable records of the outbox" in caplog.text
    await send(hass, [MOTHER])

    await advance(hass, freezer, CATCH_UP_DELAY + timedelta(seconds=1))
    assert sorted(r.params["reference"] for r in gateway.requests_to("status")) == [
        REFERENCE,
        "fine",
    ]
    assert sorted((e.data["reference"], e.data["status"]) for e in events) == [
        (REFERENCE, "delivered"),
        ("fine", "unknown"),  # never sent to the fake: it knows nothing of it
    ]


async def test_polling_survives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """Messages still pending when the entry unloads are polled after it reloads."""
    await send(hass, [MOTHER])
    assert await hass.config_entries.async_unload(entry.entry_id)
    await advance(hass, freezer, timedelta(minutes=5))
    assert polls(gateway) == 0

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await advance(hass, freezer, timedelta(seconds=1))

    assert polls(gateway) == 1
    assert [(e.data["reference"], e.data["source"]) for e in events] == [
        (REFERENCE, "poll")
    ]


async def test_unload_while_a_poll_is_out(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """Unloading cancels a status request in flight: no event afterwards."""
    await send(hass, [MOTHER])
    outbox = entry.runtime_data.tracker.outbox
    gateway.inject("hold", endpoint="status")  # the gateway holds the answer
    freezer.tick(STATUS_POLL_FIRST + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await wait_for_held(hass, gateway, 1)

    assert await hass.config_entries.async_unload(entry.entry_id)
    gateway.release()  # it would say "delivered", to nobody
    await hass.async_block_till_done(wait_background_tasks=True)

    assert polls(gateway) == 1
    assert gateway.status_of(REFERENCE, MOTHER) == "Delivered"
    assert events == []
    assert outbox.get(REFERENCE, MOTHER).status is None


@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: False}], indirect=True)
async def test_no_polling_when_off(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """With the option off nothing is polled (a straggler check comes at 30 min)."""
    await send(hass, [MOTHER])
    await advance(hass, freezer, timedelta(minutes=29))
    assert polls(gateway) == 0
    assert events == []
    assert not entry.runtime_data.poller.polling


@pytest.mark.parametrize(
    ("external_url", "cloudhook", "polling"),
    [
        (None, None, True),
        ("https://home.example.ge", None, False),
        (None, "https://hooks.nabu.casa/abc", False),
    ],
)
async def test_polling_default_follows_reachability(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    external_url: str | None,
    cloudhook: str | None,
    polling: bool,
) -> None:
    """Without the option, poll when the callback URL is not reachable from outside."""
    if external_url:
        await async_process_ha_core_config(hass, {"external_url": external_url})
    options = dict(config_entry.options)
    del options[CONF_STATUS_POLLING]
    data = dict(config_entry.data)
    if cloudhook:
        data[CONF_CLOUDHOOK_URL] = cloudhook
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, data=data, options=options)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.runtime_data.poller.polling is polling

    assert await hass.config_entries.async_unload(config_entry.entry_id)


@pytest.mark.usefixtures("entry")
async def test_poll_of_a_message_settled_meanwhile_is_skipped(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    hass_client_no_auth: Callable[[], Any],
) -> None:
    """A record settled while others were polled is not asked about again."""
    http: TestClient = await hass_client_no_auth()
    # One more destination than may be asked about at once: the last one waits.
    numbers = [f"9955550000{n:02}" for n in range(MAX_REQUESTS_IN_FLIGHT + 1)]
    *first, last = numbers
    await send(hass, numbers)
    gateway.inject("hold", MAX_REQUESTS_IN_FLIGHT, endpoint="status")
    freezer.tick(STATUS_POLL_FIRST + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await wait_for_held(hass, gateway, MAX_REQUESTS_IN_FLIGHT)

    # While those polls are out, the webhook settles the one still waiting,
    # and a message is sent: it is polled after them.
    await callback(http, reference=REFERENCE, destination=last, status="delivered")
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {"recipients": [MOTHER], "message": "more", "reference": "later"},
        blocking=True,
    )
    gateway.release()
    await hass.async_block_till_done(wait_background_tasks=True)

    assert sorted(r.params["destination"] for r in gateway.requests_to("status")) == (
        sorted(first)
    )
    assert [(e.data["destination"], e.data["source"]) for e in events[:1]] == [
        (last, "webhook")
    ]
    # The held answers come back in any order.
    assert sorted((e.data["destination"], e.data["source"]) for e in events[1:]) == [
        (number, "poll") for number in sorted(first)
    ]

    await advance(hass, freezer, STATUS_POLL_FIRST + timedelta(seconds=1))
    assert polls(gateway) == MAX_REQUESTS_IN_FLIGHT + 1
    assert [e.data["reference"] for e in events] == [REFERENCE] * len(numbers) + [
        "later"
    ]


async def test_messages_sent_in_a_row_are_polled_together(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """Each send moves the wake-up; both messages are polled when due."""
    await send(hass, [MOTHER])
    await advance(hass, freezer, timedelta(seconds=10))
    await send(hass, [GUARD], "second")
    await advance(hass, freezer, STATUS_POLL_FIRST - timedelta(seconds=5))
    assert polls(gateway) == 1
    await advance(hass, freezer, timedelta(seconds=10))
    assert polls(gateway) == 2
    assert [e.data["reference"] for e in events] == [REFERENCE, "second"]


async def test_a_send_moves_a_later_wake_up_forward(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """A message sent while the next poll is far off is still polled after 30 s."""
    gateway.set_outcome(MOTHER, "pending")
    await send(hass, [MOTHER])
    await advance(hass, freezer, STATUS_POLL_FIRST + timedelta(seconds=1))
    assert polls(gateway) == 1  # pending: asked again in a minute

    await advance(hass, freezer, timedelta(seconds=10))
    await send(hass, [GUARD], "second")
    await advance(hass, freezer, STATUS_POLL_FIRST - timedelta(seconds=1))
    assert polls(gateway) == 1
    await advance(hass, freezer, timedelta(seconds=2))
    assert polls(gateway) == 2
    assert [(e.data["reference"], e.data["status"]) for e in events] == [
        (REFERENCE, "pending"),
        ("second", "delivered"),
    ]
    # The first message keeps its own backoff: a minute after its first poll.
    await advance(hass, freezer, timedelta(seconds=18))
    assert polls(gateway) == 2
    await advance(hass, freezer, timedelta(seconds=2))
    assert polls(gateway) == 3


@pytest.mark.usefixtures("entry")
async def test_no_second_poll_while_one_runs(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
) -> None:
    """Wake-ups while polls are out (a timer, a send) do not ask again."""
    gateway.set_outcome(MOTHER, "pending")
    gateway.set_outcome(GUARD, "pending")
    await send(hass, [MOTHER, GUARD])
    gateway.inject("hold", 2, endpoint="status")
    freezer.tick(STATUS_POLL_FIRST + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await wait_for_held(hass, gateway, 2)

    # Both destinations are out: time passes, another message is sent.
    freezer.tick(timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {"recipients": [GUARD], "message": "more", "reference": "later"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert polls(gateway) == 2

    gateway.release()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sorted(r.params["destination"] for r in gateway.requests_to("status")) == (
        sorted([MOTHER, GUARD])
    )
    assert gateway.most_in_flight["status"] == 2
    assert [e.data["status"] for e in events] == ["pending", "pending"]


@pytest.mark.usefixtures("unload_entries")
@pytest.mark.parametrize("options", [{CONF_ACCEPT_FOREIGN: True}], indirect=True)
async def test_foreign_reports_keep_the_outbox_bounded(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    config_entry: MockConfigEntry,
    events: list[Event],
    hass_client_no_auth: Callable[[], Any],
) -> None:
    """Reports for messages sent elsewhere are recorded, within the count bound."""
    # The outbox a previous run left: two short of full, all settled.
    now = time.time()
    key, stored = stored_outbox(
        config_entry.entry_id,
        ["reference", "destination", "sent_at", "status"],
        [[f"old-{n}", MOTHER, now - 60, "delivered"] for n in range(MAX_RECORDS - 2)],
    )
    hass_storage[key] = stored
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    outbox = config_entry.runtime_data.tracker.outbox
    assert len(outbox) == MAX_RECORDS - 2

    http: TestClient = await hass_client_no_auth()
    for number in range(1, 6):
        await callback(
            http, reference=f"f{number}", destination=GUARD, status="pending"
        )
    await hass.async_block_till_done()

    assert [e.data["reference"] for e in events] == ["f1", "f2", "f3", "f4", "f5"]
    assert len(outbox) == MAX_RECORDS
    records = list(outbox.records())
    assert [(r.reference, r.foreign) for r in records[-5:]] == [
        (f"f{number}", True) for number in range(1, 6)
    ]
    # The oldest went to make room.
    assert records[0].reference == "old-3"
    assert not outbox.has_reference("old-2")


# The event entity.


async def test_event_entity(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    entry: MockConfigEntry,
) -> None:
    """The account's event entity and a recipient's, every status an event type."""
    mother = next(
        subentry.subentry_id
        for subentry in entry.subentries.values()
        if subentry.data["number"] == MOTHER
    )
    for entity_id, unique_id, translation_key, name in (
        (
            ACCOUNT_EVENT_ENTITY,
            f"{entry.entry_id}_delivery",
            "other_numbers",
            "SMS Office HomeAlarm Delivery reports (other numbers)",
        ),
        (
            EVENT_ENTITY,
            f"{entry.entry_id}_recipient_{mother}_delivery",
            "delivery",
            "SMS Office HomeAlarm Mother Delivery report",
        ),
    ):
        entity = entity_registry.async_get(entity_id)
        assert entity is not None
        assert entity.unique_id == unique_id
        assert entity.translation_key == translation_key
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == "unknown"
        assert state.attributes["event_types"] == [
            "pending",
            "delivered",
            "undelivered",
            "expired",
            "unknown",
        ]
        assert state.attributes["friendly_name"] == name


@pytest.mark.parametrize("status", list(DeliveryStatus))
async def test_event_entity_triggers_for_each_status(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    status: DeliveryStatus,
    hass_client_no_auth: Callable[[], Any],
) -> None:
    """A report of any status triggers the event entity with its details."""
    await send(hass, [MOTHER])
    http: TestClient = await hass_client_no_auth()
    await callback(
        http,
        reference=REFERENCE,
        destination=MOTHER,
        status=status.value,
        reason="why",
        operator="28202",
    )
    await hass.async_block_till_done()

    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.state != "unknown"
    assert state.attributes["event_type"] == status.value
    assert state.attributes["reference"] == REFERENCE
    assert state.attributes["destination"] == MOTHER
    assert state.attributes["reason"] == "why"
    assert state.attributes["timestamp"] is None
    assert state.attributes["operator"] == "28202"


async def test_report_while_unloaded_is_shown_after_setup(  # noqa: PLR0917 - fixtures
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    events: list[Event],
    hass_client_no_auth: Callable[[], Any],
) -> None:
    """A report that comes while the entry is unloaded: the entity shows it later."""
    http: TestClient = await hass_client_no_auth()
    await send(hass, [MOTHER])
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(EVENT_ENTITY).state == "unavailable"

    # The webhook stays: the report is applied and announced on the bus now.
    await callback(
        http,
        reference=REFERENCE,
        destination=MOTHER,
        status="undelivered",
        reason="Absent subscriber",
        timestamp="20250102030405",
        operator="28201",
    )
    await hass.async_block_till_done()
    assert [(e.data["status"], e.data["source"]) for e in events] == [
        ("undelivered", "webhook")
    ]
    assert hass.states.get(EVENT_ENTITY).state == "unavailable"

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.state not in ("unknown", "unavailable")
    assert state.attributes["event_type"] == "undelivered"
    assert state.attributes["reference"] == REFERENCE
    assert state.attributes["destination"] == MOTHER
    assert state.attributes["reason"] == "Absent subscriber"
    assert state.attributes["timestamp"] == "2025-01-02T03:04:05+04:00"
    assert state.attributes["operator"] == "28201"
    # Shown, not announced again; settled, so nothing to catch up on either.
    await advance(hass, freezer, CATCH_UP_DELAY + timedelta(seconds=1))
    assert len(events) == 1
    assert polls(gateway) == 0


def test_event_types_are_translated() -> None:
    """Every event type has a name in the translations."""
    root = Path(__file__).parent.parent / "custom_components" / DOMAIN
    for name in ("strings.json", "translations/en.json"):
        strings = json.loads((root / name).read_text(encoding="utf-8"))
        names = strings["entity"]["event"]["delivery"]["state_attributes"][
            "event_type"
        ]["state"]
        assert set(names) == {status.value for status in DeliveryStatus}
