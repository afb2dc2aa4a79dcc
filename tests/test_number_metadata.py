"""`load_number_metadata`: after it, checking numbers imports nothing.

`phonenumbers` imports a module of metadata per region on first use, a
blocking import that must not happen in Home Assistant's event loop. The
integration calls `load_number_metadata` in a worker thread at set-up.

Measured here (2-core EPYC guest, phonenumbers 9.0.43): 35-100 ms and 1.4 MiB
for all 254 modules, under Python 3.13 and 3.14; the fresh-process test prints
its own figure (`pytest -s`).
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

from custom_components.smsoffice.client import load_number_metadata, normalise_number

# Georgian in each form, foreign with + and 00 and bare (the gateway's form),
# in regions that share a country code (+1, +44, +7) and a non-geographic one.
NUMBERS = {
    "555 12 34 56": "995555123456",
    "0555123456": "995555123456",
    "+995 32 2 12 34 56": "995322123456",
    "+44 7911 123456": "447911123456",
    "447911123456": "447911123456",
    "+1 650-253-0000": "16502530000",
    "18762345678": "18762345678",
    "0049 30 12345678": "493012345678",
    "+7 912 345-67-89": "79123456789",
    "+800 1234 5678": "80012345678",
}

FRESH_PROCESS = """
import json, sys, time
from custom_components.smsoffice.client import load_number_metadata, normalise_number
numbers = json.loads(sys.argv[1])
loaded = False
if sys.argv[2] == "load":
    start = time.perf_counter()
    load_number_metadata()
    took = time.perf_counter() - start
    loaded = True
before = set(sys.modules)
normalised = {raw: normalise_number(raw) for raw in numbers}
new = sorted(set(sys.modules) - before)
print(json.dumps({"normalised": normalised, "new": new, "ms": took * 1000 if loaded else None}))
"""


def in_fresh_process(*, load: bool) -> dict[str, object]:
    """Normalise `NUMBERS` in a new interpreter, after loading the metadata or not."""
    result = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [
            sys.executable,
            "-c",
            FRESH_PROCESS,
            json.dumps(list(NUMBERS)),
            "load" if load else "lazy",
        ],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    output: dict[str, object] = json.loads(result.stdout)
    return output


def test_no_import_after_loading_in_a_fresh_process() -> None:
    result = in_fresh_process(load=True)
    assert result["normalised"] == NUMBERS
    assert result["new"] == []
    print(f"load_number_metadata took {result['ms']:.0f} ms")  # noqa: T201


def test_without_it_checking_imports_metadata() -> None:
    """The check above can fail: the first numbers import their regions' metadata."""
    result = in_fresh_process(load=False)
    assert result["normalised"] == NUMBERS
    new = result["new"]
    assert isinstance(new, list)
    for region in ("GE", "GB", "US", "DE", "RU", "800"):
        assert f"phonenumbers.data.region_{region}" in new


def test_no_import_after_loading() -> None:
    """In this process too (where other tests may have loaded some already)."""
    load_number_metadata()
    load_number_metadata()  # again: nothing to do
    before = set(sys.modules)
    for raw, expected in NUMBERS.items():
        assert normalise_number(raw) == expected
    assert set(sys.modules) == before
