"""Sends that overlap: duplicates of a send still out, unloads and stops meanwhile.

Driven through Home Assistant (actions, notify entities, the legacy action,
webhook callbacks, unloads and reloads, Home Assistant stopping); the fake
gateway holds a send until it is released, and then answers it, refuses it
or drops the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
import threading
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant, callback as callback_job
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.client.numbers import INLINE_LIMIT
from custom_components.smsoffice.const import (
    CONF_DAILY_CREDIT_LIMIT,
    CONF_DUPLICATE_WINDOW,
    EVENT_DELIVERY_STATUS,
)
from custom_components.smsoffice.delivery import REPLAY_SLICE
from custom_components.smsoffice.sending import RECORD_SLICE
from tests.conftest import (
    GUARD,
    MOTHER,
    held_send,
    notify as notify_entity,
    notify_legacy,
    options_with,
    send_sms,
)
from tests.fake_smsoffice import FakeSmsOffice
from tests.test_cost_control import CREDITS_TODAY, MOTHER_ENTITY
from tests.test_outbox import stored_records
from tests.test_tracking import announced, callback

TEXT = "Gate open"
WITH_SUPPRESSION = pytest.mark.parametrize(
    "options", [options_with(**{CONF_DUPLICATE_WINDOW: 10})]
)
# Suppression on, and a daily limit of 2 credits.
WITH_SUPPRESSION_AND_A_LIMIT = pytest.mark.parametrize(
    "options",
    [options_with(**{CONF_DUPLICATE_WINDOW: 10, CONF_DAILY_CREDIT_LIMIT: 2})],
)

pytestmark = pytest.mark.usefixtures("unload_entries")


def started[T](call: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start an action in a plain task: waiting for Home Assistant to be idle
    does not wait for a send that the gateway holds."""
    return asyncio.ensure_future(call)


async def let_run() -> None:
    """Let what can run without the gateway (a send's checks) run."""
    await asyncio.sleep(0.1)


# How the first send fails once the gateway has held it: what to change at
# the gateway before releasing it, the fault to release it with, and the
# error the first send raises.
FAILURES: dict[str, tuple[Callable[[FakeSmsOffice], None], str | None, str]] = {
    # The first costs 2 credits, the second (one number) 1.
    "balance": (
        lambda gateway: setattr(gateway, "balance", 1),
        None,
        "balance_too_low",
    ),
    # The first asks for a sender the account no longer has.
    "sender": (
        lambda gateway: gateway.senders.discard("smsoffice"),
        None,
        "sender_rejected",
    ),
    # The connection drops after the request went out: it may have been sent.
    "connection": (lambda gateway: None, "reset", "maybe_sent"),
}


def second_send(hass: HomeAssistant, path: str) -> asyncio.Task[dict[str, Any] | None]:
    """Send TEXT to Mother the way `path` names; the action's response, if any."""

    async def call() -> dict[str, Any] | None:
        if path == "send_sms":
            return await send_sms(hass, recipients=[MOTHER], message=TEXT)
        if path == "notify_entity":
            await notify_entity(hass, MOTHER_ENTITY, message=TEXT)
        else:
            await notify_legacy(hass, message=TEXT, target=["555 12 34 56"])
        return None

    return started(call())


@dataclass
class Reports:
    """The gateway's reports, through the webhook, and the events they fire."""

    http: TestClient
    events: list[Event]

    async def bring(self, reference: str, number: str) -> None:
        """Bring the report that the message to `number` was delivered."""
        await callback(self.http, reference, number)

    def announced(self) -> list[tuple[str, str, str, str]]:
        """Return the events fired: (reference, number, status, source) each."""
        return announced(self.events)


@pytest.fixture
def reports(http: TestClient, events: list[Event]) -> Reports:
    """Reports brought through the webhook of the entry, set up."""
    return Reports(http, events)


