"""Sending, shared by the notify entities, the legacy notify action and `send_sms`.

Every failure becomes a translated error raised to the caller: invalid input as
`ServiceValidationError`, gateway refusals and outages as `HomeAssistantError`.
A rejected key starts re-authentication; a balance too low raises the repair issue.

A send is never repeated here. When it fails in a way that may have sent it
(no answer in time, an answer that cannot be read), the message is recorded in
the outbox as maybe sent and the error names its reference, so that a delivery
report or a status check can still settle it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
import time
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

from .client import (
    InvalidNumberError,
    NumberCheck,
    SendResult,
    SmsOfficeClient,
    SmsOfficeConnectionError,
    SmsOfficeError,
    SmsOfficeResponseError,
    SmsOfficeValidationError,
    async_check_numbers,
    check_content,
    check_reference,
    estimate_parts,
    new_reference,
)
from .client.transliteration import transliterate as to_latin
from .const import (
    CONF_DUPLICATE_WINDOW,
    CONF_FLASH,
    CONF_NUMBER,
    CONF_SENDER,
    CONF_TRANSLITERATE,
    CONF_URGENT,
    DEFAULT_DUPLICATE_WINDOW,
    DEFAULT_FLASH,
    DEFAULT_TRANSLITERATE,
    DEFAULT_URGENT,
    DOMAIN,
    LOGGER,
    SUBENTRY_RECIPIENT,
)
from .coordinator import SmsOfficeConfigEntry
from .delivery import DeliveryTracker
from .error_handling import handle_gateway_error, validation_error
from .usage import Claim, DailyLimitError, async_update_limit_issue, daily_limit

# A bulk send's records are added this many at a time (see `_async_record`).
RECORD_SLICE: Final = 1000


def resolve_recipients(
    entry: SmsOfficeConfigEntry, targets: Iterable[str]
) -> list[str]:
    """Replace saved recipients' names (or subentry ids) by their numbers.

    Names are matched case-insensitively. A name that two saved recipients share
    (possible in entries saved before names had to be unique) is refused, never
    resolved to one of them.
    """
    by_id: dict[str, str] = {}
    by_name: dict[str, set[str]] = {}
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_RECIPIENT:
            number = subentry.data[CONF_NUMBER]
            by_id[subentry.subentry_id] = number
            name = str(subentry.data[CONF_NAME]).strip().casefold()
            by_name.setdefault(name, set()).add(number)
    numbers = []
    for target in targets:
        if number := by_id.get(target):
            numbers.append(number)
            continue
        match = by_name.get(target.strip().casefold(), set())
        if len(match) > 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="ambiguous_recipient",
                translation_placeholders={"name": target.strip()},
            )
        numbers.append(next(iter(match)) if match else target)
    return numbers


def _reserved_reference(tracker: DeliveryTracker, reference: str | None) -> str:
    """Return the caller's reference if valid and unused, else a new one; reserved.

    The reservation holds until the caller releases it, after the message is
    recorded: a second send with the same reference meanwhile is refused.
    """
    if reference is None:
        new = new_reference()
        while not tracker.reserve(new):  # a random reference repeated: hardly ever
            new = new_reference()
        return new
    try:
        check_reference(reference)
    except SmsOfficeValidationError as err:
        raise validation_error(err) from err
    if not tracker.reserve(reference):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="reference_in_use",
            translation_placeholders={"reference": reference},
        )
    return reference


def _checked_schedule(scheduled_at: datetime | None) -> None:
    """Refuse a time that has passed, naming it in local time."""
    if scheduled_at is None or scheduled_at.tzinfo is None:
        return  # the client refuses a naive time
    if scheduled_at <= dt_util.utcnow():
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="schedule_in_past",
            translation_placeholders={
                "schedule": dt_util.as_local(scheduled_at).isoformat(
                    sep=" ", timespec="seconds"
                )
            },
        )


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What a send did: the gateway's answer, and what was left out and why."""

    result: SendResult | None  # None: every number was suppressed, nothing sent
    content: str  # the text as sent (transliterated, if it was)
    transliterated: bool  # the Georgian letters were written in Latin ones
    suppressed: list[str]  # numbers that got the same text within the window
    earlier_reference: str | None  # the reference of the latest of those
    rejected: list[str]  # numbers skipped as invalid (`allow_partial`)


def _limit_error(
    hass: HomeAssistant, entry: SmsOfficeConfigEntry, err: DailyLimitError
) -> HomeAssistantError:
    """Raise the repair issue and return the error of a send over the limit."""
    # The entry may have unloaded while the send waited: no set-up to show the
    # repair with (the error says it all the same).
    if entry.state is ConfigEntryState.LOADED:
        async_update_limit_issue(hass, entry)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="daily_limit_reached",
        translation_placeholders={
            "limit": str(err.limit),
            "left": str(err.left),
            "credits": str(err.needed),
        },
    )


