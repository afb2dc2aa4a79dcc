"""Georgian to Latin letters (national system of 2002), and what it saves."""

from __future__ import annotations

import unicodedata

import pytest

from smsoffice_client import Encoding, estimate_parts
from smsoffice_client.transliteration import (
    MKHEDRULI_TO_LATIN,
    has_georgian_letters,
    transliterate,
)

# The alphabet as the issue gives it: every letter, in order.
ALPHABET = [
    ("ა", "a"), ("ბ", "b"), ("გ", "g"), ("დ", "d"), ("ე", "e"), ("ვ", "v"),
    ("ზ", "z"), ("თ", "t"), ("ი", "i"), ("კ", "k"), ("ლ", "l"), ("მ", "m"),
    ("ნ", "n"), ("ო", "o"), ("პ", "p"), ("ჟ", "zh"), ("რ", "r"), ("ს", "s"),
    ("ტ", "t"), ("უ", "u"), ("ფ", "p"), ("ქ", "k"), ("ღ", "gh"), ("ყ", "q"),  # noqa: RUF001
    ("შ", "sh"), ("ჩ", "ch"), ("ც", "ts"), ("ძ", "dz"), ("წ", "ts"),
    ("ჭ", "ch"), ("ხ", "kh"), ("ჯ", "j"), ("ჰ", "h"),
]  # fmt: skip


def test_the_table_is_the_alphabet() -> None:
    assert list(MKHEDRULI_TO_LATIN.items()) == ALPHABET
    assert len(ALPHABET) == 33


@pytest.mark.parametrize(("letter", "latin"), ALPHABET)
def test_every_letter(letter: str, latin: str) -> None:
    assert transliterate(letter) == latin


@pytest.mark.parametrize(("letter", "latin"), ALPHABET)
def test_every_capital(letter: str, latin: str) -> None:
    """Mtavruli capitals (U+1C90 to U+1CBF) become a capitalised letter or digraph."""
    capital = chr(ord(letter) - 0x10D0 + 0x1C90)
    assert unicodedata.name(capital).startswith("GEORGIAN MTAVRULI CAPITAL LETTER")
    assert transliterate(capital) == latin.capitalize()


def test_capitals_examples() -> None:
    assert transliterate("Შ") == "Sh"
    assert transliterate("ᲗᲑᲘᲚᲘᲡᲘ") == "TBILISI"
    assert transliterate("Ძაღლი") == "Dzaghli"


def test_old_scripts() -> None:
    """Asomtavruli capitals and Nuskhuri small letters are read like the modern ones."""
    assert transliterate("Ⴀ") == "A"  # U+10A0 ASOMTAVRULI AN
    assert transliterate("ⴀ") == "a"  # U+2D00 NUSKHURI AN
    assert transliterate("ႸႠႨ") == "ShAI"
    assert transliterate("ⴃⴈⴃⴈ") == "didi"


def test_everything_else_stays() -> None:
    text = "Alarm 12:30! შეტყობინება 👋 ჱ"
    assert transliterate(text) == "Alarm 12:30! shetqobineba 👋 ჱ"


WORDS = {
    "გამარჯობა": "gamarjoba",
    "საქართველო": "sakartvelo",
    "ჭიათურა": "chiatura",
    "წყალტუბო": "tsqaltubo",
    "ხაჭაპური": "khachapuri",
    "ჟურნალი": "zhurnali",
    "ღვინო": "ghvino",
}


@pytest.mark.parametrize(("text", "latin"), WORDS.items())
def test_words(text: str, latin: str) -> None:
    assert transliterate(text) == latin


def test_costs_less() -> None:
    text = "სიგნალიზაცია ჩაირთო სახლში, შეამოწმეთ კამერები და დარეკეთ მეზობელთან."
    before = estimate_parts(text)
    after = estimate_parts(transliterate(text))
    assert before.encoding is Encoding.UCS2
    assert after.encoding is Encoding.GSM7
    assert after.parts < before.parts or before.parts == 1


def test_an_emoji_keeps_ucs2() -> None:
    assert estimate_parts(transliterate("გამარჯობა 👋")).encoding is Encoding.UCS2


def test_has_georgian_letters() -> None:
    assert has_georgian_letters("Alarm: ჩაირთო")
    assert has_georgian_letters("ᲗᲑᲘᲚᲘᲡᲘ")
    assert not has_georgian_letters("Alarm 👋")
    assert not has_georgian_letters("ჱ")  # archaic: left as it is
