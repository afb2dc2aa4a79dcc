"""Tests of the smsoffice.ge client on its own: no Home Assistant needed.

The client is the package `smsoffice_client`
(custom_components/smsoffice/client/pyproject.toml). Imported as
`custom_components.smsoffice.client` it would first run the integration's
`__init__.py`, which imports Home Assistant; so importing this package loads
the client's folder as the top-level package `smsoffice_client`, the name it
is installed under, and these tests import only that. Its modules import one
another relatively, so the folder works under either name.

These tests run in the main test run and, to prove they need no Home
Assistant, again in a process that cannot import it
(tests/test_client_package.py). Alone, from the repository's root, with no
plugin of the Home Assistant harness and no conftest above this folder: the
command in custom_components/smsoffice/client/README.md ("Tests").
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

CLIENT_DIR = (
    Path(__file__).resolve().parents[2] / "custom_components" / "smsoffice" / "client"
)
PACKAGE = "smsoffice_client"

if PACKAGE not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        PACKAGE,
        CLIENT_DIR / "__init__.py",
        submodule_search_locations=[str(CLIENT_DIR)],
    )
    assert _spec is not None
    assert _spec.loader is not None
    _package = importlib.util.module_from_spec(_spec)
    sys.modules[PACKAGE] = _package
    _spec.loader.exec_module(_package)
