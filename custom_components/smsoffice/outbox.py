"""The outbox: every message sent, per reference and destination, persisted.

Delivery reports are matched against it, and its statuses only move forward:
a late "pending" never overwrites "delivered". Bounded by count and age.

Changes are written a little later, in one batch. The event loop only takes a
snapshot of the records' values, a tuple each (the loop changes records in
place, so they cannot be read from another thread); the JSON is encoded in a
worker thread (Home Assistant releases whose `Store` can encode in the event
loop are told not to). Stored as version 2: the field names once, then one list
of values per record; version 1, a dict per record, is rewritten on load.
Stored records become records in a worker thread too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
import inspect
import itertools
import operator
import time
from typing import Any, Final, TypedDict

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store

from .client import DeliveryStatus, SendResult
from .const import DOMAIN, LOGGER

STORAGE_VERSION = 2
MAX_RECORDS = 20_000
MAX_AGE = timedelta(days=7)
SAVE_DELAY = 2.0

# Statuses are stored as `DeliveryStatus` values; these will not change any more.
_FINAL_STATUSES: Final = frozenset(s.value for s in DeliveryStatus if s.is_final)


@dataclass(slots=True)
class OutboxRecord:
    """One message at one destination."""

    # The first four fields are checked when read (`_readable`): keep them first.
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
        return self.status in _FINAL_STATUSES


_FIELDS = tuple(field.name for field in fields(OutboxRecord))
# A record's values, in the order of `_FIELDS`: the snapshot taken to save it.
_values: Final = operator.attrgetter(*_FIELDS)

# Home Assistant releases whose `Store` can encode in the event loop do so unless
# told otherwise; older ones always encode in a worker thread.
_STORE_OPTIONS: Final[dict[str, Any]] = (
    {"serialize_in_event_loop": False}
    if "serialize_in_event_loop" in inspect.signature(Store).parameters
    else {}
)


class _StoredOutbox(TypedDict):
    """Version 2: the field names once, then each record's values (null: unreadable)."""

    fields: Sequence[str]
    records: Sequence[Sequence[Any] | None]


type _Loaded = tuple[dict[str, OutboxRecord], dict[str, int], int]


def _key(reference: str, destination: str) -> str:
    return f"{reference}\x1f{destination}"


def _readable(reference: Any, destination: Any, sent_at: Any, status: Any) -> bool:
    return (
        isinstance(reference, str)
        and isinstance(destination, str)
        and isinstance(sent_at, int | float)
        and (status is None or isinstance(status, str))
    )


def _from_dict(raw: Any) -> OutboxRecord | None:
    """Read one record stored by name; None when it is not one (skipped, not fatal)."""
    if not isinstance(raw, dict) or not _readable(
        raw.get("reference"),
        raw.get("destination"),
        raw.get("sent_at"),
        raw.get("status"),
    ):
        return None
    return OutboxRecord(**{k: v for k, v in raw.items() if k in _FIELDS})


def _from_row(row: Any) -> OutboxRecord | None:
    """Read one record stored in the order of `_FIELDS`; None when it is not one."""
    if (
        not isinstance(row, list | tuple)
        or len(row) != len(_FIELDS)
        or not _readable(*row[:4])
    ):
        return None
    return OutboxRecord(*row)


def _row_reader(names: Any) -> Callable[[Any], OutboxRecord | None]:
    """Return the reader of the records stored under these field names."""
    if not isinstance(names, list | tuple) or not all(
        isinstance(name, str) for name in names
    ):
        names = ()  # no record can be read
    if tuple(names) == _FIELDS:
        return _from_row

    def from_named_row(row: Any) -> OutboxRecord | None:
        # Written by another version: unknown fields dropped, missing ones default.
        if not isinstance(row, list | tuple) or len(row) != len(names):
            return None
        return _from_dict(dict(zip(names, row, strict=True)))

    return from_named_row


def _from_version_1(old: Any) -> _StoredOutbox:
    """Rewrite version 1 (a dict per record); an unreadable one becomes null."""
    raw_records = old.get("records") if isinstance(old, dict) else None
    return {
        "fields": _FIELDS,
        "records": [
            None if (record := _from_dict(raw)) is None else _values(record)
            for raw in (raw_records if isinstance(raw_records, list) else [])
        ],
    }


