"""One path for every delivery report, from the webhook or from status polling.

A report that matches the outbox moves it forward, fires the bus event
`smsoffice_delivery_status` once, and triggers the entry's event entity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import time
from typing import TYPE_CHECKING, Literal

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later

from .client import DeliveryStatus, SmsOfficeClient, SmsOfficeError
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

if TYPE_CHECKING:
    from .coordinator import SmsOfficeConfigEntry

type ReportSource = Literal["webhook", "poll", "action"]


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
        self._polling = bool(entry.options.get(CONF_STATUS_POLLING, False))

    @callback
    def async_handle(self, report: DeliveryReport, source: ReportSource) -> bool:
        """Apply one report; return whether it was news (and so was announced)."""
        record = self._outbox.get(report.reference, report.destination)
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
        self._hass.bus.async_fire(
            EVENT_DELIVERY_STATUS,
            {
                "config_entry_id": self._entry.entry_id,
                "reference": report.reference,
                "destination": report.destination,
                "status": report.status.value,
                "reason": report.reason,
                "timestamp": report.timestamp.isoformat() if report.timestamp else None,
                "operator": report.operator,
                "source": source,
            },
        )
        async_dispatcher_send(
            self._hass,
            SIGNAL_DELIVERY_REPORT.format(entry_id=self._entry.entry_id),
            report,
        )
        return True

    # Status polling, for installations the internet cannot reach.

    @callback
    def async_start(self) -> Callable[[], None]:
        """Start polling if the options ask for it; return the stop callback."""
        if self._polling:
            self.async_schedule_poll()
        return self._async_stop

    @callback
    def _async_stop(self) -> None:
        if self._cancel_poll:
            self._cancel_poll()
            self._cancel_poll = None
        self._polling = False

    @callback
    def async_track_sent(self, records: list[OutboxRecord]) -> None:
        """Poll newly sent messages after the first delay."""
        if not self._polling:
            return
        first = time.time() + STATUS_POLL_FIRST.total_seconds()
        for record in records:
            record.next_poll = first
        self.async_schedule_poll()

    @callback
    def async_schedule_poll(self) -> None:
        """Wake up when the next record is due."""
        if self._cancel_poll:
            self._cancel_poll()
            self._cancel_poll = None
        now = time.time()
        due = [r.next_poll or now for r in self._outbox.unsettled()]
        if not due:
            return
        delay = max(0.0, min(due) - now)
        self._cancel_poll = async_call_later(self._hass, delay, self._async_poll_due)

    async def _async_poll_due(self, _now: datetime) -> None:
        self._cancel_poll = None
        now = time.time()
        for record in [
            r for r in self._outbox.unsettled() if (r.next_poll or now) <= now
        ]:
            if not self._polling:
                return
            await self._async_poll_one(record, now)
        if self._polling:
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
