"""Every report reaches its message: reloads, removal, restarts, disabling, schedules, bulk.

Each test drives Home Assistant as a user does (actions, webhook requests,
reloads, frozen time) and makes the fake gateway hold or answer as needed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
import time
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import (
    ConfigEntryDisabler,
    ConfigEntryState,
    ConfigSubentryData,
)
from homeassistant.core import Event, HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.smsoffice.const import (
    CONF_NUMBER,
    CONF_STATUS_POLLING,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from custom_components.smsoffice.outbox import MAX_AGE, SAVE_DELAY
from custom_components.smsoffice.status_polling import (
    CATCH_UP_DELAY,
    MAX_REQUESTS_IN_FLIGHT,
    MAX_REQUESTS_PER_MINUTE,
    STATUS_POLL_FIRST,
    STRAGGLER_FIRST,
)
from tests.conftest import GUARD, MOTHER, WEBHOOK_ID, advance, post_with_a_held_body
from tests.fake_smsoffice import FakeSmsOffice

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
# Mother's delivery event entity, on her device: it takes her reports.
EVENT_ENTITY = "event.sms_office_homealarm_mother_delivery_report"
REFERENCE = "alarm-0001"

pytestmark = pytest.mark.usefixtures("unload_entries")


def send_call(
    hass: HomeAssistant, recipients: list[str], reference: str = REFERENCE, **data: Any
) -> asyncio.Task[Any]:
    """Start `smsoffice.send_sms` in a task (it may be held at the gateway).

    A plain task, not one of Home Assistant's: waiting for Home Assistant to
    be idle does not wait for a send that the gateway holds.
    """
    return asyncio.ensure_future(
        hass.services.async_call(
            DOMAIN,
            "send_sms",
            {
                "recipients": recipients,
                "message": "The alarm went off",
                "reference": reference,
                **data,
            },
            blocking=True,
            return_response=True,
        )
    )


async def callback(
    http: TestClient, reference: str = REFERENCE, destination: str = MOTHER
) -> None:
    """Deliver the gateway's "delivered" callback over HTTP; it must be taken."""
    response = await http.get(
        WEBHOOK_PATH,
        params={
            "reference": reference,
            "status": "delivered",
            "reason": "",
            "destination": destination,
            "timestamp": "20261130120000",
            "operator": "28202",
        },
    )
    assert (response.status, await response.text()) == (200, "OK")


def announced(events: list[Event]) -> list[tuple[str, str, str, str]]:
    """Return (reference, destination, status, source) of each event fired."""
    return [
        (e.data["reference"], e.data["destination"], e.data["status"], e.data["source"])
        for e in events
    ]


async def test_callback_while_the_entry_sets_up_again(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """A reload waits for the balance; a report that comes meanwhile is applied once."""
    await send_call(hass, [MOTHER])
    await hass.async_block_till_done(wait_background_tasks=True)
    gateway.inject("hold", endpoint="balance")
    reload = hass.async_create_task(
        hass.config_entries.async_reload(loaded_entry.entry_id)
    )
    await gateway.wait_for_held()
    assert loaded_entry.state is ConfigEntryState.SETUP_IN_PROGRESS

    await callback(http)
    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "webhook")]

    gateway.release()
    assert await reload
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert len(events) == 1
    # The event entity, added after the report, still shows it.
    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.attributes["event_type"] == "delivered"
    assert state.attributes["reference"] == REFERENCE
    # Applied once: the same callback again is no news.
    await callback(http)
    await hass.async_block_till_done()
    assert len(events) == 1


async def test_callback_while_the_entry_is_unloaded(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Between an unload and the next set-up, reports are applied, not dropped."""
    await send_call(hass, [MOTHER])
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)

    await callback(http)
    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "webhook")]

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    record = loaded_entry.runtime_data.tracker.outbox.get(REFERENCE, MOTHER)
    assert record is not None
    assert record.status == "delivered"


async def test_send_answered_after_a_reload(  # noqa: PLR0917
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The gateway answers a send after the entry reloaded: its report still counts."""
    gateway.inject("hold", endpoint="send")
    sending = send_call(hass, [MOTHER])
    await gateway.wait_for_held()
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    gateway.release()
    response = await sending
    assert response["reference"] == REFERENCE
    await callback(http)
    await hass.async_block_till_done()

    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "webhook")]
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert outbox.get(REFERENCE, MOTHER).status == "delivered"
    # And the file holds what the reloaded entry holds.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    stored = hass_storage[f"{DOMAIN}.outbox.{loaded_entry.entry_id}"]["data"]
    names = stored["fields"]
    rows = [dict(zip(names, row, strict=True)) for row in stored["records"]]
    assert [(r["reference"], r["status"]) for r in rows] == [(REFERENCE, "delivered")]


