"""A state machine of delivery tracking: sends, reloads, removals, reports, time.

Hypothesis's rule-based state machine runs random sequences of what happens
to an entry's messages, through Home Assistant as a user and the gateway see
it: `smsoffice.send_sms` (one number or a few, now or scheduled hours or days
ahead, with an own reference or without, a send the gateway holds), reloads,
unload and set-up, disabling and enabling, a restart (see below), removal of
the entry and a new one,
the gateway's outcome per number, its own delivery callbacks on or off,
callbacks sent by the test (replayed in any order and repeated, numbers in
another form, forged references, malformed ones), `get_message_status`,
status polling switched on and off (options: the entry reloads), and frozen
time moving on. After every step it checks:

1. each (reference, destination) was announced (`smsoffice_delivery_status`)
   at most once per status, statuses only moving forward, none after a final
   one;
2. nothing was announced that the gateway did not report: a final status is
   the gateway's (`status_of`), a non-final one "pending", or "unknown" from
   a status request for a message the gateway does not know (a send that
   got a broken answer: the fake then has not taken it); a message
   announced is one this machine sent from that entry, or, when the entry
   accepts foreign reports, one the gateway knows (sent by an earlier entry)
   or the test reported itself (a forged callback);
3. at the end (after the last scheduled message went out, a restart, and its
   catch-up with enough frozen time), each message the gateway finalised for
   the live entry was announced exactly once with its final status;
4. the outbox file matches what the entry's tracker holds (after an unload,
   which writes it, or after `SAVE_DELAY` of frozen time), every field, and
   the tracker holds
   exactly the messages sent, each at the status last announced;
5. after removal no outbox file is left (nor written later, by a send that
   was still out) and no webhook is registered for the entry.

How it runs: the ``async`` test runs `run_state_machine_as_test` in a worker
thread (`loop.run_in_executor`, not `hass.async_add_executor_job`, which
`async_block_till_done` would wait for); each rule submits its coroutine to the
test's event loop with `asyncio.run_coroutine_threadsafe` and waits for it.
All examples share the running Home Assistant (a restart replaces it), its
HTTP client and the fake gateway; each example makes its own config entry (new
entry id and webhook id) and removes it at the end, and its references are its
own.

Frozen time: the event loop's clock is frozen too. Before time moves on,
everything in flight is let finish (Home Assistant's tasks, and the fake's
deliveries and callbacks that are due: see `_fake_busy`); time never moves
while the gateway holds a send.

Restart: a real one. The running Home Assistant stops (`async_stop`: entries
are not unloaded, the outbox is written by the store's final write) and a new
one starts on the same loop (`async_test_home_assistant`, custom integrations
enabled as the `enable_custom_integrations` fixture does), sharing the mocked
storage, with an entry of the same id, data and options (test instances do not
load config entries from storage) and an HTTP server of its own for the
webhook. The stopped instance's entries are then unloaded, so that its timers
and polls end (they would share the loop with the new one; a real process
would just end); what that unload writes is replaced by what the stop wrote.
Only a new tracker catches up (a restart, the entry enabled again): a reload,
or an unload and a set-up, keep the entry's tracker, which kept taking
reports; the straggler checks of webhook mode ask about what stays unsettled.

Hypothesis's own statistics do not see a state machine run this way: with
``-s`` the test prints how many examples and steps ran and how often each rule
did; during a fuzz run it prints progress every 100 examples.

Normal run: 50 derandomized examples of up to 30 steps (profile ``smsoffice``),
15-30 s. Long hunt: the profile's 5,000 random examples, at about 4 a second
on two cores (stop it when you like)::

    HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest tests/test_delivery_machine.py -q -s -p no:cacheprovider
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine
import contextlib
import copy
from dataclasses import dataclass, field
from datetime import timedelta
import functools
import itertools
import json
import os
import sys
import time
from typing import Any, Final, TypeVar, cast
import uuid

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryDisabler,
    ConfigEntryState,
    ConfigSubentryData,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import frame
from homeassistant.util import dt as dt_util
from homeassistant.util.async_ import _SHUTDOWN_RUN_CALLBACK_THREADSAFE
from hypothesis import note, settings, strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_fire_time_changed,
    async_test_home_assistant,
)

from custom_components.smsoffice.client import DeliveryStatus
from custom_components.smsoffice.config_flow import account_id
from custom_components.smsoffice.const import (
    CONF_ACCEPT_FOREIGN,
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_FLASH,
    CONF_LOW_BALANCE,
    CONF_NUMBER,
    CONF_SENDER,
    CONF_STATUS_POLLING,
    CONF_URGENT,
    CONF_WEBHOOK_ID,
    DOMAIN,
    EVENT_DELIVERY_STATUS,
    SUBENTRY_RECIPIENT,
)
from custom_components.smsoffice.delivery import get_tracker
from custom_components.smsoffice.outbox import SAVE_DELAY
from custom_components.smsoffice.status_polling import CATCH_UP_DELAY
from tests.conftest import API_KEY, SENDER
from tests.fake_smsoffice import FakeSmsOffice
from tests.hypothesis_profiles import FUZZ_PROFILE, SHARED_FIXTURES, load_profile

PROFILE: Final = load_profile()

# Normal runs: a few dozen examples of up to this many steps.
NORMAL_EXAMPLES: Final = 50
NORMAL_STEPS: Final = 30
FUZZ_STEPS: Final = 30

NUMBERS: Final = ("995555000001", "995555000002", "995577000003", "995599000004")
# The same numbers as a caller or a gateway may write them (the webhook strips "+").
NUMBER_FORMS: Final = ("plain", "plus", "national")
OUTCOMES: Final = (
    "delivered",
    "undelivered",
    "expired",
    "pending_then_delivered",
    "pending",
)
FINAL: Final = frozenset(s.value for s in DeliveryStatus if s.is_final)
STATUSES: Final = tuple(s.value for s in DeliveryStatus)
# Time jumps: each at most an hour, so that an example stays well inside the
# 72 h polling limit and the outbox's 7-day age (both have their own tests).
JUMPS: Final = (1, 5, 31, 61, 300, 1800, 3600)
# A schedule: a few hours or days ahead.
SCHEDULES: Final = (
    timedelta(minutes=30),
    timedelta(hours=3),
    timedelta(hours=20),
    timedelta(days=2),
)
RESULT_TIMEOUT: Final = 120.0

T = TypeVar("T")


@dataclass
class World:
    """What all examples of the test share.

    `hass` and `http` are those of the Home Assistant that runs now: a restart
    replaces them (the first is the `hass` fixture's, stopped at the first
    restart; a later one is stopped by the next restart or the test's end).
    """

    hass: HomeAssistant
    freezer: FrozenDateTimeFactory
    hass_storage: dict[str, Any]
    gateway: FakeSmsOffice
    http: TestClient[web.Request, web.Application]
    loop: asyncio.AbstractEventLoop
    # `smsoffice_delivery_status` events of every Home Assistant run.
    events: list[Event] = field(default_factory=list)
    examples: itertools.count[int] = field(default_factory=itertools.count)
    stats: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=lambda: os.times().elapsed)
    # Of a Home Assistant started here (not the fixture's): how to end it.
    own: contextlib.AbstractAsyncContextManager[HomeAssistant] | None = None
    stop_listening: Callable[[], None] = lambda: None

    def listen(self) -> None:
        """Record the delivery events of the Home Assistant that runs now."""

        @callback
        def record(event: Event) -> None:
            self.events.append(event)

        self.stop_listening = self.hass.bus.async_listen(EVENT_DELIVERY_STATUS, record)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the test's event loop (from the worker thread); its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            timeout=RESULT_TIMEOUT
        )

    def webhook_url(self, webhook_id: str) -> str:
        """Return the URL of the webhook as the fake gateway calls it."""
        return str(self.http.make_url(f"/api/webhook/{webhook_id}"))


@dataclass
class EntryModel:
    """What the machine knows about one config entry it made."""

    entry_id: str
    webhook_id: str
    accept_foreign: bool
    polling: bool
    removed: bool = False

    @property
    def outbox_key(self) -> str:
        """Return the entry's key in `hass_storage`."""
        return f"{DOMAIN}.outbox.{self.entry_id}"


@dataclass
class HeldSend:
    """A send the gateway holds (the "hold" fault) until released."""

    task: asyncio.Future[Any]
    entry_id: str
    reference: str | None  # its own reference, if it was given one


def counted[F: Callable[..., Any]](rule_function: F) -> F:
    """Count the rule's runs in `World.stats` (printed at the end with -s)."""

    @functools.wraps(rule_function)
    def run(self: DeliveryMachine, *args: Any, **kwargs: Any) -> Any:
        self.world.stats[f"rule {rule_function.__name__}"] += 1
        return rule_function(self, *args, **kwargs)

    return cast("F", run)


def _fake_busy(gateway: FakeSmsOffice) -> bool:
    """Return whether the fake still delivers (and calls back) what is due now.

    Its deliveries of messages scheduled later sleep until their time: those
    are not busy.
    """
    now = time.time()
    later = {
        f"fake-smsoffice-delivery-{message.message_id}"
        for message in gateway.messages
        if message.scheduled_at is not None and message.scheduled_at > now
    }
    return any(
        not task.done() and task.get_name() not in later for task in gateway._tasks
    )


def new_entry(
    gateway: FakeSmsOffice,
    *,
    polling: bool,
    accept_foreign: bool,
    entry_id: str | None = None,
    webhook_id: str | None = None,
) -> MockConfigEntry:
    """Return a new entry for the fake gateway (or one saved before a restart)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"SMS Office {SENDER}",
        unique_id=account_id(API_KEY),
        entry_id=entry_id,
        data={
            CONF_API_KEY: API_KEY,
            CONF_SENDER: SENDER,
            CONF_BASE_URL: gateway.url,
            CONF_WEBHOOK_ID: webhook_id or uuid.uuid4().hex + uuid.uuid4().hex,
        },
        options={
            CONF_URGENT: False,
            CONF_FLASH: False,
            CONF_LOW_BALANCE: 50,
            CONF_STATUS_POLLING: polling,
            CONF_ACCEPT_FOREIGN: accept_foreign,
        },
        subentries_data=[
            ConfigSubentryData(
                data={"name": "Mother", CONF_NUMBER: NUMBERS[0]},
                subentry_type=SUBENTRY_RECIPIENT,
                title="Mother",
                unique_id=NUMBERS[0],
            )
        ],
    )


def _national(number: str) -> str:
    return number.removeprefix("995")


def _written(number: str, form: str) -> str:
    """Return `number` as a callback may write it."""
    if form == "plus":
        return f"+{number}"
    if form == "national":
        return _national(number)
    return number


def _as_stored(value: Any) -> Any:
    """Return `value` as the JSON file holds it."""
    return json.loads(json.dumps(value))


class DeliveryMachine(RuleBasedStateMachine):
    """Random sequences of sends, set-ups, reports and time against one entry."""

    world: World  # set on the class made per test (see `machine_for`)

    messages = Bundle("messages")

    def __init__(self) -> None:
        """Start an example: nothing made yet (see `make_first_entry`)."""
        super().__init__()
        world = self.world
        self.example = next(world.examples)
        world.stats["examples"] += 1
        if PROFILE == FUZZ_PROFILE and world.stats["examples"] % 100 == 0:
            print(  # noqa: T201 - progress of a long hunt (seen with -s)
                f"{world.stats['examples']} examples, {world.stats['steps']} steps, "
                f"{os.times().elapsed - world.started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        self.first_event = len(world.events)
        self.entries: dict[str, EntryModel] = {}
        self.current: EntryModel | None = None
        # (entry id, reference, destination) -> the gateway's outcome at the send.
        self.sent: dict[tuple[str, str, str], str] = {}
        # (entry id, reference, destination as received, status) of reports the
        # test made up itself (forged, or in another number's form).
        self.made_up: set[tuple[str, str, str, str]] = set()
        self.own_references = itertools.count()
        self.held: HeldSend | None = None
        self.callbacks_on = False
        self.status_faults = 0  # status request faults injected
        # Messages whose send failed in a way that may have sent them (the
        # gateway never took them).
        self.maybe_sent: set[tuple[str, str, str]] = set()
        gateway = world.gateway
        gateway.balance = 10**6
        gateway.callback_url = None
        gateway._outcomes.clear()
        gateway._faults.clear()

    # ------------------------------------------------------------ helpers

    @property
    def hass(self) -> HomeAssistant:
        """Return the shared Home Assistant."""
        return self.world.hass

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on Home Assistant's loop."""
        return self.world.run(coro)

    def on_loop(self, check: Callable[[], T]) -> T:
        """Call `check` in the event loop (it reads what the loop changes)."""

        async def call() -> T:
            return check()

        return self.run(call())

    def entry(self) -> ConfigEntry[Any]:
        """Return the current entry, as the running Home Assistant has it."""
        assert self.current is not None
        entry = self.hass.config_entries.async_get_entry(self.current.entry_id)
        assert entry is not None
        return entry

    @property
    def loaded(self) -> bool:
        """Return whether the current entry is set up."""
        return (
            self.current is not None and self.entry().state is ConfigEntryState.LOADED
        )

    @property
    def idle(self) -> bool:
        """Return whether time may move on: no send held by the gateway."""
        return self.held is None

    async def _settle(self) -> None:
        """Let Home Assistant's tasks, and the fake's due deliveries, finish."""
        hass, gateway = self.hass, self.world.gateway
        for _ in range(5000):
            # A send held by the gateway is a background task of Home Assistant
            # (so that its caller cannot cancel it): it ends only when released.
            await hass.async_block_till_done(wait_background_tasks=self.idle)
            if not _fake_busy(gateway):
                return
            # A delivery whose sleep is due but was not woken: wake it.
            async_fire_time_changed(hass)
            for _ in range(5):
                await asyncio.sleep(0)
        raise AssertionError("the fake gateway did not settle")

    async def _advance(self, delta: timedelta) -> None:
        """Move frozen time on, once everything in flight is done."""
        assert self.idle
        await self._settle()
        self.world.freezer.tick(delta)
        async_fire_time_changed(self.hass)
        await self._settle()

    def advance(self, delta: timedelta) -> None:
        """Move frozen time on (see `_advance`)."""
        self.run(self._advance(delta))

    def _make_entry(self, polling: bool, accept_foreign: bool) -> None:
        gateway = self.world.gateway
        entry = new_entry(gateway, polling=polling, accept_foreign=accept_foreign)
        model = EntryModel(
            entry.entry_id, entry.data[CONF_WEBHOOK_ID], accept_foreign, polling
        )
        note(f"new entry {entry.entry_id}: polling={polling} foreign={accept_foreign}")

        async def add() -> None:
            entry.add_to_hass(self.hass)
            assert await self.hass.config_entries.async_setup(entry.entry_id)
            await self._settle()

        self.run(add())
        assert entry.state is ConfigEntryState.LOADED
        self.entries[entry.entry_id] = model
        self.current = model
        if self.callbacks_on:
            gateway.callback_url = self.world.webhook_url(model.webhook_id)

    def _send_data(
        self,
        numbers: list[str],
        reference: str | None,
        schedule: timedelta | None,
    ) -> dict[str, Any]:
        assert self.current is not None
        data: dict[str, Any] = {
            "config_entry_id": self.current.entry_id,
            "recipients": numbers,
            "message": "The alarm went off",
        }
        if reference is not None:
            data["reference"] = reference
        if schedule is not None:
            data["schedule"] = (dt_util.utcnow() + schedule).isoformat()
        return data

    def _call_send(self, data: dict[str, Any]) -> Awaitable[Any]:
        return self.hass.services.async_call(
            DOMAIN, "send_sms", data, blocking=True, return_response=True
        )

    def _own_reference(self) -> str:
        return f"m{self.example}r{next(self.own_references)}"

    def _record_sent(self, entry_id: str, response: dict[str, Any]) -> list[Any]:
        reference = response["reference"]
        outcomes = self.world.gateway._outcomes
        added = []
        for destination in response["recipients"]:
            key = (entry_id, reference, destination)
            assert key not in self.sent
            self.sent[key] = outcomes.get(destination, "delivered")
            added.append(key)
        return added

    async def _callback(
        self, model: EntryModel, params: dict[str, str], *, post: bool
    ) -> tuple[int, str]:
        path = f"/api/webhook/{model.webhook_id}"
        http = self.world.http
        if post:
            response = await http.post(path, data=params)
        else:
            response = await http.get(path, params=params)
        result = response.status, await response.text()
        await self._settle()
        return result

    def _announced(self) -> list[dict[str, Any]]:
        return [dict(e.data) for e in self.world.events[self.first_event :]]

    # ------------------------------------------------------------- entries

    @initialize(polling=st.booleans(), accept_foreign=st.booleans())
    @counted
    def make_first_entry(self, polling: bool, accept_foreign: bool) -> None:
        """Every example starts with an entry of its own, set up."""
        self._make_entry(polling, accept_foreign)

    @precondition(lambda self: self.current is None)
    @rule(polling=st.booleans(), accept_foreign=st.booleans())
    @counted
    def make_new_entry(self, polling: bool, accept_foreign: bool) -> None:
        """After a removal, the user adds the account again."""
        self._make_entry(polling, accept_foreign)

    @precondition(lambda self: self.loaded)
    @rule()
    @counted
    def reload(self) -> None:
        """The user reloads the entry."""
        assert self.current is not None
        entry_id = self.current.entry_id

        async def reload() -> bool:
            result = await self.hass.config_entries.async_reload(entry_id)
            await self._settle()
            return result

        assert self.run(reload())
        assert self.loaded

    @precondition(lambda self: self.loaded)
    @rule()
    @counted
    def unload(self) -> None:
        """The entry is unloaded (and so writes its outbox)."""
        assert self.current is not None
        entry_id = self.current.entry_id

        async def unload() -> bool:
            result = await self.hass.config_entries.async_unload(entry_id)
            await self._settle()
            return result

        assert self.run(unload())
        self.on_loop(self.check_outbox_file)

    @precondition(lambda self: self.current is not None and not self.loaded)
    @rule()
    @counted
    def set_up(self) -> None:
        """The unloaded entry is set up again."""
        assert self.current is not None
        entry_id = self.current.entry_id

        async def set_up() -> bool:
            result = await self.hass.config_entries.async_setup(entry_id)
            await self._settle()
            return result

        assert self.run(set_up())
        assert self.loaded

    @precondition(lambda self: self.current is not None)
    @rule()
    @counted
    def unload_and_set_up(self) -> None:
        """Unload (if loaded) and set up again: the tracker stays (no catch-up)."""
        if self.loaded:
            self.unload()
        self.set_up()

    @precondition(lambda self: self.loaded)
    @rule()
    @counted
    def disable_and_enable(self) -> None:
        """The user disables the entry, then enables it: caught up then.

        While disabled its webhook is gone (the gateway's callbacks are lost
        to it) and nothing is announced; its outbox file is written.
        """
        model = self.current
        assert model is not None

        async def set_disabled(disabled: bool) -> None:
            assert await self.hass.config_entries.async_set_disabled_by(
                model.entry_id, ConfigEntryDisabler.USER if disabled else None
            )
            await self._settle()

        self.run(set_disabled(True))
        assert self.entry().state is ConfigEntryState.NOT_LOADED
        assert model.webhook_id not in self.hass.data.get(webhook.DOMAIN, {})
        self.on_loop(self.check_outbox_file)
        self.run(set_disabled(False))
        assert self.loaded

    @precondition(lambda self: self.current is not None and self.idle)
    @rule()
    @counted
    def restart(self) -> None:
        """Home Assistant stops and a new one starts, sharing the storage."""
        self.run(self._restart())

    async def _restart(self) -> None:
        world, model = self.world, self.current
        assert model is not None
        await self._settle()
        old, options = world.hass, dict(self.entry().options)
        world.stop_listening()
        await old.async_stop()
        # What the stop wrote (its final write) is all the next start sees.
        written = copy.deepcopy(world.hass_storage.get(model.outbox_key))
        await _end(world)
        if written is None:
            world.hass_storage.pop(model.outbox_key, None)
        else:
            world.hass_storage[model.outbox_key] = written
        entry = new_entry(
            world.gateway,
            polling=options[CONF_STATUS_POLLING],
            accept_foreign=options[CONF_ACCEPT_FOREIGN],
            entry_id=model.entry_id,
            webhook_id=model.webhook_id,
        )
        await _start(world, entry)
        await self._settle()
        if self.callbacks_on:
            world.gateway.callback_url = world.webhook_url(model.webhook_id)

    @precondition(lambda self: self.loaded)
    @rule(polling=st.booleans())
    @counted
    def switch_polling(self, polling: bool) -> None:
        """The user turns status polling on or off: the entry reloads."""
        assert self.current is not None
        entry = self.entry()
        self.current.polling = polling

        async def update() -> None:
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_STATUS_POLLING: polling}
            )
            await self._settle()

        self.run(update())
        assert self.loaded

    @precondition(lambda self: self.current is not None)
    @rule()
    @counted
    def remove(self) -> None:
        """The user deletes the entry."""
        model = self.current
        assert model is not None

        async def remove() -> None:
            result = await self.hass.config_entries.async_remove(model.entry_id)
            assert result == {"require_restart": False}
            await self._settle()

        self.run(remove())
        model.removed = True
        self.current = None
        self.on_loop(self.check_removed)

    # --------------------------------------------------------------- sends

    def _send(
        self, numbers: list[str], own_reference: bool, schedule: timedelta | None
    ) -> Any:
        assert self.current is not None
        entry_id = self.current.entry_id
        reference = self._own_reference() if own_reference else None

        async def send() -> Any:
            # In the loop: freezegun gives the worker thread the real time.
            data = self._send_data(numbers, reference, schedule)
            response = await self._call_send(data)
            await self._settle()
            return response

        response = self.run(send())
        assert response["recipients"] == list(dict.fromkeys(numbers))
        if reference is not None:
            assert response["reference"] == reference
        return multiple(*self._record_sent(entry_id, response))

    @precondition(lambda self: self.loaded)
    @rule(target=messages, number=st.sampled_from(NUMBERS), own_reference=st.booleans())
    @counted
    def send_one(self, number: str, own_reference: bool) -> Any:
        """`smsoffice.send_sms` to one number, now."""
        return self._send([number], own_reference, None)

    @precondition(lambda self: self.loaded)
    @rule(
        target=messages,
        numbers=st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=5),
        own_reference=st.booleans(),
    )
    @counted
    def send_bulk(self, numbers: list[str], own_reference: bool) -> Any:
        """`smsoffice.send_sms` to a few numbers (repeats among them), now."""
        return self._send(numbers, own_reference, None)

    @precondition(lambda self: self.loaded)
    @rule(
        target=messages,
        numbers=st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3),
        own_reference=st.booleans(),
        schedule=st.sampled_from(SCHEDULES),
    )
    @counted
    def send_scheduled(
        self, numbers: list[str], own_reference: bool, schedule: timedelta
    ) -> Any:
        """`smsoffice.send_sms` scheduled hours or days ahead."""
        return self._send(numbers, own_reference, schedule)

    @precondition(lambda self: self.loaded)
    @rule(
        target=messages,
        numbers=st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3),
        own_reference=st.booleans(),
        fault=st.sampled_from(("http500", "html", "invalid_json", "empty")),
    )
    @counted
    def send_fails(self, numbers: list[str], own_reference: bool, fault: str) -> Any:
        """The gateway's answer to a send is not one: recorded as maybe sent.

        The fake answers so without taking the message: the gateway never
        knows it, and a status request for it answers "unknown".
        """
        assert self.current is not None
        entry_id = self.current.entry_id
        reference = self._own_reference() if own_reference else None
        gateway = self.world.gateway

        async def send() -> HomeAssistantError:
            gateway.inject(fault, endpoint="send")
            try:
                await self._call_send(self._send_data(numbers, reference, None))
            except HomeAssistantError as err:
                return err
            finally:
                await self._settle()
            raise AssertionError("a send answered with a fault succeeded")

        error = self.run(send())
        assert error.translation_key == "invalid_response"
        assert error.translation_placeholders is not None
        used = error.translation_placeholders["reference"]
        assert reference in (None, used)
        keys = [(entry_id, used, number) for number in dict.fromkeys(numbers)]
        for key in keys:
            assert key not in self.sent
            self.sent[key] = "maybe sent"
            self.maybe_sent.add(key)
        return multiple(*keys)

    @precondition(lambda self: self.loaded)
    @rule(message=messages)
    @counted
    def send_with_a_used_reference(self, message: tuple[str, str, str]) -> None:
        """A reference this entry used already is refused; nothing is sent."""
        entry_id, reference, destination = message
        assert self.current is not None
        if entry_id != self.current.entry_id:
            return  # used by a removed entry: this entry could use it
        data = self._send_data([destination], reference, None)
        before = len(self.world.gateway.requests_to("send"))

        async def send() -> str | None:
            try:
                await self._call_send(data)
            except ServiceValidationError as err:
                return err.translation_key
            return None

        assert self.run(send()) == "reference_in_use"
        assert len(self.world.gateway.requests_to("send")) == before

    @precondition(lambda self: self.loaded and self.held is None)
    @rule(
        numbers=st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=2),
        own_reference=st.booleans(),
    )
    @counted
    def hold_a_send(self, numbers: list[str], own_reference: bool) -> None:
        """A send the gateway does not answer yet (time stands still meanwhile)."""
        assert self.current is not None
        reference = self._own_reference() if own_reference else None
        data = self._send_data(numbers, reference, None)
        gateway = self.world.gateway

        async def start() -> asyncio.Future[Any]:
            gateway.inject("hold", endpoint="send")
            task = asyncio.ensure_future(self._call_send(data))
            await gateway.wait_for_held()
            return task

        self.held = HeldSend(self.run(start()), self.current.entry_id, reference)

    @precondition(
        lambda self: (
            self.loaded
            and self.held is not None
            and self.held.reference is not None
            and self.held.entry_id == self.current.entry_id
        )
    )
    @rule(number=st.sampled_from(NUMBERS))
    @counted
    def send_with_the_held_reference(self, number: str) -> None:
        """The reference of a send still out is taken: a second send is refused."""
        assert self.held is not None
        data = self._send_data([number], self.held.reference, None)
        before = len(self.world.gateway.requests_to("send"))

        async def send() -> str | None:
            try:
                await self._call_send(data)
            except ServiceValidationError as err:
                return err.translation_key
            return None

        assert self.run(send()) == "reference_in_use"
        assert len(self.world.gateway.requests_to("send")) == before

    @precondition(lambda self: self.held is not None)
    @rule(target=messages)
    @counted
    def release_the_send(self) -> Any:
        """The gateway answers the held send (the entry may have changed since)."""
        held = self.held
        assert held is not None

        async def release() -> Any:
            self.world.gateway.release()
            response = await held.task
            await self._settle()
            return response

        response = self.run(release())
        self.held = None
        sent = self._record_sent(held.entry_id, response)
        if self.entries[held.entry_id].removed:
            self.on_loop(self.check_removed)
        return multiple(*sent)

    # ------------------------------------------------------------ gateway

    @rule(number=st.sampled_from(NUMBERS), outcome=st.sampled_from(OUTCOMES))
    @counted
    def set_outcome(self, number: str, outcome: str) -> None:
        """What becomes of the next messages to `number`."""
        self.world.gateway.set_outcome(number, outcome)

    @rule(on=st.booleans())
    @counted
    def gateway_callbacks(self, on: bool) -> None:
        """Turn the gateway's own delivery callbacks on or off."""
        self.callbacks_on = on
        gateway = self.world.gateway
        if on and self.current is not None:
            gateway.callback_url = self.world.webhook_url(self.current.webhook_id)
        else:
            gateway.callback_url = None

    @rule(
        message=messages,
        pending=st.booleans(),
        form=st.sampled_from(NUMBER_FORMS),
        post=st.booleans(),
        repeat=st.integers(1, 3),
    )
    @counted
    def replay_callback(
        self,
        message: tuple[str, str, str],
        pending: bool,
        form: str,
        post: bool,
        repeat: int,
    ) -> None:
        """The test delivers a true report again (late, repeated, in another form)."""
        entry_id, reference, destination = message
        model = self.entries[entry_id]
        status = self.world.gateway.status_of(reference, destination)
        if status is None:
            assert message in self.maybe_sent
            return  # the gateway never took it: it has nothing to report
        written = _written(destination, form)
        params = {
            "reference": reference,
            "destination": written,
            "status": "pending" if pending else status.lower(),
            "reason": "",
            "timestamp": "20261130120000",
            "operator": "28202",
        }
        self.made_up.add(
            (entry_id, reference, written.removeprefix("+"), params["status"])
        )
        for _ in range(repeat):
            answer = self.run(self._callback(model, params, post=post))
            if not model.removed:
                assert answer == (200, "OK")

    @rule(order=st.randoms(use_true_random=False), pending=st.booleans())
    @counted
    def replay_every_callback(self, order: Any, pending: bool) -> None:
        """The test delivers every message's true report again, in any order."""
        messages = list(self.sent)
        order.shuffle(messages)
        for message in messages:
            self.replay_callback(message, pending, "plain", post=False, repeat=1)

    @precondition(lambda self: self.current is not None)
    @rule(
        real=st.booleans(),
        number=st.sampled_from(NUMBERS),
        status=st.sampled_from(STATUSES),
        which=st.integers(0, 2),
    )
    @counted
    def forged_callback(self, real: bool, number: str, status: str, which: int) -> None:
        """A report of a message this entry did not send (or at another number)."""
        model = self.current
        assert model is not None
        mine = [key for key in self.sent if key[0] == model.entry_id]
        if real and mine:
            reference = mine[which % len(mine)][1]
            sent_to = {key[2] for key in mine if key[1] == reference}
            if number in sent_to:
                number = "995511000009"  # a number it was not sent to
        else:
            reference = f"forged-{self.example}-{which}"
        params = {
            "reference": reference,
            "destination": number,
            "status": status,
            "timestamp": "",
        }
        self.made_up.add((model.entry_id, reference, number, status))
        assert self.run(self._callback(model, params, post=False)) == (200, "OK")

    @precondition(lambda self: self.current is not None)
    @rule(
        message=messages,
        broken=st.sampled_from(
            (
                "no_reference",
                "long_reference",
                "no_destination",
                "letters_in_destination",
                "status",
                "timestamp",
                "month",
            )
        ),
        post=st.booleans(),
    )
    @counted
    def malformed_callback(
        self, message: tuple[str, str, str], broken: str, post: bool
    ) -> None:
        """A callback that cannot be a report: refused with 400, nothing changes."""
        model = self.current
        assert model is not None
        _, reference, destination = message
        params = {
            "reference": reference,
            "destination": destination,
            "status": "delivered",
            "timestamp": "20261130120000",
        }
        match broken:
            case "no_reference":
                del params["reference"]
            case "long_reference":
                params["reference"] = "x" * 21
            case "no_destination":
                params["destination"] = ""
            case "letters_in_destination":
                params["destination"] = destination[:-2] + "ab"
            case "status":
                params["status"] = "read"
            case "timestamp":
                params["timestamp"] = "2026113012"
            case _:
                params["timestamp"] = "20261330120000"
        before = len(self.world.events)
        status, _ = self.run(self._callback(model, params, post=post))
        assert status == 400
        assert len(self.world.events) == before

    @precondition(lambda self: self.loaded)
    @rule(message=messages)
    @counted
    def ask_for_the_status(self, message: tuple[str, str, str]) -> None:
        """`smsoffice.get_message_status`: a poll the user asks for."""
        assert self.current is not None
        entry_id = self.current.entry_id
        _, reference, destination = message

        async def ask() -> bool:
            try:
                await self.hass.services.async_call(
                    DOMAIN,
                    "get_message_status",
                    {
                        "config_entry_id": entry_id,
                        "reference": reference,
                        "destinations": [destination],
                    },
                    blocking=True,
                    return_response=True,
                )
            except HomeAssistantError:
                return False
            finally:
                await self._settle()
            return True

        # Only a status request fault may fail it.
        assert self.run(ask()) or self.status_faults

    @rule(
        fault=st.sampled_from(("http500", "html", "invalid_json", "empty")),
        count=st.integers(1, 3),
    )
    @counted
    def status_requests_fail(self, fault: str, count: int) -> None:
        """The next status requests get an answer that is not one (not retried).

        Faults that the client retries after a pause ("temporary", a reset)
        are left out: frozen time would never end the pause.
        """
        self.status_faults += count
        self.world.gateway.inject(fault, count, endpoint="status")

    # ---------------------------------------------------------------- time

    @precondition(lambda self: self.idle)
    @rule(seconds=st.sampled_from(JUMPS))
    @counted
    def time_passes(self, seconds: int) -> None:
        """Frozen time moves on: timers (polls, saves, scheduled sends) fire."""
        self.advance(timedelta(seconds=seconds))

    @precondition(lambda self: self.idle and self.current is not None)
    @rule()
    @counted
    def outbox_is_written(self) -> None:
        """After `SAVE_DELAY`, the file holds what the tracker holds.

        Time moving on may make changes itself (a poll that falls due): then
        their save is waited for, another `SAVE_DELAY`.
        """
        for _ in range(10):
            self.advance(timedelta(seconds=SAVE_DELAY + 1))
            if not self.on_loop(self._save_pending):
                break
        self.on_loop(self.check_outbox_file)

    def _save_pending(self) -> bool:
        """Return whether the outbox's delayed save waits for its time."""
        assert self.current is not None
        tracker = get_tracker(self.hass, self.current.entry_id)
        # Not `Store._data`: the mocked storage leaves what it loaded there.
        return tracker is not None and tracker.outbox._store._delay_handle is not None

    # ---------------------------------------------------------- invariants

    @invariant()
    def announcements_are_true_and_once(self) -> None:
        """Properties 1 and 2 (and 5 for every removed entry)."""
        self.world.stats["steps"] += 1
        self.on_loop(self.check_announcements)
        for model in self.entries.values():
            if model.removed:
                self.on_loop(functools.partial(self.check_removed, model))

    def check_announcements(self) -> dict[tuple[str, str, str], list[str]]:
        """Check properties 1 and 2; return the statuses announced per message."""
        gateway = self.world.gateway
        statuses: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for data in self._announced():
            entry_id = data["config_entry_id"]
            assert entry_id in self.entries, f"announced for a stranger: {data}"
            key = (entry_id, data["reference"], data["destination"])
            status = data["status"]
            before = statuses[key]
            # 1: once per status, forward only, nothing after a final status.
            assert not before or (
                before[-1] not in FINAL
                and DeliveryStatus(status).rank > DeliveryStatus(before[-1]).rank
            ), f"{key}: {status} announced after {before}"
            before.append(status)
            # 2: what the gateway reported (or the test itself made up).
            truth = (gateway.status_of(key[1], key[2]) or "").lower()
            if truth:
                true = status == truth if status in FINAL else status == "pending"
            else:  # the gateway does not know it: what a status request answers
                true = status == "unknown" and data["source"] == "poll"
            if key in self.sent:
                assert true, f"{key}: {status} announced, the gateway has {truth}"
            else:
                # Foreign: made up by the test, or sent by an earlier entry.
                assert self.entries[entry_id].accept_foreign, f"foreign: {data}"
                assert true or (*key, status) in self.made_up, f"untrue: {data}"
            assert data["source"] in ("webhook", "poll")
        return statuses

    def check_removed(self, model: EntryModel | None = None) -> None:
        """Property 5: no outbox file, no webhook, no tracker."""
        models = [model] if model else [m for m in self.entries.values() if m.removed]
        for removed in models:
            assert removed.outbox_key not in self.world.hass_storage
            handlers = self.hass.data.get(webhook.DOMAIN, {})
            assert removed.webhook_id not in handlers
            assert get_tracker(self.hass, removed.entry_id) is None

    def check_outbox_file(self) -> None:
        """Property 4: the file holds the tracker's records, which are what was sent."""
        model = self.current
        assert model is not None
        tracker = get_tracker(self.hass, model.entry_id)
        assert tracker is not None
        records = list(tracker.outbox.records())
        stored = self.world.hass_storage.get(model.outbox_key)
        if stored is None:
            assert records == []
        else:
            names = stored["data"]["fields"]
            rows = [
                dict(zip(names, row, strict=True)) for row in stored["data"]["records"]
            ]
            expected = [
                {name: _as_stored(getattr(record, name)) for name in names}
                for record in records
            ]
            assert rows == expected
        # The tracker holds each message sent, at the status last announced.
        announced = self.check_announcements()
        held = {
            (model.entry_id, r.reference, r.destination): r
            for r in records
            if not r.foreign
        }
        sent = {key for key in self.sent if key[0] == model.entry_id}
        assert set(held) == sent
        for key, record in held.items():
            last = announced[key][-1] if announced.get(key) else None
            assert record.status == last, f"{key}: {record.status}, announced {last}"
        for record in records:
            if record.foreign:
                assert model.accept_foreign

    # ------------------------------------------------------------ the end

    def teardown(self) -> None:
        """Property 3 for the live entry; then remove it (property 5)."""
        try:
            if self.held is not None:
                self.release_the_send()
            # Property 3 is about the catch-up, not about failing requests
            # (a catch-up request that fails is not repeated before the next
            # set-up): faults still queued go.
            self.world.gateway._faults.clear()
            if self.current is not None:
                self._catch_up()
                self.on_loop(self.check_everything_final_announced)
        finally:
            self.world.gateway.callback_url = None
            if self.current is not None:
                self.remove()
            self.on_loop(self.check_removed)

    def _catch_up(self) -> None:
        """Let every scheduled message go out, restart, let catch-up run."""
        gateway = self.world.gateway
        last = max(
            (m.scheduled_at or 0 for m in gateway.messages),
            default=0,
        )
        if (wait := last - self.on_loop(time.time)) > 0:
            self.advance(timedelta(seconds=wait + 1))
        self.run(self._restart())  # not a rule's step (not counted as one)
        for _ in range(10):
            self.advance(CATCH_UP_DELAY + timedelta(seconds=1))
            if self.on_loop(self._all_final_announced):
                break
        self.advance(timedelta(minutes=5))

    def _all_final_announced(self) -> bool:
        assert self.current is not None
        announced = self.check_announcements()
        gateway = self.world.gateway
        for key in self.sent:
            if key[0] != self.current.entry_id:
                continue
            truth = (gateway.status_of(key[1], key[2]) or "").lower()
            if truth in FINAL and truth not in announced.get(key, []):
                return False
        return True

    def check_everything_final_announced(self) -> None:
        """Property 3: each message finalised was announced once, with that status."""
        assert self.current is not None
        announced = self.check_announcements()
        gateway = self.world.gateway
        for key in self.sent:
            if key[0] != self.current.entry_id:
                continue
            truth = (gateway.status_of(key[1], key[2]) or "").lower()
            if truth in FINAL:
                assert announced.get(key, []).count(truth) == 1, (
                    f"{key}: finalised as {truth}, announced {announced.get(key)}"
                )
                self.world.stats["final statuses checked at the end"] += 1
        for data in self._announced():
            self.world.stats[f"announced {data['status']} ({data['source']})"] += 1


