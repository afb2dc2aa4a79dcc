"""A fake smsoffice.ge gateway for tests and local development.

Use :class:`FakeSmsOffice` in tests (``await fake.start()`` ... ``await
fake.stop()``) or run ``python -m tests.fake_smsoffice`` for a standalone
server.
"""

from .server import (
    ERROR_MESSAGES,
    FAULTS,
    OUTCOMES,
    AcceptedMessage,
    CallbackRecord,
    FakeSmsOffice,
    RecordedRequest,
)

__all__ = [
    "ERROR_MESSAGES",
    "FAULTS",
    "OUTCOMES",
    "AcceptedMessage",
    "CallbackRecord",
    "FakeSmsOffice",
    "RecordedRequest",
]
