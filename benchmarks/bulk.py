"""Bulk: 10,000 recipients normalised, validated and sent in one ``send_sms``.

The inputs are distinct Georgian mobile numbers written the ways people write
them ("555 12 34 56", "+995 555 12 34 56", "0555123456", "995555123456",
"00995 555 123 456", "995 555 12 34 56", "(555) 12-34-56", "555-12-34-56"),
with 1 % of them broken (too short, a letter O for a zero) so that validation
has something to refuse (``skip_invalid: true``).

Measured in alternating repetitions (median of each):

- baseline: ``phonenumbers.parse(x, "GE")`` + ``format_number(E164)`` alone on
  the same inputs;
- ``check_numbers`` alone (the integration's normalisation and validation);
- ``async_check_numbers``: the same in a worker thread, as a send does it for
  more than ``INLINE_LIMIT`` numbers;
- the gateway's share: a raw aiohttp POST of the already normalised form to the
  fake gateway (which runs standalone in its own process);
- ours: the ``smsoffice.send_sms`` action end to end (schema, normalisation,
  validation, the POST, the outbox), with the event loop's longest stall
  during it.

The stall meter ticks through the whole ``send_sms`` call and a little after
(the time after is not counted in its throughput), so that a tick the call's
last stretch held up is counted too. The outbox save each send schedules (1 s
later, ``SEND_SAVE_DELAY``) is made at once after it, outside the timed steps,
and its stall reported on its own line: left to its timer, it lands in
whichever step runs then, a later send's stall included.

As in ``webhook_burst``, the heap built before the measured steps (Home
Assistant's own, ~230,000 objects) is frozen (``gc.freeze()``): a full
collection of it stalls the loop 100-150 ms on a small machine, and lands in
whichever step's allocations trigger it (the outbox save's, most often).
Collections during the steps are timed and reported on their own line.

Every one of these written forms is one that skips ``phonenumbers``' parser
(``client/numbers.py``: a Georgian number written a common way, in ASCII
digits): the baseline is what the parser would cost, and the report says how
many inputs went through it.

Run from the repository root: ``.venv/bin/python -m benchmarks.bulk``.
The last line printed is ``RATIO bulk ours/phonenumbers numbers per second =
<ratio> (longest stall <a> ms, outbox save stall <b> ms; targets >= 1.0,
<= 25 ms)``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import gc
import itertools
from pathlib import Path
import sys
import time
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from homeassistant.helpers.aiohttp_client import async_get_clientsession
import phonenumbers

from benchmarks._harness import (
    API_KEY,
    SENDER,
    StallMeter,
    add_entry,
    blame_line,
    fake_in_subprocess,
    machine_line,
    median,
    print_table,
    quiet_logging,
    running_home_assistant,
    set_up,
    verdict,
)
from custom_components.smsoffice.client import async_check_numbers, check_numbers
from custom_components.smsoffice.const import DOMAIN

MESSAGE = "Water is cut off tomorrow from 10:00 to 14:00"
SEND_PATH = "/api/v2/send/"
TARGET_RATIO = 1.0
STALL_TARGET = 0.025


def written(national: str, form: int) -> str:
    """Return the 9-digit national number as people write it (form 0-7)."""
    spaced = f"{national[:3]} {national[3:5]} {national[5:7]} {national[7:]}"
    return (
        spaced,
        f"+995 {spaced}",
        f"0{national}",
        f"995{national}",
        f"00995 {national[:3]} {national[3:6]} {national[6:]}",
        f"995 {spaced}",
        f"({national[:3]}) {national[3:5]}-{national[5:7]}-{national[7:]}",
        f"{national[:3]}-{national[3:5]}-{national[5:7]}-{national[7:]}",
    )[form % 8]


def inputs(count: int) -> list[str]:
    """Return ``count`` distinct numbers in mixed forms, 1 % of them broken."""
    numbers = []
    for index in range(count):
        national = f"5{(index * 7919) % 100_000_000:08d}"  # distinct, shuffled
        if index % 100 == 99:
            broken = (national[:-1], national.replace("0", "O") + "0")[index % 2]
            numbers.append(written(broken, index))
        else:
            numbers.append(written(national, index))
    return numbers


def parsed_by_phonenumbers(raw_numbers: list[str]) -> int:
    """Return how many inputs `check_numbers` hands to `phonenumbers.parse`."""
    with patch.object(phonenumbers, "parse", wraps=phonenumbers.parse) as parse:
        check_numbers(raw_numbers)
    return parse.call_count


def phonenumbers_alone(raw_numbers: list[str]) -> int:
    """Parse and format each input with phonenumbers only; return how many parsed."""
    parsed = 0
    for raw in raw_numbers:
        try:
            number = phonenumbers.parse(raw, "GE")
        except phonenumbers.NumberParseException:
            continue
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        parsed += 1
    return parsed


@dataclass
class Sends:
    """What each measured ``send_sms`` gave: valid numbers sent, loop stalls."""

    sent: list[int] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)
    ticks: list[int] = field(default_factory=list)
    blame: Counter[str] = field(default_factory=Counter)

    saves: list[float] = field(default_factory=list)
    save_blame: Counter[str] = field(default_factory=Counter)
    gc_longest: float = 0.0
    gc_full: int = 0

    def add_gc(self, stall: StallMeter) -> None:
        """Note the garbage collections timed during a step."""
        self.gc_longest = max(self.gc_longest, stall.gc_max)
        self.gc_full += stall.gc_full

    def add(self, sent: int, stall: StallMeter) -> None:
        """Record one send and its stall meter's figures."""
        self.sent.append(sent)
        self.stalls.append(stall.max_lateness)
        self.ticks.append(stall.ticks)
        self.blame.update(stall.blame)
        self.add_gc(stall)

    def add_save(self, stall: StallMeter) -> None:
        """Record the stall of the outbox save that followed a send."""
        self.saves.append(stall.max_lateness)
        self.save_blame.update(stall.blame)
        self.add_gc(stall)


