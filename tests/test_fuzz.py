"""Fuzzing: the webhook, and the client's reading of the gateway's answers.

Normal run (50 derandomized examples per test, a few seconds)::

    .venv/bin/pytest tests/test_fuzz.py -q -p no:cacheprovider

Long hunt (5,000 random examples per test; profiles in
`tests/hypothesis_profiles.py`)::

    HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest tests/test_fuzz.py -q -p no:cacheprovider

Add ``--hypothesis-show-statistics`` to see how many examples each test ran.

How Hypothesis meets async tests and Home Assistant's fixtures
--------------------------------------------------------------
`@given` decorates the ``async def`` tests directly. pytest-asyncio recognises
a Hypothesis test whose inner test is a coroutine function and wraps that
inner test so that every example runs to completion, with
``loop.run_until_complete``, on the test's event loop: the loop the ``hass``
fixture lives on. The function-scoped fixtures (``hass``, the loaded entry,
the fake gateway, the HTTP client, ``caplog``) are made once per *test*, not
per example, and all examples share them. Hypothesis warns about that
(``HealthCheck.function_scoped_fixture``); the profiles and the tests' own
``@settings`` suppress the warning, because sharing is sound here:

* every property is about one request: an example notes how many log records
  and events there were before its request and looks only at the new ones;
* no example changes what the next one sees: no report is ever accepted (the
  outbox stays as the fixture left it, ``accept_foreign_reports`` is off), and
  the client fuzz sets the whole answer before each call.

Rejected alternatives: drawing with ``strategy.example()`` in a loop (meant
for the REPL: no shrinking, no reproducible failure), and running Hypothesis
in a worker thread that submits each example to the loop with
``asyncio.run_coroutine_threadsafe`` (works, but more moving parts for the
same result).

Regression tests at the end keep the answers and requests the fuzzing once
found to crash (deeply nested JSON, integers of over 4,300 digits, a body
claiming a compression it does not have).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
import gzip
import html
import json
import logging
import re
import string
from typing import Any, Final
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from homeassistant.components.http.security_filter import FILTERS, UNSAFE_URL_BYTES
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from hypothesis import event, example, given, note, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)
from yarl import URL

from custom_components.smsoffice.client import (
    DeliveryStatus,
    SendResult,
    SmsOfficeClient,
    SmsOfficeError,
)
from custom_components.smsoffice.webhook import (
    GEORGIA,
    MalformedCallbackError,
    _add_form_fields,
    parse_report,
)
from tests.conftest import API_KEY, MOTHER, SENDER, WEBHOOK_PATH, send_sms
from tests.hypothesis_profiles import SHARED_FIXTURES, load_profile

FIELDS: Final = (
    "reference",
    "destination",
    "status",
    "timestamp",
    "reason",
    "operator",
)
STATUSES: Final = ("pending", "delivered", "undelivered", "expired", "unknown")
METHODS: Final = ("GET", "POST", "PUT", "HEAD")
MAX_SIZE: Final = 64 * 1024
SENT_REFERENCE: Final = "fuzz-sent-0001"

PROFILE: Final = load_profile()
# Inherits everything else from the active profile (at import time).
SHARED = settings(suppress_health_check=SHARED_FIXTURES, deadline=None)

# --------------------------------------------------------------- strategies


def cased(word: str) -> st.SearchStrategy[str]:
    """Return `word` in any mix of upper and lower case."""
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(
            char.upper() if up else char for char, up in zip(word, upper, strict=True)
        )
    )


def padded(
    values: st.SearchStrategy[str], spaces: str = " \t\r\n"
) -> st.SearchStrategy[str]:
    """Return `values`, sometimes with some of `spaces` around them."""
    pads = st.text(st.sampled_from(spaces), max_size=2)
    return st.tuples(pads, values, pads).map("".join)


def repeated(pieces: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    """Return a short drawn piece repeated up to `max_size` characters.

    Large inputs this way are cheap to draw and shrink well (to the piece and
    the size), unlike 64 KB of independently drawn characters.
    """
    return st.tuples(pieces.filter(bool), st.integers(1, max_size)).map(
        lambda drawn: (drawn[0] * (drawn[1] // len(drawn[0]) + 1))[: drawn[1]]
    )


def repeated_bytes(
    pieces: st.SearchStrategy[bytes], max_size: int
) -> st.SearchStrategy[bytes]:
    """Return a short drawn byte string repeated up to `max_size` bytes."""
    return st.tuples(pieces.filter(bool), st.integers(1, max_size)).map(
        lambda drawn: (drawn[0] * (drawn[1] // len(drawn[0]) + 1))[: drawn[1]]
    )


# Characters a reference may hold: printable, no white space at its ends.
_INVISIBLE: Final = ("Cs", "Cc", "Zs", "Zl", "Zp")
_VISIBLE = st.characters(codec="utf-8", exclude_categories=_INVISIBLE)
valid_references = st.text(_VISIBLE, min_size=1, max_size=20)
# Padded with spaces only: Home Assistant refuses tabs and line breaks in a query.
valid_destinations = padded(st.from_regex(r"\+?[0-9]{6,15}", fullmatch=True), " ")
valid_statuses = padded(st.sampled_from(STATUSES).flatmap(cased), " ")
valid_timestamps = st.just("") | st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - a local time
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
).map(lambda when: when.strftime("%Y%m%d%H%M%S"))
# Mostly without tabs and line breaks, which Home Assistant refuses in a query.
free_texts = st.text(
    st.characters(codec="utf-8", exclude_characters="\t\r\n"), max_size=40
) | st.text(max_size=40)
# ASCII digits with Arabic-Indic, superscript, Lao and full-width ones.
odd_digits = st.text(
    alphabet="0123456789\u0660\u0661\u0662\u0663\u0669\u00b2\u00b3\u0ed3\uff10\uff12",
    min_size=1,
    max_size=20,
)

param_names = st.sampled_from(FIELDS).flatmap(cased) | st.text(max_size=20)
param_values = st.one_of(
    valid_references,
    valid_destinations,
    valid_statuses,
    valid_timestamps,
    free_texts,
    odd_digits,
    st.from_regex(r"[0-9]{1,30}", fullmatch=True),
    repeated(st.text(max_size=4), 6_000),
)
param_lists = st.lists(st.tuples(param_names, param_values), max_size=12)

_RAW_QUERY_CHARS = string.ascii_letters + string.digits + "&=+;-._~!$'()*,/?:@"
_PERCENT = st.sampled_from(
    ["%", "%z", "%zz", "%ff", "%FF%FE", "%C3%28", "%00", "%E2%82", "%2B", "%26", "%3D"]
)
raw_queries = st.one_of(
    st.lists(st.text(_RAW_QUERY_CHARS, max_size=12) | _PERCENT, max_size=20).map(
        "".join
    ),
    repeated(st.text(_RAW_QUERY_CHARS, max_size=6) | _PERCENT, 12_000),
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

ENCODINGS: Final = ("utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1251")


@st.composite
def encoded_texts(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> bytes:
    """Return a drawn text in a drawn encoding (unencodable characters replaced)."""
    return draw(texts).encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


def form(pairs: list[tuple[str, str]]) -> str:
    """Return `pairs` form-encoded."""
    return urlencode(pairs)


request_bodies = st.one_of(
    st.none(),
    encoded_texts(param_lists.map(form)),
    encoded_texts(json_values.map(json.dumps)),
    encoded_texts(st.text(max_size=200)),
    st.binary(max_size=512),
    repeated_bytes(st.binary(max_size=8), MAX_SIZE),
)
content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "application/x-www-form-urlencoded; charset=windows-1251",
            "application/json",
            "text/plain; charset=utf-16",
            "multipart/form-data; boundary=xyz",
            "application/octet-stream",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
)


@dataclass(slots=True)
class Probe:
    """One HTTP request to the webhook."""

    method: str
    query: list[tuple[str, str]] | str | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    well_formed: bool = False  # a delivery report as the gateway makes them
    false_encoding: bool = False  # claims a Content-Encoding the body lacks


@st.composite
def reports(
    draw: st.DrawFn,
    references: st.SearchStrategy[str] = valid_references,
    destinations: st.SearchStrategy[str] = valid_destinations,
) -> list[tuple[str, str]]:
    """Return the parameters of a well-formed report, names in any case."""
    values = {
        "reference": draw(references),
        "destination": draw(destinations),
        "status": draw(valid_statuses),
    }
    if draw(st.booleans()):
        values["timestamp"] = draw(valid_timestamps)
    for optional in ("reason", "operator"):
        if draw(st.booleans()):
            values[optional] = draw(free_texts)
    pairs = [(draw(cased(name)), value) for name, value in values.items()]
    return draw(st.permutations(pairs))


@st.composite
def well_formed_probes(draw: st.DrawFn) -> Probe:
    """A report for a message not sent here: GET query or POST form."""
    pairs = draw(reports())
    if draw(st.booleans()):
        return Probe("GET", query=pairs, well_formed=True)
    return Probe(
        "POST",
        body=form(pairs).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        chunked=draw(st.booleans()),
        well_formed=True,
    )


@st.composite
def random_probes(draw: st.DrawFn) -> Probe:
    """Anything: any method, query, body, content type, encoding and size."""
    method = draw(st.sampled_from(METHODS))
    query = draw(st.none() | param_lists | reports() | raw_queries)
    body = draw(request_bodies)
    headers: dict[str, str] = {}
    if (content_type := draw(content_types)) is not None:
        headers["Content-Type"] = content_type
    chunked = false_encoding = False
    if body is not None:
        chunked = draw(st.booleans())
        match draw(st.sampled_from([None, None, "gzip", "gzip", "deflate", "br"])):
            case "gzip" if draw(st.booleans()):
                body = gzip.compress(body)  # decompressed by the server
                headers["Content-Encoding"] = "gzip"
            case None:
                pass
            case encoding:  # claimed, but the body is not compressed
                headers["Content-Encoding"] = encoding
                false_encoding = True
    return Probe(
        method,
        query=query,
        body=body,
        headers=headers,
        chunked=chunked,
        false_encoding=false_encoding,
    )


probes = well_formed_probes() | random_probes()


def webhook_url(http: TestClient, query: list[tuple[str, str]] | str | None) -> URL:
    """Return the webhook's URL with `query` (pairs encoded, a string as is)."""
    url = http.make_url(WEBHOOK_PATH)
    if isinstance(query, str):
        return URL(f"{url}?{query}", encoded=True)
    if query:
        return url.with_query(query)
    return url