# ---------------------------------------------------- duplicates still out


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("path", ["send_sms", "notify_entity", "notify_legacy"])
@WITH_SUPPRESSION
async def test_a_duplicate_of_a_send_that_fails_is_sent(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    path: str,
    failure: str,
) -> None:
    """The same text meanwhile waits for the first send's outcome: refused (or
    maybe sent), so the second is sent, not suppressed."""
    await hass.async_block_till_done()  # the legacy action is set up
    change, fault, error = FAILURES[failure]
    first = await held_send(
        hass, gateway, recipients=[MOTHER, GUARD], message=TEXT, sender="smsoffice"
    )
    second = second_send(hass, path)
    await let_run()
    assert not second.done()  # waits for the first, sends nothing meanwhile
    assert len(gateway.requests_to("send")) == 1

    change(gateway)
    gateway.release(fault)
    with pytest.raises(HomeAssistantError) as refused:
        await first
    assert refused.value.translation_key == error
    response = await second

    ((message),) = gateway.messages  # the second only
    assert (message.destinations, message.content) == ([MOTHER], TEXT)
    assert len(gateway.requests_to("send")) == 2
    if response is not None:
        assert response["status"] == "accepted"
        assert response["suppressed"] == []
        assert response["recipients"] == [MOTHER]
        assert response["reference"] == message.reference


@pytest.mark.parametrize("path", ["send_sms", "notify_entity"])
@WITH_SUPPRESSION
async def test_a_duplicate_of_a_send_accepted_is_suppressed(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    path: str,
) -> None:
    """It waits for the first send, which the gateway accepts: suppressed then."""
    first = await held_send(
        hass, gateway, recipients=[MOTHER], message=TEXT, reference="gate-1"
    )
    second = second_send(hass, path)
    await let_run()
    assert not second.done()

    gateway.release()
    assert (await first)["status"] == "accepted"
    response = await second
    assert len(gateway.messages) == 1
    assert len(gateway.requests_to("send")) == 1
    if response is not None:
        assert response["status"] == "suppressed"
        assert (response["reference"], response["suppressed"]) == ("gate-1", [MOTHER])


