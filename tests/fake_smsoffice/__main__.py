"""Run the fake smsoffice.ge gateway as a standalone development server.

Example::

    python -m tests.fake_smsoffice --port 8181 --key dev-key --sender HomeAlarm

It prints one line with its base URL and key(s), logs each request (method,
path and endpoint, never the key) and runs until Ctrl-C or SIGTERM. Its
profile page, ``/profile``, sets the callback URL and what happens to messages
to a number (``--outcome 995599112233=undelivered`` does the same at start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .server import OUTCOMES, FakeSmsOffice, number_as_sent

DEFAULT_KEYS = ("test-api-key",)
DEFAULT_SENDERS = ("smsoffice", "HomeAlarm")


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_smsoffice",
        description="Fake smsoffice.ge SMS gateway for development.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8181, help="0 picks a free port")
    parser.add_argument(
        "--key",
        action="append",
        dest="keys",
        help="accepted API key (repeatable; default test-api-key)",
    )
    parser.add_argument("--balance", type=int, default=1000)
    parser.add_argument(
        "--sender",
        action="append",
        dest="senders",
        help="approved sender name (repeatable; default smsoffice and HomeAlarm)",
    )
    parser.add_argument("--callback-url", default=None)
    parser.add_argument("--callback-delay", type=float, default=1.0)
    parser.add_argument("--status-case", choices=("lower", "title"), default="lower")
    parser.add_argument(
        "--outcome",
        action="append",
        default=[],
        metavar="NUMBER=OUTCOME",
        help=f"what happens to messages to NUMBER (repeatable): {', '.join(OUTCOMES)}"
        "; also on the profile page, /profile",
    )
    return parser


def parse_outcomes(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, str]:
    """Return ``{number: outcome}`` from ``NUMBER=OUTCOME`` items."""
    outcomes: dict[str, str] = {}
    for item in items:
        typed, _, outcome = item.partition("=")
        number = number_as_sent(typed)
        if number is None or outcome not in OUTCOMES:
            parser.error(f"--outcome {item!r}: expected NUMBER=one of {OUTCOMES}")
        outcomes[number] = outcome
    return outcomes


async def serve(args: argparse.Namespace, outcomes: dict[str, str]) -> None:
    """Serve until SIGINT or SIGTERM."""
    keys = tuple(args.keys or DEFAULT_KEYS)
    fake = FakeSmsOffice(
        api_keys=keys,
        balance=args.balance,
        senders=tuple(args.senders or DEFAULT_SENDERS),
        callback_url=args.callback_url,
        callback_delay=args.callback_delay,
        status_case=args.status_case,
    )
    for number, outcome in outcomes.items():
        fake.set_outcome(number, outcome)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    url = await fake.start(args.host, args.port)
    try:
        print(  # noqa: T201
            f"fake smsoffice.ge listening on {url} keys={','.join(keys)}", flush=True
        )
        await stop.wait()
    finally:
        await fake.stop()
        logging.getLogger(__name__).info("stopped")


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` and run the server."""
    parser = build_parser()
    args = parser.parse_args(argv)
    outcomes = parse_outcomes(parser, args.outcome)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args, outcomes))


if __name__ == "__main__":
    main()
