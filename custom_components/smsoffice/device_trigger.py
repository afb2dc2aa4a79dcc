"""Device triggers: an SMS was delivered, or was not.

`delivered` fires for the status delivered; `not_delivered` for undelivered
and expired (final, and not delivered). On the account's device they fire for
any number, and an optional `recipient` (a saved recipient's number, or any
number) narrows either to one destination. On a saved recipient's device they
fire for the reports her delivery event entity takes: those for her number
(no recipient field). They listen to the bus event
`smsoffice_delivery_status`, so they fire once per report whichever way it
came (webhook or status check).
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
from .delivery import get_tracker
from .entity import whose_device

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


def _whose(hass: HomeAssistant, device_id: str) -> tuple[str, str | None] | None:
    """Return the entry and recipient (subentry id) of one of our devices.

    The account's device gives (entry id, None); a saved recipient's gives
    (entry id, her subentry id); any other device None.
    """
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for domain, identifier in device.identifiers:
        entry_id, subentry_id = whose_device(identifier)
        if domain == DOMAIN and entry_id in device.config_entries:
            return entry_id, subentry_id
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
    """List the triggers of an account's or a saved recipient's device."""
    if _whose(hass, device_id) is None:
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
    """Offer the saved recipients (or any number) to narrow an account's trigger.

    A recipient's device has no field: its triggers are hers.
    """
    whose = _whose(hass, config[CONF_DEVICE_ID])
    if whose is not None and whose[1] is not None:
        return {}
    options: list[SelectOptionDict] = []
    entry = hass.config_entries.async_get_entry(whose[0]) if whose else None
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
    """Fire on the reports that match the type, for the device's numbers.

    The account's device: any number of the account (or the one `recipient`).
    A saved recipient's device: the reports her event entity takes, for the
    number she has when the report comes.
    """
    whose = _whose(hass, config[CONF_DEVICE_ID])
    if whose is None:
        raise InvalidDeviceAutomationConfig(
            f"Not an SMS Office device: {config[CONF_DEVICE_ID]}"
        )
    entry_id, subentry_id = whose
    recipient: str | None = config.get(CONF_RECIPIENT)
    if subentry_id is not None and recipient is not None:
        raise InvalidDeviceAutomationConfig(
            "A recipient's device takes no recipient: its triggers are hers"
        )
    trigger_type: str = config[CONF_TYPE]
    statuses = TRIGGER_STATUSES[trigger_type]
    job = HassJob(action, f"smsoffice device trigger {trigger_type}")
    trigger_data = trigger_info["trigger_data"]

    @callback
    def matches(event_data: Mapping[str, Any]) -> bool:
        if (
            event_data.get("config_entry_id") != entry_id
            or event_data.get("status") not in statuses
        ):
            return False
        destination = event_data.get("destination")
        if subentry_id is not None:
            tracker = get_tracker(hass, entry_id)
            return (
                tracker is not None
                and tracker.recipient_of(str(destination)) == subentry_id
            )
        return recipient is None or destination == recipient

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
