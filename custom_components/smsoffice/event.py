"""Delivery event entities: each report is one event of one of them.

Each saved recipient has one on her device (with her notify entity); it takes
the reports for her number. The account's, on the account's device, takes the
reports for every other number: not saved, a recipient removed since, other
systems' messages when that option is on. So every report is exactly one
event-entity state, and one row in the logbook: Home Assistant's own, which
names the recipient through the entity's name and, from 2026.7, shows the
status, translated (the event types). The integration writes no logbook line
of its own.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import DeliveryStatus
from .const import SUBENTRY_RECIPIENT
from .coordinator import SmsOfficeConfigEntry
from .entity import (
    SmsOfficeEntity,
    async_service_device_id,
    delivery_unique_id,
    recipient_device_info,
)
from .models import DeliveryEventData

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's delivery event entity and one per saved recipient."""
    tracker = entry.runtime_data.tracker
    # Every change of the recipients reloads the entry: this set-up's numbers.
    tracker.async_update_recipients()
    async_add_entities([DeliveryEventEntity(entry)])
    service_device_id = async_service_device_id(hass, entry)
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type == SUBENTRY_RECIPIENT:
            async_add_entities(
                [DeliveryEventEntity(entry, subentry, service_device_id)],
                config_subentry_id=subentry_id,
            )


class DeliveryEventEntity(SmsOfficeEntity, EventEntity):
    """Fires when the delivery status of a message to its numbers changes."""

    _attr_event_types = [status.value for status in DeliveryStatus]  # noqa: RUF012

    def __init__(
        self,
        entry: SmsOfficeConfigEntry,
        subentry: ConfigSubentry | None = None,
        service_device_id: str = "",
    ) -> None:
        """Take the account's reports, or (with `subentry`) a recipient's."""
        super().__init__(entry, "delivery")
        self._tracker = entry.runtime_data.tracker
        self._recipient = None if subentry is None else subentry.subentry_id
        self._attr_unique_id = delivery_unique_id(entry.entry_id, self._recipient)
        if subentry is None:
            self._attr_translation_key = "other_numbers"
        else:
            self._attr_translation_key = "delivery"
            self._attr_device_info = recipient_device_info(
                entry, subentry, service_device_id
            )

    async def async_added_to_hass(self) -> None:
        """Subscribe to reports (first those held for it while it was not there)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._tracker.async_listen(self._async_report, self._recipient)
        )

    @callback
    def _async_report(self, data: DeliveryEventData) -> None:
        # The same data as the bus event, the status as the event type.
        self._trigger_event(
            data["status"],
            {
                "config_entry_id": data["config_entry_id"],
                "reference": data["reference"],
                "destination": data["destination"],
                "reason": data["reason"],
                "timestamp": data["timestamp"],
                "operator": data["operator"],
                "source": data["source"],
            },
        )
        self.async_write_ha_state()
