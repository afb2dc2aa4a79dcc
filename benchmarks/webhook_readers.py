"""Webhook readers: the hand-written query reader and timestamp parser against the standard ones.

Issue #12 asked to replace the webhook's hand-written reading of the query
(`_add_form_fields`) and of the timestamp (`datetime(int(...))` then, now
`datetime.fromisoformat` of ISO 8601's basic format) by ``request.query`` /
``await request.post()`` and ``datetime.strptime``, unless they earn at least
10 % of throughput. This measures it in one run: our
webhook as it is, and a second webhook on another id with the standard readers
(``standard_handle`` below: the same checks, only the reading differs) feeding
the same delivery tracker. Each gets its own 10,000 outbox records (two
references), so both do the same work per callback. The minimal and the bare
handlers of ``webhook_burst`` run alongside, for context.

Rounds rotate the order of the four handlers and reverse it every other
round. Besides callbacks per second of wall time, callbacks per second of Home
Assistant's CPU time are printed: on a crowded machine the process gets a
varying part of a core, and that figure is steadier.

Run from the repository root: ``.venv/bin/python -m benchmarks.webhook_readers``.
The last line printed is
``RATIO webhook_readers hand-written/standard throughput = ...``.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
import gc
from http import HTTPStatus
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_exceptions import HTTPRequestEntityTooLarge
from aiohttp.web_protocol import RequestPayloadError
from homeassistant.components import webhook
from homeassistant.core import Event, HomeAssistant, callback

from benchmarks._harness import (
    Clock,
    LoadGenerator,
    StallMeter,
    add_entry,
    fake_in_process,
    http_port,
    machine_line,
    median,
    print_table,
    quiet_logging,
    running_home_assistant,
    set_up,
)
from benchmarks.webhook_burst import (
    BARE_WEBHOOK_ID,
    BURST_TIMEOUT,
    MINIMAL_EVENT,
    MINIMAL_WEBHOOK_ID,
    Phase,
    bare_handler,
    callback_paths,
    destinations,
    minimal_handler,
    send_to_all,
)
from custom_components.smsoffice.client import MAX_REFERENCE_LENGTH, DeliveryStatus
from custom_components.smsoffice.const import EVENT_DELIVERY_STATUS
from custom_components.smsoffice.delivery import get_tracker
from custom_components.smsoffice.models import DeliveryReport
from custom_components.smsoffice.webhook import (
    _DESTINATION,
    _TIMESTAMP,
    GEORGIA,
    MAX_BODY_BYTES,
    MalformedCallbackError,
    ReportHandler,
)

STANDARD_WEBHOOK_ID = "bench-standard-readers"
KEEP_IF = 1.10  # the hand-written readers stay if they earn at least 10 %


# ------------------------------------------- the webhook with standard readers


async def standard_handle(
    request: web.Request, on_report: ReportHandler
) -> web.Response:
    """`webhook.handle_callback` with the standard readers."""
    try:
        report = standard_parse_report(await standard_read_params(request))
    except MalformedCallbackError as err:
        return web.Response(status=HTTPStatus.BAD_REQUEST, text=str(err))
    on_report(report)
    return web.Response(text="OK")


async def standard_read_params(request: web.Request) -> dict[str, str]:
    """The query by ``request.query``, a POST's form by ``request.post()``."""
    if len(request.rel_url.raw_query_string) > MAX_BODY_BYTES:
        raise MalformedCallbackError("query too long")
    params: dict[str, str] = {}
    for name, value in request.query.items():
        params.setdefault(name.lower(), value)
    if request.method == "POST" and request.body_exists:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise MalformedCallbackError("body too large")
        if request.content_type == "multipart/form-data":
            raise MalformedCallbackError("multipart body")
        limited = request.clone(client_max_size=MAX_BODY_BYTES + 1)
        try:
            form = await limited.post()
        except HTTPRequestEntityTooLarge as err:
            raise MalformedCallbackError("body too large") from err
        except (UnicodeDecodeError, LookupError) as err:
            raise MalformedCallbackError("body is not UTF-8") from err
        except (RequestPayloadError, HttpProcessingError) as err:
            raise MalformedCallbackError("unreadable body") from err
        for name, field in form.items():
            if isinstance(field, str):
                params.setdefault(name.lower(), field)
    return params


