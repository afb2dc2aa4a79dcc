"""Saving the outbox and the usage counts: by a deadline that changes do not push back.

Home Assistant's `Store.async_delay_save` alone restarts its delay at each
change: during a campaign whose reports arrive every second nothing would
reach the disk until they stop. What the tests hold to: a report is in the
file at most `SAVE_DELAY` (10 s) after the first change the file lacks, a
send's records and counts within about a second, however many changes
follow; the snapshot written is taken in the event loop even where the store
encodes in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
import threading
from typing import Any
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.const import DOMAIN
from custom_components.smsoffice.outbox import SAVE_DELAY, SEND_SAVE_DELAY
from custom_components.smsoffice.storage import LOST_AFTER
from custom_components.smsoffice.usage import SAVE_DELAY as USAGE_SAVE_DELAY
from tests.conftest import MOTHER, advance, report, send_sms
from tests.test_outbox import stored_records

NUMBERS = [f"99555500{i:04d}" for i in range(60)]
SECOND = timedelta(seconds=1)


@dataclass
class Files:
    """What the entry's files hold (as the store last wrote them)."""

    hass_storage: dict[str, Any]
    entry_id: str

    def statuses(self) -> dict[str, Any]:
        """Return the stored status of each destination of the outbox."""
        if f"{DOMAIN}.outbox.{self.entry_id}" not in self.hass_storage:
            return {}
        records = stored_records(self.hass_storage, self.entry_id)
        return {record["destination"]: record["status"] for record in records}

    def usage(self) -> dict[str, Any]:
        """Return the usage counts as stored ({} before the first write)."""
        stored = self.hass_storage.get(f"{DOMAIN}.usage.{self.entry_id}")
        return {} if stored is None else dict(stored["data"])


@pytest.fixture
def files(hass_storage: dict[str, Any], loaded_entry: MockConfigEntry) -> Files:
    """The files of the entry, set up."""
    return Files(hass_storage, loaded_entry.entry_id)


async def delivered(http: TestClient, reference: str, number: str) -> None:
    """smsoffice.ge calls the webhook: delivered."""
    await report(http, reference, number, "delivered")


async def test_reports_every_second_are_written_within_the_deadline(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, files: Files, http: TestClient
) -> None:
    """A report a second for a minute: none waits more than `SAVE_DELAY` for the file.

    A send in the middle of it is written within a second or two all the
    same (its deadline is sooner than the reports' one).
    """
    sent = await send_sms(hass, recipients=NUMBERS, message="Campaign")
    await advance(hass, freezer, timedelta(seconds=SEND_SAVE_DELAY))
    assert files.statuses() == dict.fromkeys(NUMBERS)

    later: dict[str, Any] = {}
    for second, number in enumerate(NUMBERS):
        await delivered(http, sent["reference"], number)
        if second == 30:
            later = await send_sms(hass, recipients=[MOTHER], message="Meanwhile")
        await advance(hass, freezer, SECOND)
        stored = files.statuses()
        # Each report reported `SAVE_DELAY` seconds ago (or longer) is written.
        written_by_now = NUMBERS[: max(0, second + 1 - int(SAVE_DELAY))]
        assert all(stored[n] == "delivered" for n in written_by_now), second
        if second == 31:
            assert stored[MOTHER] is None, "the send waited for the reports' deadline"
    assert later["reference"]

    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY))
    assert set(files.statuses().values()) == {
        "delivered",
        None,  # the send to MOTHER had no report
    }


async def test_sends_every_half_second_are_counted_in_the_file(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, files: Files
) -> None:
    """Sends that keep coming do not hold back the counts nor the records."""
    half = timedelta(seconds=0.5)
    for sent, number in enumerate(NUMBERS[:20], start=1):
        await send_sms(hass, recipients=[number], message=f"Alarm {sent}")
        await advance(hass, freezer, half)
        # Written at most a second (and the half second of this step) later.
        behind = int((USAGE_SAVE_DELAY + 0.5) / 0.5)
        assert files.usage().get("sent_today", 0) >= (sent - behind), sent
        assert len(files.statuses()) >= sent - behind, sent
    await advance(hass, freezer, timedelta(seconds=SEND_SAVE_DELAY))
    assert files.usage()["sent_today"] == 20
    assert len(files.statuses()) == 20