async def make_request(http: TestClient, probe: Probe) -> tuple[int, str]:
    """Make the request; return the status and the body of the answer.

    aiohttp's server may close the connection on a body that claims a
    compression it lacks (before or after answering): status 0 then.
    """
    kwargs: dict[str, Any] = {"headers": probe.headers}
    if probe.body is not None:
        kwargs["data"] = probe.body
        kwargs["chunked"] = probe.chunked or None
    try:
        async with http.session.request(
            probe.method, webhook_url(http, probe.query), **kwargs
        ) as response:
            return response.status, await response.text(errors="replace")
    except aiohttp.ClientError as err:
        if not probe.false_encoding:
            raise
        return 0, repr(err)


# ------------------------------------------------------------------ helpers


# The integration, and the webhook component that logs what its handler raises.
_OUR_LOGGERS: Final = (
    "custom_components.smsoffice",
    "homeassistant.components.webhook",
)


def errors_since(caplog: pytest.LogCaptureFixture, start: int) -> list[str]:
    """Return the ERROR (and worse) records of ours captured after record `start`.

    aiohttp's server logs some requests it refuses itself (400, before any
    handler runs: e.g. ``Content-Encoding: br`` without Brotli installed) at
    ERROR; those are not the integration's, and the status check covers them.
    """
    errors = []
    for record in caplog.records[start:]:
        if record.levelno < logging.ERROR or not record.name.startswith(_OUR_LOGGERS):
            continue
        errors.append(f"{record.name}: {record.getMessage()}")
    return errors


