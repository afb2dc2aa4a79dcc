"""The fast path for numbers written the canonical way: `995` and nine digits.

Most automations write numbers as the gateway does (`995555123456`); those
skip `phonenumbers`' parser (35-80 µs a number). The fast path must answer
exactly as the general path does, and as `phonenumbers` does. For a Georgian
number that is a question of length only: `phonenumbers` finds every
nine-digit national number possible, inside Georgia's numbering ranges (its
metadata's patterns of fixed lines, mobiles, toll-free and VoIP numbers) or
outside them (`995 000 000 000`, valid nowhere), and the integration refuses
numbers it finds impossible, not those outside the ranges. So the fast path
checks no range either: it would refuse numbers that every other written form
of them gets through.

The property test draws national numbers from the ranges and from outside
them, writes each in the canonical form (fast path) and in international forms
that go through `phonenumbers` (`+995 555 12 34 56`, `00995555123456`,
`995 555123456`), and compares the answers with each other and with
`phonenumbers`' own.

The other common forms (`555 12 34 56`, `0555123456`, `(555) 12-34-56`,
`+995 555 12 34 56`, `00995 555 123 456`) skip the parser too when the nine
national digits do not start with 0. Their property test draws any nine
digits, writes them in one of those forms (or a near miss: `00` or `+`
alone, a 0 too many) with blanks, hyphens, dots and brackets anywhere, and
compares the integration's answer with what `phonenumbers` reads in the same
text.
"""

from __future__ import annotations

import re
from typing import Final
from unittest.mock import patch

from hypothesis import given, settings, strategies as st
import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata
import pytest

from custom_components.smsoffice.client import (
    InvalidNumberError,
    check_numbers,
    load_number_metadata,
    normalise_number,
)
from tests.hypothesis_profiles import SHARED_FIXTURES, load_profile

PROFILE: Final = load_profile()
# Inherits everything else from the active profile (at import time).
SHARED = settings(suppress_health_check=SHARED_FIXTURES, deadline=None)

load_number_metadata()
_GEORGIA = PhoneMetadata.metadata_for_region("GE")
assert _GEORGIA is not None
# The patterns of every kind of Georgian number `phonenumbers` knows.
RANGES: Final = tuple(
    desc.national_number_pattern.replace(r"\d", "[0-9]")
    for desc in (
        _GEORGIA.fixed_line,
        _GEORGIA.mobile,
        _GEORGIA.toll_free,
        _GEORGIA.premium_rate,
        _GEORGIA.shared_cost,
        _GEORGIA.personal_number,
        _GEORGIA.voip,
        _GEORGIA.pager,
        _GEORGIA.uan,
        _GEORGIA.voicemail,
    )
    if desc is not None and desc.national_number_pattern
)


def in_a_range(national: str) -> bool:
    """Return whether `phonenumbers` finds the Georgian number valid."""
    return phonenumbers.is_valid_number(phonenumbers.parse(f"+995{national}"))


nine_digits = st.text("0123456789", min_size=9, max_size=9)
inside_the_ranges = (
    st.sampled_from(RANGES)
    .flatmap(lambda pattern: st.from_regex(pattern, fullmatch=True))
    .filter(lambda national: len(national) == 9 and in_a_range(national))
)
outside_the_ranges = nine_digits.filter(lambda national: not in_a_range(national))


def answer(raw: str) -> str | None:
    """Return what the integration makes of `raw`: the number, or None if refused."""
    try:
        return normalise_number(raw)
    except InvalidNumberError:
        return None


def phonenumbers_answer(national: str) -> str | None:
    """Return `phonenumbers`' own answer for +995 and `national`: E.164 if possible."""
    number = phonenumbers.parse(f"+995{national}", "GE")
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def general_forms(national: str) -> list[str]:
    """Return the number written internationally in forms the parser reads."""
    spaced = f"{national[:3]} {national[3:5]} {national[5:7]} {national[7:]}"
    return [f"+995 {spaced}", f"00995{national}", f"995 {national}"]


def check_both_paths(national: str) -> str | None:
    """Assert the canonical form is answered as every other form; return the answer."""
    canonical = f"995{national}"
    fast = answer(canonical)
    assert [answer(raw) for raw in general_forms(national)] == [fast] * 3
    assert phonenumbers_answer(national) == fast
    assert check_numbers([canonical]).valid == ([] if fast is None else [fast])
    return fast


@SHARED
@given(national=inside_the_ranges)
def test_numbers_inside_georgias_ranges(national: str) -> None:
    assert check_both_paths(national) == f"995{national}"


@SHARED
@given(national=outside_the_ranges)
def test_numbers_outside_georgias_ranges(national: str) -> None:
    """Valid nowhere, possible all the same: the fast path lets them through too."""
    assert check_both_paths(national) == f"995{national}"


@SHARED
@given(national=nine_digits)
def test_any_nine_digits(national: str) -> None:
    check_both_paths(national)