async def async_send(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    recipients: Iterable[str],
    message: str,
    *,
    sender: str | None = None,
    urgent: bool | None = None,
    flash: bool | None = None,
    transliterate: bool | None = None,
    scheduled_at: datetime | None = None,
    reference: str | None = None,
    allow_partial: bool = False,
) -> SendOutcome:
    """Send one message; record it in the outbox; raise translated errors.

    Cost control first, before any request: Georgian letters written in Latin
    ones (`transliterate`, else the option), numbers that got the same text
    within the duplicate window left out, and the daily credit limit. A send
    of the same text still out suppresses nothing yet: this one waits for its
    outcome, and is left out only where the gateway accepted it.

    What is recorded goes to the entry's tracker, which outlives a reload: a
    send that the gateway answers after the entry reloaded (or was removed)
    is recorded where the entry sees it (or nowhere).
    """
    # Everything the send needs, taken before the first await: an unload
    # deletes `runtime_data` (the tracker is the entry's, and the client works
    # on without its set-up).
    tracker = entry.runtime_data.tracker
    client = entry.runtime_data.client
    usage = tracker.usage
    options = entry.options
    limit = daily_limit(entry)
    sender = sender or entry.data[CONF_SENDER]
    _checked_schedule(scheduled_at)
    # Checked once, here (in a worker thread when there are many): the client
    # takes the result as is, and a send that may have gone out is recorded
    # under these same numbers.
    numbers = await async_check_numbers(resolve_recipients(entry, recipients))
    if not numbers.valid or (numbers.invalid and not allow_partial):
        raise validation_error(InvalidNumberError(numbers.invalid or ["(no number)"]))
    if transliterate is None:
        transliterate = bool(options.get(CONF_TRANSLITERATE, DEFAULT_TRANSLITERATE))
    content = to_latin(message) if transliterate else message
    try:
        check_content(content)
    except SmsOfficeValidationError as err:
        raise validation_error(err) from err
    reference = _reserved_reference(tracker, reference)
    handed_over = False  # to the task that sends, which releases it then
    try:
        # The same text to the same number within the window: not again. A
        # send of it still out may yet fail: wait for its outcome, then check
        # again (another may have started meanwhile). No credits are held
        # while waiting; the last check and the claim run without an await.
        window = int(options.get(CONF_DUPLICATE_WINDOW, DEFAULT_DUPLICATE_WINDOW))
        while out := usage.pending(message, numbers.valid, window):
            LOGGER.debug("Waiting for %d send(s) of the same text still out", len(out))
            for earlier_claim in out:
                await earlier_claim.async_wait()
        earlier = usage.duplicates(message, numbers.valid, window)
        # The earlier message (of the first number, when they were several).
        earlier_reference = next(iter(earlier.values()), None)
        outcome = partial(
            SendOutcome,
            content=content,
            transliterated=content != message,
            suppressed=list(earlier),
            earlier_reference=earlier_reference,
            rejected=numbers.invalid,
        )
        if earlier:
            LOGGER.debug(
                "Not sending the same text again within %d minutes to %d of %d "
                "numbers (sent as %s)",
                window,
                len(earlier),
                len(numbers.valid),
                earlier_reference,
            )
        to_send = NumberCheck(
            [number for number in numbers.valid if number not in earlier],
            numbers.invalid,
        )
        if not to_send.valid:
            return outcome(result=None)
        cost = estimate_parts(content).parts * len(to_send.valid)
        try:
            claim = usage.claim(message, to_send.valid, cost, limit)
        except DailyLimitError as err:
            raise _limit_error(hass, entry, err) from err
        # A task of its own: a caller that is cancelled (a script stopped, a
        # wait given up) cancels its wait, never the message, which is sent
        # and recorded all the same. (A background task: only Home Assistant
        # stopping cancels it.) The caller waits for its answer, not its end.
        answer: asyncio.Future[SendResult] = hass.loop.create_future()
        sending = hass.async_create_background_task(
            _async_answer(
                answer,
                _async_send_claimed(
                    hass,
                    entry,
                    tracker,
                    client,
                    claim,
                    numbers=to_send,
                    content=content,
                    reference=reference,
                    scheduled_at=scheduled_at,
                    settings={
                        "sender": sender,
                        "urgent": options.get(CONF_URGENT, DEFAULT_URGENT)
                        if urgent is None
                        else urgent,
                        "flash": options.get(CONF_FLASH, DEFAULT_FLASH)
                        if flash is None
                        else flash,
                        "allow_partial": allow_partial,
                    },
                ),
            ),
            f"{DOMAIN} send {reference}",
            eager_start=True,
        )
        handed_over = True
    finally:
        if not handed_over:  # nothing was sent: the reference is free again
            tracker.async_release(reference)
    sending.add_done_callback(_retrieved)
    result = await answer
    # The balance changed; read it without making the caller wait for it. The
    # entry may have reloaded meanwhile: ask the set-up that runs now (if any).
    if entry.state is ConfigEntryState.LOADED:
        entry.async_create_background_task(
            hass,
            entry.runtime_data.balance.async_request_refresh(),
            f"{DOMAIN} balance after sending {result.reference}",
        )
    return outcome(result=result)


