"""Setting up, unloading, reloading and removing an entry."""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock

from homeassistant.components.notify.legacy import NOTIFY_SERVICES
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.client import SmsOfficeClient
from custom_components.smsoffice.const import (
    BALANCE_INTERVAL,
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    CONF_LOW_BALANCE,
    DOMAIN,
)
from custom_components.smsoffice.coordinator import BalanceCoordinator, SmsOfficeData
from custom_components.smsoffice.delivery import DeliveryTracker
from custom_components.smsoffice.outbox import Outbox
from custom_components.smsoffice.status_polling import StatusPoller
from tests.conftest import (
    API_KEY,
    SECOND_WEBHOOK_ID,
    WEBHOOK_ID,
    CloudNotAvailableError,
    account_entry,
    closed_port_url,
    entry_device,
    issue,
    notify,
    pass_minutes,
    poll_balance,
    reauth_flows,
    set_up,
    set_up_second_account,
    stand_in_cloud,
)
from tests.fake_smsoffice import FakeSmsOffice

LEGACY_SERVICE = "sms_office_homealarm"
MOTHER_ENTITY = "notify.sms_office_homealarm_mother"
CLOUDHOOK = "https://hooks.nabu.casa/ABCDEFGHIJ"
ACCESS = "api_access_disabled"


pytestmark = pytest.mark.usefixtures("unload_entries")


def webhooks(hass: HomeAssistant) -> dict[str, Any]:
    """Return the registered webhooks by id."""
    return dict(hass.data.get("webhook", {}))


