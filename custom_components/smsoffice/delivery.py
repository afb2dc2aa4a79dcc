"""Delivery tracking of one config entry: its outbox, its webhook, one path for every report.

A `DeliveryTracker` lives as long as its config entry, not as one set-up of
it: the first set-up makes it (outbox read, webhook registered before any
network I/O), reloads and failed set-ups keep it, and removing the entry drops
it (webhook unregistered, outbox file deleted). So a report that arrives while
the entry unloads or sets up again, or a send or status poll that the gateway
answers after a reload, reaches the same records, and is applied once; and a
reload needs no catch-up (see `status_polling.py`): only a new tracker does.

Disabling the entry stops its tracker (webhook unregistered, outbox written,
no report applied); enabling it starts it again as a new one would, catch-up
included. A send still out meanwhile records its message all the same.

A report that matches the outbox moves it forward, fires the bus event
`smsoffice_delivery_status` once, and triggers one delivery event entity: the
saved recipient's of its number, else the account's. While that entity is not
there in a set-up gap, it gets the report when it is added (within a minute);
a disabled entity gets none.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import time
from typing import TYPE_CHECKING, Final

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util.hass_dict import HassKey

from .callback_watch import CallbackWatch
from .client import SmsOfficeError, normalise_number
from .const import (
    CONF_ACCEPT_FOREIGN,
    CONF_NUMBER,
    DEFAULT_ACCEPT_FOREIGN,
    DOMAIN,
    EVENT_DELIVERY_STATUS,
    LOGGER,
    SUBENTRY_RECIPIENT,
)
from .entity import delivery_unique_id
from .models import DeliveryEventData, DeliveryReport, ReportSource
from .outbox import Outbox, OutboxRecord
from .usage import Usage
from .webhook import async_register_webhook

if TYPE_CHECKING:
    from .coordinator import SmsOfficeConfigEntry
    from .status_polling import StatusPoller

# Reports kept for a delivery event entity that is not there in a set-up gap:
# at most this many, none older than this many seconds when it comes.
MAX_HELD_FOR_ENTITY: Final = 100
MAX_HELD_AGE: Final = 60.0
# Reports kept for messages whose send still waits for the gateway's answer.
MAX_EARLY_REPORTS: Final = 10_000
# Of those, this many are applied at a time once the send is recorded; the
# event loop runs between (each fires an event and writes an entity's state).
REPLAY_SLICE: Final = 100

DATA_TRACKERS: HassKey[dict[str, DeliveryTracker]] = HassKey(f"{DOMAIN}_delivery")


async def async_get_tracker(
    hass: HomeAssistant, entry: SmsOfficeConfigEntry
) -> DeliveryTracker:
    """Return the entry's tracker, made on its first set-up since Home Assistant started."""
    trackers = hass.data.setdefault(DATA_TRACKERS, {})
    if (tracker := trackers.get(entry.entry_id)) is None:
        outbox = Outbox(hass, entry.entry_id)
        await outbox.async_load()
        usage = Usage(hass, entry.entry_id)
        await usage.async_load()
        tracker = trackers[entry.entry_id] = DeliveryTracker(hass, entry, outbox)
        # Counts, the daily limit and recent messages: the entry's too.
        tracker.usage = usage
    elif tracker.stopped:
        # Enabled again: as a new tracker, that catches up and watches anew.
        tracker.stopped = False
        tracker.needs_catch_up = True
        tracker.callback_watch = CallbackWatch(hass, entry)
    else:
        return tracker
    tracker.unregister_webhook = async_register_webhook(
        hass, entry, tracker.async_handle_webhook
    )
    return tracker


async def async_stop_tracker(hass: HomeAssistant, entry_id: str) -> None:
    """Stop the entry's tracker: the entry is disabled (see the module's docstring)."""
    tracker = get_tracker(hass, entry_id)
    if tracker is None or tracker.stopped:
        return
    tracker.stopped = True
    tracker.needs_catch_up = True
    tracker.unregister_webhook()
    tracker.unregister_webhook = lambda: None
    tracker.callback_watch.async_clear()
    await tracker.outbox.async_save_now()


def get_tracker(hass: HomeAssistant, entry_id: str) -> DeliveryTracker | None:
    """Return the entry's tracker, if it has been set up since Home Assistant started."""
    return hass.data.get(DATA_TRACKERS, {}).get(entry_id)


async def async_remove_tracker(hass: HomeAssistant, entry_id: str) -> None:
    """Drop the entry's tracker and delete its outbox: the entry is removed."""
    tracker = hass.data.get(DATA_TRACKERS, {}).pop(entry_id, None)
    if tracker is None:
        await Outbox(hass, entry_id).async_remove()
        await Usage(hass, entry_id).async_remove()
        return
    tracker.removed = True  # a callback already inside the handler: not news
    tracker.unregister_webhook()
    tracker.callback_watch.async_clear()
    await tracker.outbox.async_remove()
    await tracker.usage.async_remove()


