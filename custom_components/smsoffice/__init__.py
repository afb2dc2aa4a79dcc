"""SMS Office: send SMS through smsoffice.ge and follow what happens to them."""

from __future__ import annotations

from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    config_validation as cv,
    discovery,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from .client import load_number_metadata
from .client_factory import create_client
from .const import (
    CONF_CLOUDHOOK_URL,
    CONF_STATUS_POLLING,
    CONF_WEBHOOK_ID,
    DOMAIN,
    ISSUE_LOW_BALANCE,
    LOGGER,
)
from .coordinator import (
    BalanceCoordinator,
    SmsOfficeConfigEntry,
    SmsOfficeData,
    delete_api_access_issue,
)
from .delivery import async_get_tracker, async_remove_tracker, async_stop_tracker
from .notify import async_unload_legacy_service
from .services import async_setup_services
from .status_polling import StatusPoller
from .webhook import webhook_url

PLATFORMS: list[Platform] = [Platform.EVENT, Platform.NOTIFY, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
# The option of the balance poll interval, dropped in version 1.2.
_OLD_BALANCE_INTERVAL = "balance_interval"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions; load the phone number metadata.

    phonenumbers imports each region's metadata when first used; loaded here
    in a worker thread, no number check imports in the event loop.
    """
    async_setup_services(hass)
    await hass.async_add_executor_job(load_number_metadata)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> bool:
    """Bring an entry saved by an older version up to date.

    1.2: the balance is polled at a fixed interval; the `balance_interval`
    option of 1.1 is dropped.
    """
    if entry.version > 1:  # saved by a newer version: cannot go back
        return False
    if entry.minor_version < 2:
        options = {
            key: value
            for key, value in entry.options.items()
            if key != _OLD_BALANCE_INTERVAL
        }
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        LOGGER.debug("Migrated %s to version 1.2", entry.title)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> bool:
    """Take reports, check the key, then start polling and the platforms."""
    # Before any network I/O: the outbox and the webhook, which stay until the
    # entry is removed (reports that come while it reloads are applied too).
    tracker = await async_get_tracker(hass, entry)
    client = create_client(hass, entry.data)
    # The first poll checks the key: a rejected key starts re-authentication,
    # an unreachable gateway or API access switched off (a repair issue)
    # retries the setup later.
    balance = BalanceCoordinator(hass, entry, client)
    await balance.async_config_entry_first_refresh()
    # Without the option, poll when the internet cannot reach Home Assistant.
    polling = bool(
        entry.options.get(CONF_STATUS_POLLING, not webhook_url(hass, entry.data)[1])
    )
    if polling:  # statuses are asked for: callbacks are not needed
        tracker.callback_watch.async_clear()
    poller = StatusPoller(hass, entry, client, tracker, polling=polling)
    entry.runtime_data = SmsOfficeData(client, balance, tracker, poller)
    entry.async_on_unload(tracker.async_attach_poller(poller))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # The legacy `notify.<name>` action, for automations written that way.
    hass.async_create_task(
        discovery.async_load_platform(
            hass,
            Platform.NOTIFY,
            DOMAIN,
            {CONF_NAME: entry.title, "entry_id": entry.entry_id},
            {},
        ),
        eager_start=True,
    )
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


async def _async_update_listener(
    hass: HomeAssistant, entry: SmsOfficeConfigEntry
) -> None:
    """Reload when options, data or recipients change."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> bool:
    """Unload platforms, polling and the legacy action; the webhook stays.

    The tracker (outbox, webhook) is the entry's until it is removed: reports
    that come before the next set-up are still applied. Unless the entry is
    disabled: then the tracker stops too, until the entry is enabled again.
    """
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    await async_unload_legacy_service(hass, entry.entry_id)
    if unloaded:
        if entry.disabled_by is not None:
            await async_stop_tracker(hass, entry.entry_id)
        else:
            await entry.runtime_data.tracker.outbox.async_save_now()
        # Raised again by the first poll if the entry is set up again.
        ir.async_delete_issue(
            hass, DOMAIN, ISSUE_LOW_BALANCE.format(entry_id=entry.entry_id)
        )
        delete_api_access_issue(hass, entry.entry_id)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> None:
    """Drop the webhook and the outbox, and any cloudhook, when the entry is deleted."""
    await async_remove_tracker(hass, entry.entry_id)
    # Raised by a setup that kept failing (not loaded: no unload cleared it).
    delete_api_access_issue(hass, entry.entry_id)
    if CONF_CLOUDHOOK_URL not in entry.data or "cloud" not in hass.config.components:
        return
    # Imported only when loaded: it pulls in much of Home Assistant.
    from homeassistant.components import cloud  # noqa: PLC0415

    if cloud.async_active_subscription(hass):
        try:
            await cloud.async_delete_cloudhook(hass, entry.data[CONF_WEBHOOK_ID])
        except (cloud.CloudNotAvailable, ValueError):
            # ValueError: the cloud no longer knows the hook.
            LOGGER.debug("Cloud not available; the cloudhook was not removed")
