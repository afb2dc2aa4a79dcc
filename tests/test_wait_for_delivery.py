"""`send_sms` with `wait_for_delivery`: answered with each number's outcome."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import time
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import Event, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
import voluptuous as vol

from custom_components.smsoffice.const import CONF_STATUS_POLLING, DOMAIN
from custom_components.smsoffice.delivery import get_tracker
from custom_components.smsoffice.status_polling import (
    CATCH_UP_DELAY,
    MAX_REQUESTS_IN_FLIGHT,
    STATUS_POLL_FIRST,
)
from tests.conftest import GUARD, MOTHER, WEBHOOK_ID
from tests.fake_smsoffice import FakeSmsOffice

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"

pytestmark = pytest.mark.usefixtures("unload_entries")


def send(hass: HomeAssistant, reference: str, wait: Any, **data: Any) -> Any:
    """Start `send_sms` with a wait, in a plain task (it blocks until the outcome)."""
    return asyncio.ensure_future(
        hass.services.async_call(
            DOMAIN,
            "send_sms",
            {
                "recipients": [MOTHER, GUARD],
                "message": "Water leak",
                "reference": reference,
                "wait_for_delivery": wait,
                **data,
            },
            blocking=True,
            return_response=True,
        )
    )


async def callback(
    http: TestClient, reference: str, destination: str, status: str, reason: str = ""
) -> None:
    """Deliver one of the gateway's callbacks to the webhook."""
    response = await http.get(
        WEBHOOK_PATH,
        params={
            "reference": reference,
            "destination": destination,
            "status": status,
            "reason": reason,
        },
    )
    assert (response.status, await response.text()) == (200, "OK")


async def sent(gateway: FakeSmsOffice, count: int = 1) -> None:
    """Wait until the gateway took `count` messages.

    By loop iterations, not a timer: with time frozen, a timer never fires.
    """
    for _ in range(100_000):
        if len(gateway.messages) >= count:
            return
        await asyncio.sleep(0)
    pytest.fail(f"the gateway took {len(gateway.messages)} messages, not {count}")


