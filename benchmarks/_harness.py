"""Shared helpers of the benchmarks.

A real Home Assistant (the test harness's instance, with its HTTP server
listening on a free loopback port), the fake smsoffice.ge gateway (in this
process or in its own), a configured entry, an event-loop stall meter, the
load-generator process, statistics and a table printer.

Nothing here asserts on absolute times: the benchmarks print ratios against
baselines measured in the same run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
import contextlib
import gc
import json
import logging
import os
from pathlib import Path
import platform
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from types import FrameType
from typing import Any

from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import frame
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.smsoffice.config_flow import account_id
from custom_components.smsoffice.const import (
    CONF_ACCEPT_FOREIGN,
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_FLASH,
    CONF_LOW_BALANCE,
    CONF_SENDER,
    CONF_STATUS_POLLING,
    CONF_URGENT,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from tests.fake_smsoffice import FakeSmsOffice

REPO_ROOT = Path(__file__).resolve().parents[1]
API_KEY = "bench-api-key"
SENDER = "HomeAlarm"
WEBHOOK_ID = "bench0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
LOOPBACK = "127.0.0.1"
HUGE_BALANCE = 10**12


def quiet_logging() -> None:
    """Log errors only, so that the last line printed stays the ratio."""
    logging.basicConfig(
        level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger().setLevel(logging.ERROR)


def machine_line() -> str:
    """Describe the machine the figures come from."""
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"machine: {os.cpu_count()} CPU(s), {model}; Python {platform.python_version()}"
    )


def free_port() -> int:
    """Return a TCP port free on the loopback address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------- Home Assistant


@contextlib.asynccontextmanager
async def running_home_assistant() -> AsyncIterator[HomeAssistant]:
    """Yield a started Home Assistant whose HTTP server listens on loopback.

    Its configuration (and the outbox's storage) lives in a temporary folder
    removed afterwards. Entries still loaded at the end are unloaded first.
    """
    with tempfile.TemporaryDirectory(prefix="smsoffice-bench-") as config_dir:
        async with async_test_home_assistant(
            config_dir=config_dir, initial_state=CoreState.not_running
        ) as hass:
            # What the `enable_custom_integrations` fixture does.
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            frame.async_setup(hass)
            port = free_port()
            assert await async_setup_component(
                hass,
                "http",
                {"http": {"server_host": LOOPBACK, "server_port": port}},
            )
            assert await async_setup_component(hass, "webhook", {})
            await hass.async_start()  # the HTTP server starts listening now
            await hass.async_block_till_done()
            try:
                yield hass
            finally:
                for entry in hass.config_entries.async_entries():
                    if entry.state is ConfigEntryState.LOADED:
                        await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_stop(force=True)


def http_port(hass: HomeAssistant) -> int:
    """Return the port Home Assistant's HTTP server listens on."""
    return int(hass.http.server_port)


def add_entry(hass: HomeAssistant, base_url: str) -> MockConfigEntry:
    """Add (not set up) an entry for the fake gateway at ``base_url``.

    Status polling is off, as on an installation the internet reaches: reports
    come through the webhook only.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"SMS Office {SENDER}",
        unique_id=account_id(API_KEY),
        data={
            CONF_API_KEY: API_KEY,
            CONF_SENDER: SENDER,
            CONF_BASE_URL: base_url,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
        },
        options={
            CONF_URGENT: False,
            CONF_FLASH: False,
            CONF_LOW_BALANCE: 50,
            CONF_STATUS_POLLING: False,
            CONF_ACCEPT_FOREIGN: False,
        },
    )
    entry.add_to_hass(hass)
    return entry


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set the entry up and wait until Home Assistant is idle."""
    if not await hass.config_entries.async_setup(entry.entry_id):
        raise RuntimeError(f"the entry did not set up: {entry.state}")
    await hass.async_block_till_done()


# -------------------------------------------------------------- fake gateway


@contextlib.asynccontextmanager
async def fake_in_process() -> AsyncIterator[FakeSmsOffice]:
    """Run the fake gateway in this process (this event loop) on loopback."""
    fake = FakeSmsOffice(
        api_keys=[API_KEY], senders=["smsoffice", SENDER], balance=HUGE_BALANCE
    )
    await fake.start(LOOPBACK)
    try:
        yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def fake_in_subprocess() -> AsyncIterator[str]:
    """Run the fake gateway standalone in its own process; yield its base URL.

    Its work (parsing 10,000 numbers, scheduling deliveries) then runs on the
    other core instead of in Home Assistant's event loop. It sends no callback.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fake_smsoffice",
        "--host",
        LOOPBACK,
        "--port",
        "0",
        "--key",
        API_KEY,
        "--sender",
        SENDER,
        "--balance",
        str(HUGE_BALANCE),
        "--callback-delay",
        "0",
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,  # it logs every request
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode()
        match = re.search(r"listening on (\S+)", line)
        if match is None:
            raise RuntimeError(f"the fake gateway did not start: {line!r}")
        yield match.group(1)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


# -------------------------------------------------------------- load generator


class LoadGenerator:
    """The separate load-generator process (``benchmarks/_loadgen.py``)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        """Drive ``process`` through its standard input and output."""
        self._process = process

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls) -> AsyncIterator[LoadGenerator]:
        """Start the process; stop it (empty line, then terminate) afterwards."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks._loadgen",
            cwd=REPO_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        try:
            yield cls(process)
        finally:
            if process.stdin is not None and not process.stdin.is_closing():
                process.stdin.write(b"\n")
                with contextlib.suppress(ConnectionError):
                    await process.stdin.drain()
                process.stdin.close()
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.terminate()
                await process.wait()

    async def burst(
        self, port: int, paths: Sequence[str], concurrency: int, time_limit: float
    ) -> dict[str, Any]:
        """Send each path once as a GET to ``127.0.0.1:port``; return measurements."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        command = {
            "host": LOOPBACK,
            "port": port,
            "paths": list(paths),
            "concurrency": concurrency,
            "timeout": time_limit,
        }
        self._process.stdin.write(json.dumps(command).encode() + b"\n")
        await self._process.stdin.drain()
        async with asyncio.timeout(time_limit + 30):
            line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError("the load generator stopped")
        result: dict[str, Any] = json.loads(line)
        return result


