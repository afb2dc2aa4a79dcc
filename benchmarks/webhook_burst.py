"""Webhook burst: 10,000 delivery callbacks at concurrency 50 into a running Home Assistant.

Home Assistant's real HTTP server listens on a free loopback port; the entry is
set up against the fake gateway, and the outbox is filled first by one
``smsoffice.send_sms`` to 10,000 recipients, so every callback matches a record
and must fire one ``smsoffice_delivery_status`` event (counted by a bus
listener) and write the state of one delivery event entity: the account's, as
none of the 10,000 numbers is a saved recipient (a saved recipient's report
takes the same path to her own entity, by one dict lookup).

The baseline is a *minimal correct handler*: a webhook handler registered with
``webhook.async_register`` on another id that reads the same query with
``request.query``, fires one bus event and writes one entity state
(``hass.states.async_set``) per callback, and answers ``OK``: the work every
report must cost, with nothing else. A bare handler that only answers ``OK``
(a third id) is measured too, for context: what any webhook request costs.
All three are sent the very same query strings.

The machine is small and shared, so the three are not measured one after the
other but in alternating rounds (by default 10 rounds of 1,000 callbacks each,
the order reversed every other round: ABC CBA, each round a burst at
concurrency 50): a neighbour's load then hits all alike. Throughput is
callbacks answered over the summed burst times; latencies are pooled over the
rounds.

The load comes from a separate process (``benchmarks/_loadgen.py``: raw
keep-alive HTTP/1.1 over asyncio streams, 50 connections), so on two cores the
generator does not share Home Assistant's core. An event-loop ticker (lateness
of ``asyncio.sleep(0.005)``) measures the longest stall of each phase, and
garbage collections are timed. The heap built before the rounds is frozen
(``gc.freeze()``) so that a full collection of Home Assistant's own heap, which
lands in whichever round triggers it, does not decide the stall figure.

Run from the repository root: ``.venv/bin/python -m benchmarks.webhook_burst``
(or ``.venv/bin/python benchmarks/webhook_burst.py``). The last line printed is
``RATIO webhook_burst ours/minimal throughput = ...``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
import gc
from pathlib import Path
import sys
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util

from benchmarks._harness import (
    Clock,
    LoadGenerator,
    StallMeter,
    add_entry,
    blame_line,
    fake_in_process,
    http_port,
    machine_line,
    median,
    percentile,
    print_table,
    quiet_logging,
    running_home_assistant,
    set_up,
    verdict,
)
from custom_components.smsoffice.const import DOMAIN, EVENT_DELIVERY_STATUS

BARE_WEBHOOK_ID = "bench-bare-ok-handler"
MINIMAL_WEBHOOK_ID = "bench-minimal-handler"
MINIMAL_EVENT = "bench_minimal_delivery"
MINIMAL_ENTITY = "event.bench_minimal_delivery"
BURST_REFERENCE = "bench-burst"
WARMUP_REFERENCE = "bench-warmup"
TIMESTAMP = "20250102030405"
OPERATOR = "28202"
TARGET_RATIO = 0.9
TARGET_STALL = 0.050
BURST_TIMEOUT = 60.0


def destinations(first: int, count: int) -> list[str]:
    """Return ``count`` distinct normalised Georgian mobile numbers."""
    return [f"995{first + index:09d}" for index in range(count)]


def callback_paths(webhook_id: str, reference: str, numbers: list[str]) -> list[str]:
    """Return one callback path (with its query) per number, as smsoffice.ge sends."""
    return [
        f"/api/webhook/{webhook_id}?"
        + urlencode(
            {
                "reference": reference,
                "status": "delivered",
                "reason": "",
                "destination": number,
                "timestamp": TIMESTAMP,
                "operator": OPERATOR,
            }
        )
        for number in numbers
    ]


async def bare_handler(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    """Answer OK and do nothing else: what any webhook request costs (context)."""
    return web.Response(text="OK")


async def minimal_handler(
    hass: HomeAssistant, webhook_id: str, request: web.Request
) -> web.Response:
    """Read the query, fire one bus event, write one entity state: the baseline.

    The least a correct handler must do per report: no checks, no outbox.
    """
    query = request.query
    data = {
        "reference": query.get("reference", ""),
        "destination": query.get("destination", ""),
        "status": query.get("status", ""),
        "reason": query.get("reason", ""),
        "timestamp": query.get("timestamp", ""),
        "operator": query.get("operator", ""),
    }
    hass.bus.async_fire(MINIMAL_EVENT, data)
    hass.states.async_set(
        MINIMAL_ENTITY,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        {"event_type": data["status"], **data},
    )
    return web.Response(text="OK")


async def send_to_all(hass: HomeAssistant, reference: str, numbers: list[str]) -> None:
    """Put one message per number in the outbox through the real action."""
    await hass.services.async_call(
        DOMAIN,
        "send_sms",
        {"recipients": numbers, "message": "Benchmark", "reference": reference},
        blocking=True,
        return_response=True,
    )


class Phase:
    """What one handler got over its rounds: pooled latencies, times, counts."""

    def __init__(self, name: str) -> None:
        """Nothing measured yet."""
        self.name = name
        self.sent = 0
        self.ok = 0
        self.events = 0
        self.elapsed = 0.0
        self.wall = 0.0
        self.cpu = 0.0
        self.client_cpu = 0.0
        self.stall = 0.0
        self.stall_cpu = 0.0
        self.gc_max = 0.0
        self.gc_full = 0
        self.blame: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.throughputs: list[float] = []
        self.bodies: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.timed_out = False

    def add(self, result: dict[str, Any], clock: Clock, stall: StallMeter) -> None:
        """Add one round's measurements."""
        answered = [value for value in result["latencies"] if value is not None]
        self.sent += len(result["latencies"])
        self.ok += int(result["statuses"].get("200", 0))
        self.elapsed += result["elapsed"]
        self.wall += clock.wall
        self.cpu += clock.cpu
        self.client_cpu += result["cpu"]
        self.stall = max(self.stall, stall.max_lateness)
        self.stall_cpu = max(self.stall_cpu, stall.max_cpu)
        self.gc_max = max(self.gc_max, stall.gc_max)
        self.gc_full += stall.gc_full
        self.blame.update(stall.blame)
        self.latencies.extend(answered)
        self.throughputs.append(len(answered) / result["elapsed"])
        self.bodies.update(result["bodies"])
        self.errors.update(result["errors"])
        self.timed_out = self.timed_out or result["timed_out"]

    @property
    def throughput(self) -> float:
        """Return callbacks answered per second over all rounds."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Return callbacks answered per second of Home Assistant's CPU time.

        What the throughput would be with a whole core: on a crowded machine,
        where the process gets a varying part of a core, a steadier figure.
        """
        return len(self.latencies) / self.cpu if self.cpu else 0.0

    def row(self) -> list[object]:
        """Return the table row."""
        return [
            self.name,
            self.sent,
            self.ok,
            self.events,
            self.elapsed,
            self.throughput,
            self.per_cpu_second,
            percentile(self.latencies, 0.50) * 1000,
            percentile(self.latencies, 0.99) * 1000,
            self.stall * 1000,
            self.stall_cpu * 1000,
            self.gc_max * 1000,
            f"{self.cpu / self.wall:.0%}" if self.wall else "-",
            f"{self.client_cpu / self.elapsed:.0%}" if self.elapsed else "-",
        ]


