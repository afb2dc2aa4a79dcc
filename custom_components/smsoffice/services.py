"""Actions: `send_sms`, `estimate` and `get_message_status`."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .client import (
    DeliveryStatus,
    InvalidNumberError,
    SendResult,
    SmsOfficeError,
    SmsOfficeValidationError,
    async_check_numbers,
    check_content,
    check_reference,
    estimate_parts,
)
from .client.transliteration import has_georgian_letters, transliterate
from .const import DOMAIN
from .coordinator import SmsOfficeConfigEntry
from .error_handling import handle_gateway_error, validation_error
from .models import DeliveryReport
from .sending import async_send, resolve_recipients
from .times import as_aware

if TYPE_CHECKING:
    from .delivery import DeliveryTracker

SERVICE_SEND_SMS = "send_sms"
# The longest `send_sms` may wait for delivery; numbers still open at its end
# that are asked about (webhook mode), at most, and the longest that check may
# add to the wait (the action returns within the wait and this).
MAX_WAIT_FOR_DELIVERY = timedelta(minutes=10)
MAX_CHECKS_AFTER_WAIT = 20
CHECK_AFTER_WAIT_TIME = timedelta(seconds=10)
SERVICE_ESTIMATE = "estimate"
SERVICE_GET_MESSAGE_STATUS = "get_message_status"

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_RECIPIENTS = "recipients"
ATTR_MESSAGE = "message"
ATTR_SENDER = "sender"
ATTR_URGENT = "urgent"
ATTR_FLASH = "flash"
ATTR_SCHEDULE = "schedule"
ATTR_REFERENCE = "reference"
ATTR_SKIP_INVALID = "skip_invalid"
ATTR_DESTINATIONS = "destinations"
ATTR_WAIT_FOR_DELIVERY = "wait_for_delivery"
ATTR_TRANSLITERATE = "transliterate"

_RECIPIENTS = vol.All(cv.ensure_list, [cv.string], vol.Length(min=1))

SEND_SMS_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_RECIPIENTS): _RECIPIENTS,
        vol.Required(ATTR_MESSAGE): cv.string,
        vol.Optional(ATTR_SENDER): cv.string,
        vol.Optional(ATTR_URGENT): cv.boolean,
        vol.Optional(ATTR_FLASH): cv.boolean,
        vol.Optional(ATTR_SCHEDULE): cv.datetime,
        vol.Optional(ATTR_REFERENCE): cv.string,
        vol.Optional(ATTR_SKIP_INVALID, default=False): cv.boolean,
        vol.Optional(ATTR_TRANSLITERATE): cv.boolean,
        vol.Optional(ATTR_WAIT_FOR_DELIVERY): vol.All(
            cv.time_period, vol.Range(min=timedelta(0), max=MAX_WAIT_FOR_DELIVERY)
        ),
    }
)
ESTIMATE_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_MESSAGE): cv.string,
        vol.Optional(ATTR_RECIPIENTS): _RECIPIENTS,
        vol.Optional(ATTR_TRANSLITERATE): cv.boolean,
    }
)
GET_MESSAGE_STATUS_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_REFERENCE): cv.string,
        vol.Required(ATTR_DESTINATIONS): _RECIPIENTS,
    }
)


def resolve_entry(hass: HomeAssistant, entry_id: str | None) -> SmsOfficeConfigEntry:
    """Return the loaded entry an action is for; optional when only one exists."""
    if entry_id is None:
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
        if len(entries) != 1:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_required" if entries else "no_loaded_entry",
            )
        return entries[0]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


async def _async_send_sms(call: ServiceCall) -> ServiceResponse:
    # The wait for delivery counts from the call (the send's time included).
    started = asyncio.get_running_loop().time()
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    # The entry's tracker outlives reloads: the set-up's data may be gone
    # after the send (`runtime_data` is deleted when the entry unloads).
    tracker = entry.runtime_data.tracker
    schedule = call.data.get(ATTR_SCHEDULE)
    outcome = await async_send(
        call.hass,
        entry,
        call.data[ATTR_RECIPIENTS],
        call.data[ATTR_MESSAGE],
        sender=call.data.get(ATTR_SENDER),
        urgent=call.data.get(ATTR_URGENT),
        flash=call.data.get(ATTR_FLASH),
        transliterate=call.data.get(ATTR_TRANSLITERATE),
        scheduled_at=as_aware(schedule) if schedule else None,
        reference=call.data.get(ATTR_REFERENCE),
        allow_partial=call.data[ATTR_SKIP_INVALID],
    )
    if (result := outcome.result) is None:
        # Every number got the same text within the window: nothing was sent.
        # What it would have been, and the earlier message's reference.
        estimate = estimate_parts(outcome.content)
        suppressed: dict[str, Any] = {
            "reference": outcome.earlier_reference,
            "recipients": [],
            "rejected": outcome.rejected,
            "encoding": estimate.encoding.value,
            "characters": estimate.characters,
            "parts": estimate.parts,
            "credits": 0,
            "status": "suppressed",
            "scheduled_at": None,
            "suppressed": outcome.suppressed,
            "transliterated": outcome.transliterated,
        }
        return suppressed
    # What was sent: the transliterated text, when it was.
    response: dict[str, Any] = {
        "reference": result.reference,
        "recipients": result.destinations,
        "rejected": result.invalid,
        "encoding": result.encoding.value,
        "characters": result.characters,
        "parts": result.parts,
        "credits": result.credits,
        "status": "scheduled" if result.scheduled_at else "accepted",
        "scheduled_at": (
            dt_util.utc_from_timestamp(result.scheduled_at).isoformat()
            if result.scheduled_at
            else None
        ),
        "suppressed": outcome.suppressed,
        "transliterated": outcome.transliterated,
    }
    if (wait := call.data.get(ATTR_WAIT_FOR_DELIVERY)) is not None:
        deadline = started + wait.total_seconds()
        statuses = await _async_wait_for_delivery(tracker, result, deadline)
        response["statuses"] = statuses
        response["all_delivered"] = bool(statuses) and all(
            item["status"] == DeliveryStatus.DELIVERED.value for item in statuses
        )
    return response


async def _async_wait_for_delivery(
    tracker: DeliveryTracker, result: SendResult, deadline: float
) -> list[dict[str, str]]:
    """Wait until each destination has a final status, or until `deadline`.

    In webhook mode a number with no final status at the end is asked about
    once (before other status checks, within the polling budget), for at most
    `CHECK_AFTER_WAIT_TIME`: what it could not learn by then is answered as it
    stands. Cancelling the caller cancels the wait, never the message (it is
    sent already). Reports are the tracker's, also across a reload.
    """
    destinations = result.destinations
    within = max(0.0, deadline - asyncio.get_running_loop().time())
    await tracker.async_wait_settled(result.reference, destinations, within)
    outbox = tracker.outbox
    open_records = [
        record
        for destination in destinations
        if (record := outbox.get(result.reference, destination)) is not None
        and not record.settled
    ]
    # The set-up that runs now (None while the entry is not set up).
    poller = tracker.poller
    if open_records and poller is not None and not poller.polling:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CHECK_AFTER_WAIT_TIME.total_seconds()):
                await poller.async_check_now(open_records[:MAX_CHECKS_AFTER_WAIT])
    statuses = []
    for destination in destinations:
        record = outbox.get(result.reference, destination)
        statuses.append(
            {
                "destination": destination,
                "status": (record.status if record else None) or "no_report",
                "reason": record.reason if record else "",
            }
        )
    return statuses


async def _async_all_numbers(
    entry: SmsOfficeConfigEntry, targets: list[str]
) -> list[str]:
    """Return the targets as normalised numbers; raise if any is not one."""
    numbers = await async_check_numbers(resolve_recipients(entry, targets))
    if numbers.invalid:
        raise InvalidNumberError(numbers.invalid)
    return numbers.valid


async def _async_estimate(call: ServiceCall) -> ServiceResponse:
    message: str = call.data[ATTR_MESSAGE]
    recipients = 1
    try:
        check_content(message)
        if targets := call.data.get(ATTR_RECIPIENTS):
            entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
            recipients = len(await _async_all_numbers(entry, targets))
    except SmsOfficeValidationError as err:
        raise validation_error(err) from err
    estimate = estimate_parts(message)
    response: dict[str, Any] = {
        "encoding": estimate.encoding.value,
        "characters": estimate.characters,
        "parts": estimate.parts,
        "per_part": estimate.per_part,
        "recipients": recipients,
        "credits": estimate.parts * recipients,
    }
    # Georgian letters: what the text would cost in Latin ones, beside. Left
    # out only when asked not to transliterate (`transliterate: false`).
    if call.data.get(ATTR_TRANSLITERATE, True) and has_georgian_letters(message):
        latin = transliterate(message)
        latin_estimate = estimate_parts(latin)
        response["transliterated"] = {
            "message": latin,
            "encoding": latin_estimate.encoding.value,
            "characters": latin_estimate.characters,
            "parts": latin_estimate.parts,
            "credits": latin_estimate.parts * recipients,
        }
    return response


async def _async_get_message_status(call: ServiceCall) -> ServiceResponse:
    entry = resolve_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    reference: str = call.data[ATTR_REFERENCE]
    # Taken before any await: the entry may unload meanwhile. The tracker is
    # the entry's (a reload keeps it): the answer is recorded where it counts.
    client = entry.runtime_data.client
    tracker = entry.runtime_data.tracker
    try:
        check_reference(reference)
        destinations = await _async_all_numbers(entry, call.data[ATTR_DESTINATIONS])
    except SmsOfficeValidationError as err:
        raise validation_error(err) from err
    statuses: list[dict[str, Any]] = []
    for destination in destinations:
        try:
            status = await client.get_message_status(destination, reference)
        except SmsOfficeError as err:
            raise handle_gateway_error(
                call.hass, entry, err, operation="status"
            ) from err
        tracker.async_handle(DeliveryReport(reference, destination, status), "poll")
        statuses.append({"destination": destination, "status": status.value})
    response: dict[str, Any] = {"reference": reference, "statuses": statuses}
    return response


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for every entry)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND_SMS,
        _async_send_sms,
        schema=SEND_SMS_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ESTIMATE,
        _async_estimate,
        schema=ESTIMATE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_MESSAGE_STATUS,
        _async_get_message_status,
        schema=GET_MESSAGE_STATUS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
