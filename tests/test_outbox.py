"""The outbox: persisted records of what was sent, bounded, saved without blocking."""

from __future__ import annotations

from datetime import timedelta
import logging
import time
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smsoffice.client import DeliveryStatus
from custom_components.smsoffice.const import DOMAIN
from custom_components.smsoffice.outbox import SAVE_DELAY, STORAGE_VERSION, Outbox
from tests.conftest import GUARD, MOTHER
from tests.fake_smsoffice import FakeSmsOffice


def storage_key(entry_id: str) -> str:
    """Return the key of an entry's outbox in the store."""
    return f"{DOMAIN}.outbox.{entry_id}"


def stored_records(hass_storage: dict[str, Any], entry_id: str) -> list[dict[str, Any]]:
    """Return the records written for an entry."""
    stored = hass_storage[storage_key(entry_id)]
    assert stored["version"] == STORAGE_VERSION
    return list(stored["data"]["records"])


async def send_sms(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call `smsoffice.send_sms` and return its response."""
    response = await hass.services.async_call(
        DOMAIN, "send_sms", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_records_survive_a_reload(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
) -> None:
    entry_id = loaded_entry.entry_id
    sent = await send_sms(hass, recipients=["Mother", "Night guard"], message="Hi")
    reference = sent["reference"]
    await hass.async_block_till_done()
    outbox = loaded_entry.runtime_data.outbox
    record = outbox.get(reference, MOTHER)
    assert record is not None
    assert outbox.advance(record, DeliveryStatus.DELIVERED, "")

    assert await hass.config_entries.async_unload(entry_id)
    written = {r["destination"]: r for r in stored_records(hass_storage, entry_id)}
    assert set(written) == {MOTHER, GUARD}
    assert written[MOTHER]["reference"] == reference
    assert written[MOTHER]["status"] == "delivered"
    assert written[GUARD]["status"] is None

    # A new outbox of the same entry (as after a restart) finds them.
    restarted = Outbox(hass, entry_id)
    await restarted.async_load()
    assert len(restarted) == 2
    again = restarted.get(reference, MOTHER)
    assert again is not None
    assert again.status == "delivered"
    assert again.sent_at == pytest.approx(time.time(), abs=60)

    # And so does the entry when it loads again.
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.runtime_data.outbox.get(reference, GUARD) is not None
    await hass.config_entries.async_unload(entry_id)


async def test_records_survive_home_assistant_stopping(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
) -> None:
    entry_id = loaded_entry.entry_id
    sent = await send_sms(hass, recipients=[MOTHER], message="Before the restart")
    assert storage_key(entry_id) not in hass_storage  # not written yet

    await hass.async_stop()

    (written,) = stored_records(hass_storage, entry_id)
    assert (written["reference"], written["destination"]) == (sent["reference"], MOTHER)
    restarted = Outbox(hass, entry_id)
    await restarted.async_load()
    assert restarted.get(sent["reference"], MOTHER) is not None


async def test_saves_are_delayed_and_batched(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
) -> None:
    entry_id = loaded_entry.entry_id
    first = await send_sms(hass, recipients=[MOTHER], message="One")
    second = await send_sms(hass, recipients=[GUARD], message="Two")
    outbox = loaded_entry.runtime_data.outbox
    record = outbox.get(first["reference"], MOTHER)
    assert record is not None
    outbox.advance(record, DeliveryStatus.PENDING, "Waiting")
    assert storage_key(entry_id) not in hass_storage

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY + 1))
    await hass.async_block_till_done()
    written = stored_records(hass_storage, entry_id)
    assert [(r["reference"], r["status"]) for r in written] == [
        (first["reference"], "pending"),
        (second["reference"], None),
    ]
    await hass.config_entries.async_unload(entry_id)


async def test_bounded_by_count_and_age(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    outbox = Outbox(hass, "bounded", max_records=3, max_age=timedelta(hours=1))
    now = time.time()
    outbox.add("old", [MOTHER], now - 7200)
    outbox.add("a", [MOTHER, GUARD], now - 60)
    assert not outbox.has_reference("old")  # too old by then
    outbox.add("b", [MOTHER], now - 30)
    outbox.add("c", [GUARD], now)
    assert [(r.reference, r.destination) for r in outbox.records()] == [
        ("a", GUARD),
        ("b", MOTHER),
        ("c", GUARD),
    ]
    assert outbox.has_reference("b")
    assert not outbox.has_reference("old")
    assert [r.destination for r in outbox.for_reference("a")] == [GUARD]
    await outbox.async_save_now()

    # Records that aged while Home Assistant was off are dropped on load.
    hass_storage[storage_key("bounded")]["data"]["records"][0]["sent_at"] = now - 7200
    restarted = Outbox(hass, "bounded", max_records=3, max_age=timedelta(hours=1))
    await restarted.async_load()
    assert [r.reference for r in restarted.records()] == ["b", "c"]


async def test_reports_for_other_systems_are_bounded_too(
    hass: HomeAssistant,
) -> None:
    outbox = Outbox(hass, "foreign", max_records=2)
    for reference in ("f1", "f2", "f3"):
        outbox.add_foreign(reference, MOTHER)
    assert [r.reference for r in outbox.records()] == ["f2", "f3"]
    await outbox.async_save_now()


async def test_statuses_only_move_forward(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    outbox = Outbox(hass, "forward")
    (record,) = outbox.add("ref", [MOTHER])
    assert list(outbox.unsettled()) == [record]
    assert outbox.advance(record, DeliveryStatus.PENDING, "")
    assert not outbox.advance(record, DeliveryStatus.PENDING, "")
    assert outbox.advance(record, DeliveryStatus.DELIVERED, "")
    assert not outbox.advance(record, DeliveryStatus.PENDING, "late")
    assert not outbox.advance(record, DeliveryStatus.UNDELIVERED, "")
    assert record.status == "delivered"
    assert record.settled
    assert list(outbox.unsettled()) == []
    foreign = outbox.add_foreign("elsewhere", GUARD)
    assert foreign.foreign
    assert list(outbox.unsettled()) == []
    await outbox.async_save_now()


async def test_maybe_sent_is_kept(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    outbox = Outbox(hass, "maybe")
    outbox.add("unsure", [MOTHER], maybe_sent=True)
    await outbox.async_save_now()
    restarted = Outbox(hass, "maybe")
    await restarted.async_load()
    record = restarted.get("unsure", MOTHER)
    assert record is not None
    assert record.maybe_sent


async def test_unreadable_records_are_skipped(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = time.time()
    hass_storage[storage_key("broken")] = {
        "version": STORAGE_VERSION,
        "key": storage_key("broken"),
        "data": {
            "records": [
                {"reference": "good", "destination": MOTHER, "sent_at": now},
                {"reference": "new", "destination": GUARD, "sent_at": now, "x": 1},
                {"reference": "bad", "destination": MOTHER},
                {"reference": 5, "destination": MOTHER, "sent_at": now},
                "not a record",
            ]
        },
    }
    outbox = Outbox(hass, "broken")
    with caplog.at_level(logging.WARNING):
        await outbox.async_load()
    assert [r.reference for r in outbox.records()] == ["good", "new"]
    assert "Skipped 3 unreadable records" in caplog.text

    hass_storage[storage_key("empty")] = {
        "version": STORAGE_VERSION,
        "key": storage_key("empty"),
        "data": {"records": None},
    }
    empty = Outbox(hass, "empty")
    await empty.async_load()
    assert len(empty) == 0


async def test_final_write_saves_pending_changes(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    outbox = Outbox(hass, "final")
    outbox.add("ref", [MOTHER])
    outbox.changed()
    assert storage_key("final") not in hass_storage
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    assert [r["reference"] for r in stored_records(hass_storage, "final")] == ["ref"]
    # The pending timer went with it: nothing lingers, nothing is written twice.
    hass_storage.pop(storage_key("final"))
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY + 1))
    await hass.async_block_till_done()
    assert storage_key("final") not in hass_storage


async def test_removing_the_entry_removes_the_outbox(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
) -> None:
    await send_sms(hass, recipients=[MOTHER], message="Hi")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert storage_key(loaded_entry.entry_id) in hass_storage
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert storage_key(loaded_entry.entry_id) not in hass_storage


async def test_remove_cancels_a_pending_save(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    outbox = Outbox(hass, "gone")
    outbox.add("ref", [MOTHER])
    await outbox.async_remove()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY + 1))
    await hass.async_block_till_done()
    assert storage_key("gone") not in hass_storage
