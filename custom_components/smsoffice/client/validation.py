"""Checks made before any request: sender, content, reference and schedule."""

from __future__ import annotations

from datetime import UTC, datetime
import re
import secrets

from .errors import (
    InvalidContentError,
    InvalidReferenceError,
    InvalidScheduleError,
    InvalidSenderError,
)

MAX_CONTENT_LENGTH = 1000
MAX_REFERENCE_LENGTH = 20
# The current API page: up to 11 of A-Z, a-z, 0-9, dot and dash.
_SENDER = re.compile(r"[A-Za-z0-9.-]{1,11}")


def check_sender(sender: str) -> str:
    """Return the sender, or raise `InvalidSenderError`."""
    if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
        raise InvalidSenderError(str(sender))
    return sender


def check_content(content: str) -> str:
    """Return the content, or raise `InvalidContentError` (1-1000 characters)."""
    if not 1 <= len(content) <= MAX_CONTENT_LENGTH:
        raise InvalidContentError(len(content), MAX_CONTENT_LENGTH)
    return content


def check_reference(reference: str) -> str:
    """Return the reference, or raise `InvalidReferenceError` (1-20 characters)."""
    if (
        not 1 <= len(reference) <= MAX_REFERENCE_LENGTH
        or reference != reference.strip()
    ):
        raise InvalidReferenceError(reference)
    return reference


def check_schedule(when: datetime, now: datetime | None = None) -> int:
    """Return `when` as Unix seconds, or raise when it is naive or not in the future."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidScheduleError("The scheduled time must have a time zone")
    now = now or datetime.now(UTC)
    if when <= now:
        raise InvalidScheduleError(
            f"The scheduled time {when.isoformat()} is not in the future"
        )
    return int(when.timestamp())


def new_reference() -> str:
    """Return a fresh, unique reference of 20 characters."""
    return "ha" + secrets.token_hex(9)