async def _end(world: World) -> None:
    """Tidy up after a Home Assistant stopped (its process would have ended).

    Its entries are unloaded (their timers and polls end: they share the event
    loop with the next Home Assistant); the caller puts back what the stop
    wrote. The `hass` fixture's Home Assistant is left for the fixture to end.
    """
    hass = world.hass
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    if world.own is not None:
        await world.http.close()
        await world.own.__aexit__(None, None, None)
        world.own = None
    else:
        # What `async_test_home_assistant` does when its context ends: another
        # Home Assistant runs on this loop next.
        with contextlib.suppress(AttributeError):
            delattr(hass.loop, _SHUTDOWN_RUN_CALLBACK_THREADSAFE)


async def _start(world: World, entry: MockConfigEntry) -> None:
    """Start a new Home Assistant on the test's loop, with `entry` set up."""
    manager = async_test_home_assistant(world.loop)
    hass = await manager.__aenter__()
    world.own, world.hass = manager, hass
    frame.async_setup(hass)
    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # `enable_custom_integrations`
    world.listen()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # Its views are all registered now: the HTTP server can start.
    world.http = TestClient(TestServer(hass.http.app))
    await world.http.start_server()


async def _stop(world: World) -> None:
    """Stop a Home Assistant started by a restart (the fixture stops its own)."""
    if world.own is None:
        return
    hass = world.hass
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    world.stop_listening()
    await hass.async_stop(force=True)
    await world.http.close()
    await world.own.__aexit__(None, None, None)
    world.own = None


