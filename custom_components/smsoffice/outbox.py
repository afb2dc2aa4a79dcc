"""The outbox: every message sent, per reference and destination, persisted.

Delivery reports are matched against it, and its statuses only move forward:
a late "pending" never overwrites "delivered". Bounded by count and age.

One outbox lives as long as its config entry (see `delivery.py`), not one
set-up: a reload keeps it, removing the entry deletes its file, and a change
that comes after that (a send that was still out) writes nothing.

A scheduled message is aged from its scheduled time, not from the request.

Changes are written in batches by the `Store` (see `storage.py`), by a
deadline that later changes do not push back: a send's records within
`SEND_SAVE_DELAY` seconds, any other change (a report, a poll's times) within
`SAVE_DELAY`, however many follow; pending changes are also written at Home
Assistant's final write. The event loop only takes a snapshot of the records'
values, a tuple each (the loop changes records in place, so they cannot be read
from another thread), `SNAPSHOT_SLICE` records at a time with other work in
between (20,000 records take 6-9 ms); the JSON is encoded in a worker thread. Stored form: the
field names once, then one list of values per record, statuses by their names.
Stored records become records in a worker thread too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import MISSING, dataclass, fields
from datetime import timedelta
import itertools
import operator
import time
from typing import Any, Final, TypedDict

from homeassistant.core import HomeAssistant, callback

from .client import DeliveryStatus
from .const import DOMAIN, LOGGER
from .storage import DeadlineSave, Slices

STORAGE_VERSION = 2
MAX_RECORDS = 20_000
MAX_AGE = timedelta(days=7)
# A change is written at most this many seconds after the first one not written.
SAVE_DELAY: Final = 10.0
# A send's records sooner: a power cut must not make them "not sent here".
SEND_SAVE_DELAY: Final = 1.0
# Records read per slice of a save's snapshot (~1 ms); the loop runs between.
SNAPSHOT_SLICE: Final = 2_000
# Records dropped before the dict is made anew (see `Outbox._compact`).
COMPACT_AFTER: Final = 2_048

# Statuses are stored as `DeliveryStatus` values; these will not change any more.
_FINAL_STATUSES: Final = frozenset(s.value for s in DeliveryStatus if s.is_final)


@dataclass(slots=True)
class OutboxRecord:
    """One message at one destination."""

    # Each field's type is checked when read (`_FIELD_CHECKS`): keep them in step.
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
    scheduled_at: float | None = None  # when the gateway sends it, if scheduled

    @property
    def settled(self) -> bool:
        """Return whether the status will not change any more."""
        return self.status in _FINAL_STATUSES

    @property
    def goes_out_at(self) -> float:
        """Return when the gateway sends the message: now, or its scheduled time."""
        return self.sent_at if self.scheduled_at is None else self.scheduled_at


_FIELDS = tuple(field.name for field in fields(OutboxRecord))
_REQUIRED = tuple(
    field.name for field in fields(OutboxRecord) if field.default is MISSING
)
# A record's values, in the order of `_FIELDS`: the snapshot taken to save it.
_values: Final = operator.attrgetter(*_FIELDS)


class _StoredOutbox(TypedDict):
    """The field names once, then each record's values (null: unreadable)."""

    fields: Sequence[str]
    records: Sequence[Sequence[Any] | None]


type _Loaded = tuple[dict[str, OutboxRecord], dict[str, int], int]


def _key(reference: str, destination: str) -> str:
    return f"{reference}\x1f{destination}"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_or_none(value: Any) -> bool:
    return value is None or _number(value)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# What each stored value must be, by field: a record with any other is skipped.
_FIELD_CHECKS: Final[dict[str, Callable[[Any], bool]]] = {
    "reference": _text,
    "destination": _text,
    "sent_at": _number,
    "status": _text_or_none,
    "reason": _text,
    "updated_at": _number_or_none,
    "next_poll": _number_or_none,
    "polls": _count,
    "foreign": _flag,
    "given_up": _flag,
    "maybe_sent": _flag,
    "scheduled_at": _number_or_none,
}
_CHECKS_IN_ORDER: Final = tuple(_FIELD_CHECKS.values())


