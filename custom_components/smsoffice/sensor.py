"""Sensors of an entry: the balance, and what it sent today and this month."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import BalanceCoordinator, SmsOfficeConfigEntry
from .entity import SmsOfficeEntity
from .usage import Usage, async_update_limit_issue

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SmsOfficeSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor fed by the balance coordinator."""

    value_fn: Callable[[int], int]


@dataclass(frozen=True, kw_only=True)
class SmsOfficeUsageSensorEntityDescription(SensorEntityDescription):
    """Describes a counter of what the entry sent, fed by its usage."""

    value_fn: Callable[[Usage], int]
    # When the count started: the start of the local day or month.
    last_reset_fn: Callable[[], datetime]


SENSORS: tuple[SmsOfficeSensorEntityDescription, ...] = (
    SmsOfficeSensorEntityDescription(
        key="balance",
        translation_key="balance",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda balance: balance,
    ),
)

# Counters that start again at a known time (local midnight, the first of the
# month): TOTAL with `last_reset`, as the sensor documentation prescribes for
# them, rather than TOTAL_INCREASING, which guesses a reset from a drop. The
# guess misses resets: when Home Assistant is down at midnight and the day's
# first recorded count (after a few sends) is above yesterday's last one, no
# drop is seen and the new day's credits are short in the statistics.
USAGE_SENSORS: tuple[SmsOfficeUsageSensorEntityDescription, ...] = (
    SmsOfficeUsageSensorEntityDescription(
        key="sent_today",
        translation_key="sent_today",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda usage: usage.sent_today,
        last_reset_fn=Usage.start_of_day,
    ),
    SmsOfficeUsageSensorEntityDescription(
        key="credits_today",
        translation_key="credits_today",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda usage: usage.credits_today,
        last_reset_fn=Usage.start_of_day,
    ),
    SmsOfficeUsageSensorEntityDescription(
        key="credits_month",
        translation_key="credits_month",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda usage: usage.credits_month,
        last_reset_fn=Usage.start_of_month,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the balance and usage sensors; roll the usage over at midnight.

    The usage outlives this set-up (it is the entry's); its midnight timer is
    this set-up's, and so are the checks of the daily limit's repair issue:
    now (the options may have raised the limit), after each send or release
    of credits, and at midnight.
    """
    coordinator = entry.runtime_data.balance
    usage = entry.runtime_data.tracker.usage

    @callback
    def check_limit_issue() -> None:
        async_update_limit_issue(hass, entry, check_only=True)

    entry.async_on_unload(usage.async_start(check_limit_issue))
    entry.async_on_unload(usage.async_add_listener(check_limit_issue))
    check_limit_issue()
    async_add_entities(
        SmsOfficeSensor(entry, coordinator, description) for description in SENSORS
    )
    async_add_entities(
        SmsOfficeUsageSensor(entry, usage, description) for description in USAGE_SENSORS
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


class SmsOfficeUsageSensor(SmsOfficeEntity, SensorEntity):
    """A count of what the entry sent, since midnight or the first of the month."""

    entity_description: SmsOfficeUsageSensorEntityDescription

    def __init__(
        self,
        entry: SmsOfficeConfigEntry,
        usage: Usage,
        description: SmsOfficeUsageSensorEntityDescription,
    ) -> None:
        """Describe the sensor."""
        super().__init__(entry, description.key)
        self.entity_description = description
        self._usage = usage

    async def async_added_to_hass(self) -> None:
        """Follow the usage: each send, and each midnight."""
        await super().async_added_to_hass()
        self.async_on_remove(self._usage.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> int:
        """Return the count."""
        return self.entity_description.value_fn(self._usage)

    @property
    def last_reset(self) -> datetime:
        """Return when the count started."""
        return self.entity_description.last_reset_fn()
