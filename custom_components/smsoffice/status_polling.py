"""Status polling: asking smsoffice.ge what became of messages no report settled.

One `StatusPoller` per set-up of an entry (its timers and requests end when
the entry unloads); the records it polls live in the entry's outbox, which
outlives set-ups (see `delivery.py`).

- Polling mode (for installations the internet cannot reach, or by option):
  each unsettled message is asked about `STATUS_POLL_FIRST` after it goes out
  (its scheduled time for a scheduled message), then less and less often, up to
  every `STATUS_POLL_MAX`, until it settles or `STATUS_POLL_GIVE_UP` has passed
  since it went out.
- Catch-up, in either mode: after every set-up, each unsettled message that has
  gone out is asked about once within `CATCH_UP_DELAY`, so that reports sent
  while Home Assistant was down (or the entry was reloading) are not lost.

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
STATUS_POLL_GIVE_UP: Final = timedelta(hours=72)
CATCH_UP_DELAY: Final = timedelta(minutes=1)

MAX_REQUESTS_IN_FLIGHT: Final = 4
MAX_REQUESTS_PER_MINUTE: Final = 60
_MINUTE: Final = 60.0


def _past_give_up(record: OutboxRecord, now: float) -> bool:
    """Return whether polling gave up on the record by `now`."""
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
        """Poll for `tracker`'s records; all the time if `polling`, else catch up once."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._tracker = tracker
        self.polling = polling
        # Due requests, the earliest first: (when, order added, record, catch-up).
        # An item is current while the record is unsettled and still wants that
        # time. A catch-up item is asked once even past `STATUS_POLL_GIVE_UP`.
        self._queue: list[tuple[float, int, OutboxRecord, bool]] = []
        self._order = itertools.count()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._recent: deque[float] = deque()  # when the last requests started
        self._cancel_timer: CALLBACK_TYPE | None = None
        # Callers waiting for a record's check (`async_check_now`), by record.
        self._checks: dict[int, list[asyncio.Future[None]]] = {}
        self._running = False

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Queue the outbox's unsettled messages (catch-up); return the stop callback."""
        self._running = True
        now = time.time()
        catch_up = now + CATCH_UP_DELAY.total_seconds()
        first = STATUS_POLL_FIRST.total_seconds()
        for record in self._tracker.outbox.unsettled():
            goes_out_at = record.goes_out_at
            if goes_out_at <= now:
                # Gone out: asked about once soon, sooner if polling wants it.
                due = catch_up
                if self.polling and record.next_poll is not None:
                    due = min(due, record.next_poll)
            elif self.polling:
                due = max(goes_out_at + first, record.next_poll or 0.0)
            else:
                continue  # not gone out yet; the webhook will tell
            self._push(record, due, catch_up=goes_out_at <= now)
        heapq.heapify(self._queue)
        if self._queue:
            self._tracker.outbox.changed()  # the times set above are saved too
        self._pump()
        return self._async_stop

    @callback
    def _async_stop(self) -> None:
        self._running = False
        self._cancel_wake_up()
        for task in self._in_flight:
            task.cancel()
        self._queue.clear()
        for futures in self._checks.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)
        self._checks.clear()

    async def async_check_now(self, records: Iterable[OutboxRecord]) -> None:
        """Ask about these records once, now (within the budget); wait for it.

        For the end of a wait for delivery in webhook mode. A record that
        settles meanwhile, or polling that stops, ends its wait too.
        """
        if not self._running:
            return
        now = time.time()
        loop = asyncio.get_running_loop()
        futures = []
        for record in records:
            if record.settled or record.given_up:
                continue
            future: asyncio.Future[None] = loop.create_future()
            self._checks.setdefault(id(record), []).append(future)
            futures.append(future)
            self._push(record, now, heap=True, catch_up=True)
        if futures:
            self._tracker.outbox.changed()
            self._pump()
            await asyncio.gather(*futures)

    def _checked(self, record: OutboxRecord) -> None:
        """End the waits of `async_check_now` for `record`."""
        for future in self._checks.pop(id(record), ()):
            if not future.done():
                future.set_result(None)

    @callback
    def async_track_sent(self, records: Iterable[OutboxRecord]) -> None:
        """Poll newly sent messages after `STATUS_POLL_FIRST` (if polling)."""
        if not (self.polling and self._running):
            return
        first = STATUS_POLL_FIRST.total_seconds()
        for record in records:
            self._push(record, record.goes_out_at + first, heap=True)
        self._tracker.outbox.changed()
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
        queue = self._queue
        while queue and len(self._in_flight) < MAX_REQUESTS_IN_FLIGHT:
            due, _, record, catch_up = queue[0]
            if not self._current(due, record):
                heapq.heappop(queue)
                if record.settled or not self._tracker.outbox.holds(record):
                    self._checked(record)  # nothing left to ask
                continue
            if due > now:
                break
            if not catch_up and _past_give_up(record, now):
                heapq.heappop(queue)
                self._give_up(record)
                self._checked(record)
                continue
            if len(recent) >= MAX_REQUESTS_PER_MINUTE:
                break
            heapq.heappop(queue)
            recent.append(now)
            task = self._entry.async_create_background_task(
                self._hass,
                self._async_poll(record, now),
                "smsoffice status poll",
                eager_start=False,  # known as in flight before it runs
            )
            self._in_flight.add(task)
        if not queue or len(self._in_flight) >= MAX_REQUESTS_IN_FLIGHT:
            return  # nothing to wait for, or a request that ends pumps again
        wake = queue[0][0]
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
        self._tracker.outbox.changed()

    async def _async_poll(self, record: OutboxRecord, now: float) -> None:
        """Ask for one record's status; apply the answer as a report."""
        try:
            record.polls += 1
            if _past_give_up(record, now):
                self._give_up(record)  # a last check, after a restart: no more
            elif self.polling:
                backoff = min(
                    STATUS_POLL_FIRST.total_seconds() * 2**record.polls,
                    STATUS_POLL_MAX.total_seconds(),
                )
                self._push(record, now + backoff, heap=True)
            else:
                record.next_poll = None  # caught up: the webhook does the rest
            self._tracker.outbox.changed()
            try:
                status = await self._client.get_message_status(
                    record.destination, record.reference
                )
            except SmsOfficeError as err:
                LOGGER.debug("Status poll of %s failed: %s", record.reference, err)
                return
            news = self._tracker.async_handle(
                DeliveryReport(record.reference, record.destination, status), "poll"
            )
            if news and record.settled and not self.polling:
                # A final status the webhook should have brought.
                self._tracker.callback_watch.async_found_by_check(record)
        except Exception:  # noqa: BLE001 - one bad record must not end polling
            LOGGER.exception("Unexpected error polling %s", record.reference)
        finally:
            if task := asyncio.current_task():
                self._in_flight.discard(task)
            self._checked(record)
            self._pump()
