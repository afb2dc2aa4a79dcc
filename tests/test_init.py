"""Setting up, unloading, reloading and removing an entry."""

from __future__ import annotations

from datetime import timedelta
import sys
from types import ModuleType
from typing import Any
from unittest.mock import AsyncMock, patch

import homeassistant.components
from homeassistant.components.notify.legacy import NOTIFY_SERVICES
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smsoffice.client import SmsOfficeClient
from custom_components.smsoffice.config_flow import account_id
from custom_components.smsoffice.const import (
    BALANCE_INTERVAL,
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    CONF_LOW_BALANCE,
    CONF_SENDER,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from custom_components.smsoffice.coordinator import BalanceCoordinator, SmsOfficeData
from custom_components.smsoffice.delivery import DeliveryTracker
from custom_components.smsoffice.outbox import Outbox
from custom_components.smsoffice.status_polling import StatusPoller
from tests.conftest import API_KEY, SENDER, WEBHOOK_ID, closed_port_url
from tests.fake_smsoffice import FakeSmsOffice

LEGACY_SERVICE = "sms_office_homealarm"
MOTHER_ENTITY = "notify.sms_office_homealarm_mother"
CLOUDHOOK = "https://hooks.nabu.casa/ABCDEFGHIJ"


pytestmark = pytest.mark.usefixtures("unload_entries")


class CloudNotAvailableError(Exception):
    """Home Assistant Cloud's error: the cloud cannot be used."""


def stand_in_cloud(*, active: bool, delete: AsyncMock) -> Any:
    """Stand in for a loaded Home Assistant Cloud: a subscription, cloudhooks.

    The real component cannot be imported everywhere the tests run (newer
    releases need system libraries for its camera dependency), so the
    integration's lazy `from homeassistant.components import cloud` gets this.
    """
    stand_in = ModuleType("homeassistant.components.cloud")
    vars(stand_in).update(
        CloudNotAvailable=CloudNotAvailableError,
        async_active_subscription=lambda hass: active,
        async_delete_cloudhook=delete,
    )
    return (
        patch.dict(sys.modules, {"homeassistant.components.cloud": stand_in}),
        patch.object(homeassistant.components, "cloud", stand_in, create=True),
    )


async def poll_balance(hass: HomeAssistant) -> None:
    """Let the balance poll interval (30 minutes) pass, and the poll finish."""
    await poll_balance_after(hass, minutes=31)


async def poll_balance_after(hass: HomeAssistant, *, minutes: float) -> None:
    """Let `minutes` pass, and any poll they start finish."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=minutes))
    await hass.async_block_till_done(wait_background_tasks=True)


def access_issue_id(entry: MockConfigEntry) -> str:
    """Return the id of the entry's API-access-disabled issue."""
    return f"api_access_disabled_{entry.entry_id}"


def webhooks(hass: HomeAssistant) -> dict[str, Any]:
    """Return the registered webhooks by id."""
    return dict(hass.data.get("webhook", {}))


def service_device(
    device_registry: dr.DeviceRegistry, entry: MockConfigEntry
) -> dr.DeviceEntry | None:
    """Return the entry's service device, the one named by the entry's id."""
    found = [
        device
        for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        if (DOMAIN, entry.entry_id) in device.identifiers
    ]
    assert len(found) <= 1
    return found[0] if found else None


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    """Return the re-authentication flows in progress."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def test_setup(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Setup checks the key, and brings up everything on one service device."""
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

    device = service_device(device_registry, loaded_entry)
    assert device is not None
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.name == f"SMS Office {SENDER}"
    assert device.manufacturer == "smsoffice.ge"
    entities = er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
    assert sorted(entity.entity_id for entity in entities) == [
        "event.sms_office_homealarm_delivery_reports_other_numbers",
        "event.sms_office_homealarm_mother_delivery_report",
        "event.sms_office_homealarm_night_guard_delivery_report",
        MOTHER_ENTITY,
        "notify.sms_office_homealarm_night_guard",
        "sensor.sms_office_homealarm_balance",
        "sensor.sms_office_homealarm_credits_this_month",
        "sensor.sms_office_homealarm_credits_today",
        "sensor.sms_office_homealarm_messages_sent_today",
    ]
    # The account's own entities sit on its service device.
    by_id = {entity.entity_id: entity for entity in entities}
    assert by_id["sensor.sms_office_homealarm_balance"].device_id == device.id
    assert (
        by_id["event.sms_office_homealarm_delivery_reports_other_numbers"].device_id
        == device.id
    )

    assert WEBHOOK_ID in webhooks(hass)
    assert hass.services.has_service("notify", LEGACY_SERVICE)


async def test_unload_leaves_nothing_behind(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The legacy action, polling and the repair issue go with the set-up.

    The webhook stays: reports that come before the entry is set up again are
    still applied (it goes when the entry is removed).
    """
    gateway.balance = 10
    await poll_balance(hass)
    assert len(issue_registry.issues) == 1

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert WEBHOOK_ID in webhooks(hass)
    assert not hass.services.has_service("notify", LEGACY_SERVICE)
    assert hass.data[NOTIFY_SERVICES].get(DOMAIN, []) == []
    assert hass.states.get("sensor.sms_office_homealarm_balance").state == (
        "unavailable"
    )
    assert issue_registry.issues == {}
    # No poll any more.
    polls = len(gateway.requests_to("balance"))
    await poll_balance(hass)
    await poll_balance(hass)
    assert len(gateway.requests_to("balance")) == polls
    # The services of the integration stay: they are not per entry.
    assert hass.services.has_service(DOMAIN, "send_sms")


async def test_reload(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """After a reload the webhook, the legacy action and the entities are back."""
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert loaded_entry.state is ConfigEntryState.LOADED
    assert WEBHOOK_ID in webhooks(hass)
    assert hass.services.has_service("notify", LEGACY_SERVICE)
    assert service_device(device_registry, loaded_entry) is not None
    assert hass.states.get("sensor.sms_office_homealarm_balance").state == "1000"

    await hass.services.async_call(
        "notify",
        LEGACY_SERVICE,
        {"message": "After the reload", "target": ["Mother"]},
        blocking=True,
    )
    assert [m.content for m in gateway.messages] == ["After the reload"]


async def test_options_change_reloads(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
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
    issues = ir.async_get(hass).issues
    assert (DOMAIN, f"low_balance_{loaded_entry.entry_id}") in issues


async def test_not_ready_while_the_gateway_is_unreachable(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """Nothing answers: setup is retried later, and no reauth is started."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_BASE_URL: closed_port_url()}
    )
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

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
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY

    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED


async def test_rejected_key_at_setup_starts_reauth(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """A rejected key fails the setup and asks for a new one."""
    gateway.api_keys.clear()
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = reauth_flows(hass)
    assert flow["context"]["entry_id"] == config_entry.entry_id
    assert WEBHOOK_ID in webhooks(hass)  # reports are still taken meanwhile
    assert not hass.services.has_service("notify", LEGACY_SERVICE)


async def test_rejected_key_on_a_send_starts_reauth(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A send refused for the key raises and asks for a new key."""
    gateway.api_keys.clear()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": MOTHER_ENTITY, "message": "Alarm"},
            blocking=True,
        )
    assert err.value.translation_key == "auth_failed"
    assert API_KEY not in str(err.value)
    await hass.async_block_till_done()

    (flow,) = reauth_flows(hass)
    assert flow["context"]["entry_id"] == loaded_entry.entry_id
    assert gateway.messages == []


async def test_api_access_disabled_at_setup(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """API access off (120) at setup: a repair issue, a retry later, no reauth."""
    gateway.api_access_enabled = False
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass) == []
    issue = issue_registry.async_get_issue(DOMAIN, access_issue_id(config_entry))
    assert issue is not None
    assert issue.translation_key == "api_access_disabled"
    assert not issue.is_fixable
    assert issue.translation_placeholders == {"title": config_entry.title}
    assert WEBHOOK_ID in webhooks(hass)  # reports are still taken meanwhile

    # Switched on: the retry sets the entry up and clears the issue.
    gateway.api_access_enabled = True
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(config_entry)) is None
    assert reauth_flows(hass) == []


async def test_api_access_disabled_on_a_send_raises_the_issue(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A send refused with 120 raises its error and the repair issue, no reauth."""
    gateway.api_access_enabled = False
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": MOTHER_ENTITY, "message": "Alarm"},
            blocking=True,
        )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert err.value.translation_key == "api_access_disabled"
    assert gateway.messages == []
    assert reauth_flows(hass) == []
    issue = issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry))
    assert issue is not None
    assert issue.translation_placeholders == {"title": loaded_entry.title}

    # Switched on: the next balance read clears it.
    gateway.api_access_enabled = True
    await poll_balance(hass)
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry)) is None


