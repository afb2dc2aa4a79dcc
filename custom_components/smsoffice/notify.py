"""Notify: an entity per saved recipient, and the legacy `notify.<name>` action."""

from __future__ import annotations

from typing import Any

from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import ATTR_DATA, ATTR_TARGET, ATTR_TITLE
from homeassistant.components.notify.legacy import (
    NOTIFY_SERVICES,
    BaseNotificationService,
)
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
import voluptuous as vol

try:  # newer releases define it in const; 2025.4 only in __init__
    from homeassistant.components.notify.const import (  # type: ignore[attr-defined,unused-ignore]
        NotifyEntityFeature,
    )
except ImportError:  # pragma: no cover - only on the oldest supported releases
    from homeassistant.components.notify import (  # type: ignore[attr-defined,unused-ignore]
        NotifyEntityFeature,
    )

from .const import CONF_NUMBER, DOMAIN, SUBENTRY_RECIPIENT
from .coordinator import SmsOfficeConfigEntry
from .entity import (
    SmsOfficeEntity,
    async_service_device_id,
    recipient_device_info,
)
from .sending import async_send
from .times import as_aware

PARALLEL_UPDATES = 0

LEGACY_DATA_SCHEMA = vol.Schema(
    {
        vol.Optional("sender"): cv.string,
        vol.Optional("urgent"): cv.boolean,
        vol.Optional("flash"): cv.boolean,
        vol.Optional("schedule"): cv.datetime,
        vol.Optional("reference"): cv.string,
        vol.Optional("transliterate"): cv.boolean,
    }
)


def with_title(message: str, title: str | None) -> str:
    """Put a title, when given, on its own line before the text."""
    return f"{title}\n{message}" if title else message


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity for each saved recipient, on her device."""
    service_device_id = async_service_device_id(hass, entry)
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type == SUBENTRY_RECIPIENT:
            async_add_entities(
                [RecipientNotifyEntity(entry, subentry, service_device_id)],
                config_subentry_id=subentry_id,
            )


class RecipientNotifyEntity(SmsOfficeEntity, NotifyEntity):
    """Sends SMS to one saved recipient."""

    # Lets the `notify.send_message` form offer the title field.
    _attr_supported_features = NotifyEntityFeature.TITLE

    def __init__(
        self,
        entry: SmsOfficeConfigEntry,
        subentry: ConfigSubentry,
        service_device_id: str,
    ) -> None:
        """Serve the recipient `subentry`, under the account's service device."""
        super().__init__(entry, f"recipient_{subentry.subentry_id}")
        self._entry = entry
        self._number: str = subentry.data[CONF_NUMBER]
        # On her own device (see entity.py), whose name it takes:
        # `notify.<entry title> <recipient name>`.
        self._attr_name = None
        self._attr_device_info = recipient_device_info(
            entry, subentry, service_device_id
        )

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Send the message (a title goes before it)."""
        await async_send(
            self.hass, self._entry, [self._number], with_title(message, title)
        )


async def async_get_service(
    hass: HomeAssistant,
    config: ConfigType,
    discovery_info: DiscoveryInfoType | None = None,
) -> SmsOfficeNotificationService | None:
    """Return the legacy notify service of the entry that asked for it."""
    if discovery_info is None:
        return None
    entry: SmsOfficeConfigEntry | None = hass.config_entries.async_get_entry(
        discovery_info["entry_id"]
    )
    if entry is None or entry.state not in (
        ConfigEntryState.SETUP_IN_PROGRESS,
        ConfigEntryState.LOADED,
    ):
        return None  # unloaded before the legacy platform got to it
    return SmsOfficeNotificationService(entry)


async def async_unload_legacy_service(hass: HomeAssistant, entry_id: str) -> None:
    """Remove the entry's `notify.<name>` action and Home Assistant's note of it.

    The legacy notify component keeps every service it set up in a list per
    integration and offers no way to drop one of several: take ours out.
    """
    services = hass.data.get(NOTIFY_SERVICES, {}).get(DOMAIN, [])
    for service in [s for s in services if isinstance(s, SmsOfficeNotificationService)]:
        if service.entry_id == entry_id:
            await service.async_unregister_services()
            services.remove(service)


class SmsOfficeNotificationService(BaseNotificationService):
    """`notify.<name>` with `target` (numbers or saved recipients) and `data`."""

    def __init__(self, entry: SmsOfficeConfigEntry) -> None:
        """Send through `entry`."""
        self._entry = entry
        self.entry_id = entry.entry_id

    async def async_send_message(self, message: str = "", **kwargs: Any) -> None:
        """Send `message` to every target."""
        targets = kwargs.get(ATTR_TARGET) or []
        if not targets:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_target"
            )
        try:
            data = LEGACY_DATA_SCHEMA(kwargs.get(ATTR_DATA) or {})
        except vol.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_notify_data",
                translation_placeholders={"error": str(err)},
            ) from err
        schedule = data.get("schedule")
        await async_send(
            self.hass,
            self._entry,
            targets,
            with_title(message, kwargs.get(ATTR_TITLE)),
            sender=data.get("sender"),
            urgent=data.get("urgent"),
            flash=data.get("flash"),
            transliterate=data.get("transliterate"),
            scheduled_at=as_aware(schedule) if schedule else None,
            reference=data.get("reference"),
        )
