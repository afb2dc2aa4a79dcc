"""Noticing that smsoffice.ge's callbacks stop arriving (webhook mode).

When status checks (the straggler checks of messages with no final report,
the catch-up, the end of a wait for delivery) learn final statuses that the
webhook never brought, for at least `MIN_MISSED` messages that went out over
at least `MIN_SPAN`, with no webhook report meanwhile, the fixable repair
issue `callbacks_not_arriving` is raised: it shows the callback URL to paste
in the smsoffice.ge profile, and its fix flow turns status polling on. The
next webhook report clears it. So a wrong callback URL is noticed in the run
in which it is wrong, about half an hour after the third message.

Only messages sent while the entry's tracker runs count: reports that the
gateway sent while Home Assistant was down (or the entry disabled) were lost
for another reason. The evidence is kept in memory, for the tracker's life.
"""

from __future__ import annotations

from datetime import timedelta
import time
from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER
from .outbox import OutboxRecord
from .webhook import webhook_url

if TYPE_CHECKING:
    from .coordinator import SmsOfficeConfigEntry

ISSUE_CALLBACKS_NOT_ARRIVING: Final = "callbacks_not_arriving_{entry_id}"
MIN_MISSED: Final = 3
MIN_SPAN: Final = timedelta(hours=6)


class CallbackWatch:
    """Counts final statuses that status checks found instead of the webhook."""

    def __init__(self, hass: HomeAssistant, entry: SmsOfficeConfigEntry) -> None:
        """Watch one entry's callbacks, from now on."""
        self._hass = hass
        self._entry = entry
        self._started = time.time()
        self._missed: dict[tuple[str, str], float] = {}  # → when it went out
        self.issue_id = ISSUE_CALLBACKS_NOT_ARRIVING.format(entry_id=entry.entry_id)
        self._raised = False  # the issue is not persistent: only raised here

    @callback
    def async_webhook_report(self) -> None:
        """Note a report that came through the webhook: callbacks arrive.

        On every report: the issue registry is only asked when there is an
        issue to clear (a burst of reports stays cheap).
        """
        if self._missed:
            self._missed.clear()
        if self._raised:
            self.async_clear()

    @callback
    def async_found_by_check(self, record: OutboxRecord) -> None:
        """Note a final status that a status check found (webhook mode)."""
        goes_out_at = record.goes_out_at
        if goes_out_at < self._started:
            return  # its callback may have come while Home Assistant was down
        self._missed[record.reference, record.destination] = goes_out_at
        if len(self._missed) < MIN_MISSED:
            return
        if time.time() - min(self._missed.values()) < MIN_SPAN.total_seconds():
            return
        LOGGER.debug(
            "%d final statuses came only from status checks", len(self._missed)
        )
        self._raised = True
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self.issue_id,
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="callbacks_not_arriving",
            translation_placeholders={
                "title": self._entry.title,
                "count": str(len(self._missed)),
                "webhook_url": webhook_url(self._hass, self._entry.data)[0],
            },
            data={"entry_id": self._entry.entry_id},
        )

    @callback
    def async_clear(self) -> None:
        """Drop the issue (the entry is removed, or polls now anyway)."""
        self._missed.clear()
        self._raised = False
        ir.async_delete_issue(self._hass, DOMAIN, self.issue_id)