def _unquote_all(text: str) -> str:
    while (unquoted := unquote(text)) != text:
        text = unquoted
    return text


def filtered_by_home_assistant(url: URL) -> bool:
    """Return whether Home Assistant's security filter refuses `url` (400).

    It stands in front of every endpoint, webhooks included: white space
    other than spaces, and some patterns ("../", "concat(", "<script>",
    "x=/y"...) anywhere in the (unquoted) query refuse the request.
    """
    target = f"{url.path}?{url.query_string}"
    if any(unsafe in target for unsafe in UNSAFE_URL_BYTES):
        return True
    return FILTERS.search(_unquote_all(target)) is not None


@pytest.fixture
async def sent(hass: HomeAssistant, http: TestClient) -> str:
    """Send a message to Mother with a known reference; return the reference."""
    await send_sms(hass, recipients=[MOTHER], message="Fuzz", reference=SENT_REFERENCE)
    await hass.async_block_till_done()
    return SENT_REFERENCE


# ---------------------------------------------------------- webhook fuzzing


async def test_the_event_capture_sees_real_reports(
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    sent: str,
    loaded_entry: MockConfigEntry,
) -> None:
    """Control: the fuzz tests' "no event" would be empty if this failed."""
    params = {
        "reference": "not-sent-here",
        "destination": MOTHER,
        "status": "delivered",
    }
    assert await make_request(http, Probe("GET", query=list(params.items()))) == (
        200,
        "OK",
    )
    await hass.async_block_till_done()
    assert events == []

    params["reference"] = sent
    assert await make_request(http, Probe("GET", query=list(params.items()))) == (
        200,
        "OK",
    )
    await hass.async_block_till_done()
    assert [event.data["reference"] for event in events] == [sent]
    record = loaded_entry.runtime_data.tracker.outbox.get(sent, MOTHER)
    assert record is not None
    assert record.status == "delivered"