def _from_row(row: Any) -> OutboxRecord | None:
    """Read one record stored in the order of `_FIELDS`; None when it is not one."""
    if (
        not isinstance(row, list | tuple)
        or len(row) != len(_FIELDS)
        or not all(
            check(value) for check, value in zip(_CHECKS_IN_ORDER, row, strict=True)
        )
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
        known = {k: v for k, v in zip(names, row, strict=True) if k in _FIELDS}
        if not all(name in known for name in _REQUIRED) or not all(
            _FIELD_CHECKS[name](value) for name, value in known.items()
        ):
            return None
        return OutboxRecord(**known)

    return from_named_row


def _read(stored: Any, now: float, max_age: float, max_records: int) -> _Loaded:
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
    if _prune(records, references, now - max_age, max_records, full=True):
        records = {key: record for key, record in records.items()}  # noqa: C416 - see `Outbox._compact`
    return records, references, skipped


def _prune(
    records: dict[str, OutboxRecord],
    references: dict[str, int],
    oldest_allowed: float,
    max_records: int,
    *,
    full: bool = False,
) -> int:
    """Drop records that went out before `oldest_allowed`, then the oldest over the count.

    Records are kept in the order they were added, so after a send only the
    front needs looking at (a scheduled message at the front holds back the
    pruning of those behind it until it ages itself; the count bound holds
    regardless); `full` checks every record. Returns how many were dropped.
    """
    if full:
        stale = [
            key
            for key, record in records.items()
            if record.goes_out_at < oldest_allowed
        ]
    else:
        stale = []
        for key, record in records.items():
            if record.goes_out_at >= oldest_allowed:
                break
            stale.append(key)
    _forget(records, references, stale)
    excess = len(records) - max_records
    if excess > 0:
        _forget(records, references, list(itertools.islice(records, excess)))
    return len(stale) + max(excess, 0)


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
        self._saving = DeadlineSave(
            hass, STORAGE_VERSION, f"{DOMAIN}.outbox.{entry_id}", self._data
        )
        self._store = self._saving.store
        self._records: dict[str, OutboxRecord] = {}
        # How many records each reference has: `has_reference` without a scan.
        self._references: dict[str, int] = {}
        # References of sends still waiting for the gateway's answer.
        self._reserved: set[str] = set()
        # Records dropped since the dict was last made anew (see `_compact`).
        self._dropped = 0
        self._max_records = max_records
        self._max_age = max_age.total_seconds()

    async def async_load(self) -> None:
        """Read the records saved before a restart (before any is added)."""
        stored = await self._store.async_load()
        loaded = await self._hass.async_add_executor_job(
            _read, stored, time.time(), self._max_age, self._max_records
        )
        self._records, self._references, skipped = loaded
        if skipped:
            LOGGER.warning("Skipped %d unreadable records of the outbox", skipped)

    def add(
        self,
        reference: str,
        destinations: Iterable[str],
        now: float | None = None,
        *,
        maybe_sent: bool = False,
        foreign: bool = False,
        scheduled_at: float | None = None,
    ) -> list[OutboxRecord]:
        """Record a message at each destination; `maybe_sent` if not confirmed."""
        sent_at = time.time() if now is None else now
        records = self._records
        added = []
        new = 0
        for destination in destinations:
            key = f"{reference}\x1f{destination}"  # `_key`, inline: bulk sends
            # A fresh record goes to the end: the count bound drops the oldest.
            if records.pop(key, None) is None:
                new += 1
            # Positional, in the order of the fields (the defaults but these).
            records[key] = record = OutboxRecord(
                reference,
                destination,
                sent_at,
                None,
                "",
                None,
                None,
                0,
                foreign,
                False,  # noqa: FBT003 - given_up, positional for speed
                maybe_sent,
                scheduled_at,
            )
            added.append(record)
        if new:
            self._references[reference] = self._references.get(reference, 0) + new
        self._dropped += _prune(
            records, self._references, sent_at - self._max_age, self._max_records
        )
        if self._dropped >= COMPACT_AFTER:
            self._compact()
        # A report for a message sent elsewhere is no send of ours.
        self._saving.async_changed(SAVE_DELAY if foreign else SEND_SAVE_DELAY)
        return added

    def _compact(self) -> None:
        """Make the records' dict anew, without the slots of those dropped.

        A dict keeps a dropped entry's slot until it grows again (up to as
        many as it holds), and a look at its oldest end steps over each: 20,000
        records pruned one a send made each send step over ~10,000 (~10 µs).
        Made anew every `COMPACT_AFTER` drops (~1 ms at 20,000 records).
        """
        self._records = {key: record for key, record in self._records.items()}  # noqa: C416 - a copy that drops the slots
        self._dropped = 0

    def add_foreign(self, reference: str, destination: str) -> OutboxRecord:
        """Track a report for a message this installation did not send."""
        return self.add(reference, [destination], foreign=True)[0]

    def get(self, reference: str, destination: str) -> OutboxRecord | None:
        """Return the record of `reference` at `destination`, if any."""
        return self._records.get(_key(reference, destination))

    def holds(self, record: OutboxRecord) -> bool:
        """Return whether `record` is still kept (not pruned or replaced)."""
        return self._records.get(_key(record.reference, record.destination)) is record

    def has_reference(self, reference: str) -> bool:
        """Return whether a message with this reference is recorded."""
        return reference in self._references

    def reserve(self, reference: str) -> bool:
        """Claim `reference` for a send; False if it is recorded or claimed already.

        A claim lasts until `release`, after the send has recorded its message
        (or failed): two sends with one reference cannot both go out.
        """
        if reference in self._references or reference in self._reserved:
            return False
        self._reserved.add(reference)
        return True

    def release(self, reference: str) -> None:
        """End the claim of `reserve`."""
        self._reserved.discard(reference)

    def is_reserved(self, reference: str) -> bool:
        """Return whether a send with this reference waits for the gateway."""
        return reference in self._reserved

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
        self.changed()
        return True

    def unsettled(self) -> Iterator[OutboxRecord]:
        """Yield records sent here whose status may still change."""
        return (
            r
            for r in self._records.values()
            if not r.foreign and not r.given_up and not r.settled
        )

    @callback
    def changed(self) -> None:
        """Save within `SAVE_DELAY` seconds (also after a change made in place)."""
        self._saving.async_changed(SAVE_DELAY)

    def records(self) -> Iterator[OutboxRecord]:
        """Yield every record, oldest first."""
        return iter(self._records.values())

    def __len__(self) -> int:
        """Return the number of records."""
        return len(self._records)

    async def async_save_now(self) -> None:
        """Write the records now, replacing a pending delayed save."""
        await self._saving.async_save_now()

    async def async_remove(self) -> None:
        """Delete the saved records (the entry is removed); save nothing after."""
        await self._saving.async_remove()

    def _data(self) -> Slices[_StoredOutbox]:
        """Snapshot the records' values, in the event loop, a slice at a time.

        Records added after the first slice are left to the next write (their
        change asked for it); those pruned meanwhile are written this once.
        """
        records = list(self._records.values())
        rows: list[Sequence[Any]] = []
        for start in range(0, len(records), SNAPSHOT_SLICE):
            if start:
                yield  # the loop runs other work between slices
            rows.extend(map(_values, records[start : start + SNAPSHOT_SLICE]))
        return {"fields": _FIELDS, "records": rows}
