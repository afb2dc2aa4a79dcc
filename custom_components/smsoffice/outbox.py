"""The outbox: every message sent, per reference and destination, persisted.

Delivery reports are matched against it, and its statuses only move forward:
a late "pending" never overwrites "delivered". Bounded by count and age.

Changes are written a little later, in one batch. The records are copied in
the event loop when written: on Home Assistant releases where a `Store` calls
its data function from a worker thread, the loop could change them meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
import itertools
import time
from typing import Any, TypedDict

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store

from .client import DeliveryStatus, SendResult
from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1
MAX_RECORDS = 20_000
MAX_AGE = timedelta(days=7)
SAVE_DELAY = 2.0


@dataclass(slots=True)
class OutboxRecord:
    """One message at one destination."""

    reference: str
    destination: str
    sent_at: float
    status: str | None = None  # None until the first report
    reason: str = ""
    updated_at: float | None = None
    next_poll: float | None = None
    polls: int = 0
    foreign: bool = False  # a report for a message sent elsewhere on the account
    given_up: bool = False  # polled until the age limit without a final status
    maybe_sent: bool = False  # the send failed in a way that may have sent it

    @property
    def settled(self) -> bool:
        """Return whether the status will not change any more."""
        status = DeliveryStatus.parse(self.status) if self.status else None
        return status is not None and status.is_final


_FIELDS = tuple(field.name for field in fields(OutboxRecord))


class _StoredOutbox(TypedDict):
    records: list[dict[str, Any]]


def _key(reference: str, destination: str) -> str:
    return f"{reference}\x1f{destination}"


def _as_dict(record: OutboxRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _FIELDS}


def _from_dict(raw: Any) -> OutboxRecord | None:
    """Read one stored record; None when it is not one (skipped, not fatal)."""
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("reference"), str)
        or not isinstance(raw.get("destination"), str)
        or not isinstance(raw.get("sent_at"), int | float)
    ):
        return None
    return OutboxRecord(**{k: v for k, v in raw.items() if k in _FIELDS})


class Outbox:
    """Messages sent by one entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        max_records: int = MAX_RECORDS,
        max_age: timedelta = MAX_AGE,
    ) -> None:
        """Keep at most `max_records`, none older than `max_age`."""
        self._hass = hass
        self._store: Store[_StoredOutbox] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.outbox.{entry_id}", private=True
        )
        self._records: dict[str, OutboxRecord] = {}
        self._max_records = max_records
        self._max_age = max_age.total_seconds()
        self._cancel_save: CALLBACK_TYPE | None = None
        self._cancel_final_write: CALLBACK_TYPE | None = None
        self._save_job = HassJob(self._async_delayed_save, "smsoffice outbox save")

    async def async_load(self) -> None:
        """Read the records saved before a restart."""
        stored = await self._store.async_load()
        raw_records = stored.get("records") if isinstance(stored, dict) else None
        skipped = 0
        for raw in raw_records if isinstance(raw_records, list) else []:
            record = _from_dict(raw)
            if record is None:
                skipped += 1
                continue
            self._records[_key(record.reference, record.destination)] = record
        if skipped:
            LOGGER.warning("Skipped %d unreadable records of the outbox", skipped)
        self._prune(full=True)

    def add_sent(
        self, result: SendResult, now: float | None = None
    ) -> list[OutboxRecord]:
        """Record an accepted message at each of its destinations."""
        return self.add(result.reference, result.destinations, now)

    def add(
        self,
        reference: str,
        destinations: Iterable[str],
        now: float | None = None,
        *,
        maybe_sent: bool = False,
        foreign: bool = False,
    ) -> list[OutboxRecord]:
        """Record a message at each destination; `maybe_sent` if not confirmed."""
        sent_at = time.time() if now is None else now
        added = []
        for destination in destinations:
            key = _key(reference, destination)
            # A fresh record goes to the end: the count bound drops the oldest.
            self._records.pop(key, None)
            record = OutboxRecord(
                reference, destination, sent_at, maybe_sent=maybe_sent, foreign=foreign
            )
            self._records[key] = record
            added.append(record)
        self._prune(sent_at)
        self._schedule_save()
        return added

    def add_foreign(self, reference: str, destination: str) -> OutboxRecord:
        """Track a report for a message this installation did not send."""
        return self.add(reference, [destination], foreign=True)[0]

    def get(self, reference: str, destination: str) -> OutboxRecord | None:
        """Return the record of `reference` at `destination`, if any."""
        return self._records.get(_key(reference, destination))

    def for_reference(self, reference: str) -> list[OutboxRecord]:
        """Return every destination's record of a reference."""
        return [r for r in self._records.values() if r.reference == reference]

    def has_reference(self, reference: str) -> bool:
        """Return whether a message with this reference is recorded."""
        return any(r.reference == reference for r in self._records.values())

    def advance(
        self, record: OutboxRecord, status: DeliveryStatus, reason: str
    ) -> bool:
        """Move the record to `status` if that is forward; return whether it moved."""
        current = DeliveryStatus.parse(record.status) if record.status else None
        if current is not None and (current.is_final or status.rank <= current.rank):
            return False
        record.status = status.value
        record.reason = reason
        record.updated_at = time.time()
        if status.is_final:
            record.next_poll = None
        self._schedule_save()
        return True

    def unsettled(self) -> Iterator[OutboxRecord]:
        """Yield records sent here whose status may still change."""
        return (
            r
            for r in self._records.values()
            if not r.foreign and not r.given_up and not r.settled
        )

    def changed(self) -> None:
        """Note a change made to a record in place (polling times)."""
        self._schedule_save()

    def records(self) -> Iterator[OutboxRecord]:
        """Yield every record, oldest first."""
        return iter(self._records.values())

    def __len__(self) -> int:
        """Return the number of records."""
        return len(self._records)

    async def async_save_now(self) -> None:
        """Write the records now (on unload), cancelling a pending save."""
        self._cancel_pending_save()
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the saved records (the entry is removed)."""
        self._cancel_pending_save()
        await self._store.async_remove()

    @callback
    def _schedule_save(self) -> None:
        """Save within `SAVE_DELAY` seconds of the first unsaved change."""
        if self._cancel_save is None:
            self._cancel_save = async_call_later(self._hass, SAVE_DELAY, self._save_job)
        if self._cancel_final_write is None:
            self._cancel_final_write = self._hass.bus.async_listen_once(
                EVENT_HOMEASSISTANT_FINAL_WRITE, self._async_final_write
            )

    @callback
    def _cancel_pending_save(self) -> None:
        if self._cancel_save is not None:
            self._cancel_save()
            self._cancel_save = None
        if self._cancel_final_write is not None:
            self._cancel_final_write()
            self._cancel_final_write = None

    async def _async_delayed_save(self, _now: datetime) -> None:
        self._cancel_save = None
        await self.async_save_now()

    async def _async_final_write(self, _event: Event) -> None:
        self._cancel_final_write = None  # a fired listener is already gone
        await self.async_save_now()

    def _data(self) -> _StoredOutbox:
        """Copy the records (in the event loop) for the store to write."""
        return {"records": [_as_dict(record) for record in self._records.values()]}

    def _prune(self, now: float | None = None, *, full: bool = False) -> None:
        """Drop records older than the age limit, then the oldest over the count.

        Records are kept in the order they were added, oldest first, so after a
        send only the front needs looking at; `full` checks every record (on
        load, where stored times may be in any order).
        """
        oldest_allowed = (time.time() if now is None else now) - self._max_age
        items = self._records.items()
        stale = (
            [key for key, record in items if record.sent_at < oldest_allowed]
            if full
            else [
                key
                for key, _ in itertools.takewhile(
                    lambda item: item[1].sent_at < oldest_allowed, items
                )
            ]
        )
        for key in stale:
            del self._records[key]
        excess = len(self._records) - self._max_records
        if excess > 0:
            for key in list(itertools.islice(self._records, excess)):
                del self._records[key]
