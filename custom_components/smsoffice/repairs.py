"""Fix flows of the repair issues that Home Assistant can fix."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

try:  # newer releases type a repair flow's results of their own
    from homeassistant.components.repairs.models import (  # type: ignore[attr-defined,unused-ignore]
        RepairsFlowResult,
    )
except ImportError:  # pragma: no cover - only on the oldest supported releases
    from homeassistant.data_entry_flow import (  # type: ignore[assignment,unused-ignore]
        FlowResult as RepairsFlowResult,
    )

from .const import CONF_STATUS_POLLING, DOMAIN


class TurnOnStatusPollingFlow(RepairsFlow):
    """Callbacks do not arrive: offer to ask for statuses instead."""

    def __init__(self, entry_id: str) -> None:
        """Fix the entry `entry_id`."""
        self._entry_id = entry_id

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start the flow (what it is given here is the issue, not user input)."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Show what is wrong; on confirmation, turn status polling on."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            # The options change reloads the entry; polling starts with it.
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_STATUS_POLLING: True}
            )
            return self.async_create_entry(data={})
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=issue.translation_placeholders if issue else None,
        )


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Return the fix flow of a fixable issue (`callbacks_not_arriving` only)."""
    return TurnOnStatusPollingFlow(str((data or {}).get("entry_id")))
