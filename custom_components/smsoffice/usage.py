"""Usage of one config entry: what it sent today and this month, and to whom.

Feeds the daily credit limit, duplicate suppression and the usage sensors.

A `Usage` lives as long as its config entry, not one set-up of it, like the
outbox: it hangs on the entry's `DeliveryTracker` (made on the first set-up,
kept through reloads and failed set-ups, dropped with its file when the entry
is removed). Its counts and the recent messages are saved by a `Store` (see
`storage.py`) within `SAVE_DELAY` seconds of the first change not written,
however many follow (and at Home Assistant's final write), so they survive
restarts; the snapshot is taken in the event loop, encoded in a worker thread.

Days and months are Home Assistant's local ones. The counts roll over when
read on a new day (so a restart after midnight starts at 0), and each set-up
schedules the rollover at the next local midnight (`async_start`), so the
sensors change at midnight without a send.

Concurrency: every check and claim runs in the event loop without awaiting in
between, so two parallel sends cannot both pass the limit. A send claims its
credits (and its text at each number) before its request; success makes the
claim spent, a failure releases it. A send that may have gone out (no answer,
an unreadable answer) counts as spent for the limit, but is not remembered for
duplicate suppression: a repeat of a message that may not have been sent is
never dropped silently. For the same reason a send still out suppresses
nothing: a send of the same text meanwhile waits for its claim to end
(`pending`, `Claim.async_wait`) and is then checked again.

Texts are remembered as a hash, never as written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
import hashlib
import time
from typing import Any, Final, NamedTuple, TypedDict

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_time
from homeassistant.util import dt as dt_util

from .const import (
    CONF_DAILY_CREDIT_LIMIT,
    DEFAULT_DAILY_CREDIT_LIMIT,
    DOMAIN,
    ISSUE_DAILY_LIMIT,
    LOGGER,
    MAX_DUPLICATE_WINDOW,
)
from .outbox import COMPACT_AFTER
from .storage import DeadlineSave, whole

STORAGE_VERSION: Final = 1
# Counts change at sends: written at most this long after the first change not
# written (a deadline that later changes do not push back).
SAVE_DELAY: Final = 1.0
# Messages remembered for duplicate suppression (each number of each send).
MAX_RECENT: Final = 10_000
# Kept as long as the longest window the options offer, whatever the current one.
RECENT_MAX_AGE: Final = timedelta(minutes=MAX_DUPLICATE_WINDOW).total_seconds()


class _StoredUsage(TypedDict):
    """What is saved: the counts of the day and month, and recent messages."""

    day: str  # local date, ISO
    month: str  # local year and month, "YYYY-MM"
    sent_today: int
    credits_today: int
    credits_month: int
    limit_reached_on: str | None  # the local day a send was refused
    recent: list[list[Any]]  # [text hash, number, sent at (epoch), reference]


class DailyLimitError(Exception):
    """A send needs more credits than are left of today's limit."""

    def __init__(self, limit: int, left: int, needed: int) -> None:
        """Name the limit, what is left today, and what the send needs."""
        super().__init__(f"{needed} credits needed, {left} of {limit} left today")
        self.limit = limit
        self.left = left
        self.needed = needed


@dataclass(slots=True, eq=False)
class Claim:
    """Credits and a text at numbers that a send holds while its request is out."""

    credits: int
    digest: str  # the text's
    numbers: frozenset[str]
    done: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    async def async_wait(self) -> None:
        """Return once the claim ended: spent or released."""
        await self.ended.wait()


@lru_cache(maxsize=64)
def _digest(text: str) -> str:
    """Return the hash a text is remembered by (a send asks for it several times)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _recent_row(row: Any) -> bool:
    return (
        isinstance(row, list)
        and len(row) == 4
        and isinstance(row[0], str)
        and isinstance(row[1], str)
        and isinstance(row[2], int | float)
        and not isinstance(row[2], bool)
        and isinstance(row[3], str)
    )


class _LocalDay(NamedTuple):
    """Today in Home Assistant's time zone, and when it began and ends (epoch)."""

    zone: tzinfo
    begins: float
    ends: float
    day: str  # ISO date, as stored
    month: str  # "YYYY-MM", as stored
    start: datetime
    month_start: datetime


