"""Start-up: the package's import time and the config entry's setup time.

Import: fresh interpreters (alternating, median of several) time
``import homeassistant.core`` (the baseline), ``import custom_components.smsoffice``
from scratch, and the same import once Home Assistant's own modules that are
loaded anyway before an integration like this one (core, config entries, the
http and webhook components, the shared aiohttp client, the update
coordinator, storage...) are in: the integration's own share, mostly its own
modules and ``phonenumbers``. ``-X importtime`` names the slowest modules of that
share.

Setup: a running Home Assistant and the fake gateway on loopback; the first
setup (cold: platform modules and translations load), then the median of
several unload/setup cycles, with an empty outbox and with 10,000 records in
it; each against the one request setup makes, a raw GET of the balance.

The outbox is read from disk once per Home Assistant run, at the entry's first
setup (it belongs to the entry's delivery tracker, which reloads keep): the
cycles do not read it again. What the 10,000 records cost a set-up again is
queueing their catch-up status checks (each unsettled message is checked once
a minute after every setup, webhook mode too; the cycles end long before that
minute). An unload still writes them.

Run from the repository root: ``.venv/bin/python -m benchmarks.startup``.
The last line printed is ``RATIO startup import smsoffice/homeassistant.core = ...``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import subprocess
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks._harness import (
    API_KEY,
    REPO_ROOT,
    add_entry,
    fake_in_process,
    machine_line,
    median,
    print_table,
    quiet_logging,
    running_home_assistant,
    set_up,
)
from custom_components.smsoffice.const import DOMAIN

TARGET = "custom_components.smsoffice"
BASELINE = "homeassistant.core"
# Loaded by Home Assistant before it imports an integration like this one.
ALREADY_LOADED = (
    "homeassistant.core",
    "homeassistant.config_entries",
    "homeassistant.helpers.config_validation",
    "homeassistant.helpers.update_coordinator",
    "homeassistant.helpers.storage",
    "homeassistant.helpers.network",
    "homeassistant.helpers.aiohttp_client",
    "homeassistant.helpers.discovery",
    "homeassistant.helpers.dispatcher",
    "homeassistant.helpers.event",
    "homeassistant.components.http",
    "homeassistant.components.webhook",
)
TIMER = """
import sys, time
for name in filter(None, sys.argv[2].split(",")):
    __import__(name)
sys.stderr.write("--- measured import ---\\n")
start = time.perf_counter()
__import__(sys.argv[1])
print(time.perf_counter() - start)
"""
IMPORT_TIMEOUT = 60


def time_import(module: str, preloaded: tuple[str, ...] = ()) -> float:
    """Return the seconds a fresh interpreter takes to import ``module``."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", TIMER, module, ",".join(preloaded)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=IMPORT_TIMEOUT,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def slowest_modules(count: int) -> list[tuple[str, float, float]]:
    """Return the modules with the most self time in the integration's share."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            TIMER,
            TARGET,
            ",".join(ALREADY_LOADED),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=IMPORT_TIMEOUT,
    )
    lines = completed.stderr.split("--- measured import ---", 1)[-1].splitlines()
    modules = []
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        modules.append((name.strip(), int(self_us) / 1e6, int(cumulative_us) / 1e6))
    return sorted(modules, key=lambda module: module[1], reverse=True)[:count]


def import_times(repeats: int) -> tuple[list[list[object]], float, float]:
    """Measure the imports; return the table rows, baseline and ours (medians)."""
    kinds = {
        f"import {BASELINE} (baseline)": (BASELINE, ()),
        f"import {TARGET} (from scratch)": (TARGET, ()),
        f"import {TARGET} (after Home Assistant's own)": (TARGET, ALREADY_LOADED),
    }
    for module, preloaded in kinds.values():
        time_import(module, preloaded)  # warm-up: bytecode caches, disk cache
    times: dict[str, list[float]] = {name: [] for name in kinds}
    names = list(kinds)
    for number in range(repeats):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(time_import(*kinds[name]))
    rows: list[list[object]] = [
        [name, len(values), median(values) * 1000, min(values) * 1000]
        for name, values in times.items()
    ]
    return rows, median(times[names[0]]), median(times[names[1]])


async def setup_cycles(
    hass: HomeAssistant, entry: MockConfigEntry, url: str, cycles: int
) -> tuple[list[float], list[float], list[float]]:
    """Unload and set up ``cycles`` times; return setup, unload and GET times."""
    session = async_get_clientsession(hass)
    setups, unloads, gets = [], [], []
    for _ in range(cycles):
        start = time.perf_counter()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        unloads.append(time.perf_counter() - start)
        start = time.perf_counter()
        await set_up(hass, entry)
        setups.append(time.perf_counter() - start)
        start = time.perf_counter()
        async with session.get(
            url + "/api/getBalance", params={"key": API_KEY}
        ) as response:
            await response.read()
        gets.append(time.perf_counter() - start)
    return setups, unloads, gets


async def setup_times(cycles: int, records: int) -> tuple[list[list[object]], float]:
    """Measure the entry's setup; return table rows and the warm setup/GET ratio."""
    async with fake_in_process() as fake, running_home_assistant() as hass:
        entry = add_entry(hass, fake.url)
        start = time.perf_counter()
        await set_up(hass, entry)
        cold = time.perf_counter() - start
        empty = await setup_cycles(hass, entry, fake.url, cycles)
        await hass.services.async_call(
            DOMAIN,
            "send_sms",
            {
                "recipients": [f"995{555_000_000 + n:09d}" for n in range(records)],
                "message": "Benchmark",
            },
            blocking=True,
        )
        full = await setup_cycles(hass, entry, fake.url, cycles)
    get = median(empty[2] + full[2])
    rows: list[list[object]] = [
        ["first setup (cold)", 1, cold * 1000, cold / get],
        [
            "setup, empty outbox",
            cycles,
            median(empty[0]) * 1000,
            median(empty[0]) / get,
        ],
        [
            f"setup, {records:,} records in the outbox (catch-up)",
            cycles,
            median(full[0]) * 1000,
            median(full[0]) / get,
        ],
        [
            "unload, empty outbox",
            cycles,
            median(empty[1]) * 1000,
            median(empty[1]) / get,
        ],
        [
            f"unload, {records:,} records (saves them)",
            cycles,
            median(full[1]) * 1000,
            median(full[1]) / get,
        ],
        ["raw GET of the balance (baseline)", 2 * cycles, get * 1000, 1.0],
    ]
    return rows, median(empty[0]) / get


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    quiet_logging()
    print(machine_line())

    rows, setup_ratio = asyncio.run(setup_times(args.cycles, args.records))
    print("config entry setup against the fake gateway (medians):")
    print_table(["step", "runs", "median ms", "x raw GET"], rows)
    print()

    import_rows, baseline, ours = import_times(args.repeats)
    print("imports in fresh interpreters (medians):")
    print_table(["import", "runs", "median ms", "best ms"], import_rows)
    share = median([float(str(row[2])) for row in import_rows[2:]]) / 1000
    print()
    print("slowest modules of the integration's share (python -X importtime, self):")
    print_table(
        ["module", "self ms", "cumulative ms"],
        [[name, own * 1000, total * 1000] for name, own, total in slowest_modules(8)],
    )
    print(f"warm setup / raw balance GET = {setup_ratio:.1f}")
    print(
        f"RATIO startup import smsoffice/homeassistant.core = {ours / baseline:.2f} "
        f"(own share after Home Assistant's modules {share * 1000:.0f} ms = "
        f"{share / baseline:.2f}x; no target, reported)"
    )


if __name__ == "__main__":
    main()