@WITH_SUPPRESSION
async def test_three_sends_of_one_text(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The first is refused: the second goes out and the third waits for it in
    turn, and is suppressed once the second is accepted."""
    gateway.inject("hold", 2, endpoint="send")
    first = started(send_sms(hass, recipients=[MOTHER, GUARD], message=TEXT))
    await gateway.wait_for_held()
    second = started(send_sms(hass, recipients=[MOTHER], message=TEXT))
    third = started(send_sms(hass, recipients=["0555123456"], message=TEXT))
    await let_run()
    assert not second.done()
    assert not third.done()

    gateway.balance = 1
    gateway.release()
    with pytest.raises(HomeAssistantError):
        await first
    await gateway.wait_for_held()  # one of the two is out now, the other waits
    await let_run()
    assert not second.done()
    assert not third.done()
    assert len(gateway.requests_to("send")) == 2

    gateway.release()
    responses = [await second, await third]
    assert sorted(r["status"] for r in responses) == ["accepted", "suppressed"]
    ((message),) = gateway.messages
    assert message.destinations == [MOTHER]
    assert {r["reference"] for r in responses} == {message.reference}
    assert len(gateway.requests_to("send")) == 2


@WITH_SUPPRESSION
async def test_numbers_partly_out(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Only Mother's copy is out: the send to both waits (one message, one
    reference), then goes to the night guard only."""
    first = await held_send(
        hass, gateway, recipients=[MOTHER], message=TEXT, reference="gate-1"
    )
    both = started(send_sms(hass, recipients=[MOTHER, GUARD], message=TEXT))
    await let_run()
    assert not both.done()

    gateway.release()
    await first
    response = await both
    assert response["status"] == "accepted"
    assert response["recipients"] == [GUARD]
    assert response["suppressed"] == [MOTHER]
    assert gateway.messages[-1].destinations == [GUARD]
    assert len(gateway.messages) == 2


async def test_suppression_switched_on_while_copies_are_out(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Two copies went out while suppression was off; it is switched on (the
    entry reloads): a third copy waits for both, then is suppressed."""
    gateway.inject("hold", 2, endpoint="send")
    copies = [
        started(send_sms(hass, recipients=[MOTHER], message=TEXT, reference=name))
        for name in ("copy-1", "copy-2")
    ]
    await gateway.wait_for_held(2)
    hass.config_entries.async_update_entry(
        loaded_entry, options=options_with(**{CONF_DUPLICATE_WINDOW: 10})
    )
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    third = started(send_sms(hass, recipients=[MOTHER], message=TEXT))
    await let_run()
    assert not third.done()

    gateway.release()
    assert [(await copy)["status"] for copy in copies] == ["accepted"] * 2
    response = await third
    assert response["status"] == "suppressed"
    assert response["reference"] in {"copy-1", "copy-2"}
    assert len(gateway.requests_to("send")) == 2


@WITH_SUPPRESSION_AND_A_LIMIT
async def test_a_waiting_duplicate_holds_no_credits(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The first send holds the whole day's limit while out: the duplicate
    waiting for it is not refused for the limit, and fits once it failed."""
    first = await held_send(hass, gateway, recipients=[MOTHER, GUARD], message=TEXT)
    second = started(send_sms(hass, recipients=[MOTHER], message=TEXT))
    await let_run()
    assert not second.done()

    gateway.balance = 1
    gateway.release()
    with pytest.raises(HomeAssistantError):
        await first
    assert (await second)["credits"] == 1
    assert hass.states.get(CREDITS_TODAY).state == "1"


@WITH_SUPPRESSION
async def test_a_duplicate_given_up_while_waiting_frees_its_reference(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A script stopped while its send waits: nothing is sent for it, and its
    reference can be used again."""
    first = await held_send(hass, gateway, recipients=[MOTHER], message=TEXT)
    second = started(
        send_sms(hass, recipients=[MOTHER], message=TEXT, reference="gate-2")
    )
    await let_run()
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second

    gateway.balance = 0
    gateway.release()
    with pytest.raises(HomeAssistantError):
        await first
    gateway.balance = 100
    again = await send_sms(hass, recipients=[MOTHER], message=TEXT, reference="gate-2")
    assert again["status"] == "accepted"
    assert [m.reference for m in gateway.messages] == ["gate-2"]


@WITH_SUPPRESSION
async def test_another_text_does_not_wait(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Only a send of the same text waits for one still out."""
    first = await held_send(hass, gateway, recipients=[MOTHER], message=TEXT)
    other = await send_sms(hass, recipients=[MOTHER], message="Gate closed")
    assert other["status"] == "accepted"
    assert not first.done()
    gateway.release()
    assert (await first)["status"] == "accepted"


async def test_a_caller_gone_before_its_send_fails(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A script stopped while its send is out, which then fails in a way that
    may have sent it: kept as maybe sent all the same, nothing left unread."""
    sending = await held_send(
        hass, gateway, recipients=[MOTHER], message=TEXT, reference="gone-1"
    )
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    gateway.release("reset")
    await hass.async_block_till_done(wait_background_tasks=True)
    record = loaded_entry.runtime_data.tracker.outbox.get("gone-1", MOTHER)
    assert record is not None
    assert record.maybe_sent
    assert "never retrieved" not in caplog.text


# ------------------------------------------------ the entry unloads meanwhile


class HeldCheck:
    """Numbers whose check in a worker thread waits until `go` is set.

    The check reads each input by stripping it; the first input waits there,
    off the event loop, so that the entry can unload while it is checked.
    """

    def __init__(self) -> None:
        """Prepare the events; made in the event loop's thread."""
        self.entered = threading.Event()
        self.go = threading.Event()
        self._loop_thread = threading.get_ident()

    def numbers(self, count: int) -> list[str]:
        """Return `count` numbers, the first held in a worker thread."""
        held = self

        class Held(str):
            __slots__ = ()

            def strip(self, chars: str | None = None) -> str:
                if threading.get_ident() != held._loop_thread:
                    held.entered.set()
                    held.go.wait(10)
                return str(self).strip(chars)

        numbers = [f"99559{i:07d}" for i in range(count)]
        return [Held(numbers[0]), *numbers[1:]]


@pytest.fixture
def held_check() -> Iterator[HeldCheck]:
    """A held number check, let go at the end whatever happened."""
    check = HeldCheck()
    yield check
    check.go.set()


async def unload_or_set_up_again(
    hass: HomeAssistant, gateway: FakeSmsOffice, entry: MockConfigEntry, how: str
) -> asyncio.Task[bool] | None:
    """Unload the entry, or reload it and hold its set-up at the balance read.

    Either way the entry has no set-up when this returns; a set-up under way
    is returned (it finishes when the gateway releases the balance read).
    """
    if how == "unloaded":
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert entry.state is ConfigEntryState.NOT_LOADED
        return None
    gateway.inject("hold", endpoint="balance")
    reload = hass.async_create_task(hass.config_entries.async_reload(entry.entry_id))
    await gateway.wait_for_held()
    assert entry.state is ConfigEntryState.SETUP_IN_PROGRESS
    return reload


async def loaded_again(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    entry: MockConfigEntry,
    reload: asyncio.Task[bool] | None,
) -> None:
    """Finish the set-up under way, or set the unloaded entry up again."""
    if reload is None:
        assert await hass.config_entries.async_setup(entry.entry_id)
    else:
        gateway.release()
        assert await reload
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("how", ["unloaded", "setting_up"])
async def test_entry_unloads_while_many_numbers_are_checked(  # noqa: PLR0917
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    reports: Reports,
    loaded_entry: MockConfigEntry,
    held_check: HeldCheck,
    how: str,
) -> None:
    """Numbers checked in a worker thread while the entry unloads (or sets up
    again): the message goes out, is recorded and its report is matched."""
    numbers = held_check.numbers(INLINE_LIMIT + 1)
    sending = started(
        send_sms(hass, recipients=numbers, message="Storm", reference="storm-1")
    )
    assert await hass.async_add_executor_job(held_check.entered.wait, 5)
    reload = await unload_or_set_up_again(hass, gateway, loaded_entry, how)
    assert gateway.requests_to("send") == []

    held_check.go.set()
    response = await sending
    assert response["status"] == "accepted"
    assert response["reference"] == "storm-1"
    assert len(response["recipients"]) == INLINE_LIMIT + 1
    ((message),) = gateway.messages
    assert message.reference == "storm-1"

    # Recorded where the entry sees it: its report is matched, once.
    await reports.bring("storm-1", numbers[-1])
    assert reports.announced() == [("storm-1", numbers[-1], "delivered", "webhook")]
    await loaded_again(hass, gateway, loaded_entry, reload)
    await reports.bring("storm-1", numbers[-1])
    assert len(reports.events) == 1
    # Recorded, hence in use (not merely left reserved).
    with pytest.raises(ServiceValidationError) as in_use:
        await send_sms(hass, recipients=[MOTHER], message="x", reference="storm-1")
    assert in_use.value.translation_key == "reference_in_use"


@pytest.mark.parametrize("how", ["unloaded", "setting_up"])
async def test_entry_unloads_while_the_gateway_refuses_a_send(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry, how: str
) -> None:
    """A refusal that comes after the entry lost its set-up: a translated error
    (the repair waits for the next set-up), and the reference is free again."""
    sending = await held_send(
        hass, gateway, recipients=[MOTHER], message="Hi", reference="refused-1"
    )
    reload = await unload_or_set_up_again(hass, gateway, loaded_entry, how)

    gateway.balance = 0
    gateway.release()
    with pytest.raises(HomeAssistantError) as refused:
        await sending
    assert refused.value.translation_key == "balance_too_low"

    gateway.balance = 100
    await loaded_again(hass, gateway, loaded_entry, reload)
    again = await send_sms(
        hass, recipients=[MOTHER], message="Hi", reference="refused-1"
    )
    assert again["status"] == "accepted"
    assert [m.reference for m in gateway.messages] == ["refused-1"]


@WITH_SUPPRESSION
async def test_entry_unloads_while_a_duplicate_waits(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    reports: Reports,
    loaded_entry: MockConfigEntry,
) -> None:
    """The duplicate still waiting when the entry unloads goes out once the
    first send failed, and is recorded: its report is matched."""
    first = await held_send(
        hass, gateway, recipients=[MOTHER], message=TEXT, sender="smsoffice"
    )
    second = started(
        send_sms(hass, recipients=[MOTHER], message=TEXT, reference="gate-2")
    )
    await let_run()
    assert not second.done()
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)

    gateway.senders.discard("smsoffice")
    gateway.release()
    with pytest.raises(HomeAssistantError):
        await first
    assert (await second)["status"] == "accepted"
    await reports.bring("gate-2", MOTHER)
    assert reports.announced() == [("gate-2", MOTHER, "delivered", "webhook")]


@WITH_SUPPRESSION_AND_A_LIMIT
async def test_entry_unloads_while_a_duplicate_waits_for_the_limit(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The first send may have gone out (its credits count): the duplicate,
    refused for the daily limit after the entry unloaded, raises the translated
    error (there is no set-up to show the repair with)."""
    first = await held_send(hass, gateway, recipients=[MOTHER, GUARD], message=TEXT)
    second = started(send_sms(hass, recipients=[MOTHER], message=TEXT))
    await let_run()
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)

    gateway.release("reset")
    with pytest.raises(HomeAssistantError) as maybe:
        await first
    assert maybe.value.translation_key == "maybe_sent"
    with pytest.raises(HomeAssistantError) as refused:
        await second
    assert refused.value.translation_key == "daily_limit_reached"
    assert refused.value.translation_placeholders == {
        "limit": "2",
        "left": "0",
        "credits": "1",
    }
    assert len(gateway.requests_to("send")) == 1

    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(CREDITS_TODAY).state == "2"


# ------------------------------------------------------- bulk sends' records


BULK = [f"995577{index:06d}" for index in range(2 * RECORD_SLICE + 500)]


async def test_a_bulk_send_is_recorded_with_the_reports_that_overtook_it(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    reports: Reports,
    loaded_entry: MockConfigEntry,
) -> None:
    """A bulk send's records go in a slice at a time; reports that came before
    them are applied once the last is in, and every record is in when the
    action returns."""
    gateway.balance = 10**6
    sending = await held_send(
        hass, gateway, recipients=BULK, message=TEXT, reference="storm-2"
    )
    await reports.bring("storm-2", BULK[0])
    await reports.bring("storm-2", BULK[-1])
    assert reports.events == []

    gateway.release()
    response = await sending
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert [outbox.get("storm-2", number) is not None for number in BULK] == [
        True
    ] * len(BULK)
    assert response["recipients"] == BULK
    await hass.async_block_till_done()
    assert reports.announced() == [
        ("storm-2", BULK[0], "delivered", "webhook"),
        ("storm-2", BULK[-1], "delivered", "webhook"),
    ]


async def test_many_reports_that_overtook_a_send_are_applied_a_slice_at_a_time(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    reports: Reports,
    loaded_entry: MockConfigEntry,
) -> None:
    """Reports held for a send are applied `REPLAY_SLICE` at a time, the event
    loop running between; cancelled meanwhile (Home Assistant stops), the
    rest at once. Each is announced once, in the order it came."""
    numbers = BULK[: 3 * REPLAY_SLICE + 1]
    gateway.balance = 10**6
    sending = await held_send(
        hass, gateway, recipients=numbers, message=TEXT, reference="storm-4"
    )
    for number in numbers:
        await reports.bring("storm-4", number)
    assert reports.events == []

    at_next_turn: list[int] = []

    @callback_job
    def watch(_: Event) -> None:
        if len(reports.events) == 1:  # the first: how many by the loop's next turn
            hass.loop.call_soon(lambda: at_next_turn.append(len(reports.events)))
        if len(reports.events) == 2 * REPLAY_SLICE:  # in the replay's task
            current = asyncio.current_task()
            assert current is not None
            current.cancel()

    hass.bus.async_listen(EVENT_DELIVERY_STATUS, watch)
    gateway.release()
    await sending
    await hass.async_block_till_done()
    assert at_next_turn == [REPLAY_SLICE]
    assert reports.announced() == [
        ("storm-4", number, "delivered", "webhook") for number in numbers
    ]


async def test_stopping_while_a_bulk_send_is_recorded(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    """Cancelled between slices of its records (Home Assistant stops), a send
    the gateway accepted records the rest at once, and counts its credits."""
    gateway.balance = 10**6
    sending = await held_send(
        hass, gateway, recipients=BULK, message=TEXT, reference="storm-3"
    )
    (task,) = [t for t in asyncio.all_tasks() if t.get_name().endswith("storm-3")]
    outbox = loaded_entry.runtime_data.tracker.outbox
    gateway.release()
    async with asyncio.timeout(10):
        while True:  # each turn of the event loop, until the first slice is in
            if len(outbox):
                break
            await asyncio.sleep(0)
    assert len(outbox) < len(BULK)  # a slice in
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert len(outbox) == len(BULK)
    assert not any(record.maybe_sent for record in outbox.records())
    assert hass.states.get(CREDITS_TODAY).state == str(len(BULK))
    await hass.async_stop()
    assert len(stored_records(hass_storage, loaded_entry.entry_id)) == len(BULK)


# ------------------------------------------------- Home Assistant stopping


async def test_stopping_keeps_the_schedule_of_a_send_out(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    """Home Assistant stops while a scheduled send is out: it is kept as maybe
    sent, with its time (its status is not asked for before then)."""
    schedule = dt_util.utcnow().replace(microsecond=0) + timedelta(hours=3)
    sending = await held_send(
        hass,
        gateway,
        recipients=[MOTHER],
        message="Later",
        reference="later-1",
        schedule=schedule.isoformat(),
    )

    await hass.async_stop()
    with pytest.raises(asyncio.CancelledError):
        await sending
    (record,) = stored_records(hass_storage, loaded_entry.entry_id)
    assert (record["reference"], record["destination"]) == ("later-1", MOTHER)
    assert record["maybe_sent"]
    assert record["scheduled_at"] == schedule.timestamp()