def machine_settings() -> settings:
    """Return the settings: a few dozen examples normally, the profile's in fuzz."""
    fuzz = PROFILE == FUZZ_PROFILE
    return settings(
        settings.default,
        max_examples=settings().max_examples if fuzz else NORMAL_EXAMPLES,
        stateful_step_count=FUZZ_STEPS if fuzz else NORMAL_STEPS,
        deadline=None,
        suppress_health_check=SHARED_FIXTURES,
    )


@pytest.fixture
async def world(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    hass_client_no_auth: Any,
    gateway: FakeSmsOffice,
) -> World:
    """What the examples share; the webhook's HTTP server on loopback."""
    # Every view is registered before the HTTP server starts: an entry set up
    # (and removed) first loads what the examples' entries will need.
    first = new_entry(gateway, polling=False, accept_foreign=False)
    first.add_to_hass(hass)
    assert await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.config_entries.async_remove(first.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    http = await hass_client_no_auth()
    world = World(
        hass=hass,
        freezer=freezer,
        hass_storage=hass_storage,
        gateway=gateway,
        http=http,
        loop=asyncio.get_running_loop(),
    )
    world.listen()
    return world


def machine_for(world: World) -> type[DeliveryMachine]:
    """Return the machine class bound to this test's shared world."""
    return type("DeliveryMachineRun", (DeliveryMachine,), {"world": world})


async def test_delivery_machine(world: World) -> None:
    """Random sequences keep properties 1-5 (see the module's docstring)."""
    machine = machine_for(world)
    try:
        await world.loop.run_in_executor(
            None,
            lambda: run_state_machine_as_test(machine, settings=machine_settings()),
        )
    finally:
        await _stop(world)
    stats = world.stats
    print(  # noqa: T201 - seen with -s: what the run covered
        f"\n{PROFILE}: {stats['examples']} examples, {stats['steps']} steps "
        f"in {os.times().elapsed - world.started:.1f} s"
    )
    for name, count in sorted(stats.items()):
        print(f"  {name}: {count}")  # noqa: T201
    # The examples did what they are for (which rules ran exactly depends on
    # Hypothesis's choices: shown above with -s, not checked one by one).
    core = (
        "send_one",
        "send_bulk",
        "send_scheduled",
        "hold_a_send",
        "restart",
        "disable_and_enable",
    )
    assert stats["rule unload_and_set_up"] > 0
    assert [name for name in core if not stats[f"rule {name}"]] == []
    assert stats["final statuses checked at the end"] > 0
    for source in ("webhook", "poll"):
        assert any(name.endswith(f"({source})") for name in stats)


# ------------------------------------------------------------ found by the machine


@pytest.mark.usefixtures("unload_entries")
async def test_catch_up_time_is_saved(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """After a set-up that catches up, the file holds the time the tracker holds.

    Found by `test_delivery_machine` (property 4): the set-up's catch-up moved
    each unsettled record's `next_poll` in memory but saved nothing, so for up
    to `CATCH_UP_DELAY` the file and the tracker differed.
    """
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {"recipients": [NUMBERS[0]], "message": "The alarm went off"},
        blocking=True,
        return_response=True,
    )
    # Disabled (which writes the outbox) and enabled again: catch-up is queued.
    for disabled_by in (ConfigEntryDisabler.USER, None):
        assert await hass.config_entries.async_set_disabled_by(
            config_entry.entry_id, disabled_by
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    freezer.tick(timedelta(seconds=SAVE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    (record,) = config_entry.runtime_data.tracker.outbox.records()
    assert record.next_poll is not None  # asked about within CATCH_UP_DELAY
    stored = hass_storage[f"{DOMAIN}.outbox.{config_entry.entry_id}"]["data"]
    (row,) = stored["records"]
    assert dict(zip(stored["fields"], row, strict=True))["next_poll"] == (
        record.next_poll
    )
