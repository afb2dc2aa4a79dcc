"""Tests of phone number normalisation (no network)."""

from __future__ import annotations

import pytest

from custom_components.smsoffice.client import (
    InvalidNumberError,
    NumberCheck,
    check_numbers,
    normalise_number,
)

GEO = "995555123456"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the conftest's autouse fixture: these tests need no Home Assistant."""


@pytest.mark.parametrize(
    "raw",
    [
        # The forms of the notes.
        "+995 555 12 34 56",
        "00995555123456",
        "555123456",
        "555 12-34-56",
        "0555123456",
        "995555123456",
        # More ways people write it.
        "+995555123456",
        "+995-555-12-34-56",
        "995 555 12 34 56",
        "(555) 12 34 56",
        "555.12.34.56",
        "  555123456\n",
        "00 995 555 12 34 56",
        "555\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits
    ],
)
def test_georgian_forms(raw: str) -> None:
    assert normalise_number(raw) == GEO


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("790123456", "995790123456"),  # mobiles starting with 790
        ("+995 32 212 34 56", "995322123456"),  # a Tbilisi land line
        ("0322123456", "995322123456"),
        ("577 65 43 21", "995577654321"),
    ],
)
def test_other_georgian_numbers(raw: str, normalised: str) -> None:
    assert normalise_number(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+44 7911 123456", "447911123456"),
        ("0044 7911 123456", "447911123456"),
        ("+1 (202) 555-0143", "12025550143"),
        ("+49 151 23456789", "4915123456789"),
        ("+380 50 123 4567", "380501234567"),
        ("+90 532 123 45 67", "905321234567"),
    ],
)
def test_foreign_international_numbers(raw: str, normalised: str) -> None:
    assert normalise_number(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        # Extensions.
        "+995 555 12 34 56 ext. 12",
        "555123456;ext=12",
        "+995 555 123 456 x 7",
        "+44 7911 123456 ext 9",
        # Numbers that cannot exist.
        "123",
        "5551",
        "+995 5551",
        "+99555512345",  # one digit short
        "+9955551234567",  # one digit long
        "5551234567890",
        "0",
        "+",
        "00",
        # Not numbers.
        "",
        "   ",
        "abc",
        "mother",
        # Letters: phonenumbers would read them as keypad digits or drop them.
        "555-CALL-ME",
        "555 1O 2O 3O",  # the letter O typed for a zero
        "+44 7911 12345O",
        "555 MOTHER",
    ],
)
def test_refused(raw: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        normalise_number(raw)

    assert caught.value.invalid == [raw]
    assert "Invalid phone number" in str(caught.value)


def test_check_numbers_deduplicates_and_keeps_order() -> None:
    result = check_numbers(
        [
            "577 65 43 21",
            "+995 555 12 34 56",
            "12",
            "0555123456",
            "995577654321",
            "+44 7911 123456",
            "abc",
            "555123456",
            "12",
        ]
    )

    assert result == NumberCheck(
        valid=["995577654321", GEO, "447911123456"], invalid=["12", "abc", "12"]
    )


def test_check_numbers_accepts_any_iterable() -> None:
    assert check_numbers(iter(("555123456", "577654321"))).valid == [
        GEO,
        "995577654321",
    ]
    assert check_numbers([]) == NumberCheck(valid=[], invalid=[])


def test_check_numbers_refuses_what_is_not_text() -> None:
    result = check_numbers([555123456, None, "555123456"])  # type: ignore[list-item]

    assert result == NumberCheck(valid=[GEO], invalid=["555123456", "None"])


def test_invalid_number_error_lists_each_number() -> None:
    err = InvalidNumberError(["12", "abc"])

    assert err.invalid == ["12", "abc"]
    assert str(err) == "Invalid phone number(s): 12, abc"
