"""How many SMS parts a text takes, and in which encoding.

GSM-7 fits 160 septets in one part and 153 in each part of a split message;
the extension characters cost two septets, and an escape pair is never split
across parts. Any character outside GSM-7 makes the whole message UCS-2: 70
UTF-16 units in one part and 67 in each part of a split message; a character
outside the Basic Multilingual Plane (an emoji) is two units and is never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67


class Encoding(StrEnum):
    """The alphabet a message is sent in."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SegmentEstimate:
    """What a text costs: its encoding, length and number of parts."""

    encoding: Encoding
    characters: int
    units: int
    parts: int
    per_part: int


def _unit_costs(content: str) -> tuple[Encoding, list[int]]:
    """Return the encoding and the cost of each character in its units."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in content):
        return Encoding.GSM7, [2 if char in GSM7_EXTENSION else 1 for char in content]
    return Encoding.UCS2, [2 if ord(char) > 0xFFFF else 1 for char in content]


def _count_parts(costs: list[int], per_part: int) -> int:
    """Fill parts of `per_part` units greedily, never splitting one character."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts += 1
            used = 0
        used += cost
    return parts


@lru_cache(maxsize=64)
def estimate_parts(content: str) -> SegmentEstimate:
    """Estimate the encoding and parts `content` takes as one SMS.

    Remembered for the last texts: a send asks for its text's at least twice
    (its cost, then what the gateway was sent), automations send the same
    texts again and again, and the estimate is read only.
    """
    encoding, costs = _unit_costs(content)
    units = sum(costs)
    single, multi = (
        (GSM7_SINGLE, GSM7_MULTI)
        if encoding is Encoding.GSM7
        else (UCS2_SINGLE, UCS2_MULTI)
    )
    if units <= single:
        return SegmentEstimate(encoding, len(content), units, 1, single)
    return SegmentEstimate(
        encoding, len(content), units, _count_parts(costs, multi), multi
    )
