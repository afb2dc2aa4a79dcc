"""Constants of the SMS Office integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "smsoffice"
LOGGER = logging.getLogger(__package__)

CONF_API_KEY: Final = "api_key"
CONF_SENDER: Final = "sender"
CONF_BASE_URL: Final = "base_url"
CONF_WEBHOOK_ID: Final = "webhook_id"
CONF_CLOUDHOOK_URL: Final = "cloudhook_url"
CONF_NUMBER: Final = "number"
SECTION_ADVANCED: Final = "advanced"

# Options.
CONF_URGENT: Final = "urgent"
CONF_FLASH: Final = "flash"
CONF_LOW_BALANCE: Final = "low_balance_threshold"
CONF_STATUS_POLLING: Final = "status_polling"
CONF_ACCEPT_FOREIGN: Final = "accept_foreign_reports"

DEFAULT_URGENT: Final = False
DEFAULT_FLASH: Final = False
DEFAULT_LOW_BALANCE: Final = 50
DEFAULT_ACCEPT_FOREIGN: Final = False

# The balance is read this often (and after every send); not an option.
BALANCE_INTERVAL: Final = timedelta(minutes=30)

SUBENTRY_RECIPIENT: Final = "recipient"

EVENT_DELIVERY_STATUS: Final = "smsoffice_delivery_status"

ISSUE_LOW_BALANCE: Final = "low_balance_{entry_id}"
ISSUE_API_ACCESS_DISABLED: Final = "api_access_disabled_{entry_id}"

# Cost control options (see usage.py).
CONF_TRANSLITERATE: Final = "transliterate"
CONF_DAILY_CREDIT_LIMIT: Final = "daily_credit_limit"
CONF_DUPLICATE_WINDOW: Final = "duplicate_window"

DEFAULT_TRANSLITERATE: Final = False
DEFAULT_DAILY_CREDIT_LIMIT: Final = 0  # no limit
DEFAULT_DUPLICATE_WINDOW: Final = 0  # minutes; off
# The longest duplicate window the options offer: a day.
MAX_DUPLICATE_WINDOW: Final = 1440

ISSUE_DAILY_LIMIT: Final = "daily_limit_reached_{entry_id}"