class DeliveryTracker:
    """Matches reports against the entry's outbox and tells Home Assistant once."""

    def __init__(
        self, hass: HomeAssistant, entry: SmsOfficeConfigEntry, outbox: Outbox
    ) -> None:
        """Serve one entry for as long as it exists."""
        self._hass = hass
        self._entry = entry
        self.outbox = outbox
        # Set by `async_get_tracker`, which loads it (see usage.py).
        self.usage = Usage(hass, entry.entry_id)
        self.unregister_webhook: CALLBACK_TYPE = lambda: None
        self.removed = False  # the entry is removed: nothing is applied any more
        self.stopped = False  # the entry is disabled (`async_stop_tracker`)
        self.callback_watch = CallbackWatch(hass, entry)
        # The next poller asks about every unsettled message once (catch-up):
        # set while no report may have been applied (new, disabled); records
        # still owed that check, by id (see `StatusPoller.async_start`).
        self.needs_catch_up = True
        self.owed_checks: dict[int, OutboxRecord] = {}
        # The running set-up's status poller; None between set-ups.
        self.poller: StatusPoller | None = None
        # The delivery event entities that take reports: the account's (None)
        # and each saved recipient's (her subentry id); a saved number's.
        self._listeners: dict[str | None, Callable[[DeliveryEventData], None]] = {}
        self._recipients: dict[str, str] = {}
        self.async_update_recipients()
        # Reports for an entity not there yet, with the (monotonic) time held.
        self._held: deque[tuple[float, DeliveryEventData]] = deque(
            maxlen=MAX_HELD_FOR_ENTITY
        )
        # Waits for delivery (`async_wait_settled`), by reference.
        self._waiters: dict[str, set[asyncio.Event]] = {}
        # Reports that came before their send was recorded, by reference.
        self._early: dict[str, list[tuple[DeliveryReport, ReportSource]]] = {}
        self._early_count = 0

    @callback
    def async_handle_webhook(self, report: DeliveryReport) -> None:
        """Apply a report that came through the webhook."""
        self.async_handle(report, "webhook")

    @callback
    def async_handle(self, report: DeliveryReport, source: ReportSource) -> bool:
        """Apply one report; return whether it was news (and so was announced)."""
        if self.removed:
            return False
        if self.stopped or self._entry.disabled_by is not None:
            # Disabled: nothing is announced; asked about when enabled again.
            self.needs_catch_up = True
            return False
        record = self._find(report.reference, report.destination)
        if record is None:
            if self.outbox.is_reserved(report.reference):
                self._hold_early(report, source)
                return False
            if not self._entry.options.get(CONF_ACCEPT_FOREIGN, DEFAULT_ACCEPT_FOREIGN):
                LOGGER.debug(
                    "Ignoring a %s report for a message not sent here (%s)",
                    source,
                    report.reference,
                )
                return False
            record = self.outbox.add_foreign(report.reference, report.destination)
        if source == "webhook":
            self.callback_watch.async_webhook_report()
        if not self.outbox.advance(record, report.status, report.reason):
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
        for waiter in self._waiters.get(record.reference, ()):
            waiter.set()
        # One event entity shows the same data (built once, shared, read
        # only): the saved recipient's of the number, else the account's.
        recipient = self._recipients.get(record.destination)
        if (listener := self._listeners.get(recipient)) is not None:
            listener(data)
        else:
            self._async_hold(recipient, data)
        return True

    async def async_wait_settled(
        self, reference: str, destinations: list[str], within: float
    ) -> None:
        """Return when each destination of `reference` is settled, or after `within` s.

        Cancelling the caller cancels only the wait. Each wait sees only its
        own reference's reports.
        """

        def settled() -> bool:
            return all(
                (record := self.outbox.get(reference, destination)) is None
                or record.settled
                for destination in destinations
            )

        if settled():
            return
        news = asyncio.Event()
        waiters = self._waiters.setdefault(reference, set())
        waiters.add(news)
        try:
            async with asyncio.timeout(within):
                while not settled():
                    await news.wait()
                    news.clear()
        except TimeoutError:
            pass
        finally:
            waiters.discard(news)
            if not waiters:
                del self._waiters[reference]

    def _hold_early(self, report: DeliveryReport, source: ReportSource) -> None:
        """Keep a report that overtook the gateway's answer to its send."""
        if self._early_count >= MAX_EARLY_REPORTS:
            LOGGER.debug("Too many early reports; dropped one for %s", report.reference)
            return
        self._early.setdefault(report.reference, []).append((report, source))
        self._early_count += 1

    def reserve(self, reference: str) -> bool:
        """Claim `reference` for a send (see `Outbox.reserve`)."""
        return self.outbox.reserve(reference)

    @callback
    def async_release(self, reference: str) -> None:
        """End a send's claim, once its message is recorded (or was not sent).

        Reports that came for it meanwhile are applied now, up to
        `REPLAY_SLICE` of them; more (a bulk send) a slice at a time in a
        task of their own, in the order they came (a report that comes
        meanwhile goes straight to its record: statuses only move forward).
        """
        self.outbox.release(reference)
        early = self._early.pop(reference, [])
        self._early_count -= len(early)
        for report, source in early[:REPLAY_SLICE]:
            self.async_handle(report, source)
        if len(early) > REPLAY_SLICE:
            self._hass.async_create_task(
                self._async_replay(early[REPLAY_SLICE:]),
                f"{DOMAIN} early reports for {reference}",
                eager_start=False,
            )

    async def _async_replay(
        self, early: list[tuple[DeliveryReport, ReportSource]]
    ) -> None:
        """Apply held reports a slice at a time; the rest at once if cancelled."""
        cancelled = False
        for start in range(0, len(early), REPLAY_SLICE):
            if start and not cancelled:
                try:
                    await asyncio.sleep(0)
                except asyncio.CancelledError:
                    cancelled = True  # Home Assistant stops
            for report, source in early[start : start + REPLAY_SLICE]:
                self.async_handle(report, source)
        if cancelled:
            raise asyncio.CancelledError

    @callback
    def async_update_recipients(self) -> None:
        """Note the saved recipients' numbers (at each set-up: every change reloads)."""
        self._recipients = {
            subentry.data[CONF_NUMBER]: subentry_id
            for subentry_id, subentry in self._entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_RECIPIENT
        }

    def recipient_of(self, number: str) -> str | None:
        """Return the subentry id of the saved recipient with this number."""
        return self._recipients.get(number)

    @callback
    def async_listen(
        self,
        listener: Callable[[DeliveryEventData], None],
        recipient: str | None = None,
    ) -> CALLBACK_TYPE:
        """Feed a delivery event entity: the account's, or a saved recipient's.

        First the reports held for it in a set-up gap, then each new report
        for its numbers: the recipient's (subentry id `recipient`), or for the
        account's entity every number that is no saved recipient's.
        """
        self._listeners[recipient] = listener
        if self._held:
            self._async_release(recipient, listener)

        @callback
        def stop() -> None:
            if self._listeners.get(recipient) is listener:
                del self._listeners[recipient]

        return stop

    @callback
    def _async_hold(self, recipient: str | None, data: DeliveryEventData) -> None:
        """Keep a report whose event entity is not there, for a set-up gap.

        An entity the user disabled gets none: enabling it later (a reload)
        replays nothing that came meanwhile.
        """
        registry = er.async_get(self._hass)
        entity_id = registry.async_get_entity_id(
            Platform.EVENT, DOMAIN, delivery_unique_id(self._entry.entry_id, recipient)
        )
        entity = registry.async_get(entity_id) if entity_id is not None else None
        if entity is not None and entity.disabled:
            return
        self._held.append((time.monotonic(), data))

    @callback
    def _async_release(
        self, recipient: str | None, listener: Callable[[DeliveryEventData], None]
    ) -> None:
        """Give an entity its held reports that are recent (a set-up gap's)."""
        oldest = time.monotonic() - MAX_HELD_AGE
        held, self._held = self._held, deque(maxlen=MAX_HELD_FOR_ENTITY)
        for held_at, data in held:
            if held_at < oldest:
                continue  # not a set-up gap's: the entity was away long
            # Whose it is now: a recipient removed since is the account's.
            if self._recipients.get(data["destination"]) == recipient:
                listener(data)
            else:
                self._held.append((held_at, data))

    @callback
    def async_attach_poller(self, poller: StatusPoller) -> CALLBACK_TYPE:
        """Start this set-up's poller; return the callback that stops it."""
        self.poller = poller
        stop_polling = poller.async_start()

        @callback
        def detach() -> None:
            stop_polling()
            if self.poller is poller:
                self.poller = None

        return detach

    @callback
    def async_sent(self, records: list[OutboxRecord]) -> None:
        """Tell the running status poller about messages just recorded."""
        if self.poller is not None:
            self.poller.async_track_sent(records)

    def _find(self, reference: str, destination: str) -> OutboxRecord | None:
        """Return the outbox record, also when the number comes in another form."""
        outbox = self.outbox
        if record := outbox.get(reference, destination):
            return record
        if not outbox.has_reference(reference):
            return None  # not sent here: no need to read the number (phonenumbers)
        try:
            normalised = normalise_number(destination)
        except SmsOfficeError:
            return None
        if normalised == destination:
            return None
        return outbox.get(reference, normalised)
