"""The delivery event entity: one event, and one logbook line, per delivery report."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import DeliveryStatus
from .coordinator import SmsOfficeConfigEntry
from .entity import SmsOfficeEntity
from .logbook import async_load_words, async_log_delivery
from .models import DeliveryEventData

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the delivery event entity."""
    await async_load_words(hass)
    async_add_entities([DeliveryEventEntity(entry)])


class DeliveryEventEntity(SmsOfficeEntity, EventEntity):
    """Fires when a message's delivery status changes."""

    _attr_translation_key = "delivery"
    _attr_event_types = [status.value for status in DeliveryStatus]  # noqa: RUF012

    def __init__(self, entry: SmsOfficeConfigEntry) -> None:
        """Listen to the entry's reports."""
        super().__init__(entry, "delivery")
        self._entry = entry
        self._tracker = entry.runtime_data.tracker

    async def async_added_to_hass(self) -> None:
        """Subscribe to reports (first those that came while it was not there)."""
        await super().async_added_to_hass()
        self.async_on_remove(self._tracker.async_listen(self._async_report))

    @callback
    def _async_report(self, data: DeliveryEventData) -> None:
        self._trigger_event(
            data["status"],
            {
                "reference": data["reference"],
                "destination": data["destination"],
                "reason": data["reason"],
                "timestamp": data["timestamp"],
                "operator": data["operator"],
            },
        )
        self.async_write_ha_state()
        state = self.hass.states.get(self.entity_id)
        name = str(state.name) if state is not None else self._entry.title
        async_log_delivery(self.hass, self._entry, self.entity_id, name, data)