@SHARED
@given(probe=probes)
async def test_webhook_survives_any_request(  # noqa: PLR0917 - fixtures
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
    loaded_entry: MockConfigEntry,
    probe: Probe,
) -> None:
    """Any request: never a 5xx, no error logged, no event (nothing was sent)."""
    start = len(caplog.records)
    status, body = await make_request(http, probe)
    await hass.async_block_till_done()
    filtered = filtered_by_home_assistant(webhook_url(http, probe.query))
    kind = "well formed" if probe.well_formed else "random"
    event(f"{kind} {probe.method}{' (filtered)' if filtered else ''} -> {status}")
    note(f"answer: {status} {body[:200]!r}")

    assert status < 500
    if status == 0:  # closed by aiohttp: the body lies about its compression
        assert probe.false_encoding
    else:
        assert status in (200, 400, 405)
    if probe.well_formed and not filtered:
        # Well formed but for a message not sent here: acknowledged, ignored.
        assert (status, body) == (200, "OK")
    elif probe.method == "PUT":
        assert status in (0, 400, 405)
    elif probe.method == "HEAD":
        assert status in (0, 200, 400)
    assert errors_since(caplog, start) == []
    assert events == []
    assert loaded_entry.state is ConfigEntryState.LOADED


# Values that make a report certainly malformed, one field at a time.
_BAD_DESTINATION = re.compile(r"\+?[0-9]{6,15}")
bad_values: dict[str, st.SearchStrategy[str | None]] = {
    "reference": st.one_of(
        st.none(),
        st.sampled_from(["", " ", "\t\r\n"]),
        st.text(_VISIBLE, min_size=21, max_size=60),
    ),
    "destination": st.one_of(
        st.none(),
        st.sampled_from(["", "+", "abc", "99555512345a", "٩٩٥٥٥٥١٢٣٤٥٦", "12345"]),
        st.text(max_size=30).filter(
            lambda text: not _BAD_DESTINATION.fullmatch(text.strip())
        ),
        st.from_regex(r"[0-9]{16,30}", fullmatch=True),
    ),
    "status": st.one_of(
        st.none(),
        st.sampled_from(["", "OK", "deliverd", "delivered!", "sent", "failed"]),
        st.text(max_size=20).filter(lambda text: text.strip().lower() not in STATUSES),
    ),
    "timestamp": st.one_of(
        st.sampled_from(
            [
                "2025010203040",  # 13 digits
                "202501020304050",  # 15 digits
                "20251302030405",  # month 13
                "20250002030405",  # month 0
                "20250230030405",  # 30 February
                "20250102250405",  # hour 25
                "20250102036005",  # minute 60
                "20250102030499",  # second 99
                "2025-01-02 03:04",
                "٢٠٢٥٠١٠٢٠٣٠٤٠٥",  # Arabic-Indic digits
            ]
        ),
        # Anything holding a visible non-ASCII character.
        st.tuples(
            st.text(max_size=10),
            st.characters(min_codepoint=0x80, exclude_categories=_INVISIBLE),
            st.text(max_size=10),
        ).map("".join),
    ),
}
other_names = st.text(max_size=20).filter(lambda name: name.lower() not in FIELDS)


