"""Base entity: every entity of an entry sits on one service device."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .coordinator import SmsOfficeConfigEntry


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


class SmsOfficeEntity(Entity):
    """An entity of an SMS Office entry."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: SmsOfficeConfigEntry, key: str) -> None:
        """Name the entity by its entry and key."""
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = device_info(entry)
