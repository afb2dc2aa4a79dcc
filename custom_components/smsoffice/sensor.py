"""The balance sensor: messages left on the account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import BalanceCoordinator, SmsOfficeConfigEntry
from .entity import SmsOfficeEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SmsOfficeSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor fed by the balance coordinator."""

    value_fn: Callable[[int], int]


SENSORS: tuple[SmsOfficeSensorEntityDescription, ...] = (
    SmsOfficeSensorEntityDescription(
        key="balance",
        translation_key="balance",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda balance: balance,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the balance sensor."""
    coordinator = entry.runtime_data.balance
    async_add_entities(
        SmsOfficeSensor(entry, coordinator, description) for description in SENSORS
    )


class SmsOfficeSensor(
    SmsOfficeEntity, CoordinatorEntity[BalanceCoordinator], SensorEntity
):
    """A sensor of the account."""

    entity_description: SmsOfficeSensorEntityDescription

    def __init__(
        self,
        entry: SmsOfficeConfigEntry,
        coordinator: BalanceCoordinator,
        description: SmsOfficeSensorEntityDescription,
    ) -> None:
        """Describe the sensor."""
        SmsOfficeEntity.__init__(self, entry, description.key)
        CoordinatorEntity.__init__(self, coordinator)
        self.entity_description = description

    @property
    def native_value(self) -> int:
        """Return the value from the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)