@pytest.fixture
def written_from_a_thread(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> Iterator[list[tuple[str, bool]]]:
    """Stores call their data function in a thread of their own, as 2025.4's do.

    The event loop is held for a moment while the thread runs: the list
    returned tells for each write of ours (the store's key) whether the thread
    had to wait for the loop (True: it did not read the live data itself).
    What the thread got is then written to `hass_storage` as the mocked
    storage writes it.
    """
    mocked_write = Store._async_write_data
    waited: list[tuple[str, bool]] = []

    async def write_from_a_thread(store: Store[Any], *args: Any) -> None:
        data = args[-1]  # (path, data) on 2025.4, (data) later
        if "data_func" in data:
            data_func = data.pop("data_func")
            got: list[Any] = []
            thread = threading.Thread(target=lambda: got.append(data_func()))
            thread.start()
            thread.join(0.3)  # the event loop is held: nothing can change
            if store.key.startswith(f"{DOMAIN}."):
                waited.append((store.key.split(".")[1], thread.is_alive()))
            await hass.async_add_executor_job(thread.join)
            data["data"] = got[0]
        await mocked_write(store, *args)

    with patch.object(Store, "_async_write_data", write_from_a_thread):
        yield waited


async def test_the_snapshot_is_taken_in_the_event_loop(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    files: Files,
    http: TestClient,
    written_from_a_thread: list[tuple[str, bool]],
) -> None:
    """A store encoding in a worker thread never reads the records or the counts.

    The event loop changes them in place (reports, sends), so another
    thread reading them could see a half-made change or a dict changing size.
    """
    sent = await send_sms(hass, recipients=NUMBERS[:3], message="Campaign")
    await advance(hass, freezer, timedelta(seconds=SEND_SAVE_DELAY))
    await delivered(http, sent["reference"], NUMBERS[0])
    await advance(hass, freezer, timedelta(seconds=SAVE_DELAY + 1))

    # The outbox twice (the send, the report), the counts once.
    assert sorted(written_from_a_thread) == [
        ("outbox", True),
        ("outbox", True),
        ("usage", True),
    ]
    assert files.statuses() == {
        NUMBERS[0]: "delivered",
        NUMBERS[1]: None,
        NUMBERS[2]: None,
    }
    usage = files.usage()
    assert usage["sent_today"] == 3
    assert [row[1] for row in usage["recent"]] == NUMBERS[:3]


async def test_a_write_that_never_took_its_snapshot_does_not_stop_saving(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, files: Files, http: TestClient
) -> None:
    """2025.4's store makes the folder before it asks for the data: an error there
    ends the write without a snapshot. A later change is written all the same.
    """
    mocked_write = Store._async_write_data
    lost: list[str] = []

    async def first_outbox_write_lost(store: Store[Any], *args: Any) -> None:
        if store.key.startswith(f"{DOMAIN}.outbox.") and not lost:
            lost.append(store.key)  # ends without calling the data function
            return
        await mocked_write(store, *args)

    with patch.object(Store, "_async_write_data", first_outbox_write_lost):
        sent = await send_sms(hass, recipients=NUMBERS[:2], message="Campaign")
        await advance(hass, freezer, timedelta(seconds=SEND_SAVE_DELAY))
        assert lost
        assert files.statuses() == {}

        await advance(hass, freezer, timedelta(seconds=LOST_AFTER))
        await delivered(http, sent["reference"], NUMBERS[0])
        await advance(hass, freezer, timedelta(seconds=SAVE_DELAY))
    assert files.statuses() == {
        NUMBERS[0]: "delivered",
        NUMBERS[1]: None,
    }