def standard_parse_report(params: dict[str, str]) -> DeliveryReport:
    """`webhook.parse_report` with ``strptime`` for the timestamp."""
    reference = params.get("reference", "").strip()
    if not reference or len(reference) > MAX_REFERENCE_LENGTH:
        raise MalformedCallbackError("missing or invalid reference")
    destination = params.get("destination", "").strip().removeprefix("+")
    if not _DESTINATION.fullmatch(destination):
        raise MalformedCallbackError("missing or invalid destination")
    status = DeliveryStatus.parse(params.get("status", ""))
    if status is None:
        raise MalformedCallbackError("missing or unknown status")
    raw_time = params.get("timestamp", "").strip()
    timestamp: datetime | None = None
    if raw_time:
        if not _TIMESTAMP.fullmatch(raw_time):
            raise MalformedCallbackError("invalid timestamp")
        try:
            timestamp = datetime.strptime(raw_time, "%Y%m%d%H%M%S").replace(
                tzinfo=GEORGIA
            )
        except ValueError as err:
            raise MalformedCallbackError("invalid timestamp") from err
    reason = params.get("reason", "").strip()[:200]
    operator = params.get("operator", "").strip()[:20]
    return DeliveryReport(reference, destination, status, reason, timestamp, operator)


# ------------------------------------------------------------------ the run


async def run(count: int, concurrency: int, warmup: int, rounds: int) -> None:
    """Run the benchmark and print its report."""
    print(machine_line())
    print(
        f"webhook readers: {count:,} callbacks each into our webhook (hand-written "
        f"readers) and into one with the standard readers, at concurrency "
        f"{concurrency}, in {rounds} rounds with the minimal and bare handlers"
    )
    async with (
        fake_in_process() as fake,
        running_home_assistant() as hass,
        LoadGenerator.running() as loadgen,
    ):
        for webhook_id, handler in (
            (BARE_WEBHOOK_ID, bare_handler),
            (MINIMAL_WEBHOOK_ID, minimal_handler),
        ):
            webhook.async_register(
                hass,
                "benchmark",
                webhook_id,
                webhook_id,
                handler,
                local_only=False,
                allowed_methods=("GET", "POST"),
            )
        entry = add_entry(hass, fake.url)
        await set_up(hass, entry)
        tracker = get_tracker(hass, entry.entry_id)
        assert tracker is not None

        async def handle_standard(
            hass: HomeAssistant, webhook_id: str, request: web.Request
        ) -> web.Response:
            return await standard_handle(request, tracker.async_handle_webhook)

        webhook.async_register(
            hass,
            "benchmark",
            "Standard readers",
            STANDARD_WEBHOOK_ID,
            handle_standard,
            local_only=False,
            allowed_methods=("GET", "POST"),
        )
        fired: dict[str, list[None]] = {"hand": [], "std": [], "minimal": []}

        @callback
        def count_ours(event: Event) -> None:
            fired[event.data["reference"].rpartition("-")[2]].append(None)

        @callback
        def count_minimal(event: Event) -> None:
            fired["minimal"].append(None)

        hass.bus.async_listen(EVENT_DELIVERY_STATUS, count_ours)
        hass.bus.async_listen(MINIMAL_EVENT, count_minimal)
        warm = destinations(577_000_000, warmup)
        burst = destinations(555_000_000, count)
        for reference, numbers in (
            ("warm-hand", warm),
            ("warm-std", warm),
            ("burst-hand", burst),
            ("burst-std", burst),
        ):
            await send_to_all(hass, reference, numbers)
        await hass.async_block_till_done()
        await asyncio.sleep(3)  # the outbox's delayed save, before any burst
        await hass.async_block_till_done()

        our_id = entry.data["webhook_id"]
        legs = [
            (Phase("bare OK handler"), BARE_WEBHOOK_ID, "burst-hand", None),
            (Phase("minimal handler"), MINIMAL_WEBHOOK_ID, "burst-hand", "minimal"),
            (Phase("ours, hand-written"), our_id, "burst-hand", "hand"),
            (Phase("ours, standard"), STANDARD_WEBHOOK_ID, "burst-std", "std"),
        ]
        await measure(hass, loadgen, legs, fired, (warm, burst), concurrency, rounds)
    report([leg[0] for leg in legs])


