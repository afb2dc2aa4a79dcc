"""Diagnostics, with the key, the webhook id and the gateway's credentials redacted."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_API_KEY, CONF_BASE_URL, CONF_CLOUDHOOK_URL, CONF_WEBHOOK_ID
from .coordinator import SmsOfficeConfigEntry

TO_REDACT = {CONF_API_KEY, CONF_WEBHOOK_ID, CONF_CLOUDHOOK_URL}


def redact_url(url: str) -> str:
    """Return `url` without credentials: user and password, query values, fragment.

    The gateway address may be a proxy's, `http://user:pass@host:port/path?token=…`:
    it becomes `http://**REDACTED**@host:port/path?token=**REDACTED**`. Scheme,
    host, port and path stay, as they are what helps to debug; a URL without
    credentials comes back unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed [IPv6 address: nothing to keep
        return REDACTED
    _userinfo, at, host_port = parts.netloc.rpartition("@")
    netloc = f"{REDACTED}@{host_port}" if at else parts.netloc
    query = parts.query
    if query:
        query = urlencode(
            [(name, REDACTED) for name, _ in parse_qsl(query, keep_blank_values=True)],
            safe="*",
        )
        if not query:  # no name=value pairs: a bare token
            query = REDACTED
    fragment = REDACTED if parts.fragment else ""
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


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
    entry_data = async_redact_data(dict(entry.data), TO_REDACT)
    if isinstance(entry_data.get(CONF_BASE_URL), str):
        entry_data[CONF_BASE_URL] = redact_url(entry_data[CONF_BASE_URL])
    return {
        "entry": {
            "title": entry.title,
            "data": entry_data,
            "options": dict(entry.options),
            "recipients": len(entry.subentries),
        },
        "gateway": redact_url(data.client.base_url),
        "balance": {
            "value": data.balance.data,
            "last_update_success": data.balance.last_update_success,
        },
        "outbox": {"records": len(outbox), "by_status": statuses},
        "status_polling": data.poller.polling,
    }