async def _async_record(
    tracker: DeliveryTracker,
    reference: str,
    destinations: list[str],
    scheduled_at: float | None,
    *,
    maybe_sent: bool = False,
) -> None:
    """Record a message at each destination; a long list in slices.

    A bulk send's records (10,000 take 10-20 ms) are added `RECORD_SLICE` at a
    time, letting the event loop run between slices: reports that come
    meanwhile for destinations not recorded yet are held until the send
    releases its reference, as reports that overtake the gateway's answer
    are. Cancelled meanwhile (Home Assistant stops), the rest is recorded at
    once, and the cancellation goes on.
    """
    outbox = tracker.outbox
    sent_at = time.time()
    cancelled = False
    for start in range(0, len(destinations), RECORD_SLICE):
        if start and not cancelled:
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                cancelled = True
        tracker.async_sent(
            outbox.add(
                reference,
                destinations[start : start + RECORD_SLICE],
                sent_at,
                maybe_sent=maybe_sent,
                scheduled_at=scheduled_at,
            )
        )
    if cancelled:
        raise asyncio.CancelledError


async def _async_answer(
    answer: asyncio.Future[SendResult], send: Coroutine[Any, Any, SendResult]
) -> SendResult:
    """Run the send; hand its outcome to `answer` as soon as it is known.

    As `asyncio.shield` would: cancelling the caller, who waits for `answer`,
    cancels only that; cancelling the send cancels it. The caller hears a
    turn of the event loop sooner than through the task's end.
    """
    try:
        result = await send
    except asyncio.CancelledError:
        answer.cancel()
        raise
    except BaseException as err:
        if not answer.done():
            answer.set_exception(err)
        raise
    if not answer.done():
        answer.set_result(result)
    return result


def _retrieved(task: asyncio.Task[SendResult]) -> None:
    """Take the send's outcome: its caller may have stopped waiting for it."""
    if not task.cancelled():
        task.exception()


async def _async_send_claimed(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    tracker: DeliveryTracker,
    client: SmsOfficeClient,
    claim: Claim,
    *,
    numbers: NumberCheck,
    content: str,
    reference: str,
    scheduled_at: datetime | None,
    settings: dict[str, Any],
) -> SendResult:
    """Send, record, and count or give back the credits claimed for it.

    The claim and the reference (both made by the caller) end here: the
    reference once the message is recorded, or known not to be sent. Nothing
    is read from the entry's set-up, which an unload may take away meanwhile.
    """
    usage = tracker.usage
    scheduled = scheduled_at.timestamp() if scheduled_at else None
    try:
        try:
            result = await client.send(
                numbers,
                content,
                reference=reference,
                scheduled_at=scheduled_at,
                **settings,
            )
        except SmsOfficeValidationError as err:
            usage.async_release(claim)
            raise validation_error(err) from err
        except SmsOfficeError as err:
            if isinstance(err, SmsOfficeResponseError) or (
                isinstance(err, SmsOfficeConnectionError) and err.maybe_sent
            ):
                # The gateway may have accepted it: keep it, so that its delivery
                # report is matched and a status check can settle it. Its credits
                # count for the limit; a repeat of it is not suppressed.
                try:
                    await _async_record(
                        tracker, reference, numbers.valid, scheduled, maybe_sent=True
                    )
                finally:  # cancelled meanwhile: recorded all the same
                    usage.async_spent(
                        claim, numbers.valid, claim.credits, reference=None
                    )
            else:
                usage.async_release(claim)
            raise handle_gateway_error(hass, entry, err, reference=reference) from err
        except asyncio.CancelledError:
            # Only Home Assistant stopping cancels a send (its callers cannot):
            # the request may have arrived, so it counts and is kept as maybe sent.
            try:
                await _async_record(
                    tracker, reference, numbers.valid, scheduled, maybe_sent=True
                )
            finally:
                usage.async_spent(claim, numbers.valid, claim.credits, reference=None)
            raise
        try:
            await _async_record(
                tracker, result.reference, result.destinations, result.scheduled_at
            )
        finally:
            # Counted (and remembered against duplicates) once every record
            # is in, also when cancelled meanwhile: a send of the same text
            # waiting for this one checks then.
            usage.async_spent(
                claim, result.destinations, result.credits, reference=result.reference
            )
        return result
    finally:
        # Given back if something unforeseen ended the send (no-op otherwise):
        # sends of the same text wait for the claim to end.
        usage.async_release(claim)
        tracker.async_release(reference)
