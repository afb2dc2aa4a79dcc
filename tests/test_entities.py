"""The devices and entities of an entry with two recipients, as a snapshot.

The account's service device with its sensors and the event entity of other
numbers' reports; a device per recipient, under the service device, with her
notify and delivery event entities. The snapshot holds fields that read the
same on every supported release (registry entries' own repr does not): ids
that change from run to run (the entry's, its subentries', the devices')
appear as what they stand for, and the sensors' last reset (today's start)
is left out.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from homeassistant.components.sensor import ATTR_LAST_RESET
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

pytestmark = pytest.mark.usefixtures("unload_entries")


def stable(value: Any) -> Any:
    """Return `value` with enums as their values (their repr varies)."""
    return value.value if isinstance(value, Enum) else value


def device_subentries(device: dr.DeviceEntry, entry: MockConfigEntry) -> list[str]:
    """Return the ids of the entry's subentries the device belongs to.

    The newest releases give a device one config entry and one subentry
    (`config_subentry_id`) and report reading `config_entries_subentries`.
    """
    if hasattr(device, "config_subentry_id"):
        return [device.config_subentry_id] if device.config_subentry_id else []
    return [sub for sub in device.config_entries_subentries[entry.entry_id] if sub]


def devices_and_entities(
    hass: HomeAssistant, entry: MockConfigEntry
) -> dict[str, dict[str, Any]]:
    """Return the entry's devices and entities (with their states) by name."""
    names = {entry.entry_id: "<entry>"}
    names |= {sub.subentry_id: f"<{sub.title}>" for sub in entry.subentries.values()}

    def named(text: str) -> str:
        for volatile, name in names.items():
            text = text.replace(volatile, name)
        return text

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    device_names = {device.id: device.name for device in devices}
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    snapshot: dict[str, dict[str, Any]] = {"devices": {}, "entities": {}}
    for device in devices:
        snapshot["devices"][str(device.name)] = {
            "identifiers": sorted(f"{a}:{named(b)}" for a, b in device.identifiers),
            "manufacturer": device.manufacturer,
            "model": device.model,
            "entry_type": stable(device.entry_type),
            "via_device": device_names.get(device.via_device_id or ""),
            "subentries": sorted(map(named, device_subentries(device, entry))),
        }
    for entity in entities:
        state = hass.states.get(entity.entity_id)
        assert state is not None
        snapshot["entities"][entity.entity_id] = {
            "unique_id": named(entity.unique_id),
            "translation_key": entity.translation_key,
            "has_entity_name": entity.has_entity_name,
            "original_name": entity.original_name,
            "device": device_names.get(entity.device_id or ""),
            "subentry": named(entity.config_subentry_id or "") or None,
            "state": state.state,
            "attributes": {
                str(key): stable(value)
                for key, value in state.attributes.items()
                if key != ATTR_LAST_RESET
            },
        }
    return snapshot


async def test_devices_and_entities(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, snapshot: SnapshotAssertion
) -> None:
    """What the entry brings up, on its service device and its recipients'."""
    assert devices_and_entities(hass, loaded_entry) == snapshot
