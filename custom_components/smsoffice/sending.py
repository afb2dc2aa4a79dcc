"""Sending, shared by the notify entities, the legacy notify action and `send_sms`.

Every failure becomes a translated error raised to the caller: invalid input as
`ServiceValidationError`, gateway refusals and outages as `HomeAssistantError`.
A rejected key starts re-authentication; a balance too low raises the repair issue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .client import (
    InvalidContentError,
    InvalidNumberError,
    InvalidReferenceError,
    InvalidSenderError,
    SendResult,
    SmsOfficeApiAccessDisabledError,
    SmsOfficeApiError,
    SmsOfficeAuthenticationError,
    SmsOfficeBalanceError,
    SmsOfficeConnectionError,
    SmsOfficeContentError,
    SmsOfficeError,
    SmsOfficeRecipientError,
    SmsOfficeResponseError,
    SmsOfficeSenderError,
    SmsOfficeTemporaryError,
    SmsOfficeValidationError,
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

# Gateway refusals and outages, most specific first: (error type, translation key).
_GATEWAY_ERRORS: tuple[tuple[type[SmsOfficeError], str], ...] = (
    (SmsOfficeApiAccessDisabledError, "api_access_disabled"),
    (SmsOfficeAuthenticationError, "auth_failed"),
    (SmsOfficeBalanceError, "balance_too_low"),
    (SmsOfficeSenderError, "sender_rejected"),
    (SmsOfficeRecipientError, "recipients_rejected"),
    (SmsOfficeContentError, "content_rejected"),
    (SmsOfficeTemporaryError, "gateway_busy"),
    (SmsOfficeResponseError, "invalid_response"),
    (SmsOfficeApiError, "gateway_error"),
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


def resolve_recipients(
    entry: SmsOfficeConfigEntry, targets: Iterable[str]
) -> list[str]:
    """Replace saved recipients' names (or subentry ids) by their numbers."""
    by_name: dict[str, str] = {}
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_RECIPIENT:
            number = subentry.data[CONF_NUMBER]
            by_name[subentry.subentry_id] = number
            by_name[str(subentry.data[CONF_NAME]).casefold()] = number
    return [
        by_name.get(target) or by_name.get(target.strip().casefold()) or target
        for target in targets
    ]


def validation_error(err: SmsOfficeValidationError) -> ServiceValidationError:
    """Return the translated error for a value refused before any request."""
    if isinstance(err, InvalidNumberError):
        key, placeholders = "invalid_number", {"numbers": ", ".join(err.invalid)}
    elif isinstance(err, InvalidSenderError):
        key, placeholders = "invalid_sender", {"sender": err.sender}
    elif isinstance(err, InvalidContentError):
        key = "invalid_content"
        placeholders = {"length": str(err.length), "maximum": str(err.maximum)}
    elif isinstance(err, InvalidReferenceError):
        key, placeholders = "invalid_reference", {"reference": err.reference}
    else:
        key, placeholders = "invalid_schedule", {"error": str(err)}
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def gateway_error(
    hass: HomeAssistant, entry: SmsOfficeConfigEntry, err: SmsOfficeError
) -> HomeAssistantError:
    """Return the translated error for a refusal or outage, acting on it first."""
    if isinstance(err, SmsOfficeConnectionError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="maybe_sent" if err.maybe_sent else "cannot_connect",
            translation_placeholders={"error": str(err)},
        )
    if isinstance(err, SmsOfficeAuthenticationError):
        entry.async_start_reauth(hass)
    elif isinstance(err, SmsOfficeBalanceError):
        entry.runtime_data.balance.update_low_balance_issue(None)
    key = next(key for kind, key in _GATEWAY_ERRORS if isinstance(err, kind))
    code = err.code if isinstance(err, SmsOfficeApiError) else 0
    message = err.gateway_message if isinstance(err, SmsOfficeApiError) else str(err)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"code": str(code), "message": message or "-"},
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
    """Send one message; record it in the outbox; raise translated errors."""
    data = entry.runtime_data
    options = entry.options
    try:
        result = await data.client.send(
            resolve_recipients(entry, recipients),
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
        raise gateway_error(hass, entry, err) from err
    records = data.outbox.add_sent(result)
    data.delivery.async_track_sent(records)
    await data.balance.async_request_refresh()
    return result
