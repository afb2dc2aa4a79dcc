"""Hypothesis profiles of the fuzz tests (`tests/test_fuzz.py`).

* ``smsoffice`` (the default here): 50 examples per test, derandomized, so the
  normal test run is fast and gives the same result every time.
* ``fuzz``: at least 5,000 examples per test, random, for a long hunt::

      HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest tests/test_fuzz.py -p no:cacheprovider

The environment variable ``HYPOTHESIS_PROFILE`` picks a profile; without it,
a profile chosen on the command line (``--hypothesis-profile``) or by
Hypothesis itself (``ci`` on a CI runner) is kept, and ``smsoffice`` replaces
only Hypothesis's plain ``default``.

Every profile allows function-scoped fixtures (the tests share one Home
Assistant, entry and HTTP client among all examples of a test; see
`tests/test_fuzz.py`) and has no deadline (an example is a real HTTP round
trip, whose time varies with the machine's load). No example database is
written into the tree: a failure prints the example, and its blob to replay it
with ``@reproduce_failure``.
"""

from __future__ import annotations

import os
from typing import Final

from hypothesis import HealthCheck, settings

DEFAULT_PROFILE: Final = "smsoffice"
FUZZ_PROFILE: Final = "fuzz"
FUZZ_EXAMPLES: Final = 5_000
NORMAL_EXAMPLES: Final = 50

# Examples share the test's fixtures on purpose (the tests say why it is sound).
SHARED_FIXTURES: Final = (HealthCheck.function_scoped_fixture,)
# Bodies up to ~64 KB are built by repeating a short drawn piece, which is
# cheap; these checks would still trip over the larger drawn texts.
_LARGE_INPUTS: Final = (
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
)

settings.register_profile(
    DEFAULT_PROFILE,
    max_examples=NORMAL_EXAMPLES,
    derandomize=True,  # implies database=None
    deadline=None,
    print_blob=True,
    suppress_health_check=[*SHARED_FIXTURES, *_LARGE_INPUTS],
)
settings.register_profile(
    FUZZ_PROFILE,
    max_examples=FUZZ_EXAMPLES,
    derandomize=False,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[*SHARED_FIXTURES, *_LARGE_INPUTS],
)


def load_profile() -> str:
    """Load the profile the environment asks for; return the active profile's name.

    ``HYPOTHESIS_PROFILE`` wins; otherwise a profile already chosen (command
    line, CI) stays, and Hypothesis's own ``default`` becomes ``smsoffice``.
    """
    if name := os.environ.get("HYPOTHESIS_PROFILE", "").strip():
        settings.load_profile(name)
    elif settings.get_current_profile_name() == "default":
        settings.load_profile(DEFAULT_PROFILE)
    return settings.get_current_profile_name()