async def run(count: int, repeats: int) -> None:
    """Run the benchmark and print its report."""
    print(machine_line())
    raw_numbers = inputs(count)
    check = check_numbers(raw_numbers)
    print(
        f"bulk: {count:,} recipients in 8 written forms, {len(check.invalid):,} "
        f"broken; {repeats} repetitions (after 1 warm-up); fake gateway in its "
        f"own process\n{parsed_by_phonenumbers(raw_numbers):,} of {count:,} inputs "
        "went through phonenumbers' parser (the others skip it: Georgian numbers "
        "written a common way)"
    )
    async with fake_in_subprocess() as url, running_home_assistant() as hass:
        entry = add_entry(hass, url)
        await set_up(hass, entry)
        session = async_get_clientsession(hass)
        serial = itertools.count()
        sends = Sends()

        async def baseline() -> float:
            start = time.perf_counter()
            phonenumbers_alone(raw_numbers)
            return time.perf_counter() - start

        async def checked() -> float:
            start = time.perf_counter()
            check_numbers(raw_numbers)
            return time.perf_counter() - start

        async def checked_in_thread() -> float:
            start = time.perf_counter()
            await async_check_numbers(raw_numbers)
            return time.perf_counter() - start

        async def gateway() -> float:
            form = {
                "key": API_KEY,
                "destination": ",".join(check.valid),
                "sender": SENDER,
                "content": MESSAGE,
                "reference": f"rawbulk{next(serial):013d}",
                "urgent": "false",
                "contentType": "1",
            }
            start = time.perf_counter()
            async with session.post(url + SEND_PATH, data=form) as response:
                body = await response.read()
            elapsed = time.perf_counter() - start
            assert response.status == 200
            assert b'"Success":true' in body.replace(b" ", b"")
            return elapsed

        async def ours() -> float:
            async with StallMeter() as stall:
                start = time.perf_counter()
                response = await hass.services.async_call(
                    DOMAIN,
                    "send_sms",
                    {
                        "recipients": raw_numbers,
                        "message": MESSAGE,
                        "skip_invalid": True,
                    },
                    blocking=True,
                    return_response=True,
                )
                elapsed = time.perf_counter() - start
                # Let the tick in flight land: when the call's last stretch
                # held the loop up, that tick's lateness is the stall.
                await asyncio.sleep(2 * stall.interval)
            assert isinstance(response, dict)
            sends.add(len(response["recipients"]), stall)
            # The save the send scheduled, now rather than when its timer
            # fires in the middle of another step.
            async with StallMeter() as saving:
                await entry.runtime_data.tracker.outbox.async_save_now()
                await asyncio.sleep(2 * saving.interval)
            sends.add_save(saving)
            return elapsed

        kinds: dict[str, Callable[[], Awaitable[float]]] = {
            "phonenumbers parse+format alone": baseline,
            "check_numbers alone": checked,
            "async_check_numbers (worker thread)": checked_in_thread,
            "raw POST to the gateway": gateway,
            "ours (send_sms, end to end)": ours,
        }
        times = await rotate(kinds, repeats)
        await hass.async_block_till_done()

    report(times, count, sends)


