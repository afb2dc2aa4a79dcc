"""The logbook line of a delivery report: what happened, and to whom.

What Home Assistant does (2025.4 to 2026.10), and so why it is done this way:

- Every state change of the event entity is a logbook line that Home
  Assistant writes itself ("detected an event"; from 2026 the translated
  event type). No integration can leave an entity out of the logbook (only
  the user's `logbook:`/`recorder:` exclude does), and the event entity's
  state is `@final`. A reload adds two such lines too: "became unavailable"
  on unload, then the restored last event on set-up.
- A described bus event is a line of its own, so describing
  `smsoffice_delivery_status` as well made every report show twice; and a
  device's logbook only finds bus events whose data carry the device's id
  or one of its entities' ids (`LOGBOOK_ENTRY_ENTITY_ID` in a description
  does not), so the device page never showed it.
- The logbook shows a described event's message as plain text: it has no
  translation keys of its own.

So the bus event is left undescribed (automations keep it), and the event
entity writes one `logbook_entry` per report with its own entity id, which
the account's device page shows. The words are the integration's "common"
strings (hassfest allows that section; nothing else fits a sentence with
placeholders), in the server's language (`hass.config.language`), fixed when
the line is written. The recipient is the saved recipient's name, else the
number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.const import (
    ATTR_DOMAIN,
    ATTR_ENTITY_ID,
    ATTR_NAME,
    CONF_NAME,
    EVENT_LOGBOOK_ENTRY,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.translation import (
    async_get_cached_translations,
    async_get_translations,
)

from .const import CONF_NUMBER, DOMAIN, SUBENTRY_RECIPIENT
from .coordinator import SmsOfficeConfigEntry
from .models import DeliveryEventData

CATEGORY = "common"
ATTR_MESSAGE = "message"  # the logbook's own key (logbook.const.ATTR_MESSAGE)


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe no bus event: the event entity writes the one line per report."""


async def async_load_words(hass: HomeAssistant) -> None:
    """Load the lines' words in the server's language (English fills gaps)."""
    await async_get_translations(hass, hass.config.language, CATEGORY, [DOMAIN])


def recipient_name(entry: SmsOfficeConfigEntry, number: str) -> str:
    """Return the saved recipient's name for a number, else the number."""
    for subentry in entry.subentries.values():
        if (
            subentry.subentry_type == SUBENTRY_RECIPIENT
            and subentry.data.get(CONF_NUMBER) == number
        ):
            return str(subentry.data.get(CONF_NAME) or subentry.title)
    return number


def _key(data: DeliveryEventData) -> str:
    if data["status"] == "undelivered" and data["reason"]:
        return "logbook_undelivered_reason"
    return f"logbook_{data['status']}"


@callback
def delivery_message(
    hass: HomeAssistant, entry: SmsOfficeConfigEntry, data: DeliveryEventData
) -> str | None:
    """Return the line of a report in the server's language; None if not loaded."""
    words = async_get_cached_translations(hass, hass.config.language, CATEGORY, DOMAIN)
    prefix = f"component.{DOMAIN}.{CATEGORY}."
    template = words.get(prefix + _key(data)) or words.get(f"{prefix}logbook_unknown")
    if template is None:
        return None
    return template.format(
        recipient=recipient_name(entry, data["destination"]), reason=data["reason"]
    )


@callback
def async_log_delivery(
    hass: HomeAssistant,
    entry: SmsOfficeConfigEntry,
    entity_id: str,
    name: str,
    data: DeliveryEventData,
) -> None:
    """Write the report's logbook line, on the event entity (and its device)."""

    @callback
    def write(message: str) -> None:
        hass.bus.async_fire(
            EVENT_LOGBOOK_ENTRY,
            {
                ATTR_NAME: name,
                ATTR_MESSAGE: message,
                ATTR_DOMAIN: DOMAIN,
                ATTR_ENTITY_ID: entity_id,
            },
        )

    if (message := delivery_message(hass, entry, data)) is not None:
        write(message)
        return

    async def load_and_write() -> None:
        # The server's language changed since set-up: load it first.
        await async_load_words(hass)
        write(delivery_message(hass, entry, data) or data["status"])

    hass.async_create_task(load_and_write(), "smsoffice logbook line")
