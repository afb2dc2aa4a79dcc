"""SMS Office: send SMS through smsoffice.ge and follow what happens to them."""

from __future__ import annotations

from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    config_validation as cv,
    discovery,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .client import DEFAULT_BASE_URL, SmsOfficeClient
from .const import (
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    CONF_WEBHOOK_ID,
    DOMAIN,
    ISSUE_LOW_BALANCE,
    LOGGER,
)
from .coordinator import BalanceCoordinator, SmsOfficeConfigEntry, SmsOfficeData
from .delivery import DeliveryReports
from .outbox import Outbox
from .services import async_setup_services
from .webhook import async_register_webhook

PLATFORMS: list[Platform] = [Platform.EVENT, Platform.NOTIFY, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


def create_client(hass: HomeAssistant, data: dict[str, str]) -> SmsOfficeClient:
    """Return a client for the entry data (or flow input) `data`."""
    return SmsOfficeClient(
        async_get_clientsession(hass),
        data[CONF_API_KEY],
        base_url=data.get(CONF_BASE_URL) or DEFAULT_BASE_URL,
    )


async def async_setup_entry(hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> bool:
    """Check the key, then start polling, the outbox and the webhook."""
    client = create_client(hass, dict(entry.data))
    # The first poll checks the key: a rejected key starts re-authentication,
    # an unreachable gateway retries the setup later.
    balance = BalanceCoordinator(hass, entry, client)
    await balance.async_config_entry_first_refresh()
    outbox = Outbox(hass, entry.entry_id)
    await outbox.async_load()
    delivery = DeliveryReports(hass, entry, client, outbox)
    entry.runtime_data = SmsOfficeData(client, balance, outbox, delivery)

    async_register_webhook(hass, entry)
    entry.async_on_unload(delivery.async_start())
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
    """Unload platforms; the webhook, polling and the legacy action go with them."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.outbox.async_save_now()
        # Raised again by the first poll if the entry is set up again.
        ir.async_delete_issue(
            hass, DOMAIN, ISSUE_LOW_BALANCE.format(entry_id=entry.entry_id)
        )
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> None:
    """Remove the outbox and any cloudhook when the entry is deleted."""
    await Outbox(hass, entry.entry_id).async_remove()
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
