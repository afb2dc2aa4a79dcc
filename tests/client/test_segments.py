"""Tests of the SMS part estimate (no network)."""

from __future__ import annotations

import pytest

from smsoffice_client import Encoding, SegmentEstimate, estimate_parts
from smsoffice_client.segments import GSM7_BASIC, GSM7_EXTENSION

GSM7 = Encoding.GSM7
UCS2 = Encoding.UCS2
EMOJI = "😀"  # outside the BMP: a surrogate pair in UCS-2
KA = "ა"  # Georgian: UCS-2


@pytest.mark.parametrize(
    ("content", "encoding", "parts"),
    [
        # The vectors of the notes.
        ("a" * 160, GSM7, 1),
        ("a" * 161, GSM7, 2),
        ("]" * 80, GSM7, 1),
        ("]" * 81, GSM7, 2),
        (KA * 70, UCS2, 1),
        (KA * 71, UCS2, 2),
        (KA * 134, UCS2, 2),
        (EMOJI * 35, UCS2, 1),
        (EMOJI * 36, UCS2, 2),
        # Boundaries either side.
        ("a" * 159, GSM7, 1),
        ("a" * 306, GSM7, 2),  # 2 x 153
        ("a" * 307, GSM7, 3),
        ("a" * 459, GSM7, 3),
        ("a" * 460, GSM7, 4),
        ("]" * 79, GSM7, 1),
        ("]" * 153, GSM7, 3),  # 76 + 76 + 1 pairs: 153 units would fill 2
        (KA * 69, UCS2, 1),
        (KA * 135, UCS2, 3),  # 2 x 67 = 134
        (KA * 201, UCS2, 3),
        (KA * 202, UCS2, 4),
        (EMOJI * 34, UCS2, 1),
        (EMOJI * 67, UCS2, 3),  # 33 + 33 + 1: 134 units would fill 2
        ("a" * 1000, GSM7, 7),
        (KA * 1000, UCS2, 15),
    ],
)
def test_parts(content: str, encoding: Encoding, parts: int) -> None:
    estimate = estimate_parts(content)

    assert (estimate.encoding, estimate.parts) == (encoding, parts)
    assert estimate.characters == len(content)


def test_single_and_multi_part_sizes() -> None:
    assert estimate_parts("a" * 160) == SegmentEstimate(GSM7, 160, 160, 1, 160)
    assert estimate_parts("a" * 161) == SegmentEstimate(GSM7, 161, 161, 2, 153)
    assert estimate_parts(KA * 70) == SegmentEstimate(UCS2, 70, 70, 1, 70)
    assert estimate_parts(KA * 71) == SegmentEstimate(UCS2, 71, 71, 2, 67)


def test_extension_characters_cost_two_septets() -> None:
    for char in "^{}\\[~]|€\f":
        estimate = estimate_parts(char * 80)
        assert (estimate.encoding, estimate.units, estimate.parts) == (GSM7, 160, 1)
        assert estimate_parts(char * 81).parts == 2
    assert estimate_parts("a" * 159 + "]").parts == 2  # 161 septets
    assert estimate_parts("a" * 158 + "]").parts == 1  # 160 septets


def test_escape_pair_straddling_a_part_boundary_is_not_split() -> None:
    # 152 + 2 + 152 = 306 septets would fill two parts of 153 exactly, but the
    # pair cannot start at the 153rd septet: it moves to part 2, which spills.
    content = "a" * 152 + "]" + "a" * 152
    estimate = estimate_parts(content)
    assert (estimate.units, estimate.parts) == (306, 3)
    # Shifted by one, the pair fits at the end of part 1: two parts.
    assert estimate_parts("a" * 151 + "]" + "a" * 153).parts == 2
    # A pair right after a full part starts part 2 cleanly.
    assert estimate_parts("a" * 153 + "]" + "a" * 151).parts == 2


def test_emoji_at_a_part_boundary_is_not_split() -> None:
    content = KA * 66 + EMOJI + KA * 66  # 134 units, but the pair moves on
    estimate = estimate_parts(content)
    assert (estimate.encoding, estimate.units, estimate.parts) == (UCS2, 134, 3)
    assert estimate_parts(KA * 65 + EMOJI + KA * 67).parts == 2
    assert estimate_parts(KA * 67 + EMOJI + KA * 65).parts == 2


def test_emoji_units() -> None:
    estimate = estimate_parts(EMOJI * 35)
    assert (estimate.characters, estimate.units) == (35, 70)
    # A single emoji in Latin text makes all of it UCS-2.
    assert estimate_parts("a" * 68 + EMOJI).parts == 1
    assert estimate_parts("a" * 69 + EMOJI).parts == 2


def test_mixed_georgian_and_latin() -> None:
    mixed = estimate_parts("Alarm: კარი გაიღო")
    assert (mixed.encoding, mixed.parts) == (UCS2, 1)
    # One Georgian letter in Latin text switches all of it to UCS-2.
    assert estimate_parts("a" * 69 + KA).parts == 1
    assert estimate_parts("a" * 70 + KA) == SegmentEstimate(UCS2, 71, 71, 2, 67)
    # In UCS-2, GSM-7 extension characters are one unit like any other.
    assert estimate_parts("]" * 69 + KA).parts == 1


@pytest.mark.parametrize(
    "char", ["`", "\u201c", "\u201d", "\u2019", "ç", "á", "ß\u0301", "\t"]
)
def test_characters_outside_gsm7_switch_to_ucs2(char: str) -> None:
    assert estimate_parts("Hello " + char).encoding is UCS2


def test_every_gsm7_character_stays_gsm7() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes minus the escape
    assert len(GSM7_EXTENSION) == 10
    estimate = estimate_parts("".join(sorted(GSM7_BASIC)))
    assert (estimate.encoding, estimate.units) == (GSM7, 127)
    estimate = estimate_parts("".join(sorted(GSM7_EXTENSION)))
    assert (estimate.encoding, estimate.units) == (GSM7, 20)


def test_empty_string() -> None:
    assert estimate_parts("") == SegmentEstimate(GSM7, 0, 0, 1, 160)
