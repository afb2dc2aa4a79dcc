"""One path for every delivery report, from the webhook or from status polling.

A report that matches the outbox moves it forward, fires the bus event
`smsoffice_delivery_status` once, and triggers the entry's event entity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import time
from typing import TYPE_CHECKING, Literal, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later

from .client import DeliveryStatus, SmsOfficeClient, SmsOfficeError, normalise_number
from .const import (
    CONF_ACCEPT_FOREIGN,
    CONF_STATUS_POLLING,
    DEFAULT_ACCEPT_FOREIGN,
    EVENT_DELIVERY_STATUS,
    LOGGER,
    SIGNAL_DELIVERY_REPORT,
    STATUS_POLL_FIRST,
    STATUS_POLL_GIVE_UP,
    STATUS_POLL_MAX,
)
from .outbox import Outbox, OutboxRecord
from .reachability import webhook_url

if TYPE_CHECKING:
    from .coordinator import SmsOfficeConfigEntry

type ReportSource = Literal["webhook", "poll"]


class DeliveryEventData(TypedDict):
    """The data of the bus event `smsoffice_delivery_status`."""

    config_entry_id: str
    reference: str
    destination: str
    status: str
    reason: str
    timestamp: str | None  # ISO 8601, Georgian time, as the gateway reported it
    operator: str
    source: ReportSource


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What the gateway says happened to a message at one destination."""

    reference: str
    destination: str
    status: DeliveryStatus
    reason: str = ""
    timestamp: datetime | None = None
    operator: str = ""