def _read(stored: Any, oldest_allowed: float, max_records: int) -> _Loaded:
    """Turn what was stored into records (in a worker thread); count the unreadable."""
    if not isinstance(stored, dict):
        stored = {}
    read = _row_reader(stored.get("fields"))
    rows = stored.get("records")
    records: dict[str, OutboxRecord] = {}
    references: dict[str, int] = {}
    skipped = 0
    for row in rows if isinstance(rows, list) else []:
        record = read(row)
        if record is None:
            skipped += 1
            continue
        records[_key(record.reference, record.destination)] = record
    for record in records.values():
        references[record.reference] = references.get(record.reference, 0) + 1
    # Stored times may be in any order: every record is looked at.
    _prune(records, references, oldest_allowed, max_records, full=True)
    return records, references, skipped


def _prune(
    records: dict[str, OutboxRecord],
    references: dict[str, int],
    oldest_allowed: float,
    max_records: int,
    *,
    full: bool = False,
) -> None:
    """Drop records sent before `oldest_allowed`, then the oldest over the count.

    Records are kept in the order they were added, oldest first, so after a
    send only the front needs looking at; `full` checks every record.
    """
    items = records.items()
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
    _forget(records, references, stale)
    excess = len(records) - max_records
    if excess > 0:
        _forget(records, references, list(itertools.islice(records, excess)))


def _forget(
    records: dict[str, OutboxRecord], references: dict[str, int], keys: list[str]
) -> None:
    """Delete records, keeping the count of records per reference in step."""
    for key in keys:
        reference = records.pop(key).reference
        if (left := references[reference] - 1) > 0:
            references[reference] = left
        else:
            del references[reference]


class _OutboxStore(Store[_StoredOutbox]):
    """The outbox's file, rewritten from version 1 when read."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> _StoredOutbox:
        if old_major_version != 1:
            raise NotImplementedError  # a newer version: not ours to read
        return await self.hass.async_add_executor_job(_from_version_1, old_data)


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
        self._store = _OutboxStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.outbox.{entry_id}",
            private=True,
            **_STORE_OPTIONS,
        )
        self._records: dict[str, OutboxRecord] = {}
        # How many records each reference has: `has_reference` without a scan.
        self._references: dict[str, int] = {}
        self._max_records = max_records
        self._max_age = max_age.total_seconds()
        self._cancel_save: CALLBACK_TYPE | None = None
        self._cancel_final_write: CALLBACK_TYPE | None = None
        self._save_job = HassJob(self._async_delayed_save, "smsoffice outbox save")

    async def async_load(self) -> None:
        """Read the records saved before a restart (before any is added)."""
        stored = await self._store.async_load()
        loaded = await self._hass.async_add_executor_job(
            _read, stored, time.time() - self._max_age, self._max_records
        )
        self._records, self._references, skipped = loaded
        if skipped:
            LOGGER.warning("Skipped %d unreadable records of the outbox", skipped)

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
        records = self._records
        references = self._references
        added = []
        for destination in destinations:
            key = _key(reference, destination)
            # A fresh record goes to the end: the count bound drops the oldest.
            if records.pop(key, None) is None:
                references[reference] = references.get(reference, 0) + 1
            record = OutboxRecord(
                reference, destination, sent_at, maybe_sent=maybe_sent, foreign=foreign
            )
            records[key] = record
            added.append(record)
        _prune(records, references, sent_at - self._max_age, self._max_records)
        self._schedule_save()
        return added

    def add_foreign(self, reference: str, destination: str) -> OutboxRecord:
        """Track a report for a message this installation did not send."""
        return self.add(reference, [destination], foreign=True)[0]

    def get(self, reference: str, destination: str) -> OutboxRecord | None:
        """Return the record of `reference` at `destination`, if any."""
        return self._records.get(_key(reference, destination))

    def has_reference(self, reference: str) -> bool:
        """Return whether a message with this reference is recorded."""
        return reference in self._references

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
        """Snapshot the records' values, in the event loop; encoded elsewhere."""
        return {
            "fields": _FIELDS,
            "records": list(map(_values, self._records.values())),
        }