@SHARED
@given(
    before=st.text("0123456789 +-()", max_size=14),
    letter=st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo"]),
    after=st.text("0123456789 -", max_size=6),
)
def test_a_letter_anywhere_is_refused(before: str, letter: str, after: str) -> None:
    """Letters (any script) are refused before the parser could read them as digits."""
    assert answer(f"{before}{letter}{after}") is None
    assert answer(f"995555123456{letter}") is None


@pytest.mark.parametrize(
    "national",
    [
        "555123456",  # a mobile
        "322123456",  # a Tbilisi land line
        "800123456",  # toll-free
        "706123456",  # VoIP
        "000000000",  # outside every range
        "099999999",  # a leading zero: not the national prefix here
    ],
)
def test_examples(national: str) -> None:
    check_both_paths(national)


def test_canonical_numbers_skip_the_parser() -> None:
    """The canonical form (with blanks around it) never reaches `parse`."""
    with patch.object(phonenumbers, "parse", side_effect=AssertionError("parsed")):
        assert normalise_number(" 995555123456\n") == "995555123456"
        assert check_numbers(["995000000000", "995322123456"]).valid == [
            "995000000000",
            "995322123456",
        ]
        # Digits of another script (here Arabic-Indic ones, which
        # phonenumbers reads as digits) are parsed.
        arabic_indic = {ord(digit): 0x0660 + int(digit) for digit in "0123456789"}
        with pytest.raises(AssertionError, match="parsed"):
            normalise_number("995" + "555123456".translate(arabic_indic))


def phonenumbers_reading(raw: str) -> str | None:
    """Return what `phonenumbers` reads in `raw` (as the integration reads it).

    Digits only (separators aside) from 11 of them without a leading 0 are an
    international number without its +; a number must be possible, without
    an extension (and not only locally); one read as foreign that way must be
    valid there.
    """
    text = raw.strip()
    digits = re.sub(r"[\s().-]", "", text)
    bare = digits.isascii() and digits.isdigit() and digits[:1] != "0"
    bare = bare and len(digits) >= 11
    if bare:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, "GE")
    except phonenumbers.NumberParseException:
        return None
    if (
        number.extension
        or phonenumbers.is_possible_number_with_reason(number)
        != phonenumbers.ValidationResult.IS_POSSIBLE  # not "local only"
    ):
        return None
    if bare and number.country_code != 995 and not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


COMMON_PREFIXES = ("", "0", "+995", "00995", "995", "+ 995", "+(995)")
NEAR_MISSES = ("00", "+", "0995", "+9950", "99500", "(0)", "+99")


@st.composite
def written_with_separators(draw: st.DrawFn, prefixes: tuple[str, ...]) -> str:
    """Return a prefix and nine digits, blanks, hyphens, dots, brackets anywhere."""
    # National digits that start as the prefixes do, often: 0, 00, 995.
    start = draw(st.sampled_from(("", "", "0", "00", "995")))
    text = draw(st.sampled_from(prefixes)) + (start + draw(nine_digits))[:9]
    separators = st.text(" ().-", max_size=3)
    pieces = [draw(separators) + char for char in text]
    return "".join(pieces) + draw(separators)


@SHARED
@given(raw=written_with_separators(COMMON_PREFIXES))
def test_common_forms_answer_as_phonenumbers(raw: str) -> None:
    """Every common form, with any nine digits: the answer is `phonenumbers`' own."""
    assert answer(raw) == phonenumbers_reading(raw)


@SHARED
@given(raw=written_with_separators(NEAR_MISSES))
def test_near_misses_answer_as_phonenumbers(raw: str) -> None:
    """Prefixes that are not the common forms' (the parser's to read) answer alike."""
    assert answer(raw) == phonenumbers_reading(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "555 12 34 56",
        "555-12-34-56",
        "(555) 12-34-56",
        "0555123456",
        "0 555 12 34 56",
        "555.12.34.56",
        "+995 555 12 34 56",
        "+995 (555) 12-34-56",
        "00995 555 123 456",
        "995 555 12 34 56",
        "322 12 34 56",  # a Tbilisi land line
        "995 900 000 000",  # outside every range, possible all the same
    ],
)
def test_common_forms_skip_the_parser(raw: str) -> None:
    """The common forms of a Georgian number never reach `parse`."""
    expected = phonenumbers_reading(raw)
    assert expected is not None
    with patch.object(phonenumbers, "parse", side_effect=AssertionError("parsed")):
        assert normalise_number(raw) == expected
        assert check_numbers([raw]).valid == [expected]


@pytest.mark.parametrize(
    "raw",
    [
        "055 512 345",  # nine national digits starting with 0 (0 and eight)
        "00555123456",  # 00 is the international prefix
        "+995 055 512 345",
        "55512345",  # eight digits
        "+1 555 123 4567",
        "555\t12\t34\t56",  # other blanks than spaces
    ],
)
def test_other_forms_are_parsed(raw: str) -> None:
    """Anything else goes to the parser, which decides."""
    with (
        patch.object(phonenumbers, "parse", side_effect=AssertionError("parsed")),
        pytest.raises(AssertionError, match="parsed"),
    ):
        normalise_number(raw)