async def test_setup(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Setup checks the key, and brings up everything (on one service device:
    tests/test_entities.py)."""
    assert loaded_entry.state is ConfigEntryState.LOADED
    data = loaded_entry.runtime_data
    assert isinstance(data, SmsOfficeData)
    assert isinstance(data.client, SmsOfficeClient)
    assert isinstance(data.balance, BalanceCoordinator)
    assert isinstance(data.tracker, DeliveryTracker)
    assert isinstance(data.tracker.outbox, Outbox)
    assert isinstance(data.poller, StatusPoller)
    assert data.client.base_url == gateway.url
    assert [r.query["key"] for r in gateway.requests_to("balance")] == [API_KEY]

    assert WEBHOOK_ID in webhooks(hass)
    assert hass.services.has_service("notify", LEGACY_SERVICE)


async def test_unload_leaves_nothing_behind(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The legacy action, polling and the repair issue go with the set-up.

    The webhook stays: reports that come before the entry is set up again are
    still applied (it goes when the entry is removed).
    """
    gateway.balance = 10
    await poll_balance(hass)
    assert len(ir.async_get(hass).issues) == 1

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert WEBHOOK_ID in webhooks(hass)
    assert not hass.services.has_service("notify", LEGACY_SERVICE)
    assert hass.data[NOTIFY_SERVICES].get(DOMAIN, []) == []
    assert hass.states.get("sensor.sms_office_homealarm_balance").state == (
        "unavailable"
    )
    assert ir.async_get(hass).issues == {}
    # No poll any more.
    polls = len(gateway.requests_to("balance"))
    await poll_balance(hass)
    await poll_balance(hass)
    assert len(gateway.requests_to("balance")) == polls
    # The services of the integration stay: they are not per entry.
    assert hass.services.has_service(DOMAIN, "send_sms")


async def test_reload(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """After a reload the webhook, the legacy action and the entities are back."""
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert loaded_entry.state is ConfigEntryState.LOADED
    assert WEBHOOK_ID in webhooks(hass)
    assert hass.services.has_service("notify", LEGACY_SERVICE)
    assert entry_device(hass, loaded_entry) is not None
    assert hass.states.get("sensor.sms_office_homealarm_balance").state == "1000"

    await hass.services.async_call(
        "notify",
        LEGACY_SERVICE,
        {"message": "After the reload", "target": ["Mother"]},
        blocking=True,
    )
    assert [m.content for m in gateway.messages] == ["After the reload"]


async def test_options_change_reloads(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Changed options reload the entry so they take effect."""
    old = loaded_entry.runtime_data
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_LOW_BALANCE: 5000}
    )
    await hass.async_block_till_done()

    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is not old
    # The new threshold is used at once.
    assert issue(hass, "low_balance", loaded_entry) is not None


async def test_not_ready_while_the_gateway_is_unreachable(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Nothing answers: setup is retried later, and no reauth is started."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_BASE_URL: closed_port_url()}
    )
    assert not await set_up(hass, config_entry)

    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass) == []
    # Registered before the gateway was asked: reports are taken meanwhile.
    assert WEBHOOK_ID in webhooks(hass)
    assert "Cannot read the balance" in (config_entry.reason or "")


async def test_not_ready_on_a_gateway_error_page(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """An error page instead of a balance: retried; then the setup succeeds."""
    gateway.inject("http500", endpoint="balance")
    assert not await set_up(hass, config_entry)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY

    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED


async def test_rejected_key_at_setup_starts_reauth(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """A rejected key fails the setup and asks for a new one."""
    gateway.api_keys.clear()
    assert not await set_up(hass, config_entry)

    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = reauth_flows(hass)
    assert flow["context"]["entry_id"] == config_entry.entry_id
    assert WEBHOOK_ID in webhooks(hass)  # reports are still taken meanwhile
    assert not hass.services.has_service("notify", LEGACY_SERVICE)


async def test_api_access_disabled_at_setup(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    entry_without_api_access: MockConfigEntry,
) -> None:
    """API access off (120) at setup: a repair issue, a retry later, no reauth."""
    config_entry = entry_without_api_access
    access = issue(hass, ACCESS, config_entry)
    assert access is not None
    assert access.translation_key == ACCESS
    assert not access.is_fixable
    assert access.translation_placeholders == {"title": config_entry.title}
    assert WEBHOOK_ID in webhooks(hass)  # reports are still taken meanwhile

    # Switched on: the retry sets the entry up and clears the issue.
    gateway.api_access_enabled = True
    await pass_minutes(hass, 5)
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue(hass, ACCESS, config_entry) is None
    assert reauth_flows(hass) == []


# How the gateway refuses the account: the key, or API access (120).
REFUSALS = {
    "auth_failed": lambda gateway: gateway.api_keys.clear(),
    ACCESS: lambda gateway: setattr(gateway, "api_access_enabled", False),
}


@pytest.mark.parametrize("translation_key", REFUSALS)
async def test_send_refused_for_the_account(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    translation_key: str,
) -> None:
    """A send refused for the key raises and asks for a new key.

    One refused with 120 raises its error and the repair issue, no reauth;
    the next balance read, API access switched on, clears it.
    """
    REFUSALS[translation_key](gateway)
    with pytest.raises(HomeAssistantError) as err:
        await notify(hass, MOTHER_ENTITY, message="Alarm")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert err.value.translation_key == translation_key
    assert API_KEY not in str(err.value)
    assert gateway.messages == []
    flows = reauth_flows(hass)
    reauth = translation_key == "auth_failed"
    assert [flow["context"]["entry_id"] for flow in flows] == [
        loaded_entry.entry_id
    ] * reauth
    access = issue(hass, ACCESS, loaded_entry)
    assert (access is not None) is not reauth
    if access is not None:
        assert access.translation_placeholders == {"title": loaded_entry.title}
        # Switched on: the next balance read clears it.
        gateway.api_access_enabled = True
        await poll_balance(hass)
        assert issue(hass, ACCESS, loaded_entry) is None


async def test_unload_and_remove_clear_the_api_access_issue(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The issue goes with the set-up, and with an entry removed while failing."""
    gateway.api_access_enabled = False
    await poll_balance(hass)
    assert issue(hass, ACCESS, loaded_entry)

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert issue(hass, ACCESS, loaded_entry) is None

    # Set up again while still off: waiting to retry, with the issue.
    assert not await set_up(hass, loaded_entry)
    assert loaded_entry.state is ConfigEntryState.SETUP_RETRY
    assert issue(hass, ACCESS, loaded_entry)

    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert issue(hass, ACCESS, loaded_entry) is None


@pytest.mark.parametrize(
    ("version", "options", "state", "after"),
    [
        # An entry of 1.1 with the balance interval option: dropped, now 1.2.
        (
            (1, 1),
            {CONF_LOW_BALANCE: 20, "balance_interval": 5},
            ConfigEntryState.LOADED,
            ((1, 2), {CONF_LOW_BALANCE: 20}),
        ),
        # A newer minor version (same major) is compatible: set up, unchanged.
        ((1, 3), {}, ConfigEntryState.LOADED, ((1, 3), {})),
        # Saved by a newer major version: not set up (no downgrade).
        ((2, 1), {}, ConfigEntryState.MIGRATION_ERROR, ((2, 1), {})),
    ],
    ids=["drops_the_balance_interval", "newer_minor_version", "newer_major_version"],
)
async def test_migrate(  # noqa: PLR0917
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    version: tuple[int, int],
    options: dict[str, Any],
    state: ConfigEntryState,
    after: tuple[tuple[int, int], dict[str, Any]],
) -> None:
    """Entries of other versions: migrated, set up as they are, or refused."""
    major, minor = version
    entry = account_entry(
        gateway.url, version=major, minor_version=minor, options=options
    )
    data = dict(entry.data)
    assert await set_up(hass, entry) is (state is ConfigEntryState.LOADED)

    assert entry.state is state
    assert ((entry.version, entry.minor_version), dict(entry.options)) == after
    assert entry.data == data
    if state is not ConfigEntryState.LOADED:
        assert gateway.requests_to("balance") == []
        return
    assert entry.runtime_data.balance.update_interval == BALANCE_INTERVAL
    # Polled every 30 minutes, not every 5.
    await pass_minutes(hass, 6)
    assert len(gateway.requests_to("balance")) == 1
    await poll_balance(hass)
    assert len(gateway.requests_to("balance")) == 2


async def test_one_device_per_entry(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A second account gets its own device."""
    second = await set_up_second_account(hass, gateway)

    first_device = entry_device(hass, loaded_entry)
    second_device = entry_device(hass, second)
    assert first_device.id != second_device.id
    assert second_device.name == "SMS Office smsoffice"
    assert {SECOND_WEBHOOK_ID, WEBHOOK_ID} <= set(webhooks(hass))


async def test_remove_entry_drops_the_outbox(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """The messages remembered for the entry are deleted with it."""
    await notify(hass, MOTHER_ENTITY, message="Hello")
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    key = f"{DOMAIN}.outbox.{loaded_entry.entry_id}"
    assert key in hass_storage

    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    assert WEBHOOK_ID not in webhooks(hass)
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize(
    ("with_cloudhook", "loaded", "active", "delete", "deleted"),
    [
        (True, True, True, AsyncMock(), True),
        (
            True,
            True,
            True,
            AsyncMock(side_effect=ValueError("Hook is not enabled")),
            True,
        ),
        (True, True, True, AsyncMock(side_effect=CloudNotAvailableError), True),
        (True, True, False, AsyncMock(), False),
        (False, True, True, AsyncMock(), False),
        # Without Home Assistant Cloud loaded nothing is asked of it.
        (True, False, True, AsyncMock(), False),
    ],
    ids=[
        "deleted",
        "unknown_to_cloud",
        "cloud_not_available",
        "no_subscription",
        "no_cloudhook",
        "without_cloud",
    ],
)
async def test_remove_entry_deletes_the_cloudhook(  # noqa: PLR0917
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    with_cloudhook: bool,
    loaded: bool,
    active: bool,
    delete: AsyncMock,
    deleted: bool,
) -> None:
    """A cloudhook made for the entry is deleted with it, when there is one."""
    config_entry.add_to_hass(hass)
    if with_cloudhook:
        hass.config_entries.async_update_entry(
            config_entry, data={**config_entry.data, CONF_CLOUDHOOK_URL: CLOUDHOOK}
        )
    with stand_in_cloud(
        hass, active=active, loaded=loaded, async_delete_cloudhook=delete
    ):
        assert await hass.config_entries.async_remove(config_entry.entry_id)
        await hass.async_block_till_done()

    if deleted:
        delete.assert_awaited_once_with(hass, WEBHOOK_ID)
    else:
        delete.assert_not_awaited()
    assert hass.config_entries.async_entries(DOMAIN) == []