@st.composite
def broken_reports(draw: st.DrawFn) -> tuple[list[tuple[str, str]], bool]:
    """Return a report for the sent message and whether it is malformed.

    Either one or more fields get a certainly malformed value (or go missing),
    or it stays well formed but names another reference or destination.
    """
    values: dict[str, str] = {
        "reference": SENT_REFERENCE,
        "destination": MOTHER,
        "status": draw(valid_statuses),
        "timestamp": draw(valid_timestamps),
        "reason": draw(free_texts),
        "operator": "28202",
    }
    malformed = draw(st.booleans())
    if malformed:
        for name in draw(st.sets(st.sampled_from(sorted(bad_values)), min_size=1)):
            value = draw(bad_values[name])
            if value is None:
                del values[name]
            else:
                values[name] = value
    elif draw(st.booleans()):
        values["reference"] = draw(
            valid_references.filter(lambda r: r != SENT_REFERENCE)
        )
    else:
        values["destination"] = draw(
            valid_destinations.filter(lambda number: "555123456" not in number)
        )
    pairs = [(draw(cased(name)), value) for name, value in values.items()]
    pairs += draw(st.lists(st.tuples(other_names, free_texts), max_size=4))
    return draw(st.permutations(pairs)), malformed


@SHARED
@given(report=broken_reports(), split=st.integers(0, 12), post=st.booleans())
async def test_malformed_reports_for_a_sent_message_fire_nothing(  # noqa: PLR0917
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
    loaded_entry: MockConfigEntry,
    sent: str,
    report: tuple[list[tuple[str, str]], bool],
    split: int,
    post: bool,
) -> None:
    """A malformed report is refused (400), one for another message ignored (OK).

    Neither fires an event nor moves the sent message's status.
    """
    pairs, malformed = report
    if post:  # some parameters in the query, the rest in the form
        probe = Probe(
            "POST",
            query=pairs[:split],
            body=form(pairs[split:]).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        probe = Probe("GET", query=pairs)
    start = len(caplog.records)
    status, body = await make_request(http, probe)
    await hass.async_block_till_done()
    note(f"answer: {status} {body[:200]!r}")

    filtered = filtered_by_home_assistant(webhook_url(http, probe.query))
    event(
        f"{'malformed' if malformed else 'other message'}{' (filtered)' if filtered else ''} -> {status}"
    )
    if malformed or filtered:
        assert status == 400
    else:
        assert (status, body) == (200, "OK")
    assert errors_since(caplog, start) == []
    assert events == []
    record = loaded_entry.runtime_data.tracker.outbox.get(sent, MOTHER)
    assert record is not None
    assert record.status is None


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_cannot_be_decompressed_is_refused_quietly(
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
    encoding: str,
) -> None:
    """Anyone on the internet can send this: a 400, and no ERROR in the log."""
    probe = Probe(
        "POST",
        body=b"reference=x&destination=995555123456&status=delivered",
        headers={"Content-Encoding": encoding},
        false_encoding=True,
    )
    status, _ = await make_request(http, probe)
    await hass.async_block_till_done()
    assert status in (0, 400)
    assert events == []
    ours = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.name.startswith(_OUR_LOGGERS)
    ]
    assert ours == []


# ------------------------------------------------------- answer parsing fuzz

