"""Status checks: asking smsoffice.ge what became of messages no report settled.

One `StatusPoller` per set-up of an entry (its timers and requests end when
the entry unloads); the records it asks about, and when each is due next
(`next_poll`, saved with them), live in the entry's outbox, which outlives
set-ups, and the tracker (see `delivery.py`), which outlives reloads.

- Polling mode (for installations the internet cannot reach, or by option):
  each unsettled message is asked about `STATUS_POLL_FIRST` after it goes out
  (its scheduled time for a scheduled message), then less and less often, up
  to every `STATUS_POLL_MAX`.
- Webhook mode: a message whose final report has not come (smsoffice.ge can
  lose a callback, or send it to a wrong URL) is asked about
  `STRAGGLER_FIRST` after it goes out, then less and less often, up to every
  `STRAGGLER_MAX`. A message whose final report came is never asked about.
- Either mode stops asking `STATUS_POLL_GIVE_UP` after the message went out.
- Catch-up, in either mode: when the entry's tracker is new (Home Assistant
  started, the entry was added or enabled again), each unsettled message that
  has gone out is asked about once within `CATCH_UP_DELAY` (also past the give
  up time), so that reports sent while nobody listened are not lost. A reload
  keeps the tracker, which kept taking reports: no catch-up, each message is
  asked about at the time it was due (at once, if that time passed while the
  entry was not set up).
- `async_check_now` (the end of a wait for delivery) goes before all of these.

Every request goes through one budget per entry: at most
`MAX_REQUESTS_IN_FLIGHT` at a time and `MAX_REQUESTS_PER_MINUTE` in any minute,
the message due longest first.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
import heapq
import itertools
import time
from typing import TYPE_CHECKING, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .client import SmsOfficeClient, SmsOfficeError
from .const import LOGGER
from .models import DeliveryReport
from .outbox import OutboxRecord

if TYPE_CHECKING:
    from .coordinator import SmsOfficeConfigEntry
    from .delivery import DeliveryTracker

STATUS_POLL_FIRST: Final = timedelta(seconds=30)
STATUS_POLL_MAX: Final = timedelta(minutes=30)
STRAGGLER_FIRST: Final = timedelta(minutes=30)
STRAGGLER_MAX: Final = timedelta(hours=6)
STATUS_POLL_GIVE_UP: Final = timedelta(hours=72)
CATCH_UP_DELAY: Final = timedelta(minutes=1)

MAX_REQUESTS_IN_FLIGHT: Final = 4
MAX_REQUESTS_PER_MINUTE: Final = 60
_MINUTE: Final = 60.0
# Intervals stop growing long before this many checks (keeps 2**n small).
_MAX_DOUBLINGS: Final = 20


def _past_give_up(record: OutboxRecord, now: float) -> bool:
    """Return whether checks gave up on the record by `now`."""
    return now - record.goes_out_at > STATUS_POLL_GIVE_UP.total_seconds()


class StatusPoller:
    """Asks for the status of unsettled messages of one entry, within a budget."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmsOfficeConfigEntry,
        client: SmsOfficeClient,
        tracker: DeliveryTracker,
        *,
        polling: bool,
    ) -> None:
        """Ask about `tracker`'s records: often if `polling`, else stragglers only."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._tracker = tracker
        self.polling = polling
        first, longest = (
            (STATUS_POLL_FIRST, STATUS_POLL_MAX)
            if polling
            else (STRAGGLER_FIRST, STRAGGLER_MAX)
        )
        self._first = first.total_seconds()
        self._longest = longest.total_seconds()
        # Due requests, the earliest first: (when, order added, record, catch-up).
        # An item is current while the record is unsettled and still wants that
        # time. A catch-up item is asked once even past `STATUS_POLL_GIVE_UP`.
        self._queue: list[tuple[float, int, OutboxRecord, bool]] = []
        self._order = itertools.count()
        # Checks someone waits for (`async_check_now`): before the queue.
        self._urgent: deque[OutboxRecord] = deque()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._recent: deque[float] = deque()  # when the last requests started
        self._cancel_timer: CALLBACK_TYPE | None = None
        # Callers waiting for a record's check (`async_check_now`), by record.
        self._checks: dict[int, list[asyncio.Future[None]]] = {}
        self._running = False

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Queue the outbox's unsettled messages; return the stop callback.

        Catches up if the tracker is new (see the module's docstring).
        """
        self._running = True
        tracker = self._tracker
        now = time.time()
        catch_up_at = now + CATCH_UP_DELAY.total_seconds()
        owed = tracker.owed_checks
        if tracker.needs_catch_up:
            tracker.needs_catch_up = False
            owed.clear()
            owed.update(
                (id(record), record)
                for record in tracker.outbox.unsettled()
                if record.goes_out_at <= now
            )
        for record in tracker.outbox.unsettled():
            goes_out_at = record.goes_out_at
            next_poll = record.next_poll
            catch_up = False
            if owed.get(id(record)) is record:
                # Within the delay; sooner if its own time says so.
                due = min(next_poll or catch_up_at, catch_up_at)
                catch_up = True
            elif goes_out_at > now or next_poll is None:
                # Not gone out yet (never asked about), or sent while no
                # poller ran: this mode's first check.
                due = max(goes_out_at + self._first, now)
            elif next_poll <= now:
                # Fell due while the entry was not set up: asked now, once
                # even if that was the last time.
                due, catch_up = now, True
            else:
                # As planned, but no later than this mode's longest interval
                # (status polling may just have been turned on).
                due = min(next_poll, now + self._longest)
            self._push(record, due, catch_up=catch_up)
        heapq.heapify(self._queue)
        if self._queue:
            tracker.outbox.changed()  # the times set above are saved too
        self._pump()
        return self._async_stop

    @callback
    def _async_stop(self) -> None:
        self._running = False
        self._cancel_wake_up()
        for task in self._in_flight:
            task.cancel()
        self._queue.clear()
        self._urgent.clear()
        for futures in self._checks.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)
        self._checks.clear()

    async def async_check_now(self, records: Iterable[OutboxRecord]) -> None:
        """Ask about these records once, before anything queued; wait for it.

        For the end of a wait for delivery in webhook mode; the budget still
        holds, so the caller bounds the wait (cancelling it drops the checks
        not started yet). A record that settles meanwhile, or polling that
        stops, ends its wait too.
        """
        if not self._running:
            return
        loop = asyncio.get_running_loop()
        futures = []
        for record in records:
            if record.settled or record.given_up:
                continue
            future: asyncio.Future[None] = loop.create_future()
            waiting = self._checks.setdefault(id(record), [])
            if not any(not other.done() for other in waiting):
                self._urgent.append(record)  # not asked for already
            waiting.append(future)
            futures.append(future)
        if futures:
            self._pump()
            await asyncio.gather(*futures)

    def _checked(self, record: OutboxRecord) -> None:
        """End the waits of `async_check_now` for `record`."""
        for future in self._checks.pop(id(record), ()):
            if not future.done():
                future.set_result(None)

    def _waited_for(self, record: OutboxRecord) -> bool:
        """Return whether a caller still waits for a check of `record`."""
        return any(not future.done() for future in self._checks.get(id(record), ()))

    @callback
    def async_track_sent(self, records: Iterable[OutboxRecord]) -> None:
        """Ask about newly sent messages later (`STATUS_POLL_FIRST`, `STRAGGLER_FIRST`)."""
        if not self._running:
            return
        queue = self._queue
        # What no longer needs asking leaves the head now, as `_next` drops
        # it when due: the oldest records leave the outbox first (a bulk send
        # drops as many as it adds), and the queue does not keep them alive
        # for the half hour to their check, nor grow past the outbox.
        while queue and not self._current(queue[0][0], queue[0][2]):
            self._nothing_to_ask(heapq.heappop(queue)[2])
        head = queue[0][0] if queue else None
        for record in records:
            self._push(record, record.goes_out_at + self._first, heap=True)
        self._tracker.outbox.changed()
        if self._cancel_timer is not None and head is not None and queue[0][0] >= head:
            return  # the timer set wakes by the queue's head, before these
        self._pump()

    def _push(
        self,
        record: OutboxRecord,
        due: float,
        *,
        heap: bool = False,
        catch_up: bool = False,
    ) -> None:
        record.next_poll = due
        item = (due, next(self._order), record, catch_up)
        if heap:
            heapq.heappush(self._queue, item)
        else:
            self._queue.append(item)

    def _current(self, due: float, record: OutboxRecord) -> bool:
        """Return whether a queued item still stands."""
        return (
            record.next_poll == due
            and not record.settled
            and not record.given_up
            and self._tracker.outbox.holds(record)
        )

    def _nothing_to_ask(self, record: OutboxRecord) -> bool:
        """Return whether the record settled or left the outbox; if so, close it."""
        if record.settled or not self._tracker.outbox.holds(record):
            self._tracker.owed_checks.pop(id(record), None)
            self._checked(record)
            return True
        return False

    def _next(self, now: float) -> tuple[OutboxRecord, bool] | None:
        """Return the record to ask about next and whether it is urgent, if one is due.

        Drops what no longer needs asking, and gives up on records past the age.
        """
        urgent = self._urgent
        while urgent:
            record = urgent[0]
            if self._waited_for(record) and not self._nothing_to_ask(record):
                return record, True
            urgent.popleft()
            self._checks.pop(id(record), None)  # only given-up waits left
        queue = self._queue
        while queue:
            due, _, record, catch_up = queue[0]
            if not self._current(due, record):
                heapq.heappop(queue)
                self._nothing_to_ask(record)
                continue
            if due > now:
                return None
            if not catch_up and _past_give_up(record, now):
                heapq.heappop(queue)
                self._give_up(record)
                self._checked(record)
                continue
            return record, False
        return None

    @callback
    def _pump(self, _now: datetime | None = None) -> None:
        """Start what is due and allowed; set the timer for what comes next."""
        if not self._running:
            return
        self._cancel_wake_up()
        now = time.time()
        recent = self._recent
        while recent and recent[0] <= now - _MINUTE:
            recent.popleft()
        while len(self._in_flight) < MAX_REQUESTS_IN_FLIGHT:
            if len(recent) >= MAX_REQUESTS_PER_MINUTE or not (found := self._next(now)):
                break
            record, urgent = found
            if urgent:
                self._urgent.popleft()
            else:
                heapq.heappop(self._queue)
            recent.append(now)
            task = self._entry.async_create_background_task(
                self._hass,
                self._async_poll(record, now),
                "smsoffice status poll",
                eager_start=False,  # known as in flight before it runs
            )
            self._in_flight.add(task)
        if len(self._in_flight) >= MAX_REQUESTS_IN_FLIGHT:
            return  # a request that ends pumps again
        if self._urgent:
            wake = now
        elif self._queue:
            wake = self._queue[0][0]
        else:
            return  # nothing to wait for
        if len(recent) >= MAX_REQUESTS_PER_MINUTE:
            wake = max(wake, recent[0] + _MINUTE)
        self._cancel_timer = async_call_later(
            self._hass, max(0.0, wake - now), self._pump
        )

    @callback
    def _cancel_wake_up(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    def _give_up(self, record: OutboxRecord) -> None:
        LOGGER.debug("Giving up on the status of %s", record.reference)
        record.given_up = True
        record.next_poll = None
        self._tracker.owed_checks.pop(id(record), None)
        self._tracker.outbox.changed()

    def _interval(self, polls: int) -> float:
        """Return the time to the next check after `polls` checks."""
        return min(self._first * (1 << min(polls, _MAX_DOUBLINGS)), self._longest)

    async def _async_poll(self, record: OutboxRecord, now: float) -> None:
        """Ask for one record's status; apply the answer as a report."""
        tracker = self._tracker
        try:
            record.polls += 1
            last = _past_give_up(record, now)
            if last:
                self._give_up(record)  # a last check: no more
            else:
                self._push(record, now + self._interval(record.polls), heap=True)
            tracker.outbox.changed()
            try:
                status = await self._client.get_message_status(
                    record.destination, record.reference
                )
            except SmsOfficeError as err:
                LOGGER.debug("Status poll of %s failed: %s", record.reference, err)
                tracker.owed_checks.pop(id(record), None)  # asked
                return
            except asyncio.CancelledError:
                # The set-up ends: the next one asks (the time has passed).
                record.polls -= 1
                if last:
                    record.given_up = False
                record.next_poll = now
                tracker.outbox.changed()
                raise
            tracker.owed_checks.pop(id(record), None)  # asked
            news = tracker.async_handle(
                DeliveryReport(record.reference, record.destination, status), "poll"
            )
            if news and record.settled and not self.polling:
                # A final status the webhook should have brought.
                tracker.callback_watch.async_found_by_check(record)
        except Exception:  # noqa: BLE001 - one bad record must not end polling
            LOGGER.exception("Unexpected error polling %s", record.reference)
        finally:
            if task := asyncio.current_task():
                self._in_flight.discard(task)
            self._checked(record)
            self._pump()
