"""The outbox: persisted records of what was sent, bounded, saved without blocking."""

from __future__ import annotations

import asyncio
from dataclasses import MISSING, fields
from datetime import timedelta
import inspect
import logging
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.smsoffice.client import DeliveryStatus
from custom_components.smsoffice.const import DOMAIN
from custom_components.smsoffice.outbox import (
    COMPACT_AFTER,
    SAVE_DELAY,
    SEND_SAVE_DELAY,
    SNAPSHOT_SLICE,
    STORAGE_VERSION,
    Outbox,
    OutboxRecord,
)
from custom_components.smsoffice.usage import Usage
from tests.conftest import GUARD, MOTHER, advance, send_sms, set_up

# Each field this version writes and its default (None for the required ones).
FIELDS = [
    (field.name, None if field.default is MISSING else field.default)
    for field in fields(OutboxRecord)
]
NAMES = [name for name, _ in FIELDS]


def storage_key(entry_id: str) -> str:
    """Return the key of an entry's outbox in the store."""
    return f"{DOMAIN}.outbox.{entry_id}"


def stored_records(hass_storage: dict[str, Any], entry_id: str) -> list[dict[str, Any]]:
    """Return the records written for an entry, each as a dict by field name."""
    stored = hass_storage[storage_key(entry_id)]
    assert stored["version"] == STORAGE_VERSION
    names = stored["data"]["fields"]
    return [
        dict(zip(names, values, strict=True)) for values in stored["data"]["records"]
    ]


def stored_version_2(key: str, names: list[str], rows: list[Any]) -> dict[str, Any]:
    """Return what the store holds for `key`: these rows, in version 2."""
    return {"version": 2, "key": key, "data": {"fields": names, "records": rows}}


def row(reference: Any, destination: Any, sent_at: Any, **values: Any) -> list[Any]:
    """Return a record's values in the order this version writes them."""
    named = {
        "reference": reference,
        "destination": destination,
        "sent_at": sent_at,
        **values,
    }
    return [named.get(name, default) for name, default in FIELDS]


pytestmark = pytest.mark.usefixtures("unload_entries")


async def test_records_survive_a_reload(
    hass: HomeAssistant, hass_storage: dict[str, Any], loaded_entry: MockConfigEntry
) -> None:
    entry_id = loaded_entry.entry_id
    sent = await send_sms(hass, recipients=["Mother", "Night guard"], message="Hi")
    reference = sent["reference"]
    await hass.async_block_till_done()
    outbox = loaded_entry.runtime_data.tracker.outbox
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
    assert await set_up(hass, loaded_entry)
    assert loaded_entry.runtime_data.tracker.outbox.get(reference, GUARD) is not None


async def test_records_survive_home_assistant_stopping(
    hass: HomeAssistant, hass_storage: dict[str, Any], loaded_entry: MockConfigEntry
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
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    loaded_entry: MockConfigEntry,
) -> None:
    entry_id = loaded_entry.entry_id
    first = await send_sms(hass, recipients=[MOTHER], message="One")
    second = await send_sms(hass, recipients=[GUARD], message="Two")
    outbox = loaded_entry.runtime_data.tracker.outbox
    record = outbox.get(first["reference"], MOTHER)
    assert record is not None
    outbox.advance(record, DeliveryStatus.PENDING, "Waiting")
    assert storage_key(entry_id) not in hass_storage

    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))
    written = stored_records(hass_storage, entry_id)
    assert [(r["reference"], r["status"]) for r in written] == [
        (first["reference"], "pending"),
        (second["reference"], None),
    ]


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
    assert outbox.has_reference("a")  # still at GUARD
    assert outbox.get("a", MOTHER) is None
    assert not outbox.has_reference("old")
    await outbox.async_save_now()

    # Records that aged while Home Assistant was off are dropped on load.
    stored = hass_storage[storage_key("bounded")]["data"]
    stored["records"][0][stored["fields"].index("sent_at")] = now - 7200
    restarted = Outbox(hass, "bounded", max_records=3, max_age=timedelta(hours=1))
    await restarted.async_load()
    assert [r.reference for r in restarted.records()] == ["b", "c"]