KNOWN_CODES: Final = (-100, 0, 10, 20, 40, 60, 70, 75, 76, 77, 80, 110, 120, 150, 500)
long_digits = repeated(st.text("0123456789", min_size=1, max_size=4), 10_000)
code_texts = padded(
    st.sampled_from(["80", "-100", "+80", "0", "00", "-0", "٨٠", "8O", "1e2", "80.0"])
    | st.integers().map(str)
)
error_codes = st.one_of(
    st.sampled_from(KNOWN_CODES), st.integers(), code_texts, json_values, long_digits
)
status_values = valid_statuses | st.text(max_size=20) | json_values
outputs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {}, optional={"Status": status_values, "ErrorCode": error_codes}
    ),
    st.integers(min_value=0),
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "Success": st.booleans() | json_values,
        "ErrorCode": error_codes,
        "Output": outputs,
        "Message": st.text(max_size=40) | json_values,
    },
)
# Shaped like the gateway's answers, so that some are accepted.
plausible_envelopes = st.fixed_dictionaries(
    {
        "Success": st.booleans(),
        "Message": st.text(max_size=20),
        "Output": st.none()
        | st.integers(min_value=0)
        | st.fixed_dictionaries(
            {"Status": padded(st.sampled_from(STATUSES).flatmap(cased))}
        ),
    },
    optional={"ErrorCode": st.just(0) | st.sampled_from(KNOWN_CODES)},
)
json_answers = st.tuples(
    plausible_envelopes | envelopes | json_values,
    st.booleans(),
    st.sampled_from([None, 2]),
).map(lambda drawn: json.dumps(drawn[0], ensure_ascii=drawn[1], indent=drawn[2]))
balance_answers = padded(
    st.integers().map(str)
    | long_digits
    | odd_digits
    | st.sampled_from(["12.5", "1,000", "1 000", "+5", "-5", "0x10", "5e3", "NaN"])
)
html_answers = st.text(max_size=100).map(
    lambda text: (
        f"<!DOCTYPE html><html><body><h1>{html.escape(text)}</h1></body></html>"
    )
)
answer_bodies = st.one_of(
    encoded_texts(json_answers),
    encoded_texts(balance_answers),
    encoded_texts(html_answers),
    encoded_texts(st.text(max_size=200)),
    st.binary(max_size=256),
    repeated_bytes(
        st.sampled_from([b"[", b'{"a":', b"[1,", b" ", b"9", b"<p>", b"\xff"])
        | st.binary(max_size=6),
        MAX_SIZE,
    ),
)
answer_content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain; charset=utf-8",
        "text/plain; charset=utf-16",
        "text/html",
        "application/octet-stream",
        "text/plain; charset=bogus",
    ]
)


