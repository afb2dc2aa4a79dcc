"""Base entity and devices: the account's service device, and one per saved recipient.

A recipient's notify entity and her delivery event entity share her device,
which belongs to her subentry (newer Home Assistant releases move a device
shared by several subentries, and its entities with it) and hangs off the
account's service device.
"""

from __future__ import annotations

from typing import Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .coordinator import SmsOfficeConfigEntry

# Newer Home Assistant releases (2026.10 here) take the parent device by id,
# `via_device_id`, and log `via_device` (by identifiers) as deprecated, to be
# removed in 2027.8; 2025.4 knows only `via_device` and refuses the new key.
VIA_DEVICE_ID: Final = "via_device_id" in DeviceInfo.__optional_keys__


def device_info(entry: SmsOfficeConfigEntry) -> DeviceInfo:
    """Return the service device of an entry."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="smsoffice.ge",
        model="SMS gateway",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url="https://smsoffice.ge",
    )


@callback
def async_service_device_id(hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> str:
    """Return the id of the entry's service device, made now if not there yet.

    The recipients' devices hang off it, so it must exist before them: newer
    releases refuse a `via_device_id` they do not know, older ones log and
    ignore a `via_device` they cannot find. The platforms set up at the same
    time, so the one that made it may not have run yet.
    """
    return (
        dr.async_get(hass)
        .async_get_or_create(config_entry_id=entry.entry_id, **device_info(entry))
        .id
    )


def recipient_device_identifier(entry_id: str, subentry_id: str) -> str:
    """Return the identifier (in this domain) of a recipient's device."""
    return f"{entry_id}_{subentry_id}"


def whose_device(identifier: str) -> tuple[str, str | None]:
    """Return the entry id, and a recipient's subentry id, of a device identifier.

    The account's device is the entry id; a recipient's adds her subentry id
    (neither id has an underscore).
    """
    entry_id, _, subentry_id = identifier.partition("_")
    return entry_id, subentry_id or None


def recipient_device_info(
    entry: SmsOfficeConfigEntry, subentry: ConfigSubentry, service_device_id: str
) -> DeviceInfo:
    """Return a saved recipient's device, under the account's service device."""
    info = DeviceInfo(
        identifiers={
            (DOMAIN, recipient_device_identifier(entry.entry_id, subentry.subentry_id))
        },
        name=f"{entry.title} {subentry.data[CONF_NAME]}",
        manufacturer="smsoffice.ge",
        model="SMS recipient",
        entry_type=DeviceEntryType.SERVICE,
    )
    if VIA_DEVICE_ID:
        info["via_device_id"] = service_device_id  # type: ignore[typeddict-unknown-key,unused-ignore]
    else:
        info["via_device"] = (DOMAIN, entry.entry_id)  # type: ignore[typeddict-unknown-key,unused-ignore]
    return info


def delivery_unique_id(entry_id: str, subentry_id: str | None) -> str:
    """Return the unique ID of a delivery event entity.

    The account's (`subentry_id` None) or a saved recipient's; stable for as
    long as the entry and the subentry exist.
    """
    if subentry_id is None:
        return f"{entry_id}_delivery"
    return f"{entry_id}_recipient_{subentry_id}_delivery"


class SmsOfficeEntity(Entity):
    """An entity of an SMS Office entry, on the account's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: SmsOfficeConfigEntry, key: str) -> None:
        """Name the entity by its entry and key."""
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = device_info(entry)
