"""Phone numbers as Georgians type them, turned into what the gateway wants.

The gateway wants international numbers without `+` or `00`
(`995555123456`). People type `+995 555 12 34 56`, `00995555123456`,
`555123456`, `555 12-34-56` or `0555123456`; national forms are read as
Georgian. Numbers with an extension or a letter, and numbers that cannot exist,
are refused: for a Georgian number, one whose length is not a Georgian number's
(nine digits, without the leading 0); a number outside Georgia's numbering
ranges is not refused. A number written without + or 00 that reads as foreign
must be valid there.

`phonenumbers` takes 30-80 µs a number: `async_check_numbers` checks a long
list in a worker thread, so that a send to thousands does not hold up the
event loop for a large fraction of a second. A number already written as the
gateway wants it, `995` and nine ASCII digits (the form most automations use),
skips the parser (well under a microsecond): `phonenumbers` finds every such
number possible and writes it back unchanged, so that is exactly its answer
(tests/test_number_fast_path.py compares the two, inside Georgia's ranges and
outside them). So do the other common ways of writing a Georgian number, in
ASCII digits with blanks, hyphens, dots or brackets between them
(`555 12 34 56`, `0555123456`, `(555) 12-34-56`, `+995 555 12 34 56`,
`00995 555 123 456`, `995 555 12 34 56`) when its nine national digits do not
start with 0: `phonenumbers` reads the separators as punctuation, strips the
national prefix `0` or the country code, and finds every such nine-digit
number possible (a few microseconds instead of 15-80; the same test compares
the answers with its own for any nine digits written in any of these ways).

`phonenumbers` imports a module of metadata per region on first use (GE for
every number, and for a foreign number those of its country code): call
`load_number_metadata` once in a worker thread before checking numbers in the
event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
import re
from typing import Final

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from .errors import InvalidNumberError

DEFAULT_REGION = "GE"
GEORGIA_CODE = 995
_MIN_BARE_INTERNATIONAL = 11
# The fast path (see above). ASCII digits only: others are read by the parser.
_ALREADY_NORMALISED = re.compile(r"995[0-9]{9}")
_DIGITS_ONLY = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[\s().-]")
# The common forms of the fast path (see above): a + only in front, ASCII
# digits, blanks, hyphens, dots and brackets; what they leave of the number.
_COMMON_FORM = re.compile(r"\+?[0-9 ().-]+")
_PUNCTUATION = str.maketrans("", "", " ().-")
# The letters of ASCII text (what `str.isalpha` finds there), in one search.
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Up to this many inputs are checked in the event loop (at most ~8 ms); more in
# a worker thread. The hop there and back costs ~0.2-0.3 ms, as much as a few
# numbers: not worth it for a handful, and negligible beside 100 of them.
INLINE_LIMIT: Final = 100


def load_number_metadata() -> None:
    """Import all of `phonenumbers`' region metadata now; blocking, so not in the loop.

    Checking a number imports the metadata it needs on first use: GE's for
    every number (the default region), and for a foreign one those of its
    country code, up to all the regions that share it (25 for +1) when its
    validity is checked. Since anyone can type any country's number, all of
    them are loaded (245 regions and 9 non-geographic codes, 254 modules):
    35-100 ms here, 1.4 MiB (2-core EPYC guest, Python 3.13 and 3.14,
    phonenumbers 9.0; about 0.5 ms for GE alone). Later calls do nothing.
    """
    PhoneMetadata.load_all()


@dataclass(frozen=True, slots=True)
class NumberCheck:
    """Inputs split into usable numbers (normalised, in order, once each) and refused ones."""

    valid: list[str]
    invalid: list[str]


def _parse(raw: str) -> str | None:
    """Return `raw` normalised, or None when it is not a usable number."""
    text = raw.strip()
    if (fast := _fast_path(text)) is not None:
        return fast
    if (
        _ASCII_LETTER.search(text) is not None
        if text.isascii()
        else any(char.isalpha() for char in text)
    ):
        # phonenumbers reads letters as keypad digits ("555 1O 2O 3O" becomes
        # 555 16 26 36) and drops trailing ones: a typo must not reach a stranger.
        # Extensions ("ext. 12", "x 7") are refused either way.
        return None
    # A number written internationally without + or 00, as the gateway writes
    # them (995555123456, 447911123456), possibly with separators. Georgian
    # national numbers have 9 digits (10 with the leading 0), so 11 digits or
    # more not starting with 0 can only be international.
    digits = _SEPARATORS.sub("", text)
    bare_international = (
        _DIGITS_ONLY.fullmatch(digits) is not None
        and not digits.startswith("0")
        and len(digits) >= _MIN_BARE_INTERNATIONAL
    )
    if bare_international:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if (
        number.extension
        # Not "possible local only" (123456, a land line without its area
        # code): the gateway needs the whole number.
        or phonenumbers.is_possible_number_with_reason(number)
        != phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None
    if (
        bare_international
        and number.country_code != GEORGIA_CODE
        and not phonenumbers.is_valid_number(number)
    ):
        # Without a + the reading as foreign is a guess: only for a number that
        # exists there, not for a Georgian number with a digit too many.
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _fast_path(text: str) -> str | None:
    """Return a Georgian number written a common way, normalised; else None."""
    if _ALREADY_NORMALISED.fullmatch(text):
        return text
    if _COMMON_FORM.fullmatch(text) and (national := _georgian_national(text)):
        return "995" + national
    return None


def _georgian_national(text: str) -> str | None:
    """Return the nine national digits of a common form of a Georgian number.

    `text` matches `_COMMON_FORM`. None when it is none of those forms, or
    when its national digits start with 0 (a second 0 reads as the
    international prefix): the parser reads it then.
    """
    digits = text.translate(_PUNCTUATION)
    length = len(digits)
    if length == 9:
        national = digits
    elif length == 10 and digits[0] == "0":
        national = digits[1:]
    elif length == 12 and digits.startswith("995"):
        national = digits[3:]
    elif length == 13 and digits.startswith("+995"):
        national = digits[4:]
    elif length == 14 and digits.startswith("00995"):
        national = digits[5:]
    else:
        return None
    # A + anywhere but in front was refused by `_COMMON_FORM`.
    return None if national[0] in "0+" else national


def check_numbers(raw_numbers: Iterable[str]) -> NumberCheck:
    """Normalise each input; keep each usable number once, in the order given."""
    valid: list[str] = []
    seen: set[str] = set()
    invalid: list[str] = []
    for raw in raw_numbers:
        normalised = _parse(raw) if isinstance(raw, str) else None
        if normalised is None:
            invalid.append(str(raw))
        elif normalised not in seen:
            seen.add(normalised)
            valid.append(normalised)
    return NumberCheck(valid, invalid)


async def async_check_numbers(raw_numbers: Iterable[str]) -> NumberCheck:
    """Return `check_numbers(raw_numbers)`, checking a long list in a worker thread.

    The thread is the running loop's default executor (Home Assistant's own).
    It holds the GIL only a switch interval (5 ms) at a time, so the loop keeps
    running while it works. The inputs are copied first: the caller may change
    its list meanwhile.
    """
    inputs = list(raw_numbers)
    if len(inputs) <= INLINE_LIMIT:
        return check_numbers(inputs)
    return await asyncio.get_running_loop().run_in_executor(None, check_numbers, inputs)


def normalise_number(raw: str) -> str:
    """Return one number normalised, or raise `InvalidNumberError`."""
    normalised = _parse(raw)
    if normalised is None:
        raise InvalidNumberError([raw])
    return normalised
