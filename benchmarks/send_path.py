"""Send path: one ``smsoffice.send_sms`` to one recipient, against a raw POST.

The entry is set up against the fake gateway, which runs standalone in its own
process (``python -m tests.fake_smsoffice``), so its work does not share Home
Assistant's event loop. Each of N rounds (default 300, after a warm-up) times,
in alternating order:

- ours: ``hass.services.async_call("smsoffice", "send_sms", ..., blocking=True,
  return_response=True)`` to one recipient typed as people type it;
- the client alone: the entry's ``SmsOfficeClient.send`` (to split the overhead
  between the client and the action around it);
- raw: an aiohttp POST of the same form (already normalised number, fresh
  reference) to the same gateway, through Home Assistant's shared client
  session, reading the answer.

Then the outbox is filled with 19,000 records (one ``send_sms``; it keeps at
most 20,000) and ours and raw are timed again (a third as many rounds): a send
must not grow slower as the outbox fills.

Run from the repository root: ``.venv/bin/python -m benchmarks.send_path``.
The last line printed is ``RATIO send_path ours/raw median latency = <the
larger of the two ratios> (empty <r1>, full outbox <r2>; target <= 1.3)``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import itertools
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from homeassistant.helpers.aiohttp_client import async_get_clientsession

from benchmarks._harness import (
    API_KEY,
    SENDER,
    add_entry,
    fake_in_subprocess,
    machine_line,
    median,
    percentile,
    print_table,
    quiet_logging,
    running_home_assistant,
    set_up,
    verdict,
)
from custom_components.smsoffice.const import DOMAIN

RECIPIENT_AS_TYPED = "555 12 34 56"
RECIPIENT = "995555123456"
MESSAGE = "The alarm went off at the front door"
SEND_PATH = "/api/v2/send/"
TARGET_RATIO = 1.3


async def run(runs: int, warmup: int, outbox: int) -> None:
    """Run the benchmark and print its report."""
    print(machine_line())
    print(
        f"send path: {runs} rounds (after {warmup} warm-up), one recipient; "
        "fake gateway in its own process"
    )
    async with fake_in_subprocess() as url, running_home_assistant() as hass:
        entry = add_entry(hass, url)
        await set_up(hass, entry)
        session = async_get_clientsession(hass)
        client = entry.runtime_data.client
        serial = itertools.count()

        async def ours() -> None:
            response = await hass.services.async_call(
                DOMAIN,
                "send_sms",
                {"recipients": [RECIPIENT_AS_TYPED], "message": MESSAGE},
                blocking=True,
                return_response=True,
            )
            assert isinstance(response, dict)
            assert response["recipients"] == [RECIPIENT]

        async def client_only() -> None:
            result = await client.send(RECIPIENT_AS_TYPED, MESSAGE, SENDER)
            assert result.destinations == [RECIPIENT]

        async def raw() -> None:
            form = {
                "key": API_KEY,
                "destination": RECIPIENT,
                "sender": SENDER,
                "content": MESSAGE,
                "reference": f"raw{next(serial):017d}",
                "urgent": "false",
                "contentType": "1",
            }
            async with session.post(url + SEND_PATH, data=form) as response:
                body = await response.read()
            assert response.status == 200
            assert b'"Success":true' in body.replace(b" ", b"")

        kinds: dict[str, Callable[[], Awaitable[None]]] = {
            "ours (send_sms action)": ours,
            "client.send alone": client_only,
            "raw aiohttp POST": raw,
        }
        times = await alternate(kinds, warmup, runs)
        # Again with a full outbox: what a long-running installation has.
        await hass.services.async_call(
            DOMAIN,
            "send_sms",
            {
                "recipients": [f"995{577_000_000 + n:09d}" for n in range(outbox)],
                "message": MESSAGE,
            },
            blocking=True,
        )
        await hass.async_block_till_done()
        full = await alternate(
            {
                f"ours, {outbox:,} records in the outbox": ours,
                "raw aiohttp POST (again)": raw,
            },
            warmup,
            runs // 3,
        )
        await hass.async_block_till_done()
    report(times | full)


async def alternate(
    kinds: dict[str, Callable[[], Awaitable[None]]], warmup: int, runs: int
) -> dict[str, list[float]]:
    """Time each kind ``runs`` times, in rotating order, after ``warmup`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in kinds}
    names = list(kinds)
    for number in range(warmup + runs):
        # Rotate the order so that no kind always goes first.
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            await kinds[name]()
            elapsed = time.perf_counter() - start
            if number >= warmup:
                times[name].append(elapsed)
    return times


def report(times: dict[str, list[float]]) -> None:
    """Print the table and the ratio."""
    rows = [
        [
            name,
            len(values),
            median(values) * 1000,
            percentile(values, 0.10) * 1000,
            percentile(values, 0.90) * 1000,
            percentile(values, 0.99) * 1000,
        ]
        for name, values in times.items()
    ]
    print_table(["path", "runs", "median ms", "p10 ms", "p90 ms", "p99 ms"], rows)
    ours_times, client_times, raw_times, full_times, raw_again = times.values()
    ours, client, raw = median(ours_times), median(client_times), median(raw_times)
    full, raw2 = median(full_times), median(raw_again)
    empty_ratio, full_ratio = ours / raw, full / raw2
    print(
        f"median overhead of send_sms over the raw POST: {(ours - raw) * 1000:+.3f} ms "
        f"(client {(client - raw) * 1000:+.3f} ms, action and outbox around it "
        f"{(ours - client) * 1000:+.3f} ms): {empty_ratio:.2f}x the POST; target "
        f"<= {TARGET_RATIO} -> {verdict(empty_ratio <= TARGET_RATIO)}"
    )
    print(
        f"with a full outbox: overhead {(full - raw2) * 1000:+.3f} ms, "
        f"{full_ratio:.2f}x -> {verdict(full_ratio <= TARGET_RATIO)}"
    )
    print(
        "RATIO send_path ours/raw median latency = "
        f"{max(empty_ratio, full_ratio):.2f} (empty {empty_ratio:.2f}, full outbox "
        f"{full_ratio:.2f}; target <= {TARGET_RATIO})"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--outbox", type=int, default=19_000)
    args = parser.parse_args()
    quiet_logging()
    asyncio.run(run(args.runs, args.warmup, args.outbox))


if __name__ == "__main__":
    main()
