"""Runtime data of an entry and the balance coordinator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .client import (
    SmsOfficeApiAccessDisabledError,
    SmsOfficeAuthenticationError,
    SmsOfficeClient,
    SmsOfficeError,
)
from .const import (
    BALANCE_INTERVAL,
    CONF_LOW_BALANCE,
    DEFAULT_LOW_BALANCE,
    DOMAIN,
    ISSUE_API_ACCESS_DISABLED,
    ISSUE_LOW_BALANCE,
    LOGGER,
)

if TYPE_CHECKING:
    from .delivery import DeliveryTracker
    from .status_polling import StatusPoller

type SmsOfficeConfigEntry = ConfigEntry[SmsOfficeData]


@dataclass(slots=True)
class SmsOfficeData:
    """What one set-up of an entry holds.

    `tracker` (outbox and reports) outlives the set-up: it is the entry's.
    """

    client: SmsOfficeClient
    balance: BalanceCoordinator
    tracker: DeliveryTracker
    poller: StatusPoller


def create_api_access_issue(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Raise the repair issue: API access is off in the smsoffice.ge profile.

    Not a rejected key (no re-authentication): the same key works again once
    API access is switched back on, and the next balance read clears it.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_API_ACCESS_DISABLED.format(entry_id=entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="api_access_disabled",
        translation_placeholders={"title": entry.title},
    )


def delete_api_access_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Clear the API access repair issue of an entry, if raised."""
    ir.async_delete_issue(
        hass, DOMAIN, ISSUE_API_ACCESS_DISABLED.format(entry_id=entry_id)
    )


class BalanceCoordinator(DataUpdateCoordinator[int]):
    """Polls the number of messages left on the account."""

    config_entry: SmsOfficeConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: SmsOfficeConfigEntry, client: SmsOfficeClient
    ) -> None:
        """Poll at the fixed interval (sends ask for a refresh too)."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name="SMS Office balance",
            update_interval=BALANCE_INTERVAL,
        )
        self.client = client

    async def _async_update_data(self) -> int:
        """Fetch the balance; a rejected key starts re-authentication.

        API access switched off is no bad key: it raises a repair issue and the
        sensor is unavailable (at setup: retried later) until a read succeeds.
        """
        try:
            balance = await self.client.get_balance()
        except SmsOfficeApiAccessDisabledError as err:
            self.api_access_disabled()
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="api_access_disabled"
            ) from err
        except SmsOfficeAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="auth_failed",
                translation_placeholders={"code": str(err.code)},
            ) from err
        except SmsOfficeError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="balance_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        delete_api_access_issue(self.hass, self.config_entry.entry_id)
        self.update_low_balance_issue(balance)
        return balance

    def api_access_disabled(self) -> None:
        """Raise the API access repair issue (the gateway answered 120)."""
        create_api_access_issue(self.hass, self.config_entry)

    def update_low_balance_issue(self, balance: int | None) -> None:
        """Raise the low-balance repair issue below the threshold, clear it above.

        `None` means the gateway refused a send for lack of balance. A
        threshold of 0 turns the warning off: no issue, whatever the balance.
        """
        threshold = int(
            self.config_entry.options.get(CONF_LOW_BALANCE, DEFAULT_LOW_BALANCE)
        )
        issue_id = ISSUE_LOW_BALANCE.format(entry_id=self.config_entry.entry_id)
        if threshold > 0 and (balance is None or balance < threshold):
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="low_balance",
                translation_placeholders={
                    "title": self.config_entry.title,
                    "balance": "0" if balance is None else str(balance),
                    "threshold": str(threshold),
                },
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
