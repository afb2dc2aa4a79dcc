"""The repair `callbacks_not_arriving`: raised, cleared, and fixed by turning polling on.

The callbacks go nowhere (a wrong callback URL in the profile); the straggler
checks of webhook mode find the statuses, in the same run: no reload, no
restart.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smsoffice.const import CONF_STATUS_POLLING, DOMAIN
from custom_components.smsoffice.status_polling import STRAGGLER_FIRST
from tests.conftest import MOTHER, WEBHOOK_ID, closed_port_url
from tests.fake_smsoffice import FakeSmsOffice

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"


def issue_of(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """Return the entry's `callbacks_not_arriving` issue, if raised."""
    return ir.async_get(hass).async_get_issue(
        DOMAIN, f"callbacks_not_arriving_{entry.entry_id}"
    )


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta
) -> None:
    """Let what runs finish, move frozen time on, and run what is due."""
    await hass.async_block_till_done(wait_background_tasks=True)
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def send(hass: HomeAssistant, reference: str) -> None:
    """Send to Mother (the gateway delivers; its callback goes nowhere)."""
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {"recipients": [MOTHER], "message": "x", "reference": reference},
        blocking=True,
        return_response=True,
    )


async def stragglers_checked(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Let the straggler checks of the messages just sent run."""
    await advance(hass, freezer, STRAGGLER_FIRST + timedelta(minutes=1))


async def lost_callbacks(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    count: int,
    every: timedelta,
    prefix: str = "lost",
) -> None:
    """Send `count` messages `every` apart; their callbacks never arrive."""
    for number in range(count):
        if number:
            await advance(hass, freezer, every)
        await send(hass, f"{prefix}-{number}")


async def test_raised_after_three_messages_over_six_hours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    """A wrong callback URL is noticed in the same run, within the hour."""
    gateway.callback_url = closed_port_url()  # the gateway's callbacks fail
    await lost_callbacks(hass, freezer, 3, timedelta(hours=3, minutes=1))
    assert issue_of(hass, loaded_entry) is None  # two found so far
    await stragglers_checked(hass, freezer)

    assert len(gateway.callbacks) == 3
    assert all(c.error is not None for c in gateway.callbacks)
    issue = issue_of(hass, loaded_entry)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "callbacks_not_arriving"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["count"] == "3"
    assert issue.translation_placeholders["webhook_url"].endswith(WEBHOOK_PATH)
    assert len(gateway.requests_to("status")) == 3
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)


async def test_not_raised_for_two_or_within_six_hours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    # Two messages over 8 hours: too few.
    await lost_callbacks(hass, freezer, 2, timedelta(hours=4))
    await advance(hass, freezer, timedelta(hours=4))
    await stragglers_checked(hass, freezer)
    assert issue_of(hass, loaded_entry) is None

    # Three more within 2 hours, but counted with the two: over 6 hours, raised.
    await lost_callbacks(hass, freezer, 3, timedelta(hours=1), prefix="more")
    await stragglers_checked(hass, freezer)
    assert issue_of(hass, loaded_entry) is not None
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)


async def test_three_within_six_hours_are_not_enough(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    await lost_callbacks(hass, freezer, 3, timedelta(hours=1))
    await stragglers_checked(hass, freezer)
    assert issue_of(hass, loaded_entry) is None
    assert len(gateway.requests_to("status")) == 3
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)


async def test_a_webhook_report_clears_it(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    await lost_callbacks(hass, freezer, 3, timedelta(hours=3, minutes=1))
    await stragglers_checked(hass, freezer)
    assert issue_of(hass, loaded_entry) is not None

    await send(hass, "arrives")
    response = await http.get(
        WEBHOOK_PATH,
        params={"reference": "arrives", "destination": MOTHER, "status": "delivered"},
    )
    assert (response.status, await response.text()) == (200, "OK")
    assert issue_of(hass, loaded_entry) is None


async def test_fix_flow_turns_status_polling_on(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
) -> None:
    await lost_callbacks(hass, freezer, 3, timedelta(hours=3, minutes=1))
    await stragglers_checked(hass, freezer)
    issue = issue_of(hass, loaded_entry)
    assert issue is not None
    assert not loaded_entry.options[CONF_STATUS_POLLING]

    assert await async_setup_component(hass, "repairs", {})
    # A token made now: the fixture's expired while time moved on.
    refresh = await hass.auth.async_create_refresh_token(hass_admin_user, CLIENT_ID)
    client = await hass_client(hass.auth.async_create_access_token(refresh))
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    assert response.status == 200
    form = await response.json()
    assert form["step_id"] == "confirm"
    assert form["description_placeholders"]["webhook_url"].endswith(WEBHOOK_PATH)
    response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json={})
    assert response.status == 200
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()

    assert loaded_entry.options[CONF_STATUS_POLLING] is True
    assert loaded_entry.runtime_data.poller.polling
    assert issue_of(hass, loaded_entry) is None
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)


async def test_fix_flow_for_a_removed_entry_aborts(  # noqa: PLR0917
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
) -> None:
    await lost_callbacks(hass, freezer, 3, timedelta(hours=3, minutes=1))
    await stragglers_checked(hass, freezer)
    issue = issue_of(hass, loaded_entry)
    assert issue is not None
    assert await async_setup_component(hass, "repairs", {})
    refresh = await hass.auth.async_create_refresh_token(hass_admin_user, CLIENT_ID)
    client = await hass_client(hass.auth.async_create_access_token(refresh))
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    form = await response.json()

    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    assert issue_of(hass, loaded_entry) is None  # removed with the entry
    response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json={})
    result = await response.json()
    assert (result["type"], result["reason"]) == ("abort", "entry_removed")
