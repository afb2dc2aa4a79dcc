"""What the client returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .segments import Encoding


class DeliveryStatus(StrEnum):
    """Status of one message at one destination, as the gateway reports it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """Return whether this status will not change any more."""
        return self in (
            DeliveryStatus.DELIVERED,
            DeliveryStatus.UNDELIVERED,
            DeliveryStatus.EXPIRED,
        )

    @property
    def rank(self) -> int:
        """Return the order statuses move in: a lower rank never replaces a higher."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: str) -> DeliveryStatus | None:
        """Read a status compared without case; None when it is not one."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            return None


_RANK = {
    DeliveryStatus.PENDING: 1,
    DeliveryStatus.UNKNOWN: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.UNDELIVERED: 3,
    DeliveryStatus.EXPIRED: 3,
}


@dataclass(frozen=True, slots=True)
class SendResult:
    """A message the gateway accepted."""

    reference: str
    destinations: list[str]
    invalid: list[str]
    encoding: Encoding
    characters: int
    parts: int
    credits: int
    scheduled_at: int | None
    gateway_message: str
