"""The outbox: every message sent, per reference and destination, persisted.

Delivery reports are matched against it, and its statuses only move forward:
a late "pending" never overwrites "delivered". Bounded by count and age.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
import time
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .client import DeliveryStatus, SendResult
from .const import DOMAIN

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

    @property
    def settled(self) -> bool:
        """Return whether the status will not change any more."""
        status = DeliveryStatus.parse(self.status) if self.status else None
        return status is not None and status.is_final


class _StoredOutbox(TypedDict):
    records: list[dict[str, Any]]


def _key(reference: str, destination: str) -> str:
    return f"{reference}\x1f{destination}"


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
        self._store: Store[_StoredOutbox] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.outbox.{entry_id}", private=True
        )
        self._records: dict[str, OutboxRecord] = {}
        self._max_records = max_records
        self._max_age = max_age.total_seconds()

    async def async_load(self) -> None:
        """Read the records saved before a restart."""
        stored = await self._store.async_load()
        for raw in stored["records"] if stored else []:
            record = OutboxRecord(**raw)
            self._records[_key(record.reference, record.destination)] = record
        self._prune()

    def add_sent(
        self, result: SendResult, now: float | None = None
    ) -> list[OutboxRecord]:
        """Record an accepted message at each of its destinations."""
        sent_at = time.time() if now is None else now
        added = []
        for destination in result.destinations:
            record = OutboxRecord(result.reference, destination, sent_at)
            self._records[_key(result.reference, destination)] = record
            added.append(record)
        self._prune(sent_at)
        self._schedule_save()
        return added

    def add_foreign(self, reference: str, destination: str) -> OutboxRecord:
        """Track a report for a message this installation did not send."""
        record = OutboxRecord(reference, destination, time.time(), foreign=True)
        self._records[_key(reference, destination)] = record
        self._schedule_save()
        return record

    def get(self, reference: str, destination: str) -> OutboxRecord | None:
        """Return the record of `reference` at `destination`, if any."""
        return self._records.get(_key(reference, destination))

    def for_reference(self, reference: str) -> list[OutboxRecord]:
        """Return every destination's record of a reference."""
        return [r for r in self._records.values() if r.reference == reference]

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
        """Write the records now (on unload)."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the saved records (the entry is removed)."""
        await self._store.async_remove()

    def _schedule_save(self) -> None:
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def _data(self) -> _StoredOutbox:
        return {"records": [asdict(record) for record in self._records.values()]}

    def _prune(self, now: float | None = None) -> None:
        """Drop records older than the age limit, then the oldest over the count."""
        oldest_allowed = (time.time() if now is None else now) - self._max_age
        for key in [k for k, r in self._records.items() if r.sent_at < oldest_allowed]:
            del self._records[key]
        excess = len(self._records) - self._max_records
        if excess > 0:
            for key in list(self._records)[:excess]:
                del self._records[key]