async def test_report_that_overtakes_the_send_answer(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """A callback that comes before the gateway's answer to the send is kept for it."""
    gateway.inject("hold", endpoint="send")
    sending = send_call(hass, [MOTHER])
    await gateway.wait_for_held()

    await callback(http)
    assert events == []  # not recorded yet: kept

    gateway.release()
    await sending
    await hass.async_block_till_done()
    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "webhook")]


async def test_entry_removed_while_a_send_is_out(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Removed while the gateway holds a send: no outbox file is left or made again."""
    key = f"{DOMAIN}.outbox.{loaded_entry.entry_id}"
    await send_call(hass, [GUARD], reference="earlier")
    gateway.inject("hold", endpoint="send")
    sending = send_call(hass, [MOTHER])
    await gateway.wait_for_held()

    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    gateway.release()
    await sending
    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))

    assert key not in hass_storage
    # The webhook went with the entry: Home Assistant answers, nothing fires.
    response = await http.get(WEBHOOK_PATH, params={"reference": REFERENCE})
    assert response.status == 200
    assert events == []


@pytest.mark.parametrize("options", [{}], ids=["default_polling"])
async def test_catch_up_after_enabling_in_webhook_mode(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    config_entry: MockConfigEntry,
) -> None:
    """A report missed while the entry was disabled is asked for within minutes."""
    await async_process_ha_core_config(
        hass, {"external_url": "https://home.example.ge"}
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert not config_entry.runtime_data.poller.polling  # webhook mode
    await send_call(hass, [MOTHER])
    await hass.async_block_till_done()
    assert await hass.config_entries.async_set_disabled_by(
        config_entry.entry_id, ConfigEntryDisabler.USER
    )
    assert gateway.status_of(REFERENCE, MOTHER) == "Delivered"  # nobody was told

    assert await hass.config_entries.async_set_disabled_by(config_entry.entry_id, None)
    await hass.async_block_till_done()
    await advance(hass, freezer, CATCH_UP_DELAY - timedelta(seconds=2))
    assert gateway.requests_to("status") == []
    await advance(hass, freezer, timedelta(seconds=3))

    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "poll")]
    assert len(gateway.requests_to("status")) == 1
    # Once: no more status requests in webhook mode.
    await advance(hass, freezer, timedelta(hours=2))
    assert len(gateway.requests_to("status")) == 1
    assert await hass.config_entries.async_unload(config_entry.entry_id)


async def test_message_scheduled_beyond_the_outbox_age(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Scheduled 8 days ahead: kept past the 7-day age, its report still counts."""
    scheduled = dt_util.utcnow() + timedelta(days=8)
    await send_call(hass, [MOTHER], schedule=scheduled.isoformat())
    # Gone out; its callback comes before any straggler check would.
    await advance(hass, freezer, timedelta(days=8, minutes=20))
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    await send_call(hass, [GUARD], reference="later")
    await hass.async_block_till_done()

    await callback(http)
    await hass.async_block_till_done()

    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "webhook")]
    assert all(r.at >= scheduled.timestamp() for r in gateway.requests_to("status"))


async def test_a_reload_in_webhook_mode_asks_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """The tracker took reports through the reload: nothing to catch up on.

    The straggler checks keep their time (30 minutes after the send).
    """
    numbers = [f"99555{n:07d}" for n in range(200)]
    await send_call(hass, numbers)  # delivered; the callbacks go nowhere
    await advance(hass, freezer, timedelta(minutes=10))
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    for _ in range(5):
        await advance(hass, freezer, timedelta(minutes=1))
    assert gateway.requests_to("status") == []
    await advance(hass, freezer, STRAGGLER_FIRST - timedelta(minutes=16))
    assert gateway.requests_to("status") == []

    for _ in range(5):
        await advance(hass, freezer, timedelta(minutes=1))
    asked = [r.params["destination"] for r in gateway.requests_to("status")]
    assert sorted(asked) == numbers  # each once, within the budget
    assert Counter(e.data["source"] for e in events) == {"poll": 200}


async def test_a_disabled_entry_takes_no_reports_until_enabled(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
) -> None:
    """Disabled: no webhook, no events, no status checks; enabled: caught up once."""
    await send_call(hass, [MOTHER, GUARD])
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.config_entries.async_set_disabled_by(
        loaded_entry.entry_id, ConfigEntryDisabler.USER
    )
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED

    # Home Assistant answers for a webhook nobody registered (ours says OK).
    response = await http.get(
        WEBHOOK_PATH,
        params={"reference": REFERENCE, "status": "delivered", "destination": MOTHER},
    )
    assert (response.status, await response.text()) == (200, "")
    await advance(hass, freezer, timedelta(hours=3))
    assert events == []
    assert gateway.requests_to("status") == []

    assert await hass.config_entries.async_set_disabled_by(loaded_entry.entry_id, None)
    await advance(hass, freezer, CATCH_UP_DELAY + timedelta(seconds=1))
    assert sorted(announced(events)) == [
        (REFERENCE, MOTHER, "delivered", "poll"),
        (REFERENCE, GUARD, "delivered", "poll"),
    ]
    # Once: the callback now is no news, and nothing is asked again.
    await callback(http)
    await advance(hass, freezer, timedelta(hours=3))
    assert len(events) == 2
    assert len(gateway.requests_to("status")) == 2