async def run(count: int, concurrency: int, warmup: int, rounds: int) -> None:
    """Run the benchmark and print its report."""
    print(machine_line())
    print(
        f"webhook burst: {count:,} callbacks at concurrency {concurrency}, in "
        f"{rounds} rounds alternating with the minimal and the bare handler "
        f"(ABC CBA order); "
        f"warm-up {warmup:,} each; load generator: separate process, raw HTTP/1.1"
    )
    async with (
        fake_in_process() as fake,
        running_home_assistant() as hass,
        LoadGenerator.running() as loadgen,
    ):
        webhook.async_register(
            hass,
            "benchmark",
            "Bare OK handler",
            BARE_WEBHOOK_ID,
            bare_handler,
            local_only=False,
            allowed_methods=("GET", "POST"),
        )
        webhook.async_register(
            hass,
            "benchmark",
            "Minimal correct handler",
            MINIMAL_WEBHOOK_ID,
            minimal_handler,
            local_only=False,
            allowed_methods=("GET", "POST"),
        )
        entry = add_entry(hass, fake.url)
        await set_up(hass, entry)
        our_id = entry.data["webhook_id"]

        events: list[str] = []
        minimal_events: list[str] = []

        @callback
        def count_event(event: Event) -> None:
            events.append(event.data.get("reference", ""))

        @callback
        def count_minimal_event(event: Event) -> None:
            minimal_events.append(event.data.get("reference", ""))

        hass.bus.async_listen(EVENT_DELIVERY_STATUS, count_event)
        hass.bus.async_listen(MINIMAL_EVENT, count_minimal_event)

        warm_numbers = destinations(577_000_000, warmup)
        burst_numbers = destinations(555_000_000, count)
        with Clock() as fill:
            await send_to_all(hass, WARMUP_REFERENCE, warm_numbers)
            await send_to_all(hass, BURST_REFERENCE, burst_numbers)
            await hass.async_block_till_done()
        print(
            f"outbox filled through send_sms ({warmup + count:,} recipients) "
            f"in {fill.wall:.2f} s"
        )
        # Let the outbox's delayed save of the fill happen before any burst.
        await asyncio.sleep(3)
        await hass.async_block_till_done()

        bare, minimal, ours, total = await measure(
            hass,
            loadgen,
            count=count,
            concurrency=concurrency,
            rounds=rounds,
            targets=(our_id, burst_numbers, warm_numbers),
            events=(events, minimal_events),
        )
    report(bare, minimal, ours, total)