class DeliveryReports:
    """Matches reports against the outbox and tells Home Assistant once."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmsOfficeConfigEntry,
        client: SmsOfficeClient,
        outbox: Outbox,
    ) -> None:
        """Serve one entry."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._outbox = outbox
        self._cancel_poll: CALLBACK_TYPE | None = None
        self._poll_due: float | None = None  # when the poll timer fires (wall time)
        self._poll_task: asyncio.Task[None] | None = None
        self._polling = False
        self._signal = SIGNAL_DELIVERY_REPORT.format(entry_id=entry.entry_id)

    @property
    def polling(self) -> bool:
        """Return whether pending messages are polled."""
        return self._polling

    @callback
    def async_handle(self, report: DeliveryReport, source: ReportSource) -> bool:
        """Apply one report; return whether it was news (and so was announced)."""
        record = self._find(report.reference, report.destination)
        if record is None:
            if not self._entry.options.get(CONF_ACCEPT_FOREIGN, DEFAULT_ACCEPT_FOREIGN):
                LOGGER.debug(
                    "Ignoring a %s report for a message not sent here (%s)",
                    source,
                    report.reference,
                )
                return False
            record = self._outbox.add_foreign(report.reference, report.destination)
        if not self._outbox.advance(record, report.status, report.reason):
            return False
        data: DeliveryEventData = {
            "config_entry_id": self._entry.entry_id,
            "reference": record.reference,
            "destination": record.destination,
            "status": report.status.value,
            "reason": report.reason,
            "timestamp": report.timestamp.isoformat() if report.timestamp else None,
            "operator": report.operator,
            "source": source,
        }
        self._hass.bus.async_fire(EVENT_DELIVERY_STATUS, data)
        # The event entity shows the same data: built once, shared (read only).
        async_dispatcher_send(self._hass, self._signal, data)
        return True

    def _find(self, reference: str, destination: str) -> OutboxRecord | None:
        """Return the outbox record, also when the number comes in another form."""
        if record := self._outbox.get(reference, destination):
            return record
        if not self._outbox.has_reference(reference):
            return None  # not sent here: no need to read the number (phonenumbers)
        try:
            normalised = normalise_number(destination)
        except SmsOfficeError:
            return None
        if normalised == destination:
            return None
        return self._outbox.get(reference, normalised)

    # Status polling, for installations the internet cannot reach.

    @callback
    def async_start(self) -> Callable[[], None]:
        """Start polling if the options ask for it; return the stop callback.

        Without the option, poll when the internet cannot reach Home Assistant.
        """
        self._polling = bool(
            self._entry.options.get(
                CONF_STATUS_POLLING, not webhook_url(self._hass, self._entry.data)[1]
            )
        )
        if self._polling:
            self.async_schedule_poll()
        return self._async_stop

    @callback
    def _async_stop(self) -> None:
        self._polling = False
        self._async_cancel_wake_up()
        if self._poll_task:
            self._poll_task.cancel()
            self._poll_task = None

    @callback
    def async_track_sent(self, records: list[OutboxRecord]) -> None:
        """Poll newly sent messages after the first delay.

        Only the new records are looked at: the wake-up moves when they are due
        before it (a running poll looks at every record when it ends).
        """
        if not self._polling:
            return
        now = time.time()
        first = now + STATUS_POLL_FIRST.total_seconds()
        for record in records:
            record.next_poll = first
        if self._poll_task is None and (
            self._poll_due is None or first < self._poll_due
        ):
            self._async_wake_up_at(first, now)

    @callback
    def async_schedule_poll(self) -> None:
        """Wake up when the next record is due (unless a poll is running).

        Looks at every unsettled record: when polling starts and after a poll.
        """
        self._async_cancel_wake_up()
        if not self._polling or self._poll_task:
            return  # the running poll schedules the next one when it ends
        now = time.time()
        due = min((r.next_poll or now for r in self._outbox.unsettled()), default=None)
        if due is not None:
            self._async_wake_up_at(due, now)

    @callback
    def _async_wake_up_at(self, due: float, now: float) -> None:
        """Set the poll timer for `due` (wall time), replacing any other."""
        self._async_cancel_wake_up()
        self._poll_due = due
        self._cancel_poll = async_call_later(
            self._hass, max(0.0, due - now), self._async_wake_up
        )

    @callback
    def _async_cancel_wake_up(self) -> None:
        if self._cancel_poll:
            self._cancel_poll()
            self._cancel_poll = None
        self._poll_due = None

    @callback
    def _async_wake_up(self, _now: datetime) -> None:
        self._cancel_poll = None
        self._poll_due = None
        # A background task of the entry: cancelled when the entry unloads.
        self._poll_task = self._entry.async_create_background_task(
            self._hass,
            self._async_poll_due(),
            "smsoffice status poll",
            eager_start=False,  # so the task is known before it runs
        )

    async def _async_poll_due(self) -> None:
        try:
            now = time.time()
            for record in [
                r for r in self._outbox.unsettled() if (r.next_poll or now) <= now
            ]:
                # Stopping cancels this task, so no report follows an unload.
                if record.settled:
                    continue  # a webhook report came in while we polled others
                try:
                    await self._async_poll_one(record, now)
                except Exception:  # noqa: BLE001 - one bad record must not end polling
                    LOGGER.exception("Unexpected error polling %s", record.reference)
        finally:
            self._poll_task = None
        self.async_schedule_poll()

    async def _async_poll_one(self, record: OutboxRecord, now: float) -> None:
        if now - record.sent_at > STATUS_POLL_GIVE_UP.total_seconds():
            LOGGER.debug("Giving up on the status of %s", record.reference)
            record.given_up = True
            record.next_poll = None
            self._outbox.changed()
            return
        record.polls += 1
        backoff = min(
            STATUS_POLL_FIRST.total_seconds() * 2**record.polls,
            STATUS_POLL_MAX.total_seconds(),
        )
        record.next_poll = now + backoff
        self._outbox.changed()
        try:
            status = await self._client.get_message_status(
                record.destination, record.reference
            )
        except SmsOfficeError as err:
            LOGGER.debug("Status poll of %s failed: %s", record.reference, err)
            return
        self.async_handle(
            DeliveryReport(record.reference, record.destination, status), source="poll"
        )