@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: True}], ids=["polling"])
async def test_scheduled_message_is_polled_from_its_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    config_entry: MockConfigEntry,
) -> None:
    """Polling starts at the scheduled time and gives up 72 h after it, not before."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    gateway.set_outcome(MOTHER, "pending")
    scheduled = dt_util.utcnow() + timedelta(days=4)
    await send_call(hass, [MOTHER], schedule=scheduled.isoformat())

    step = timedelta(hours=1)
    for _ in range(4 * 24 - 1):
        await advance(hass, freezer, step)
    assert gateway.requests_to("status") == []
    await advance(hass, freezer, step + STATUS_POLL_FIRST)
    first = gateway.requests_to("status")
    assert len(first) == 1
    assert first[0].at >= scheduled.timestamp()
    assert announced(events) == [(REFERENCE, MOTHER, "pending", "poll")]

    # Still asked about 71 hours after the scheduled time (days after the request).
    await advance(hass, freezer, timedelta(hours=70))
    count = len(gateway.requests_to("status"))
    await advance(hass, freezer, timedelta(hours=1))
    assert len(gateway.requests_to("status")) > count
    record = config_entry.runtime_data.tracker.outbox.get(REFERENCE, MOTHER)
    assert not record.given_up
    await advance(hass, freezer, timedelta(hours=2))
    assert record.given_up
    assert await hass.config_entries.async_unload(config_entry.entry_id)


async def test_outbox_keeps_a_scheduled_message_until_its_age(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    """Aged from the scheduled time: kept until then plus the outbox's age."""
    scheduled = dt_util.utcnow() + timedelta(days=3)
    await send_call(hass, [MOTHER], schedule=scheduled.isoformat())
    await advance(hass, freezer, timedelta(days=3) + MAX_AGE - timedelta(hours=1))
    await send_call(hass, [GUARD], reference="one")
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert outbox.get(REFERENCE, MOTHER) is not None
    await advance(hass, freezer, timedelta(hours=2))
    await send_call(hass, [GUARD], reference="two")
    assert outbox.get(REFERENCE, MOTHER) is None