async def measure(
    hass: HomeAssistant,
    loadgen: LoadGenerator,
    *,
    count: int,
    concurrency: int,
    rounds: int,
    targets: tuple[str, list[str], list[str]],
    events: tuple[list[str], list[str]],
) -> tuple[Phase, Phase, Phase, float]:
    """Warm up, then run the alternating rounds; return the three phases and the time."""
    our_id, burst_numbers, warm_numbers = targets
    warmup = len(warm_numbers)
    port = http_port(hass)
    our_events, minimal_events = events
    bare_paths = callback_paths(BARE_WEBHOOK_ID, BURST_REFERENCE, burst_numbers)
    minimal_paths = callback_paths(MINIMAL_WEBHOOK_ID, BURST_REFERENCE, burst_numbers)
    our_paths = callback_paths(our_id, BURST_REFERENCE, burst_numbers)
    size = -(-count // rounds)
    bare = Phase("bare OK handler")
    minimal = Phase("minimal handler")
    ours = Phase("ours (smsoffice)")
    counted = {id(bare): None, id(minimal): minimal_events, id(ours): our_events}

    with Clock() as total:
        async with StallMeter() as stall:
            # Warm-ups: connections, code paths, caches. Not reported.
            await loadgen.burst(port, bare_paths[:warmup], concurrency, BURST_TIMEOUT)
            await loadgen.burst(
                port, minimal_paths[:warmup], concurrency, BURST_TIMEOUT
            )
            await loadgen.burst(
                port,
                callback_paths(our_id, WARMUP_REFERENCE, warm_numbers),
                concurrency,
                BURST_TIMEOUT,
            )
            await hass.async_block_till_done()
            # Freeze the heap built so far (Home Assistant, the outbox, these
            # lists): a full collection of it would land in whichever round
            # happens to trigger it. Collections during the rounds are timed.
            gc.collect()
            gc.freeze()
            # The ticker's tick that spanned this collection (~150 ms of Home
            # Assistant's heap) ends now, before the first round resets it.
            await asyncio.sleep(0.05)
            for number in range(rounds):
                chunk = slice(number * size, (number + 1) * size)
                order = [
                    (bare, bare_paths),
                    (minimal, minimal_paths),
                    (ours, our_paths),
                ]
                if number % 2:
                    order.reverse()
                for phase, paths in order:
                    fired = counted[id(phase)]
                    events_before = len(fired) if fired is not None else 0
                    stall.reset()
                    with Clock() as clock:
                        result = await loadgen.burst(
                            port, paths[chunk], concurrency, BURST_TIMEOUT
                        )
                    phase.add(result, clock, stall)
                    if fired is not None:
                        phase.events += len(fired) - events_before
            await hass.async_block_till_done()
            gc.unfreeze()
    return bare, minimal, ours, total.wall


def report(bare: Phase, minimal: Phase, ours: Phase, total: float) -> None:
    """Print the table, the checks against the targets and the ratio."""
    print_table(
        [
            "handler",
            "sent",
            "200 OK",
            "events",
            "seconds",
            "callbacks/s",
            "per CPU s",
            "p50 ms",
            "p99 ms",
            "stall ms",
            "stall CPU ms",
            "GC max ms",
            "HA CPU",
            "loadgen CPU",
        ],
        [bare.row(), minimal.row(), ours.row()],
    )
    for phase in (bare, minimal, ours):
        if phase.errors or phase.timed_out:
            print(
                f"{phase.name}: errors {dict(phase.errors)}, timed out {phase.timed_out}"
            )
    print(f"answer bodies of ours: {dict(ours.bodies)}; bursts took {total:.1f} s")
    ratio = ours.throughput / minimal.throughput if minimal.throughput else 0.0
    for name, base in (("ours/minimal", minimal), ("ours/bare", bare)):
        per_round = [
            mine / theirs
            for mine, theirs in zip(ours.throughputs, base.throughputs, strict=True)
            if theirs
        ]
        print(
            f"per-round throughput ratios {name}: median {median(per_round):.2f}, "
            f"min {min(per_round):.2f}, max {max(per_round):.2f}"
        )
    print(
        "context: ours/bare throughput "
        f"{ours.throughput / bare.throughput if bare.throughput else 0.0:.2f}, "
        "minimal/bare "
        f"{minimal.throughput / bare.throughput if bare.throughput else 0.0:.2f}"
    )

    def cpu_ratio(base: Phase) -> float:
        return ours.per_cpu_second / base.per_cpu_second if base.per_cpu_second else 0.0

    print(
        f"per second of Home Assistant's CPU: ours/minimal {cpu_ratio(minimal):.2f}, "
        f"ours/bare {cpu_ratio(bare):.2f}"
    )
    for phase in (minimal, ours):
        lost = phase.sent - phase.events
        print(
            f"{phase.name}: events fired {phase.events:,} for {phase.sent:,} "
            f"callbacks sent ({phase.ok:,} answered 200): lost {lost:,} -> "
            f"{verdict(lost == 0 and phase.ok == phase.sent)}"
        )
    print(
        f"longest event-loop stall during our rounds {ours.stall * 1000:.1f} ms "
        f"wall, {ours.stall_cpu * 1000:.1f} ms of loop CPU "
        f"(minimal rounds: {minimal.stall * 1000:.1f} ms, "
        f"{minimal.stall_cpu * 1000:.1f} ms; bare rounds: {bare.stall * 1000:.1f} ms, "
        f"{bare.stall_cpu * 1000:.1f} ms); "
        f"target <= {TARGET_STALL * 1000:.0f} ms -> {verdict(ours.stall <= TARGET_STALL)}"
    )
    print(
        "garbage collections during the rounds (heap frozen before them): "
        + "; ".join(
            f"{phase.name} {phase.gc_full} full, longest {phase.gc_max * 1000:.1f} ms"
            for phase in (ours, minimal, bare)
        )
    )
    for phase in (ours, minimal, bare):
        print(
            f"stall samples (10 ms each) in {phase.name} rounds: "
            f"{blame_line(phase.blame)}"
        )
    print(f"throughput target -> {verdict(ratio >= TARGET_RATIO)}")
    print(
        f"RATIO webhook_burst ours/minimal throughput = {ratio:.2f} "
        f"(target >= {TARGET_RATIO})"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    quiet_logging()
    asyncio.run(run(args.count, args.concurrency, args.warmup, args.rounds))


if __name__ == "__main__":
    main()