# The local day last worked out: asked for several times at every send (the
# limit, the counts, each usage sensor's state and last reset), it changes
# only at midnight, or when the time zone does.
_local_day: list[_LocalDay] = []


def _current_day() -> _LocalDay:
    """Return today, worked out again only when the time or time zone left it."""
    now = time.time()
    zone = dt_util.get_default_time_zone()
    if (
        _local_day
        and (today := _local_day[0]).zone is zone
        and today.begins <= now < today.ends
    ):
        return today
    date = dt_util.utc_from_timestamp(now).astimezone(zone).date()
    start = dt_util.start_of_local_day(date)
    today = _LocalDay(
        zone,
        start.timestamp(),
        dt_util.start_of_local_day(date + timedelta(days=1)).timestamp(),
        date.isoformat(),
        f"{date.year:04d}-{date.month:02d}",
        start,
        dt_util.start_of_local_day(date.replace(day=1)),
    )
    _local_day[:] = [today]
    return today


def _today() -> tuple[str, str]:
    """Return the local day and month, as stored."""
    today = _current_day()
    return today.day, today.month


def daily_limit(entry: ConfigEntry) -> int:
    """Return the entry's daily credit limit; 0 is none."""
    return int(entry.options.get(CONF_DAILY_CREDIT_LIMIT, DEFAULT_DAILY_CREDIT_LIMIT))


@callback
def async_update_limit_issue(
    hass: HomeAssistant, entry: ConfigEntry, *, check_only: bool = False
) -> None:
    """Show the daily limit's repair issue while a refused send has no room today.

    Raised when a send is refused (the default). With `check_only` (a set-up,
    a send or a release of credits, midnight) the issue is kept, naming the
    current limit, or cleared: at the next local midnight, when the limit is
    switched off, and as soon as there is room again today: credits are left
    and either more are left than at the refusal (the options raised the limit,
    a send still out gave its credits back) or a send went through since.

    One cleared stays cleared for the rest of the day (until a new refusal).
    Through a restart Home Assistant keeps an issue only as inactive, without
    what it was raised with: the set-up shows it again, counting from then.
    """
    usage: Usage = entry.runtime_data.tracker.usage
    issue_id = ISSUE_DAILY_LIMIT.format(entry_id=entry.entry_id)
    limit = daily_limit(entry)
    if limit <= 0 or not usage.limit_reached_today:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    left = usage.left_today(limit)
    credits_today = usage.credits_today
    data: dict[str, str | int | float | None] = {
        "left": left,
        "credits": credits_today,
    }
    if check_only:
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        if issue is None:  # never raised today, or cleared
            return
        if issue.data is not None:  # None: kept through a restart
            data = issue.data
            then_left, then_credits = data.get("left"), data.get("credits")
            if (
                left > 0
                and isinstance(then_left, int)
                and isinstance(then_credits, int)
                and (left > then_left or credits_today > then_credits)
            ):
                ir.async_delete_issue(hass, DOMAIN, issue_id)
                return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        data=data,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="daily_limit_reached",
        translation_placeholders={"title": entry.title, "limit": str(limit)},
    )