async def test_unload_and_remove_clear_the_api_access_issue(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The issue goes with the set-up, and with an entry removed while failing."""
    gateway.api_access_enabled = False
    await poll_balance(hass)
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry))

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry)) is None

    # Set up again while still off: waiting to retry, with the issue.
    assert not await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.SETUP_RETRY
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry))

    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry)) is None


async def test_migrate_drops_the_balance_interval(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """An entry of 1.1 with the balance interval option: dropped, now 1.2."""
    old = MockConfigEntry(
        domain=DOMAIN,
        version=1,
        minor_version=1,
        title=config_entry.title,
        unique_id=config_entry.unique_id,
        data=dict(config_entry.data),
        options={CONF_LOW_BALANCE: 20, "balance_interval": 5},
    )
    old.add_to_hass(hass)
    assert await hass.config_entries.async_setup(old.entry_id)
    await hass.async_block_till_done()

    assert old.state is ConfigEntryState.LOADED
    assert (old.version, old.minor_version) == (1, 2)
    assert old.options == {CONF_LOW_BALANCE: 20}
    assert old.data == config_entry.data
    assert old.runtime_data.balance.update_interval == BALANCE_INTERVAL
    # Polled every 30 minutes, not every 5.
    await poll_balance_after(hass, minutes=6)
    assert len(gateway.requests_to("balance")) == 1
    await poll_balance(hass)
    assert len(gateway.requests_to("balance")) == 2


async def test_migrate_from_a_newer_version_fails(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """An entry saved by a newer major version is not set up (no downgrade)."""
    newer = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        minor_version=1,
        title=config_entry.title,
        unique_id=config_entry.unique_id,
        data=dict(config_entry.data),
    )
    newer.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(newer.entry_id)
    assert newer.state is ConfigEntryState.MIGRATION_ERROR
    assert gateway.requests_to("balance") == []


async def test_newer_minor_version_is_set_up_as_it_is(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """A newer minor version (same major) is compatible: set up, unchanged."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, minor_version=3)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.minor_version == 3


async def test_one_device_per_entry(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A second account gets its own device."""
    gateway.api_keys.add("second-key")
    second = MockConfigEntry(
        domain=DOMAIN,
        title="SMS Office smsoffice",
        unique_id=account_id("second-key"),
        data={
            CONF_API_KEY: "second-key",
            CONF_SENDER: "smsoffice",
            CONF_BASE_URL: gateway.url,
            CONF_WEBHOOK_ID: "second-webhook",
        },
        options=dict(loaded_entry.options),
    )
    second.add_to_hass(hass)
    assert await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()

    first_device = service_device(device_registry, loaded_entry)
    second_device = service_device(device_registry, second)
    assert first_device is not None
    assert second_device is not None
    assert first_device.id != second_device.id
    assert second_device.name == "SMS Office smsoffice"
    assert {"second-webhook", WEBHOOK_ID} <= set(webhooks(hass))


async def test_remove_entry_drops_the_outbox(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The messages remembered for the entry are deleted with it."""
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": MOTHER_ENTITY, "message": "Hello"},
        blocking=True,
    )
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    key = f"{DOMAIN}.outbox.{loaded_entry.entry_id}"
    assert key in hass_storage

    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    assert WEBHOOK_ID not in webhooks(hass)
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.parametrize(
    ("with_cloudhook", "active", "delete", "deleted"),
    [
        (True, True, AsyncMock(), True),
        (True, True, AsyncMock(side_effect=ValueError("Hook is not enabled")), True),
        (True, True, AsyncMock(side_effect=CloudNotAvailableError), True),
        (True, False, AsyncMock(), False),
        (False, True, AsyncMock(), False),
    ],
    ids=[
        "deleted",
        "unknown_to_cloud",
        "cloud_not_available",
        "no_subscription",
        "no_cloudhook",
    ],
)
async def test_remove_entry_deletes_the_cloudhook(  # noqa: PLR0917
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    config_entry: MockConfigEntry,
    with_cloudhook: bool,
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
    hass.config.components.add("cloud")
    modules, attribute = stand_in_cloud(active=active, delete=delete)
    with modules, attribute:
        assert await hass.config_entries.async_remove(config_entry.entry_id)
        await hass.async_block_till_done()

    if deleted:
        delete.assert_awaited_once_with(hass, WEBHOOK_ID)
    else:
        delete.assert_not_awaited()
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_remove_entry_without_cloud(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """Without Home Assistant Cloud loaded nothing is asked of it."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_CLOUDHOOK_URL: CLOUDHOOK}
    )
    delete = AsyncMock()
    modules, attribute = stand_in_cloud(active=True, delete=delete)
    with modules, attribute:
        assert await hass.config_entries.async_remove(config_entry.entry_id)
        await hass.async_block_till_done()
    delete.assert_not_awaited()