async def test_wait_ended_by_webhook_reports(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    call = send(hass, "leak-1", {"minutes": 2})
    await sent(gateway)
    await callback(http, "leak-1", MOTHER, "delivered")
    assert not call.done()  # the night guard is still open
    await callback(http, "leak-1", GUARD, "pending")
    await asyncio.sleep(0.05)
    assert not call.done()  # pending is not an outcome
    await callback(http, "leak-1", GUARD, "undelivered", "Absent subscriber")

    response = await asyncio.wait_for(call, 5)
    assert response["statuses"] == [
        {"destination": MOTHER, "status": "delivered", "reason": ""},
        {"destination": GUARD, "status": "undelivered", "reason": "Absent subscriber"},
    ]
    assert response["all_delivered"] is False
    assert response["reference"] == "leak-1"
    assert gateway.requests_to("status") == []  # no check was needed


async def test_all_delivered_by_the_gateways_own_callbacks(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    gateway.callback_url = str(http.make_url(WEBHOOK_PATH))
    gateway.callback_delay = 0.1
    response = await asyncio.wait_for(send(hass, "leak-2", 30), 10)
    assert [s["status"] for s in response["statuses"]] == ["delivered", "delivered"]
    assert response["all_delivered"] is True


async def test_no_report_in_time_is_checked_once(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    """Webhook mode: the numbers still open at the end are asked about once."""
    gateway.set_outcome(GUARD, "pending")  # the gateway knows nothing more
    call = send(hass, "leak-3", 1)  # one second
    await sent(gateway)
    await callback(http, "leak-3", MOTHER, "delivered")

    response = await asyncio.wait_for(call, 10)
    assert response["statuses"] == [
        {"destination": MOTHER, "status": "delivered", "reason": ""},
        {"destination": GUARD, "status": "pending", "reason": ""},
    ]
    assert response["all_delivered"] is False
    asked = gateway.requests_to("status")
    assert [r.params["destination"] for r in asked] == [GUARD]


async def test_no_report_at_all(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Nothing came and the check failed too: `no_report`."""
    gateway.inject("http500", 2, endpoint="status")
    response = await asyncio.wait_for(send(hass, "leak-4", 1), 10)
    assert [s["status"] for s in response["statuses"]] == ["no_report", "no_report"]
    assert response["all_delivered"] is False
    assert len(gateway.requests_to("status")) == 2


@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: True}], ids=["polling"])
async def test_wait_ended_by_a_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    call = send(hass, "leak-5", {"minutes": 5})
    await sent(gateway)
    # Recorded on our side too (no request may be out when time jumps).
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.runtime_data.tracker.outbox.get("leak-5", GUARD) is not None
    freezer.tick(STATUS_POLL_FIRST + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    response = await asyncio.wait_for(call, 5)
    assert response["all_delivered"] is True
    assert len(gateway.requests_to("status")) == 2


async def test_cancelling_the_caller_cancels_only_the_wait(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
    events: list[Event],
) -> None:
    call = send(hass, "leak-6", {"minutes": 5})
    await sent(gateway)  # the gateway has it; its answer may still be on its way
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    assert len(gateway.messages) == 1  # the message is out
    await hass.async_block_till_done()  # and recorded: its report is matched
    await callback(http, "leak-6", MOTHER, "delivered")
    assert [(e.data["reference"], e.data["status"]) for e in events] == [
        ("leak-6", "delivered")
    ]
    assert gateway.requests_to("status") == []


async def test_two_waits_see_their_own_message(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    first = send(hass, "first", 30)
    await sent(gateway)
    second = send(hass, "second", 30)
    await sent(gateway, 2)

    for destination in (MOTHER, GUARD):
        await callback(http, "second", destination, "expired")
    response = await asyncio.wait_for(second, 5)
    assert [s["status"] for s in response["statuses"]] == ["expired", "expired"]
    assert not first.done()

    for destination in (MOTHER, GUARD):
        await callback(http, "first", destination, "delivered")
    response = await asyncio.wait_for(first, 5)
    assert response["all_delivered"] is True


async def test_without_a_wait_nothing_changes(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    response = await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {"recipients": [MOTHER], "message": "x"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert "statuses" not in response
    assert "all_delivered" not in response


@pytest.mark.parametrize("wait", [601, {"minutes": 11}, -1, "soon"])
async def test_a_wait_over_ten_minutes_is_refused(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    wait: Any,
) -> None:
    with pytest.raises(vol.Invalid):
        await send(hass, "too-long", wait)
    assert gateway.messages == []


async def test_a_backlog_of_checks_does_not_hold_the_answer(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
    events: list[Event],
) -> None:
    """400 messages being caught up, status answers slow: within the wait and 15 s.

    What the end check could not learn in time is answered as it stands.
    """
    backlog = [f"99555{n:07d}" for n in range(400)]
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {"recipients": backlog, "message": "Power cut", "reference": "backlog"},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    # Enabled again, the entry asks about all 400 (their callbacks never came).
    for disabled_by in (ConfigEntryDisabler.USER, None):
        assert await hass.config_entries.async_set_disabled_by(
            loaded_entry.entry_id, disabled_by
        )
    await hass.async_block_till_done()
    gateway.slow_seconds = 600
    gateway.inject("slow", 2000, endpoint="status")
    freezer.tick(CATCH_UP_DELAY + timedelta(seconds=1))
    async_fire_time_changed(hass)
    for _ in range(1000):  # by loop iterations: time is frozen
        if gateway.in_flight["status"] == MAX_REQUESTS_IN_FLIGHT:
            break
        await asyncio.sleep(0)
    assert gateway.in_flight["status"] == MAX_REQUESTS_IN_FLIGHT

    call = send(hass, "leak-7", 30)
    await sent(gateway, 2)
    await callback(http, "leak-7", MOTHER, "delivered")
    waited = 0
    while not call.done() and waited < 30 + 15:
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        waited += 1
        # Real time for the loop's I/O (a frozen clock's timers never wake it).
        await hass.async_add_executor_job(time.sleep, 0.01)
    if not call.done():
        call.cancel()
    assert call.done(), f"no answer {waited} s into a 30 s wait"
    assert waited > 30  # the night guard's number stayed open

    response = call.result()
    assert response["statuses"] == [
        {"destination": MOTHER, "status": "delivered", "reason": ""},
        {"destination": GUARD, "status": "no_report", "reason": ""},
    ]
    assert response["all_delivered"] is False
    assert len(gateway.requests_to("status")) < 60  # the backlog is still there
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)


async def test_the_entry_reloads_while_a_send_waits(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    """The send is answered while the entry sets up again: its wait still answers.

    The set-up's data is gone then (`runtime_data`); the message went out, so
    an error would make a script send it again.
    """
    gateway.inject("slow", endpoint="send")  # answered in 3 s
    call = send(hass, "leak-8", {"minutes": 1})
    for _ in range(100_000):
        if gateway.requests_to("send"):
            break
        await asyncio.sleep(0)
    gateway.inject("hold", endpoint="balance")
    reload = hass.async_create_task(
        hass.config_entries.async_reload(loaded_entry.entry_id)
    )
    await gateway.wait_for_held()
    assert loaded_entry.state is ConfigEntryState.SETUP_IN_PROGRESS
    tracker = get_tracker(hass, loaded_entry.entry_id)
    assert tracker is not None
    for _ in range(1000):  # the send's answer comes after 3 s
        if tracker.outbox.get("leak-8", MOTHER) is not None:
            break
        await hass.async_add_executor_job(time.sleep, 0.01)
    assert tracker.outbox.get("leak-8", MOTHER) is not None
    await callback(http, "leak-8", MOTHER, "delivered")
    await asyncio.sleep(0.05)
    assert not call.done()  # waiting for the night guard

    gateway.release()
    assert await reload
    assert loaded_entry.state is ConfigEntryState.LOADED
    await callback(http, "leak-8", GUARD, "delivered")
    response = await asyncio.wait_for(call, 5)
    assert [s["status"] for s in response["statuses"]] == ["delivered", "delivered"]
    assert response["all_delivered"] is True


async def test_the_entry_reloads_during_the_end_check(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    """The end check is out when the entry reloads: answered as it stands."""
    gateway.inject("hold", endpoint="status")
    call = send(hass, "leak-9", 1)
    await sent(gateway)
    await callback(http, "leak-9", MOTHER, "delivered")
    await gateway.wait_for_held()  # the night guard's number is asked about

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    response = await asyncio.wait_for(call, 5)
    assert [s["status"] for s in response["statuses"]] == ["delivered", "no_report"]
    gateway.release()
