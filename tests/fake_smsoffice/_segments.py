"""The integration's part counting, loaded on its own.

The fake charges parts x recipients by the same GSM-7/UCS-2 rules as the
integration. `segments.py` imports nothing but the standard library, so it is
loaded straight from its file: the fake then starts without importing Home
Assistant or the rest of the integration.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

_PATH = (
    Path(__file__).resolve().parents[2]
    / "custom_components"
    / "smsoffice"
    / "client"
    / "segments.py"
)
_NAME = "_fake_smsoffice_segments"

if _NAME in sys.modules:
    _module = sys.modules[_NAME]
else:
    _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    assert _spec is not None
    assert _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module  # dataclasses look their module up by name
    _spec.loader.exec_module(_module)

estimate_parts = _module.estimate_parts

__all__ = ["estimate_parts"]