async def rotate(
    kinds: dict[str, Callable[[], Awaitable[float]]], repeats: int
) -> dict[str, list[float]]:
    """Time each kind once per repetition, in rotating order, after a warm-up.

    The heap built before is frozen meanwhile (see the module's docstring).
    """
    times: dict[str, list[float]] = {name: [] for name in kinds}
    names = list(kinds)
    gc.collect()
    gc.freeze()
    await asyncio.sleep(0.05)  # the tick that spanned the collection ends
    try:
        for number in range(1 + repeats):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                elapsed = await kinds[name]()
                if number:
                    times[name].append(elapsed)
                await asyncio.sleep(0)
    finally:
        gc.unfreeze()
    return times


def report(
    times: dict[str, list[float]],
    count: int,
    sends: Sends,
) -> None:
    """Print the table, the stall and the ratio."""
    rows = []
    rates: dict[str, float] = {}
    for name, values in times.items():
        seconds = median(values)
        rates[name] = count / seconds
        rows.append([name, seconds * 1000, min(values) * 1000, rates[name]])
    print_table(["step", "median ms", "best ms", "numbers/s"], rows)
    sent, stalls = sends.sent[-1], sends.stalls
    print(
        f"sent {sent:,} valid of {count:,} inputs per send_sms "
        f"({count - sent:,} refused); longest event-loop stall during one "
        f"send_sms: {max(stalls) * 1000:,.0f} ms (median {median(stalls) * 1000:,.0f} ms)"
    )
    print(
        "longest stall of each send_sms (ms): "
        + ", ".join(f"{stall * 1000:,.0f}" for stall in stalls)
        + f"; ticks of {StallMeter().interval * 1000:.0f} ms per send_sms: "
        + ", ".join(str(tick) for tick in sends.ticks)
    )
    ratio = rates["ours (send_sms, end to end)"] / rates[next(iter(times))]
    print(f"stall samples (10 ms each) during send_sms: {blame_line(sends.blame)}")
    print(
        "then the outbox save each send schedules (outbox.py, 1 s after it): "
        f"longest stall {max(sends.saves) * 1000:,.0f} ms "
        f"(median {median(sends.saves) * 1000:,.0f} ms); stall samples: "
        f"{blame_line(sends.save_blame)}"
    )
    print(
        "garbage collections during the sends and saves (heap built before them "
        f"frozen): longest {sends.gc_longest * 1000:.0f} ms, {sends.gc_full} full"
    )
    stall, save = max(stalls), max(sends.saves)
    print(
        f"stall targets (none over {STALL_TARGET * 1000:.0f} ms): send -> "
        f"{verdict(stall <= STALL_TARGET)}, save -> {verdict(save <= STALL_TARGET)}"
    )
    print(f"throughput target -> {verdict(ratio >= TARGET_RATIO)}")
    print(
        f"RATIO bulk ours/phonenumbers numbers per second = {ratio:.2f} "
        f"(longest stall {stall * 1000:.0f} ms, outbox save stall "
        f"{save * 1000:.0f} ms; targets >= {TARGET_RATIO}, "
        f"<= {STALL_TARGET * 1000:.0f} ms)"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    quiet_logging()
    asyncio.run(run(args.count, args.repeats))


if __name__ == "__main__":
    main()
