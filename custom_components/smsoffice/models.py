"""What a delivery report is, wherever it comes from (webhook or status poll)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict

from .client import DeliveryStatus

type ReportSource = Literal["webhook", "poll"]


class DeliveryEventData(TypedDict):
    """The data of the bus event `smsoffice_delivery_status`."""

    config_entry_id: str
    reference: str
    destination: str
    status: str
    reason: str
    timestamp: str | None  # ISO 8601, Georgian time, as the gateway reported it
    operator: str
    source: ReportSource


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What the gateway says happened to a message at one destination."""

    reference: str
    destination: str
    status: DeliveryStatus
    reason: str = ""
    timestamp: datetime | None = None
    operator: str = ""