async def measure(  # noqa: PLR0917 - the run's parts
    hass: HomeAssistant,
    loadgen: LoadGenerator,
    legs: list[tuple[Phase, str, str, str | None]],
    fired: dict[str, list[None]],
    numbers: tuple[list[str], list[str]],
    concurrency: int,
    rounds: int,
) -> None:
    """Warm each leg up, then run the rotating rounds."""
    warm, burst = numbers
    count = len(burst)
    port = http_port(hass)
    size = -(-count // rounds)
    async with StallMeter() as stall:
        for _, webhook_id, reference, _ in legs:
            warm_reference = reference.replace("burst", "warm")
            await loadgen.burst(
                port,
                callback_paths(webhook_id, warm_reference, warm),
                concurrency,
                BURST_TIMEOUT,
            )
        await hass.async_block_till_done()
        gc.collect()
        gc.freeze()
        await asyncio.sleep(0.05)
        paths = [callback_paths(leg[1], leg[2], burst) for leg in legs]
        for number in range(rounds):
            order = list(range(len(legs)))
            order = order[number % len(order) :] + order[: number % len(order)]
            if number % 2:
                order.reverse()
            chunk = slice(number * size, (number + 1) * size)
            for index in order:
                phase, _, _, key = legs[index]
                before = len(fired[key]) if key else 0
                stall.reset()
                with Clock() as clock:
                    result = await loadgen.burst(
                        port, paths[index][chunk], concurrency, BURST_TIMEOUT
                    )
                phase.add(result, clock, stall)
                if key:
                    phase.events += len(fired[key]) - before
        await hass.async_block_till_done()
        gc.unfreeze()


def report(phases: list[Phase]) -> None:
    """Print the table and the ratios."""
    _, minimal, hand, standard = phases
    print_table(
        ["handler", "sent", "200 OK", "events", "callbacks/s", "per CPU s", "HA CPU"],
        [
            [
                phase.name,
                phase.sent,
                phase.ok,
                phase.events,
                phase.throughput,
                phase.per_cpu_second,
                f"{phase.cpu / phase.wall:.0%}" if phase.wall else "-",
            ]
            for phase in phases
        ],
    )
    for phase in (minimal, hand, standard):
        lost = phase.sent - phase.events
        print(f"{phase.name}: {lost:,} callbacks without an event")
    per_round = [
        mine / theirs
        for mine, theirs in zip(hand.throughputs, standard.throughputs, strict=True)
        if theirs
    ]
    print(
        f"per-round hand-written/standard: median {median(per_round):.2f}, "
        f"min {min(per_round):.2f}, max {max(per_round):.2f}"
    )
    cpu_ratio = (
        hand.per_cpu_second / standard.per_cpu_second if standard.per_cpu_second else 0
    )
    print(
        f"per second of Home Assistant's CPU: hand-written/standard {cpu_ratio:.2f}; "
        f"hand-written/minimal {hand.per_cpu_second / minimal.per_cpu_second:.2f}, "
        f"standard/minimal {standard.per_cpu_second / minimal.per_cpu_second:.2f}"
    )
    ratio = hand.throughput / standard.throughput if standard.throughput else 0.0
    print(
        f"RATIO webhook_readers hand-written/standard throughput = {ratio:.2f} "
        f"(keep the hand-written readers if >= {KEEP_IF})"
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
