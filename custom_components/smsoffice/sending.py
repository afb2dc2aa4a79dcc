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

from collections.abc import Iterable
from datetime import datetime

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from .client import (
    SendResult,
    SmsOfficeConnectionError,
    SmsOfficeError,
    SmsOfficeResponseError,
    SmsOfficeValidationError,
    async_check_numbers,
    check_reference,
    new_reference,
)
from .const import (
    CONF_FLASH,
    CONF_NUMBER,
    CONF_SENDER,
    CONF_URGENT,
    DEFAULT_FLASH,
    DEFAULT_URGENT,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from .coordinator import SmsOfficeConfigEntry
from .delivery import DeliveryTracker
from .error_handling import handle_gateway_error, validation_error


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


async def async_send(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    recipients: Iterable[str],
    message: str,
    *,
    sender: str | None = None,
    urgent: bool | None = None,
    flash: bool | None = None,
    scheduled_at: datetime | None = None,
    reference: str | None = None,
    allow_partial: bool = False,
) -> SendResult:
    """Send one message; record it in the outbox; raise translated errors.

    What is recorded goes to the entry's tracker, which outlives a reload: a
    send that the gateway answers after the entry reloaded (or was removed)
    is recorded where the entry sees it (or nowhere).
    """
    data = entry.runtime_data
    tracker = data.tracker
    outbox = tracker.outbox
    options = entry.options
    _checked_schedule(scheduled_at)
    # Checked once, here (in a worker thread when there are many): the client
    # takes the result as is, and a send that may have gone out is recorded
    # under these same numbers.
    numbers = await async_check_numbers(resolve_recipients(entry, recipients))
    reference = _reserved_reference(tracker, reference)
    try:
        result = await data.client.send(
            numbers,
            message,
            sender or entry.data[CONF_SENDER],
            urgent=options.get(CONF_URGENT, DEFAULT_URGENT)
            if urgent is None
            else urgent,
            flash=options.get(CONF_FLASH, DEFAULT_FLASH) if flash is None else flash,
            reference=reference,
            scheduled_at=scheduled_at,
            allow_partial=allow_partial,
        )
    except SmsOfficeValidationError as err:
        raise validation_error(err) from err
    except SmsOfficeError as err:
        if isinstance(err, SmsOfficeResponseError) or (
            isinstance(err, SmsOfficeConnectionError) and err.maybe_sent
        ):
            # The gateway may have accepted it: keep it, so that its delivery
            # report is matched and a status check can settle it.
            tracker.async_sent(
                outbox.add(
                    reference,
                    numbers.valid,
                    maybe_sent=True,
                    scheduled_at=scheduled_at.timestamp() if scheduled_at else None,
                )
            )
        raise handle_gateway_error(hass, entry, err, reference=reference) from err
    else:
        tracker.async_sent(outbox.add_sent(result))
    finally:
        # Recorded (or not sent): the outbox answers for the reference now.
        tracker.async_release(reference)
    # The balance changed; read it without making the caller wait for it. The
    # entry may have reloaded meanwhile: ask the set-up that runs now.
    if entry.state is ConfigEntryState.LOADED:
        entry.async_create_background_task(
            hass,
            entry.runtime_data.balance.async_request_refresh(),
            f"{DOMAIN} balance after sending {result.reference}",
        )
    return result
