"""Diagnostics, with the key and the webhook id redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_API_KEY, CONF_CLOUDHOOK_URL, CONF_WEBHOOK_ID
from .coordinator import SmsOfficeConfigEntry

TO_REDACT = {CONF_API_KEY, CONF_WEBHOOK_ID, CONF_CLOUDHOOK_URL}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmsOfficeConfigEntry
) -> dict[str, Any]:
    """Return what helps to debug an entry, without secrets."""
    data = entry.runtime_data
    statuses: dict[str, int] = {}
    outbox = data.tracker.outbox
    for record in outbox.records():
        key = record.status or "sent"
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
            "recipients": len(entry.subentries),
        },
        "gateway": data.client.base_url,
        "balance": {
            "value": data.balance.data,
            "last_update_success": data.balance.last_update_success,
        },
        "outbox": {"records": len(outbox), "by_status": statuses},
        "status_polling": data.poller.polling,
    }
