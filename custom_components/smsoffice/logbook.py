"""Describe delivery reports in the logbook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_DELIVERY_STATUS

_WORDS = {
    "delivered": "was delivered to",
    "undelivered": "could not be delivered to",
    "expired": "expired before reaching",
    "pending": "is on its way to",
    "unknown": "has an unknown status at",
}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe `smsoffice_delivery_status` in words."""

    @callback
    def describe(event: Event) -> dict[str, Any]:
        data = event.data
        message = (
            f"SMS {data.get('reference')} "
            f"{_WORDS.get(str(data.get('status')), 'changed status at')} "
            f"{data.get('destination')}"
        )
        if data.get("reason"):
            message += f" ({data['reason']})"
        entry = hass.config_entries.async_get_entry(str(data.get("config_entry_id")))
        name = entry.title if entry and entry.domain == DOMAIN else "SMS Office"
        return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message}

    async_describe_event(DOMAIN, EVENT_DELIVERY_STATUS, describe)
