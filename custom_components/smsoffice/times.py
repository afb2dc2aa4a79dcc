"""Times given to the integration's actions."""

from __future__ import annotations

from datetime import datetime

from homeassistant.util import dt as dt_util


def as_aware(when: datetime) -> datetime:
    """Read a time without a zone as Home Assistant's local time."""
    if when.tzinfo is None:
        return when.replace(tzinfo=dt_util.get_default_time_zone())
    return when
