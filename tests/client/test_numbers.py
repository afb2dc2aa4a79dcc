"""Tests of phone number normalisation (no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
import threading

import pytest

from smsoffice_client import (
    InvalidNumberError,
    NumberCheck,
    check_numbers,
    normalise_number,
)
from smsoffice_client.numbers import (
    INLINE_LIMIT,
    async_check_numbers,
)

GEO = "995555123456"
# Blocks of `mixed_inputs` that make more than `INLINE_LIMIT` inputs (checked
# in a worker thread), even without the 2 refused ones of each block of 8.
MANY = INLINE_LIMIT // 6 + 1


def mixed_inputs(blocks: int) -> tuple[list[str], NumberCheck]:
    """Return inputs as people write them, and what checking them must give.

    Each block of 8 brings two new Georgian numbers and a British one, each
    Georgian one again in another form (a duplicate), and two refused inputs;
    the very first input comes again at the end (a duplicate far from its
    first occurrence).
    """
    raw: list[str] = []
    valid: list[str] = []
    invalid: list[str] = []
    for block in range(blocks):
        first = f"55{block:07d}"
        second = f"57{block:07d}"
        broken = f"{second[:3]} 1O 2O"  # the letter O typed for a zero
        raw += [
            f"+995 {first[:3]} {first[3:5]} {first[5:7]} {first[7:]}",
            f"0{first}",
            "12",
            f"({second[:3]}) {second[3:5]}-{second[5:7]}-{second[7:]}",
            f"995{first}",
            broken,
            f"+44 7911 {block:06d}",
            f"00995{second}",
        ]
        valid += [f"995{first}", f"995{second}", f"447911{block:06d}"]
        invalid += ["12", broken]
    raw.append(raw[0])
    return raw, NumberCheck(valid, invalid)


def many_usable() -> tuple[list[str], list[str], NumberCheck]:
    """Return `mixed_inputs(MANY)`, the usable ones of them, and what checking gives.

    More usable inputs than `INLINE_LIMIT`: they are checked in a worker thread.
    """
    raw, expected = mixed_inputs(MANY)
    usable = [text for text in raw if text not in expected.invalid]
    assert len(usable) > INLINE_LIMIT
    return raw, usable, expected


def spies(raw: Iterable[str]) -> tuple[list[str], list[tuple[str, int]]]:
    """Return the inputs as strings that note each read: (input, thread id).

    `check_numbers` reads an input by stripping it: the reads say how often
    each was checked, and in which thread.
    """
    reads: list[tuple[str, int]] = []

    class Spy(str):
        __slots__ = ()

        def strip(self, chars: str | None = None) -> str:
            reads.append((str(self), threading.get_ident()))
            return str(self).strip(chars)

    return [Spy(text) for text in raw], reads


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
    # What the gateway and the outbox hold reads back as itself.
    assert normalise_number(normalised) == normalised


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("447911123456", "447911123456"),
        ("44 7911 123456", "447911123456"),
        ("12025550143", "12025550143"),
        ("995 555 12 34 56", GEO),
    ],
)
def test_international_numbers_without_plus(raw: str, normalised: str) -> None:
    """As the gateway writes them: 11 digits or more, no leading 0."""
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
        # Land lines without their area code: dialable only locally.
        "123456",
        "2123456",
        # A Georgian mobile with a digit too many is not read as foreign.
        "5551234567",
        "55512345678",
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


@pytest.mark.parametrize("blocks", [1, 3, MANY, 200])
async def test_async_check_numbers_gives_what_check_numbers_gives(
    blocks: int,
) -> None:
    raw, expected = mixed_inputs(blocks)
    assert (len(raw) > INLINE_LIMIT) is (blocks >= MANY)

    assert check_numbers(raw) == expected
    assert await async_check_numbers(raw) == expected
    assert await async_check_numbers(iter(raw)) == expected


async def test_async_check_numbers_refuses_what_is_not_text_in_long_lists() -> None:
    raw: list[object] = ["555123456", 555123456, None] * (INLINE_LIMIT // 3 + 1)

    result = await async_check_numbers(raw)  # type: ignore[arg-type]

    assert result == NumberCheck(
        valid=[GEO], invalid=["555123456", "None"] * (INLINE_LIMIT // 3 + 1)
    )


async def test_async_check_numbers_of_nothing() -> None:
    assert await async_check_numbers([]) == NumberCheck(valid=[], invalid=[])


@pytest.mark.parametrize(
    ("count", "in_worker"),
    [(1, False), (INLINE_LIMIT, False), (INLINE_LIMIT + 1, True)],
)
async def test_long_lists_are_checked_in_a_worker_thread(
    count: int, in_worker: bool
) -> None:
    raw, reads = spies(f"5{index:08d}" for index in range(count))
    loop_thread = threading.get_ident()

    result = await async_check_numbers(raw)

    assert result.valid == [f"9955{index:08d}" for index in range(count)]
    assert sorted(text for text, _ in reads) == sorted(raw)  # each read once
    threads = {thread for _, thread in reads}
    assert len(threads) == 1
    assert (loop_thread not in threads) is in_worker


async def test_async_check_numbers_copies_the_inputs_first() -> None:
    raw, expected = mixed_inputs(MANY)
    inputs = list(raw)

    pending = asyncio.create_task(async_check_numbers(inputs))
    await asyncio.sleep(0)  # it hands the list to the worker thread
    inputs.clear()  # the caller reuses its list while the worker runs

    assert await pending == expected


def test_invalid_number_error_lists_each_number() -> None:
    err = InvalidNumberError(["12", "abc"])

    assert err.invalid == ["12", "abc"]
    assert str(err) == "Invalid phone number(s): 12, abc"
