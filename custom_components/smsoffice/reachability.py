"""Where smsoffice.ge calls back, and whether it can: one answer for the flow and polling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components import webhook
from homeassistant.core import HomeAssistant
from homeassistant.helpers.network import NoURLAvailableError, get_url

from .const import CONF_CLOUDHOOK_URL, CONF_WEBHOOK_ID


def webhook_url(hass: HomeAssistant, data: Mapping[str, Any]) -> tuple[str, bool]:
    """Return the callback URL to paste in the profile, and whether the internet reaches it.

    Reached: the entry's cloudhook (Home Assistant Cloud), or Home Assistant's
    external URL. A Cloud subscription alone is not enough: reports arrive
    through a cloudhook, which the entry has only if it was made at set-up.
    """
    if cloudhook := data.get(CONF_CLOUDHOOK_URL):
        return str(cloudhook), True
    path = webhook.async_generate_path(data[CONF_WEBHOOK_ID])
    try:
        return get_url(hass, allow_internal=False, allow_cloud=False) + path, True
    except NoURLAvailableError:
        pass
    try:
        return get_url(hass, allow_cloud=False) + path, False
    except NoURLAvailableError:
        return path, False