class Usage:
    """Counts and recent messages of one entry."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Serve one entry for as long as it exists."""
        self._hass = hass
        self._entry_id = entry_id
        self._saving = DeadlineSave(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.usage.{entry_id}",
            lambda: whole(self._data()),
        )
        self._day, self._month = _today()
        self._sent_today = 0
        self._credits_today = 0
        self._credits_month = 0
        self._limit_reached_on: str | None = None
        # Sent messages by (text hash, number): (sent at, reference), oldest first.
        self._recent: dict[tuple[str, str], tuple[float, str]] = {}
        self._recent_dropped = 0  # since `_recent` was last made anew
        # Sends whose request is out, by text hash: their claims, oldest first.
        self._pending: dict[str, list[Claim]] = {}
        self._reserved = 0  # credits claimed by sends whose request is out
        self._listeners: list[Callable[[], None]] = []

    async def async_load(self) -> None:
        """Read what was saved before a restart (before any send)."""
        stored: Any = await self._saving.store.async_load()
        if not isinstance(stored, dict):
            return
        counts = ("sent_today", "credits_today", "credits_month")
        if (
            isinstance(stored.get("day"), str)
            and isinstance(stored.get("month"), str)
            and all(_count(stored.get(name)) for name in counts)
        ):
            self._day = stored["day"]
            self._month = stored["month"]
            self._sent_today = stored["sent_today"]
            self._credits_today = stored["credits_today"]
            self._credits_month = stored["credits_month"]
        else:
            LOGGER.warning("Skipped the unreadable usage counts")
        reached = stored.get("limit_reached_on")
        self._limit_reached_on = reached if isinstance(reached, str) else None
        rows = stored.get("recent")
        if isinstance(rows, list):
            self._recent = {
                (row[0], row[1]): (float(row[2]), row[3])
                for row in rows
                if _recent_row(row)
            }
        self._roll()
        self._prune(time.time())

    # ------------------------------------------------------------- reading

    @property
    def sent_today(self) -> int:
        """Messages sent today (one per number reached)."""
        self._roll()
        return self._sent_today

    @property
    def credits_today(self) -> int:
        """Credits sent today (parts times numbers)."""
        self._roll()
        return self._credits_today

    @property
    def credits_month(self) -> int:
        """Credits sent this month."""
        self._roll()
        return self._credits_month

    @property
    def limit_reached_today(self) -> bool:
        """Return whether a send was refused today for the daily limit."""
        self._roll()
        return self._limit_reached_on == self._day

    def left_today(self, limit: int) -> int:
        """Credits left of `limit` today, claims of sends still out deducted."""
        self._roll()
        return max(0, limit - self._credits_today - self._reserved)

    # ------------------------------------------------------------- sending

    def duplicates(
        self, text: str, numbers: Iterable[str], window_minutes: int
    ) -> dict[str, str]:
        """Return the numbers `text` went to within the window: their reference.

        Only messages the gateway accepted count: a send still out does not
        (see `pending`), nor one that may have been sent.
        """
        if window_minutes <= 0:
            return {}
        digest = _digest(text)
        since = time.time() - window_minutes * 60
        found: dict[str, str] = {}
        recent = self._recent
        for number in numbers:
            sent = recent.get((digest, number))
            if sent is not None and sent[0] > since:
                found[number] = sent[1]
        return found

    def pending(
        self, text: str, numbers: Iterable[str], window_minutes: int
    ) -> list[Claim]:
        """Return the claims of sends of `text` to any of `numbers` still out.

        A send of the same text waits for them to end before `duplicates`
        can tell whether they suppress it (none when suppression is off).
        """
        if window_minutes <= 0 or not self._pending:
            return []
        claims = self._pending.get(_digest(text), ())
        if not claims:
            return []
        numbers = numbers if isinstance(numbers, set | frozenset) else set(numbers)
        return [claim for claim in claims if not numbers.isdisjoint(claim.numbers)]

    def claim(
        self,
        text: str,
        numbers: Iterable[str],
        cost: int,
        limit: int,
    ) -> Claim:
        """Hold `cost` credits of today's limit and `text` at `numbers` for one send.

        Raises `DailyLimitError` (and notes the day) when the credits would
        pass `limit`; 0 is no limit. Exactly up to the limit is allowed.
        """
        if limit > 0 and cost > (left := self.left_today(limit)):
            self._limit_reached_on = self._day
            self._changed()
            raise DailyLimitError(limit, left, cost)
        digest = _digest(text)
        claim = Claim(cost, digest, frozenset(numbers))
        self._reserved += cost
        self._pending.setdefault(digest, []).append(claim)
        return claim

    @callback
    def async_release(self, claim: Claim) -> None:
        """Give back a claim: the message was not sent."""
        if self._end(claim):
            self._notify()

    @callback
    def async_spent(
        self,
        claim: Claim,
        numbers: Iterable[str],
        cost: int,
        *,
        reference: str | None,
    ) -> None:
        """Count a sent message; with a `reference`, remember it for suppression.

        A message that may have been sent is counted without a reference.
        """
        if not self._end(claim):
            return
        numbers = list(numbers)
        self._roll()
        self._sent_today += len(numbers)
        self._credits_today += cost
        self._credits_month += cost
        now = time.time()
        if reference is not None:
            recent = self._recent
            digest = claim.digest
            sent = (now, reference)
            for number in numbers:
                key = (digest, number)
                recent.pop(key, None)  # a fresh record goes to the end
                recent[key] = sent
        self._prune(now)
        self._changed()
        self._notify()

    def _end(self, claim: Claim) -> bool:
        """End a claim once; return whether it was still held."""
        if claim.done:
            return False
        claim.done = True
        self._reserved -= claim.credits
        claims = self._pending[claim.digest]
        claims.remove(claim)
        if not claims:
            del self._pending[claim.digest]
        claim.ended.set()  # the sends waiting for it check again
        return True

    # ------------------------------------------------------------ the day

    def _roll(self) -> bool:
        """Start a new day (and month) when the local date changed."""
        day, month = _today()
        if day == self._day and month == self._month:
            return False
        if day != self._day:
            self._day = day
            self._sent_today = 0
            self._credits_today = 0
        if month != self._month:
            self._month = month
            self._credits_month = 0
        self._changed()
        return True

    @callback
    def async_start(self, on_new_day: Callable[[], None]) -> CALLBACK_TYPE:
        """Roll over at each local midnight while set up; return the stop callback.

        `on_new_day` is called after each rollover (to clear the limit's
        repair issue); the listeners (the sensors) are told too.
        """
        cancel: CALLBACK_TYPE | None = None

        @callback
        def schedule() -> None:
            nonlocal cancel
            midnight = dt_util.start_of_local_day(
                dt_util.now().date() + timedelta(days=1)
            )
            cancel = async_track_point_in_time(
                self._hass,
                HassJob(
                    at_midnight, f"{DOMAIN} usage at midnight", cancel_on_shutdown=True
                ),
                midnight,
            )

        @callback
        def at_midnight(_: datetime) -> None:
            self._roll()
            on_new_day()
            self._notify()
            schedule()

        @callback
        def stop() -> None:
            if cancel is not None:
                cancel()

        schedule()
        return stop

    @staticmethod
    def start_of_day() -> datetime:
        """Return the start of today, local time."""
        return _current_day().start

    @staticmethod
    def start_of_month() -> datetime:
        """Return the start of this month, local time."""
        return _current_day().month_start

    # ---------------------------------------------------------- listeners

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` when the counts change; return the remover."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # ------------------------------------------------------------- storage

    def _prune(self, now: float) -> None:
        """Forget messages older than the longest window; keep at most MAX_RECENT."""
        since = now - RECENT_MAX_AGE
        recent = self._recent
        # Oldest first (a fresh record goes to the end): only the front is
        # looked at, not every record at every send. One pass: a new look
        # from the front for each record would step over every one deleted
        # before it (10,000 of them after a bulk send: quadratic, ~60 ms).
        excess = len(recent) - MAX_RECENT
        stale: list[tuple[str, str]] = []
        for key, (sent_at, _) in recent.items():
            if sent_at > since and len(stale) >= excess:
                break
            stale.append(key)
        for key in stale:
            del recent[key]
        # Made anew now and then: see `Outbox._compact`.
        self._recent_dropped += len(stale)
        if self._recent_dropped >= COMPACT_AFTER:
            self._recent = {key: sent for key, sent in recent.items()}  # noqa: C416
            self._recent_dropped = 0

    def _changed(self) -> None:
        self._saving.async_changed(SAVE_DELAY)

    async def async_save_now(self) -> None:
        """Write now, replacing a pending delayed save."""
        await self._saving.async_save_now()

    async def async_remove(self) -> None:
        """Delete what was saved (the entry is removed); save nothing after."""
        self._listeners.clear()
        ir.async_delete_issue(
            self._hass, DOMAIN, ISSUE_DAILY_LIMIT.format(entry_id=self._entry_id)
        )
        await self._saving.async_remove()

    @callback
    def _data(self) -> _StoredUsage:
        """Snapshot what is saved, in the event loop: plain values, no live dict."""
        recent = [
            [digest, number, sent_at, reference]
            for (digest, number), (sent_at, reference) in self._recent.items()
        ]
        return {
            "day": self._day,
            "month": self._month,
            "sent_today": self._sent_today,
            "credits_today": self._credits_today,
            "credits_month": self._credits_month,
            "limit_reached_on": self._limit_reached_on,
            "recent": recent,
        }