@dataclass(slots=True)
class Answer:
    """What the answer server says next."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    content_encoding: str | None = None  # "gzip" (compressed) or a false claim
    requests: int = 0

    @property
    def text(self) -> str:
        """The body as the client reads it (decompressed, UTF-8)."""
        return self.body.decode("utf-8", errors="replace")


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    """Any answer: status, body, content type, content encoding."""
    answer = Answer(
        status=draw(
            st.one_of(
                st.just(200),
                st.just(200),
                st.sampled_from([201, 202, 301, 302, 400, 403, 404, 429, 500, 503]),
            )
        ),
        body=draw(answer_bodies),
        content_type=draw(answer_content_types),
    )
    answer.content_encoding = draw(st.sampled_from([None, None, None, "gzip", "br"]))
    return answer


@pytest.fixture
async def answer_server() -> AsyncIterator[tuple[str, Answer]]:
    """A tiny HTTP server on loopback that gives whatever answer the test sets."""
    answer = Answer()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        answer.requests += 1
        headers: dict[str, str] = {}
        if answer.content_type is not None:
            headers["Content-Type"] = answer.content_type
        body = answer.body
        if answer.content_encoding is not None:
            headers["Content-Encoding"] = answer.content_encoding
            if answer.content_encoding == "gzip":
                body = gzip.compress(body)
        return web.Response(status=answer.status, body=body, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", answer
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(
    answer_server: tuple[str, Answer],
) -> AsyncIterator[SmsOfficeClient]:
    """A client of the answer server; -100 is retried at once."""
    url, _ = answer_server
    async with aiohttp.ClientSession() as session:
        yield SmsOfficeClient(session, API_KEY, base_url=url, timeout=5, retry_delay=0)


@pytest.fixture
def served(answer_server: tuple[str, Answer]) -> Answer:
    """The answer the server gives (a test changes it to change the answer)."""
    return answer_server[1]


async def _call(client: SmsOfficeClient, operation: str) -> Any:
    if operation == "balance":
        return await client.get_balance()
    if operation == "status":
        return await client.get_message_status(MOTHER, "fuzz-1")
    return await client.send(MOTHER, "Fuzz", SENDER, reference="fuzz-1")


@SHARED
@given(answer=answers(), operation=st.sampled_from(["balance", "status", "send"]))
async def test_client_reads_any_answer(
    client: SmsOfficeClient,
    served: Answer,
    answer: Answer,
    operation: str,
) -> None:
    """Only SmsOfficeError subclasses; a value only from an answer that has one."""
    served.status, served.body = answer.status, answer.body
    served.content_type, served.content_encoding = (
        answer.content_type,
        answer.content_encoding,
    )
    served.requests = 0
    try:
        result = await _call(client, operation)
    except SmsOfficeError as err:
        event(f"{operation}: {type(err).__name__}")
        return
    event(f"{operation}: accepted")

    # A value came back: the answer must have been one that carries it.
    assert answer.status == 200
    assert served.requests == 1
    assert answer.content_encoding in (None, "gzip")
    if operation == "balance":
        assert type(result) is int
        assert result >= 0
        # Only ASCII digits (white space around them aside) are a balance.
        assert re.fullmatch(r"[0-9]+", answer.text.strip(), re.ASCII)
        assert int(answer.text.strip()) == result
        return
    envelope = json.loads(answer.text)
    assert envelope["Success"] is True
    if operation == "status":
        assert isinstance(result, DeliveryStatus)
        assert result == DeliveryStatus.parse(envelope["Output"]["Status"])
    else:
        assert isinstance(result, SendResult)
        assert result.reference == "fuzz-1"
        assert result.destinations == [MOTHER]


# ------------------------------------- the webhook's hand-written readers
#
# Two readers replace standard ones (`request.query`/`request.post()`, that is
# parse_qsl, and `strptime`) for speed; they earn it in the webhook burst (see
# benchmarks/README.md). Hypothesis checks that they read exactly what the
# standard ones read: the reader alone, the timestamp alone, and the webhook's
# answers to real requests.

_FORM_NAMES = st.sampled_from(FIELDS).flatmap(cased) | st.text(
    alphabet="aAbB=+%&2F0x;é ", max_size=6
)
_FORM_VALUES = st.one_of(
    st.just(MOTHER),
    st.sampled_from(STATUSES).flatmap(cased),
    valid_timestamps,
    st.text(alphabet="aAbB=+%&2F0x;é 59", max_size=8),
)
_FORM_PIECES = st.sampled_from(["&", "=", "+", "%", "%2", "%3D", "%26", "%C3%A9"])


@st.composite
def encoded_forms(draw: st.DrawFn) -> str:
    """Return a query or form: pairs encoded in various ways, and raw oddities.

    Half of them hold a well-formed report (names in any case, values as the
    strategies above draw them), so that every kind of answer comes up.
    """
    pairs = draw(st.lists(st.tuples(_FORM_NAMES, _FORM_VALUES), max_size=8))
    if draw(st.booleans()):
        pairs = draw(st.permutations(draw(reports()) + pairs[:3]))
    pieces = []
    for name, value in pairs:
        match draw(st.sampled_from(["plus", "percent", "raw"])):
            case "plus":
                pieces.append(f"{quote_plus(name)}={quote_plus(value)}")
            case "percent":
                pieces.append(f"{quote(name, safe='')}={quote(value, safe='')}")
            case _:  # only what cannot be sent as it is is escaped
                pieces.append(
                    f"{quote(name, safe='=+%&;')}={quote(value, safe='=+%&;')}"
                )
        pieces.extend(draw(st.lists(_FORM_PIECES, max_size=2)))
    return "&".join(pieces)


def expected_answer(encoded: str) -> tuple[int, str]:
    """Return the answer that parse_qsl's reading of `encoded` calls for."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(encoded, keep_blank_values=True):
        params.setdefault(name.lower(), value)
    try:
        parse_report(params)
    except MalformedCallbackError as err:
        return 400, str(err)
    return 200, "OK"  # a report for a message not sent here