# ------------------------------------------------------------ measurements


STALL = 0.050
SAMPLE_EVERY = 0.010
OUR_CODE = "custom_components/smsoffice"


class StallMeter:
    """Measures how late ``asyncio.sleep(interval)`` wakes up: event-loop stalls.

    ``max_lateness`` is the wall-clock figure (what a caller waits);
    ``max_cpu`` the most CPU time the loop thread spent within one tick (on a
    crowded machine it still includes kernel work charged to the thread, such
    as loopback packet delivery inside a socket write).

    To tell whose stall it is, a watchdog thread looks every 10 ms at where the
    loop thread is while a tick is more than 50 ms overdue, and counts the
    samples in ``blame``: in the integration's code (its innermost function
    there), waiting in ``select()``
    (idle, so the OS did not run it), in a socket call, or elsewhere in
    Python (Home Assistant, aiohttp). Garbage collections are timed too
    (``gc_max``, ``gc_full``): the watchdog cannot see them.
    """

    def __init__(self, interval: float = 0.005) -> None:
        """Tick every ``interval`` seconds once started."""
        self.interval = interval
        self.max_lateness = 0.0
        self.max_cpu = 0.0
        self.ticks = 0
        self.over_50ms = 0
        self.gc_max = 0.0
        self.gc_full = 0
        self.blame: Counter[str] = Counter()
        self._gc_start = 0.0
        self._last_tick = time.perf_counter()
        self._loop_thread = 0
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    def reset(self) -> None:
        """Forget what was measured so far (start of a new phase)."""
        self.max_lateness = 0.0
        self.max_cpu = 0.0
        self.ticks = 0
        self.over_50ms = 0
        self.gc_max = 0.0
        self.gc_full = 0
        self.blame = Counter()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
            return
        self.gc_max = max(self.gc_max, time.perf_counter() - self._gc_start)
        if info.get("generation") == 2:
            self.gc_full += 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            cpu_start = time.thread_time()
            self._last_tick = time.perf_counter()
            await asyncio.sleep(self.interval)
            self._last_tick = time.perf_counter()
            lateness = loop.time() - start - self.interval
            self.ticks += 1
            self.max_lateness = max(self.max_lateness, lateness)
            self.max_cpu = max(self.max_cpu, time.thread_time() - cpu_start)
            if lateness > STALL:
                self.over_50ms += 1

    def _watch(self) -> None:
        """Sample where the loop thread is while a tick is overdue."""
        while not self._stop.wait(SAMPLE_EVERY):
            if time.perf_counter() - self._last_tick <= STALL + self.interval:
                continue
            frame = sys._current_frames().get(self._loop_thread)  # noqa: SLF001
            if frame is not None:
                self.blame[_whose(frame)] += 1

    async def __aenter__(self) -> StallMeter:
        """Start ticking, watching and timing garbage collections."""
        gc.callbacks.append(self._on_gc)
        self._loop_thread = threading.get_ident()
        self._last_tick = time.perf_counter()
        self._stop.clear()
        self._watchdog = threading.Thread(
            target=self._watch, name="stall-watchdog", daemon=True
        )
        self._watchdog.start()
        self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.sleep(0)  # the first tick starts now, not at the next await
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop ticking and watching."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=1)
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _whose(frame: FrameType) -> str:
    """Name what the loop thread is doing, from its innermost frame outwards."""
    innermost = frame
    walker: FrameType | None = frame
    while walker is not None:
        if OUR_CODE in walker.f_code.co_filename:
            where = walker.f_code.co_filename.split(OUR_CODE + "/", 1)[-1]
            return f"smsoffice {where}:{walker.f_code.co_name}"
        walker = walker.f_back
    name = innermost.f_code.co_name
    filename = innermost.f_code.co_filename
    if filename.endswith("selectors.py"):
        return "idle in select() (not scheduled)"
    if name in {"write", "send", "sendto", "sendmsg", "recv", "recv_into"}:
        return "socket call"
    return "other Python (HA, aiohttp)"


def blame_line(blame: Counter[str]) -> str:
    """Return the watchdog's samples (10 ms each) as one line."""
    if not blame:
        return "no stall sampled"
    return ", ".join(f"{name} {count}" for name, count in blame.most_common())


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the ``fraction`` quantile (0..1) by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    """Return the median (NaN for no value)."""
    return statistics.median(values) if values else float("nan")


class Clock:
    """Wall time and this process's CPU time over a block."""

    def __init__(self) -> None:
        """Not started yet."""
        self.wall = 0.0
        self.cpu = 0.0
        self._wall = 0.0
        self._cpu = 0.0

    def __enter__(self) -> Clock:
        """Start."""
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop."""
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print an aligned plain-text table."""
    cells = [[str(header) for header in headers]] + [
        [_cell(value) for value in row] for row in rows
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    for number, row in enumerate(cells):
        print(
            "  ".join(
                value.ljust(width) if column == 0 else value.rjust(width)
                for column, (value, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:  # noqa: FBT001 - a plain yes/no printer
    """Return how a target came out, for the report."""
    return "met" if ok else "NOT met"
