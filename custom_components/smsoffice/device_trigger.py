"""Device triggers on the account's device: an SMS was delivered, or was not.

`delivered` fires for the status delivered; `not_delivered` for undelivered
and expired (final, and not delivered). An optional `recipient` (a saved
recipient's number, or any number) narrows either to one destination. They
listen to the bus event `smsoffice_delivery_status`, so they fire once per
report whichever way it came (webhook or status check).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_NAME,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
)
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .client import SmsOfficeError, normalise_number
from .const import CONF_NUMBER, DOMAIN, EVENT_DELIVERY_STATUS, SUBENTRY_RECIPIENT

CONF_RECIPIENT: Final = "recipient"

# Trigger type → the statuses that fire it.
TRIGGER_STATUSES: Final = {
    "delivered": frozenset({"delivered"}),
    "not_delivered": frozenset({"undelivered", "expired"}),
}

TRIGGER_SCHEMA: Final = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In(list(TRIGGER_STATUSES)),
        vol.Optional(CONF_RECIPIENT): cv.string,
    }
)


def _account_entry_id(hass: HomeAssistant, device_id: str) -> str | None:
    """Return the entry whose account device this is (recipient devices: None)."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier in device.config_entries:
            return identifier
    return None


async def async_validate_trigger_config(
    hass: HomeAssistant, config: ConfigType
) -> ConfigType:
    """Check the trigger; a recipient is kept as its normalised number."""
    config = TRIGGER_SCHEMA(config)
    if recipient := config.get(CONF_RECIPIENT):
        try:
            config[CONF_RECIPIENT] = normalise_number(recipient)
        except SmsOfficeError as err:
            raise InvalidDeviceAutomationConfig(
                f"Not a phone number: {recipient}"
            ) from err
    return config


async def async_get_triggers(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, Any]]:
    """List the triggers of an account's device."""
    if _account_entry_id(hass, device_id) is None:
        return []
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in TRIGGER_STATUSES
    ]


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """Offer the saved recipients (or any number) to narrow the trigger."""
    options: list[SelectOptionDict] = []
    entry_id = _account_entry_id(hass, config[CONF_DEVICE_ID])
    entry = hass.config_entries.async_get_entry(entry_id) if entry_id else None
    if entry is not None:
        options = [
            SelectOptionDict(
                value=subentry.data[CONF_NUMBER],
                label=f"{subentry.data[CONF_NAME]} ({subentry.data[CONF_NUMBER]})",
            )
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_RECIPIENT
        ]
    return {
        "extra_fields": vol.Schema(
            {
                vol.Optional(CONF_RECIPIENT): SelectSelector(
                    SelectSelectorConfig(options=options, custom_value=True)
                )
            }
        )
    }


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Fire on the reports of this account that match the type (and recipient)."""
    entry_id = _account_entry_id(hass, config[CONF_DEVICE_ID])
    if entry_id is None:
        raise InvalidDeviceAutomationConfig(
            f"Not an SMS Office account device: {config[CONF_DEVICE_ID]}"
        )
    trigger_type: str = config[CONF_TYPE]
    statuses = TRIGGER_STATUSES[trigger_type]
    recipient: str | None = config.get(CONF_RECIPIENT)
    job = HassJob(action, f"smsoffice device trigger {trigger_type}")
    trigger_data = trigger_info["trigger_data"]

    @callback
    def matches(event_data: Mapping[str, Any]) -> bool:
        return (
            event_data.get("config_entry_id") == entry_id
            and event_data.get("status") in statuses
            and (recipient is None or event_data.get("destination") == recipient)
        )

    @callback
    def fire(event: Event[Mapping[str, Any]]) -> None:
        hass.async_run_hass_job(
            job,
            {
                "trigger": {
                    **trigger_data,
                    CONF_PLATFORM: "device",
                    CONF_DOMAIN: DOMAIN,
                    CONF_DEVICE_ID: config[CONF_DEVICE_ID],
                    CONF_TYPE: trigger_type,
                    "event": event,
                    "description": f"SMS {event.data.get('status')}",
                    **event.data,
                }
            },
            event.context,
        )

    return hass.bus.async_listen(EVENT_DELIVERY_STATUS, fire, event_filter=matches)
