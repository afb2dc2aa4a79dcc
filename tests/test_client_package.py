"""The client stands alone: its tests pass where Home Assistant cannot be imported.

The client's tests (tests/client) run in this test run, and here again in a
fresh interpreter in which every import of `homeassistant` fails: a finder
first in `sys.meta_path` refuses it and every module in it, pytest loads
no plugin on its own (the Home Assistant test harness is one) and no
conftest above tests/client. Anything on the client's path that imports Home
Assistant, directly or through the integration's package, fails the run.
"""

from __future__ import annotations

import os
from pathlib import Path
import re
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[1]

# Runs the code given as the first argument, with the rest as sys.argv[1:],
# after making every import of `homeassistant` or a module in it fail.
WITHOUT_HOME_ASSISTANT = """
import sys

class NoHomeAssistant:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] == "homeassistant":
            raise ModuleNotFoundError(f"Home Assistant is not here: {name}", name=name)

assert not [name for name in sys.modules if name.startswith("homeassistant")]
sys.meta_path.insert(0, NoHomeAssistant)
code = sys.argv.pop(1)
exec(code)
"""

RUN_PYTEST = "import pytest; sys.exit(pytest.main(sys.argv[1:]))"


def without_home_assistant(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter that cannot import Home Assistant."""
    env = {
        name: value
        for name, value in os.environ.items()
        # Neither this run's coverage (pytest-cov starts it in subprocesses
        # through these) nor its pytest settings.
        if not name.startswith(("COV_CORE_", "PYTEST_"))
    }
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-c", WITHOUT_HOME_ASSISTANT, code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_integration_package_needs_home_assistant() -> None:
    """The control: through `custom_components` the client cannot be imported there."""
    result = without_home_assistant("import custom_components.smsoffice.client")

    assert result.returncode == 1
    assert "ModuleNotFoundError: Home Assistant is not here: homeassistant" in (
        result.stderr
    )


def test_the_client_tests_pass_without_home_assistant() -> None:
    result = without_home_assistant(
        RUN_PYTEST,
        "-p",
        "pytest_asyncio.plugin",
        "-p",
        "no:cacheprovider",
        "--confcutdir=tests/client",
        "-q",
        "tests/client",
    )

    summary = result.stdout.strip().splitlines()[-1] if result.stdout else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Every test passed: none skipped, deselected or expected to fail.
    assert re.fullmatch(r"\d+ passed in [0-9.]+s( \([0-9:]+\))?", summary), summary