@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: True}], ids=["polling"])
async def test_bulk_send_polls_within_the_budget(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    config_entry: MockConfigEntry,
) -> None:
    """10,000 recipients in polling mode: never over budget, and every one settles."""
    gateway.balance = 20_000
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    numbers = [f"99555{n:07d}" for n in range(10_000)]
    response = await send_call(hass, numbers)
    assert len(response["recipients"]) == 10_000
    await hass.async_block_till_done()
    started = dt_util.utcnow().timestamp()

    step = timedelta(seconds=20)
    for _ in range(3 * 60 * 10):  # up to 10 hours
        await advance(hass, freezer, step)
        if len(events) == 10_000:
            break

    assert len(events) == 10_000
    assert {e.data["destination"] for e in events} == set(numbers)
    times = sorted(r.at for r in gateway.requests_to("status"))
    assert len(times) == 10_000  # each asked once: delivered at the first poll
    # Never more than the budget in any minute, nor at once.
    per_minute = Counter(int((at - started) // 60) for at in times)
    assert max(per_minute.values()) <= MAX_REQUESTS_PER_MINUTE
    window = 0
    for index, at in enumerate(times):
        while times[window] <= at - 60:
            window += 1
        assert index - window + 1 <= MAX_REQUESTS_PER_MINUTE
    assert gateway.most_in_flight["status"] <= MAX_REQUESTS_IN_FLIGHT
    # And it used the budget: about 60 a minute from the first poll on.
    minutes = (times[-1] - times[0]) / 60
    assert minutes < 10_000 / MAX_REQUESTS_PER_MINUTE + 2
    assert await hass.config_entries.async_unload(config_entry.entry_id)


async def test_parallel_sends_with_one_reference(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The second of two parallel sends with one reference is refused: one request."""
    gateway.inject("hold", endpoint="send")
    first = send_call(hass, [MOTHER])
    await gateway.wait_for_held()

    with pytest.raises(ServiceValidationError) as refused:
        await send_call(hass, [GUARD])
    assert refused.value.translation_key == "reference_in_use"

    gateway.release()
    assert (await first)["recipients"] == [MOTHER]
    assert len(gateway.requests_to("send")) == 1
    # Recorded now: still refused afterwards.
    with pytest.raises(ServiceValidationError):
        await send_call(hass, [GUARD])
    assert len(gateway.requests_to("send")) == 1


async def test_a_refused_send_frees_its_reference(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A send the gateway refused did not use its reference: it can be sent again."""
    gateway.senders.discard("HomeAlarm")
    with pytest.raises(Exception, match=r"."):
        await send_call(hass, [MOTHER])
    gateway.senders.add("HomeAlarm")
    assert (await send_call(hass, [MOTHER]))["reference"] == REFERENCE
    assert len(gateway.requests_to("send")) == 2


async def test_two_recipients_saved_under_one_name(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """Saved before names had to be unique: sending to that name is refused."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=config_entry.title,
        unique_id=config_entry.unique_id,
        data=dict(config_entry.data),
        options=dict(config_entry.options),
        subentries_data=[
            ConfigSubentryData(
                data={"name": "Mother", CONF_NUMBER: MOTHER},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Mother",
                unique_id=MOTHER,
            ),
            ConfigSubentryData(
                data={"name": "mother", CONF_NUMBER: GUARD},
                subentry_type=SUBENTRY_RECIPIENT,
                title="mother",
                unique_id=GUARD,
            ),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    with pytest.raises(ServiceValidationError) as refused:
        await send_call(hass, ["MOTHER"])
    assert refused.value.translation_key == "ambiguous_recipient"
    assert refused.value.translation_placeholders == {"name": "MOTHER"}
    assert gateway.requests_to("send") == []
    # A number, or the recipient's own notify entity, still works.
    await send_call(hass, [MOTHER], reference="by-number")
    assert len(gateway.requests_to("send")) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: True}], ids=["polling"])
async def test_catch_up_of_a_message_older_than_polling_lasts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    events: list[Event],
    config_entry: MockConfigEntry,
) -> None:
    """Down for 4 days: a message past the 72 hours is still checked once."""
    gateway.set_outcome(MOTHER, "pending")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await send_call(hass, [MOTHER])
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await advance(hass, freezer, timedelta(days=4))
    assert gateway.requests_to("status") == []

    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await advance(hass, freezer, CATCH_UP_DELAY + timedelta(seconds=1))
    assert len(gateway.requests_to("status")) == 1
    assert announced(events) == [(REFERENCE, MOTHER, "pending", "poll")]
    record = config_entry.runtime_data.tracker.outbox.get(REFERENCE, MOTHER)
    assert record.given_up  # that was the last check
    await advance(hass, freezer, timedelta(hours=3))
    assert len(gateway.requests_to("status")) == 1


async def test_callback_inside_the_handler_when_the_entry_is_removed(
    hass: HomeAssistant,
    http: TestClient,
    loaded_entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """A callback whose body arrives after the entry was removed: OK, nothing fired."""
    await send_call(hass, [MOTHER])
    body = (
        f"reference={REFERENCE}&status=delivered&destination={MOTHER}"
        "&timestamp=20261130120000&operator=28202"
    ).encode()
    response, removed = await post_with_a_held_body(
        http,
        WEBHOOK_PATH,
        body,
        hass.config_entries.async_remove(loaded_entry.entry_id),
    )
    assert removed

    assert response.status == 200
    await hass.async_block_till_done()
    assert events == []


async def test_callback_inside_the_handler_when_the_entry_is_disabled(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    http: TestClient,
    loaded_entry: MockConfigEntry,
    events: list[Event],
) -> None:
    """A callback whose body arrives after the entry was disabled: not announced.

    Enabling the entry catches up: announced then, once.
    """
    await send_call(hass, [MOTHER])
    body = f"reference={REFERENCE}&status=delivered&destination={MOTHER}".encode()
    posting = asyncio.ensure_future(
        post_with_a_held_body(
            http,
            WEBHOOK_PATH,
            body,
            hass.config_entries.async_set_disabled_by(
                loaded_entry.entry_id, ConfigEntryDisabler.USER
            ),
        )
    )
    while not posting.done():  # its pause needs the frozen clock to move
        freezer.tick(timedelta(milliseconds=10))
        await hass.async_add_executor_job(time.sleep, 0.01)
    response, disabled = posting.result()
    assert disabled
    assert response.status == 200
    await hass.async_block_till_done()
    assert events == []

    assert await hass.config_entries.async_set_disabled_by(loaded_entry.entry_id, None)
    await advance(hass, freezer, CATCH_UP_DELAY + timedelta(seconds=1))
    assert announced(events) == [(REFERENCE, MOTHER, "delivered", "poll")]
