"""Errors from the gateway and the client, made translated Home Assistant errors.

It acts as well as maps: a rejected key starts re-authentication, API access
switched off and a balance too low raise their repair issues.
"""

from __future__ import annotations

from typing import Literal

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .client import (
    InvalidContentError,
    InvalidNumberError,
    InvalidReferenceError,
    InvalidSenderError,
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
from .const import DOMAIN
from .coordinator import SmsOfficeConfigEntry

# Gateway refusals, most specific first: (error type, translation key).
_GATEWAY_ERRORS: tuple[tuple[type[SmsOfficeApiError], str], ...] = (
    (SmsOfficeApiAccessDisabledError, "api_access_disabled"),
    (SmsOfficeAuthenticationError, "auth_failed"),
    (SmsOfficeBalanceError, "balance_too_low"),
    (SmsOfficeSenderError, "sender_rejected"),
    (SmsOfficeRecipientError, "recipients_rejected"),
    (SmsOfficeContentError, "content_rejected"),
    (SmsOfficeTemporaryError, "gateway_busy"),
    (SmsOfficeApiError, "gateway_error"),
)

type Operation = Literal["send", "status"]


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


def handle_gateway_error(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    err: SmsOfficeError,
    *,
    operation: Operation = "send",
    reference: str = "",
) -> HomeAssistantError:
    """Return the translated error for a refusal or outage, acting on it first.

    A rejected key starts re-authentication; API access switched off (no bad
    key) and a balance too low raise their repair issues. For a send, an
    outage that may have sent the message names its `reference`.
    """
    if isinstance(err, SmsOfficeConnectionError | SmsOfficeResponseError):
        if operation == "status":
            key = "status_failed"
        elif isinstance(err, SmsOfficeResponseError):
            key = "invalid_response"
        else:
            key = "maybe_sent" if err.maybe_sent else "cannot_connect"
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={"error": str(err), "reference": reference},
        )
    # The entry may have unloaded while the request was out (its set-up is
    # gone): the first balance read of its next set-up raises these issues.
    loaded = entry.state is ConfigEntryState.LOADED
    if isinstance(err, SmsOfficeApiAccessDisabledError):
        if loaded:
            entry.runtime_data.balance.api_access_disabled()
    elif isinstance(err, SmsOfficeAuthenticationError):
        entry.async_start_reauth(hass)
    elif isinstance(err, SmsOfficeBalanceError) and loaded:
        entry.runtime_data.balance.update_low_balance_issue(None)
    if isinstance(err, SmsOfficeApiError):
        key = next(key for kind, key in _GATEWAY_ERRORS if isinstance(err, kind))
        code, message = str(err.code), err.gateway_message
    else:  # an error family this module does not know yet
        key, code, message = "gateway_error", "-", str(err)
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"code": code, "message": message or "-"},
    )