@SHARED
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="aAbB=+%&2F0x;é ", max_size=6),
            st.text(alphabet="aAbB=+%&2F0x;é ", max_size=8),
        ),
        max_size=6,
    ).map(lambda pairs: "&".join(f"{name}={value}" for name, value in pairs))
    | st.text(alphabet="aAbB=+%&2F0xé;", max_size=40)
)
def test_form_fields_read_as_parse_qsl_does(encoded: str) -> None:
    """`_add_form_fields` gives what parse_qsl gives, names lower-cased, first wins."""
    expected: dict[str, str] = {}
    for name, value in parse_qsl(encoded, keep_blank_values=True):
        expected.setdefault(name.lower(), value)
    params: dict[str, str] = {}
    _add_form_fields(params, encoded)
    assert params == expected


@SHARED
@given(encoded=encoded_forms(), post=st.booleans())
async def test_webhook_reads_queries_and_forms_as_parse_qsl_does(  # noqa: PLR0917
    hass: HomeAssistant,
    http: TestClient,
    events: list[Event],
    loaded_entry: MockConfigEntry,
    encoded: str,
    post: bool,
) -> None:
    """The answer to a query (GET) or form (POST) is what parse_qsl's reading says."""
    if post:
        probe = Probe(
            "POST",
            body=encoded.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        probe = Probe("GET", query=encoded)
    answer = await make_request(http, probe)
    await hass.async_block_till_done()
    note(f"answer: {answer}")
    event(f"{probe.method} -> {answer[0]} {answer[1] if answer[0] == 400 else ''}")

    if not post and filtered_by_home_assistant(webhook_url(http, encoded)):
        assert answer[0] == 400
    else:
        assert answer == expected_answer(encoded)
    assert events == []


@SHARED
@given(
    st.tuples(
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    ).map(lambda parts: "{:04d}{:02d}{:02d}{:02d}{:02d}{:02d}".format(*parts))
    | st.text(alphabet="0123456789", min_size=14, max_size=14)
)
@example("20250102030405")
@example("20240229235959")  # a leap day
@example("20250229000000")  # not a leap year
@example("00000101000000")  # year 0
@example("20251301000000")
@example("20250100000000")
@example("20250101240000")
@example("20250101006000")
@example("20250101000060")  # strptime refuses leap seconds
def test_timestamps_read_as_strptime_does(raw: str) -> None:
    """Any 14 digits: the same time as strptime, or refused where strptime refuses."""
    params = {
        "reference": "r",
        "destination": MOTHER,
        "status": "delivered",
        "timestamp": raw,
    }
    try:
        expected = datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=GEORGIA)
    except ValueError:
        with pytest.raises(MalformedCallbackError, match="invalid timestamp"):
            parse_report(params)
    else:
        assert parse_report(params).timestamp == expected


# ------------------------------------------- regressions found by fuzzing

_DEEP_ARRAY: Final = b"[" * 100_000
_DEEP_IN_OBJECT: Final = b'{"Success": true, "Output": ' + _DEEP_ARRAY
_LONG_CODE: Final = b'{"Success": false, "ErrorCode": "' + b"9" * 5_000 + b'"}'
_LONG_BALANCE: Final = b"9" * 5_000


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        pytest.param("status", _DEEP_ARRAY, id="status-deep-array"),
        pytest.param("send", _DEEP_ARRAY, id="send-deep-array"),
        pytest.param("balance", _DEEP_IN_OBJECT, id="balance-deep-json"),
        pytest.param("status", _DEEP_IN_OBJECT, id="status-deep-json"),
        pytest.param("send", _DEEP_IN_OBJECT, id="send-deep-json"),
        pytest.param("balance", _LONG_CODE, id="balance-long-code"),
        pytest.param("status", _LONG_CODE, id="status-long-code"),
        pytest.param("send", _LONG_CODE, id="send-long-code"),
        pytest.param("balance", _LONG_BALANCE, id="balance-long-balance"),
    ],
)
async def test_answers_found_by_fuzzing_are_client_errors(
    client: SmsOfficeClient,
    served: Answer,
    operation: str,
    body: bytes,
) -> None:
    """Answers the fuzzing found: each must be an SmsOfficeError like any other."""
    served.body = body
    with pytest.raises(SmsOfficeError):
        await _call(client, operation)