async def test_many_drops_keep_the_order_and_the_bounds(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Records dropped one a send for long (the dict is made anew now and then):
    the newest kept in order, their references counted. A message scheduled
    longer ago than the age bound, alone in the outbox, is dropped at once."""
    outbox = Outbox(hass, "many", max_records=10, max_age=timedelta(hours=1))
    now = time.time()
    for index in range(3 * COMPACT_AFTER):
        outbox.add(f"r{index}", [MOTHER], now)
    kept = [f"r{index}" for index in range(3 * COMPACT_AFTER - 10, 3 * COMPACT_AFTER)]
    assert [record.reference for record in outbox.records()] == kept
    assert outbox.has_reference(kept[0])
    assert not outbox.has_reference(f"r{3 * COMPACT_AFTER - 11}")
    assert outbox.get(kept[-1], MOTHER) is not None

    await outbox.async_save_now()
    assert [r["reference"] for r in stored_records(hass_storage, "many")] == kept

    alone = Outbox(hass, "alone", max_age=timedelta(hours=1))
    alone.add("long-ago", [GUARD], now, scheduled_at=now - 7200)
    assert not alone.has_reference("long-ago")
    assert len(alone) == 0


async def test_reports_for_other_systems_are_bounded_too(hass: HomeAssistant) -> None:
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
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    hass_storage[storage_key("broken")] = stored_version_2(
        storage_key("broken"),
        NAMES,
        [
            row("good", MOTHER, now),
            row("bad", MOTHER, None),
            row(5, MOTHER, now),
            row("odd", GUARD, now, status=["delivered"]),
            row("short", MOTHER, now)[:-1],
            None,  # unreadable already in version 1
            "not a record",
            row("also good", GUARD, int(now), status="pending"),
        ],
    )
    outbox = Outbox(hass, "broken")
    with caplog.at_level(logging.WARNING):
        await outbox.async_load()
    assert [r.reference for r in outbox.records()] == ["good", "also good"]
    assert "Skipped 6 unreadable records" in caplog.text
    assert caplog.text.count("unreadable records") == 1
    assert not outbox.has_reference("bad")

    # Nothing to read: no list of records, no field names, not even a dict.
    caplog.clear()
    for key, data in {
        "empty": {"records": None},
        "nameless": {"fields": None, "records": [row("x", MOTHER, now), []]},
        "odd names": {"fields": [1, ["sent_at"]], "records": [[MOTHER, now]]},
        "not a dict": ["records"],
    }.items():
        hass_storage[storage_key(key)] = {
            "version": STORAGE_VERSION,
            "key": storage_key(key),
            "data": data,
        }
        empty = Outbox(hass, key)
        await empty.async_load()
        assert len(empty) == 0
    assert "Skipped 2 unreadable records" in caplog.text
    assert "Skipped 1 unreadable records" in caplog.text


async def test_records_written_by_another_version_are_read(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Fields are named once: their order may differ, unknown ones are dropped."""
    now = time.time()
    hass_storage[storage_key("other")] = stored_version_2(
        storage_key("other"),
        ["destination", "colour", "reference", "sent_at", "status", "polls"],
        [
            [MOTHER, "blue", "ref", now, "delivered", 3],
            [GUARD, "red", "ref", now, None],  # one value short: skipped
            [GUARD, "red", "ref", "yesterday", None, 0],
        ],
    )
    outbox = Outbox(hass, "other")
    await outbox.async_load()
    (record,) = outbox.records()
    assert record == OutboxRecord("ref", MOTHER, now, status="delivered", polls=3)
    assert record.settled
    assert outbox.has_reference("ref")

    # Written back in this version's order.
    await outbox.async_save_now()
    values = row("ref", MOTHER, now, status="delivered", polls=3)
    assert stored_records(hass_storage, "other") == [
        dict(zip(NAMES, values, strict=True))
    ]


async def test_a_newer_version_is_not_read(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """After a downgrade the outbox is not mistaken for an older form."""
    hass_storage[storage_key("newer")] = {
        "version": STORAGE_VERSION + 1,
        "key": storage_key("newer"),
        "data": {"records": {}},
    }
    with pytest.raises((NotImplementedError, HomeAssistantError)):
        await Outbox(hass, "newer").async_load()


async def test_references_are_counted_in_step(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """`has_reference` answers without a scan and agrees with the records."""
    outbox = Outbox(hass, "counted", max_records=4, max_age=timedelta(hours=1))

    def check() -> None:
        present = {record.reference for record in outbox.records()}
        for reference in ("a", "b", "c", "d", "late"):
            assert outbox.has_reference(reference) is (reference in present)

    now = time.time()
    outbox.add("a", [MOTHER, GUARD], now - 1000)
    outbox.add("b", [MOTHER], now - 60)
    outbox.add("a", [MOTHER], now - 30)  # the same message again: moved to the end
    check()
    assert [(r.reference, r.destination) for r in outbox.records()] == [
        ("a", GUARD),
        ("b", MOTHER),
        ("a", MOTHER),
    ]
    outbox.add("c", [MOTHER, GUARD], now)  # over the count: a at GUARD goes
    check()
    assert outbox.has_reference("a")
    outbox.add("d", [MOTHER], now)  # b goes
    check()
    assert not outbox.has_reference("b")
    outbox.add("late", [GUARD], now + 3600 - 10)  # a at MOTHER ages out
    check()
    assert not outbox.has_reference("a")
    await outbox.async_save_now()

    # Counted again on load, and in step with the bound applied then.
    restarted = Outbox(hass, "counted", max_records=2, max_age=timedelta(hours=1))
    await restarted.async_load()
    assert [r.reference for r in restarted.records()] == ["d", "late"]
    outbox = restarted
    check()


async def test_saves_are_encoded_off_the_event_loop(hass: HomeAssistant) -> None:
    """Releases whose store could encode in the event loop are told not to.

    The outbox and the usage counts both: what they give is a snapshot taken
    in the event loop (see test_saving.py).

    On releases without the option (2025.4) the store always encodes in a
    worker thread, and it must not be passed (the store would refuse it).
    """
    stores = [Outbox(hass, "encoded")._store, Usage(hass, "encoded")._saving.store]
    if "serialize_in_event_loop" in inspect.signature(Store).parameters:
        assert [store._serialize_in_event_loop for store in stores] == [False, False]
    else:
        assert not any(hasattr(store, "_serialize_in_event_loop") for store in stores)
        with pytest.raises(TypeError):
            Store(hass, 1, "probe", serialize_in_event_loop=False)  # type: ignore[call-arg,unused-ignore]


async def test_final_write_saves_pending_changes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
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
    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))
    assert storage_key("final") not in hass_storage


async def test_a_change_while_the_snapshot_is_taken_gets_its_own_write(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    """A large outbox is read a slice at a time, the event loop running between.

    What changes meanwhile may miss this write; it gets its own, by its
    own deadline (the write replaced the one the change asked for).
    """
    outbox = Outbox(hass, "slices")
    many = [f"995577{index:06d}" for index in range(2 * SNAPSHOT_SLICE + 1)]
    first, *_ = outbox.add("bulk", many)
    saving = hass.async_create_task(outbox.async_save_now())
    await asyncio.sleep(0)
    assert not saving.done()  # the loop runs between slices
    assert outbox.advance(first, DeliveryStatus.DELIVERED, "")  # read already
    outbox.add("later", [MOTHER])  # after the records were listed
    await saving
    written = stored_records(hass_storage, "slices")
    assert (len(written), written[0]["status"]) == (len(many), None)

    await advance(hass, freezer, timedelta(seconds=SEND_SAVE_DELAY + 0.1))
    written = stored_records(hass_storage, "slices")
    assert (written[0]["status"], written[-1]["reference"]) == ("delivered", "later")
    assert len(written) == len(many) + 1


async def test_removing_the_entry_removes_the_outbox(
    hass: HomeAssistant, hass_storage: dict[str, Any], loaded_entry: MockConfigEntry
) -> None:
    await send_sms(hass, recipients=[MOTHER], message="Hi")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert storage_key(loaded_entry.entry_id) in hass_storage
    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert storage_key(loaded_entry.entry_id) not in hass_storage


async def test_remove_cancels_a_pending_save(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    outbox = Outbox(hass, "gone")
    outbox.add("ref", [MOTHER])
    await outbox.async_remove()
    # A change after the removal (a send that was still out) writes nothing.
    outbox.add("late", [MOTHER])
    outbox.changed()
    await outbox.async_save_now()
    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))
    assert storage_key("gone") not in hass_storage
