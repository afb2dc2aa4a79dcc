"""Georgian letters to Latin ones, by Georgia's national romanisation (2002).

Written as Georgians write Latin day to day: without the apostrophes that
the system puts after the ejectives (კ k, პ p, ტ t, წ ts, ჭ ch). Georgian
script forces an SMS into UCS-2 (70 characters a part); in Latin letters the
same text fits GSM 03.38 (160 a part), for a half or a third of the cost.

The 33 letters of the modern alphabet (Mkhedruli) become lower-case Latin;
their capitals (Mtavruli) and the letters of the old scripts (Asomtavruli
capitals, Nuskhuri small letters) become the same Latin letters, capitalised
for capitals (Შ → Sh). Every other character stays as it is, the archaic
letters (ჱ, ჲ, ჳ, ჴ, ჵ, …) included: they have no place in the 2002 system.
"""

from __future__ import annotations

from typing import Final
import unicodedata

# The modern alphabet, by Georgia's national system of 2002 (no apostrophes).
MKHEDRULI_TO_LATIN: Final = {
    "ა": "a",
    "ბ": "b",
    "გ": "g",
    "დ": "d",
    "ე": "e",
    "ვ": "v",
    "ზ": "z",
    "თ": "t",
    "ი": "i",
    "კ": "k",
    "ლ": "l",
    "მ": "m",
    "ნ": "n",
    "ო": "o",
    "პ": "p",
    "ჟ": "zh",
    "რ": "r",
    "ს": "s",
    "ტ": "t",
    "უ": "u",
    "ფ": "p",
    "ქ": "k",
    "ღ": "gh",
    "ყ": "q",  # noqa: RUF001 - a Georgian letter
    "შ": "sh",
    "ჩ": "ch",
    "ც": "ts",
    "ძ": "dz",
    "წ": "ts",
    "ჭ": "ch",
    "ხ": "kh",
    "ჯ": "j",
    "ჰ": "h",
}

# The same letter in the other scripts, by its Unicode name ("AN", "BAN", …).
_CAPITAL_SCRIPTS: Final = (
    "GEORGIAN MTAVRULI CAPITAL LETTER ",  # capitals of the modern alphabet
    "GEORGIAN CAPITAL LETTER ",  # Asomtavruli
)
_SMALL_SCRIPTS: Final = ("GEORGIAN SMALL LETTER ",)  # Nuskhuri


def _table() -> dict[int, str]:
    """Map every form of the 33 letters to its Latin letter or digraph."""
    table: dict[int, str] = {}
    for letter, latin in MKHEDRULI_TO_LATIN.items():
        table[ord(letter)] = latin
        name = unicodedata.name(letter).removeprefix("GEORGIAN LETTER ")
        for prefixes, written in (
            (_CAPITAL_SCRIPTS, latin.capitalize()),
            (_SMALL_SCRIPTS, latin),
        ):
            for prefix in prefixes:
                try:
                    table[ord(unicodedata.lookup(prefix + name))] = written
                except KeyError:  # this script has no such letter
                    continue
    return table


_TABLE: Final = _table()


def transliterate(text: str) -> str:
    """Return `text` with its Georgian letters written in Latin ones."""
    return text.translate(_TABLE)


def has_georgian_letters(text: str) -> bool:
    """Return whether `text` has a letter that `transliterate` would change."""
    return any(ord(character) in _TABLE for character in text)
