"""A lean HTTP/1.1 load generator, run as a separate process by the webhook burst.

It imports nothing but the standard library and speaks just enough HTTP/1.1
(keep-alive GETs, Content-Length or chunked answers) to keep its own cost per
request far below the server's, so that the server is what is measured.

Protocol: one JSON command per line on standard input, one JSON answer per line
on standard output. A command is ``{"host", "port", "paths", "concurrency",
"timeout"}``; the answer holds the elapsed wall time, the generator's CPU time,
one latency per path (``null`` when it failed), the status counts, the bodies
seen (counted) and the errors. An empty line or end of input stops it.

Every burst is bounded: by the number of paths and by ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
import json
import sys
import time
from typing import Any


class _ConnectionClosedError(Exception):
    """The server closed the connection (or asked to)."""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Read one response; return its status, body and whether the server closes."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append((await reader.readexactly(size + 2))[:-2])
        body = b"".join(parts)
    else:
        body = await reader.readexactly(length) if length else b""
    return status, body, close


@dataclass(slots=True)
class _Tally:
    """What the workers of one burst measured."""

    latencies: list[float | None]
    statuses: Counter[int] = field(default_factory=Counter)
    bodies: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


async def _worker(
    host: str, port: int, paths: list[str], order: Iterator[int], tally: _Tally
) -> None:
    """Send requests one after the other on one keep-alive connection."""
    host_header = f"Host: {host}:{port}\r\n"
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        for index in order:
            start = time.perf_counter()
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(
                    f"GET {paths[index]} HTTP/1.1\r\n{host_header}\r\n".encode()
                )
                status, body, close = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as err:
                tally.errors[type(err).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            tally.latencies[index] = time.perf_counter() - start
            tally.statuses[status] += 1
            tally.bodies[body[:16].decode("utf-8", "replace")] += 1
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def burst(
    host: str, port: int, paths: list[str], concurrency: int, time_limit: float
) -> dict[str, Any]:
    """Send every path once, ``concurrency`` at a time, within ``time_limit`` s."""
    tally = _Tally([None] * len(paths))
    order = iter(range(len(paths)))  # shared: each worker takes the next index
    cpu_start = time.process_time()
    start = time.perf_counter()
    timed_out = False
    try:
        async with asyncio.timeout(time_limit):
            await asyncio.gather(
                *(_worker(host, port, paths, order, tally) for _ in range(concurrency))
            )
    except TimeoutError:
        timed_out = True
    return {
        "elapsed": time.perf_counter() - start,
        "cpu": time.process_time() - cpu_start,
        "latencies": tally.latencies,
        "statuses": {str(key): value for key, value in tally.statuses.items()},
        "bodies": dict(tally.bodies),
        "errors": dict(tally.errors),
        "timed_out": timed_out,
    }


def main() -> None:
    """Serve bursts until an empty line or the end of standard input."""
    for line in sys.stdin:
        if not line.strip():
            break
        command = json.loads(line)
        result = asyncio.run(
            burst(
                command["host"],
                int(command["port"]),
                command["paths"],
                int(command["concurrency"]),
                float(command["timeout"]),
            )
        )
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
