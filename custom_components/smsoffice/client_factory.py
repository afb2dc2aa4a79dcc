"""The client of an entry (or of the account a flow checks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .client import DEFAULT_BASE_URL, SmsOfficeClient
from .const import CONF_API_KEY, CONF_BASE_URL


def create_client(hass: HomeAssistant, data: Mapping[str, Any]) -> SmsOfficeClient:
    """Return a client for the entry data (or flow input) `data`."""
    return SmsOfficeClient(
        async_get_clientsession(hass),
        data[CONF_API_KEY],
        base_url=data.get(CONF_BASE_URL) or DEFAULT_BASE_URL,
    )
