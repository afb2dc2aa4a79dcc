"""Tests of the smsoffice.ge client, driven over real HTTP.

Most tests run the real `SmsOfficeClient` against the fake gateway
(`tests.fake_smsoffice`). Answers the fake cannot give for a request the
client would make (error codes the client's own checks prevent, statuses in
other letter cases, odd envelopes) come from `CannedGateway`, a tiny aiohttp
server of this module that answers with a crafted body: those tests say so.
Nothing of the client is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
import json
import logging
import socket
import time
import traceback
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from smsoffice_client import (
    DeliveryStatus,
    Encoding,
    InvalidContentError,
    InvalidNumberError,
    InvalidReferenceError,
    InvalidScheduleError,
    InvalidSenderError,
    NumberCheck,
    SmsOfficeApiAccessDisabledError,
    SmsOfficeApiError,
    SmsOfficeAuthenticationError,
    SmsOfficeBalanceError,
    SmsOfficeClient,
    SmsOfficeConnectionError,
    SmsOfficeContentError,
    SmsOfficeError,
    SmsOfficeRecipientError,
    SmsOfficeResponseError,
    SmsOfficeSenderError,
    SmsOfficeTemporaryError,
    SmsOfficeUnknownCodeError,
    SmsOfficeValidationError,
    check_numbers,
    check_schedule,
    estimate_parts,
)
from smsoffice_client.numbers import INLINE_LIMIT
from tests.client.test_numbers import MANY, mixed_inputs
from tests.fake_smsoffice import FakeSmsOffice
from tests.fake_smsoffice.server import ERROR_MESSAGES

KEY = "test-api-key"
SENDER = "HomeAlarm"
GEO = "995555123456"
GEO2 = "995577654321"
GEO3 = "995599112233"
GEORGIA = timezone(timedelta(hours=4))
FORM = "application/x-www-form-urlencoded"
CLIENT_LOGGER = "smsoffice_client.client"
# Retries of the client under test: 2 retries, so 3 attempts at most.
RETRIES = 2

ClientFactory = Callable[..., SmsOfficeClient]


@pytest.fixture
async def gateway() -> AsyncIterator[FakeSmsOffice]:
    """Run a fake smsoffice.ge on loopback that knows `KEY` and `SENDER`."""
    async with FakeSmsOffice(
        api_keys=[KEY], senders=["smsoffice", SENDER], slow_seconds=3
    ) as fake:
        yield fake


def client_factory(
    session: aiohttp.ClientSession, base_url: str, retries: int
) -> ClientFactory:
    """Return a factory of clients of `base_url`, fast to retry and time out."""

    def make(**overrides: Any) -> SmsOfficeClient:
        options: dict[str, Any] = {
            "api_key": KEY,
            "base_url": base_url,
            "timeout": 2.0,
            "retries": retries,
            "retry_delay": 0.001,
        }
        options.update(overrides)
        return SmsOfficeClient(session, options.pop("api_key"), **options)

    return make


@pytest.fixture
def make_client(
    session: aiohttp.ClientSession, gateway: FakeSmsOffice
) -> ClientFactory:
    """Return a factory of clients of the fake."""
    return client_factory(session, gateway.url, RETRIES)


@pytest.fixture
def client(make_client: ClientFactory) -> SmsOfficeClient:
    """Return a client of the fake with the right key."""
    return make_client()


@pytest.fixture(params=[False, True], ids=["code-top-level", "code-in-output"])
def quirk(request: pytest.FixtureRequest, gateway: FakeSmsOffice) -> bool:
    """Run a test with the fake's error code at the top level, then in Output."""
    gateway.error_code_in_output = request.param
    return bool(request.param)


# ---------------------------------------------------------------- canned server

Body = str | Callable[[web.Request, dict[str, str]], str]


@dataclass
class CannedGateway:
    """A server that answers every request with crafted answers, in turn.

    The last answer repeats. A body may be a function of the request and its
    parameters (query and form together), to echo what it received.
    """

    url: str = ""
    answers: list[tuple[int, Body, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(
        self, body: Body, *, status: int = 200, content_type: str = "application/json"
    ) -> None:
        """Answer every following request with `body`."""
        self.answers = [(status, body, content_type)]


@pytest.fixture
async def canned() -> AsyncIterator[CannedGateway]:
    """Run a `CannedGateway` on loopback."""
    state = CannedGateway()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        form = dict(await request.post()) if request.method == "POST" else {}
        params = {**request.query, **{k: str(v) for k, v in form.items()}}
        state.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "params": params,
                "body": body,
                "content_type": request.headers.get("Content-Type"),
            }
        )
        if len(state.answers) > 1:
            status, body, content_type = state.answers.pop(0)
        else:
            status, body, content_type = state.answers[0]
        text = body(request, params) if callable(body) else body
        return web.Response(status=status, text=text, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


@pytest.fixture
def canned_client(
    session: aiohttp.ClientSession, canned: CannedGateway
) -> ClientFactory:
    """Return a factory of clients of the canned server (no retries by default)."""
    return client_factory(session, canned.url, 0)


def envelope(
    code: int | str | None = None,
    *,
    success: bool = False,
    message: str = "Crafted message",
    output: Any = None,
    in_output: bool = False,
) -> str:
    """Return a JSON envelope; the code at the top level or inside Output."""
    data: dict[str, Any] = {"Success": success, "Message": message, "Output": output}
    if code is not None:
        if in_output:
            data["Output"] = {"ErrorCode": code}
        else:
            data["ErrorCode"] = code
    return json.dumps(data)


SENT_OK = envelope(0, success=True, message="Message sent successfully", output=1)


def free_port() -> int:
    """Return a loopback port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


Call = Callable[[SmsOfficeClient], Awaitable[Any]]


async def call_send(client: SmsOfficeClient) -> Any:
    """Send a short text to one Georgian number."""
    return await client.send(GEO, "Alarm: front door opened", SENDER, reference="ref-1")


async def call_balance(client: SmsOfficeClient) -> Any:
    """Read the balance."""
    return await client.get_balance()


async def call_status(client: SmsOfficeClient) -> Any:
    """Read a status."""
    return await client.get_message_status(GEO, "ref-1")


CALLS: dict[str, Call] = {
    "send": call_send,
    "balance": call_balance,
    "status": call_status,
}
ENDPOINTS = list(CALLS)
READS = ["balance", "status"]


# ------------------------------------------------------------------------- send


async def test_send_is_a_form_post_to_the_trailing_slash_path(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    when = datetime.now(GEORGIA).replace(microsecond=0) + timedelta(hours=2)

    await client.send(
        ["+995 555 12 34 56", "577 65-43-21"],
        "Alarm: front door opened",
        SENDER,
        urgent=True,
        flash=True,
        reference="alarm-0001",
        scheduled_at=when,
    )

    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request.method == "POST"
    assert request.path == "/api/v2/send/"
    assert request.endpoint == "send"
    assert request.content_type.split(";")[0].strip() == FORM
    assert request.form == {
        "key": KEY,
        "destination": f"{GEO},{GEO2}",
        "sender": SENDER,
        "content": "Alarm: front door opened",
        "reference": "alarm-0001",
        "urgent": "true",
        "contentType": "2",
        "scheduledAt": str(int(when.timestamp())),
    }
    # The key travels in the body only.
    assert request.query == {}
    assert request.raw_query_string == ""
    assert KEY not in request.path
    message = gateway.messages[0]
    assert message.urgent is True
    assert message.content_type == 2
    assert message.scheduled_at == int(when.timestamp())


@pytest.mark.parametrize(
    ("destinations", "destination"),
    [
        ([GEO, GEO2], f"{GEO},{GEO2}"),
        # Numbers the caller checked its own way are sent as they come.
        (NumberCheck(["+995 555 12-34-56", GEO2], []), f"+995 555 12-34-56,{GEO2}"),
    ],
)
async def test_send_posts_the_bytes_aiohttp_would_post(
    session: aiohttp.ClientSession,
    canned: CannedGateway,
    canned_client: ClientFactory,
    destinations: list[str] | NumberCheck,
    destination: str,
) -> None:
    """The client encodes its form itself (faster): the same body and type as
    aiohttp's own form encoding, for text that needs quoting too."""
    canned.answer(envelope(0, success=True, output=None))
    content = "Gate & door = open + 100% ✓ ;/?#\nკარი ღიაა 😀"
    result = await canned_client().send(
        destinations, content, SENDER, reference="quoted-1"
    )
    form = {
        "key": KEY,
        "destination": destination,
        "sender": SENDER,
        "content": content,
        "reference": result.reference,
        "urgent": "false",
        "contentType": "1",
    }
    async with session.post(canned.url + "/api/v2/send/", data=form) as response:
        await response.read()
    ours, aiohttps = canned.requests
    assert ours["body"] == aiohttps["body"]
    assert ours["content_type"] == aiohttps["content_type"] == FORM
    assert ours["params"] == form


async def test_send_defaults(client: SmsOfficeClient, gateway: FakeSmsOffice) -> None:
    result = await client.send(GEO, "Hello", SENDER)

    form = gateway.requests[0].form
    assert form["urgent"] == "false"
    assert form["contentType"] == "1"
    assert "scheduledAt" not in form
    assert form["reference"] == result.reference
    assert result.scheduled_at is None
    assert gateway.messages[0].reference == result.reference


async def test_send_generates_a_fresh_reference_when_none_is_given(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    first = await client.send(GEO, "One", SENDER)
    second = await client.send(GEO, "Two", SENDER)

    for result in (first, second):
        assert 1 <= len(result.reference) <= 20
        assert result.reference == result.reference.strip()
    assert first.reference != second.reference
    assert [r.form["reference"] for r in gateway.requests] == [
        first.reference,
        second.reference,
    ]


async def test_send_result_and_charge(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    content = "განგაში: " + "ა" * 100  # UCS-2, 109 units: 2 parts
    before = gateway.balance

    result = await client.send(
        ["+995 555 12 34 56", "00995577654321", "599 11 22 33", "12", "not a number"],
        content,
        SENDER,
        reference="r-2",
        allow_partial=True,
    )

    assert result.reference == "r-2"
    assert result.destinations == [GEO, GEO2, GEO3]
    assert result.invalid == ["12", "not a number"]
    assert result.encoding is Encoding.UCS2
    assert result.characters == len(content)
    assert result.parts == 2
    assert result.credits == 2 * 3
    assert result.gateway_message == "Message sent successfully"
    assert gateway.balance == before - result.credits
    assert gateway.requests[0].form["destination"] == f"{GEO},{GEO2},{GEO3}"
    assert gateway.messages[0].parts == result.parts


async def test_send_gsm7_result(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    before = gateway.balance

    result = await client.send([GEO, GEO2], "a" * 161, SENDER)

    assert result.encoding is Encoding.GSM7
    assert (result.parts, result.credits) == (2, 4)
    assert result.invalid == []
    assert gateway.balance == before - 4


async def test_send_deduplicates_numbers(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    before = gateway.balance

    result = await client.send(
        ["555123456", "+995 555 12 34 56", "0555123456", "577654321"], "Hi", SENDER
    )

    assert result.destinations == [GEO, GEO2]
    assert result.credits == 2
    assert gateway.requests[0].form["destination"] == f"{GEO},{GEO2}"
    assert gateway.balance == before - 2


@pytest.mark.parametrize("blocks", [1, MANY], ids=["few", "many"])
async def test_send_checks_few_and_many_numbers_alike(
    client: SmsOfficeClient, gateway: FakeSmsOffice, blocks: int
) -> None:
    """Above `INLINE_LIMIT` the numbers are checked in a worker thread, the same way."""
    raw, expected = mixed_inputs(blocks)
    assert (len(raw) > INLINE_LIMIT) is (blocks == MANY)

    result = await client.send(raw, "Hi", SENDER, allow_partial=True)

    assert result.destinations == expected.valid
    assert result.invalid == expected.invalid
    assert result.credits == len(expected.valid)
    assert gateway.requests[0].form["destination"] == ",".join(expected.valid)

    with pytest.raises(InvalidNumberError) as caught:
        await client.send(raw, "Hi", SENDER)
    assert caught.value.invalid == expected.invalid
    assert len(gateway.requests) == 1


async def test_send_takes_numbers_already_checked(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    checked = check_numbers(["555123456", "12", "+44 7911 123456", "0555123456"])

    result = await client.send(checked, "Hi", SENDER, allow_partial=True)

    assert result.destinations == [GEO, "447911123456"]
    assert result.invalid == ["12"]
    assert gateway.requests[0].form["destination"] == f"{GEO},447911123456"

    with pytest.raises(InvalidNumberError) as caught:
        await client.send(checked, "Hi", SENDER)
    assert caught.value.invalid == ["12"]
    with pytest.raises(InvalidNumberError, match="no number"):
        await client.send(NumberCheck([], []), "Hi", SENDER, allow_partial=True)
    assert len(gateway.requests) == 1


async def test_send_to_a_foreign_number(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    result = await client.send("+44 7911 123456", "Hi", "smsoffice")

    assert result.destinations == ["447911123456"]
    assert gateway.messages[0].destinations == ["447911123456"]


async def test_send_with_content_of_1000_characters(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    result = await client.send(GEO, "ა" * 1000, SENDER)

    assert result.characters == 1000
    assert result.parts == estimate_parts("ა" * 1000).parts == 15
    assert gateway.messages[0].content == "ა" * 1000


async def test_base_url_with_a_trailing_slash(
    make_client: ClientFactory, gateway: FakeSmsOffice
) -> None:
    client = make_client(base_url=gateway.url + "/")

    await client.send(GEO, "Hi", SENDER)
    assert await client.get_balance() == gateway.balance

    assert [r.path for r in gateway.requests] == ["/api/v2/send/", "/api/getBalance"]


async def test_send_accepts_every_form_of_success_output(
    canned: CannedGateway, canned_client: ClientFactory
) -> None:
    """Crafted answers: Output has been seen as a number, string, object or null."""
    client = canned_client()
    for output in (4810001, "4810001", {"MessageId": 1}, None, []):
        canned.answer(envelope(0, success=True, message="ok", output=output))
        result = await client.send(GEO, "Hi", SENDER)
        assert result.gateway_message == "ok"
    # ErrorCode may be absent, or a string, on success.
    canned.answer(json.dumps({"Success": True, "Message": None, "Output": 1}))
    assert (await client.send(GEO, "Hi", SENDER)).gateway_message == ""
    canned.answer(envelope("0", success=True, output=1))
    await client.send(GEO, "Hi", SENDER)


# ---------------------------------------------------- error codes, from the fake


async def test_wrong_key_is_an_authentication_error(
    make_client: ClientFactory, gateway: FakeSmsOffice, quirk: bool
) -> None:
    """The fake refuses a key it does not know with 80, on every endpoint."""
    client = make_client(api_key="not-the-key")
    before = gateway.balance
    for name, call in CALLS.items():
        with pytest.raises(SmsOfficeAuthenticationError) as caught:
            await call(client)
        assert type(caught.value) is SmsOfficeAuthenticationError, name
        assert caught.value.code == 80
        assert caught.value.gateway_message == "API key is incorrect"
        assert "80" in str(caught.value)
    assert [r.endpoint for r in gateway.requests] == ENDPOINTS
    assert gateway.messages == []
    assert gateway.balance == before


@pytest.mark.parametrize(
    ("api_key", "access", "family", "code", "message"),
    [
        ("", True, SmsOfficeAuthenticationError, 500, "API key is missing"),
        (KEY, False, SmsOfficeApiAccessDisabledError, 120, "API access is disabled"),
    ],
    ids=["empty_key", "api_access_disabled"],
)
async def test_account_refused_on_every_endpoint(  # noqa: PLR0917
    make_client: ClientFactory,
    gateway: FakeSmsOffice,
    quirk: bool,
    api_key: str,
    access: bool,
    family: type[SmsOfficeApiError],
    code: int,
    message: str,
) -> None:
    """The client sends an empty key as it is: the fake answers 500. API access
    off is 120, an authentication error too."""
    gateway.api_access_enabled = access
    client = make_client(api_key=api_key)
    for call in CALLS.values():
        with pytest.raises(family) as caught:
            await call(client)
        assert isinstance(caught.value, SmsOfficeAuthenticationError)
        assert caught.value.code == code
        assert caught.value.gateway_message == message
    assert len(gateway.requests) == 3
    assert gateway.messages == []


async def test_insufficient_balance(
    client: SmsOfficeClient, gateway: FakeSmsOffice, quirk: bool
) -> None:
    gateway.balance = 3

    with pytest.raises(SmsOfficeBalanceError) as caught:
        await client.send([GEO, GEO2], "a" * 161, SENDER)  # 2 parts x 2 = 4 credits

    assert caught.value.code == 20
    assert caught.value.gateway_message == "Balance is insufficient"
    assert gateway.balance == 3
    assert gateway.messages == []
    assert len(gateway.requests) == 1


@pytest.mark.parametrize(
    ("stoplist", "destinations", "sent_as", "code"),
    [
        ({GEO, GEO2}, [GEO, GEO2], f"{GEO},{GEO2}", 75),
        # Niue's 4-digit numbers pass the client's check but not the fake's.
        (set(), ["+683 4002"], "6834002", 76),
        ({GEO}, [GEO, "+683 4002"], f"{GEO},6834002", 77),
    ],
    ids=[
        "all_stoplisted",
        "all_badly_formed_at_the_gateway",
        "stoplisted_or_badly_formed",
    ],
)
async def test_numbers_refused_by_the_gateway(  # noqa: PLR0917
    client: SmsOfficeClient,
    gateway: FakeSmsOffice,
    quirk: bool,
    stoplist: set[str],
    destinations: list[str],
    sent_as: str,
    code: int,
) -> None:
    gateway.stoplist = stoplist

    with pytest.raises(SmsOfficeRecipientError) as caught:
        await client.send(destinations, "Hi", SENDER)

    assert caught.value.code == code
    assert caught.value.gateway_message == ERROR_MESSAGES[code]
    assert gateway.requests[0].form["destination"] == sent_as
    assert gateway.messages == []


async def test_sender_not_approved(
    client: SmsOfficeClient, gateway: FakeSmsOffice, quirk: bool
) -> None:
    with pytest.raises(SmsOfficeSenderError) as caught:
        await client.send(GEO, "Hi", "Unknown1")

    assert caught.value.code == 150
    assert caught.value.gateway_message == "Sender not found"
    assert gateway.messages == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_temporary_code_without_retries(
    make_client: ClientFactory, gateway: FakeSmsOffice, quirk: bool, endpoint: str
) -> None:
    gateway.inject("temporary", endpoint=endpoint)

    with pytest.raises(SmsOfficeTemporaryError) as caught:
        await CALLS[endpoint](make_client(retries=0))

    assert caught.value.code == -100
    assert caught.value.gateway_message == "Temporary delay"
    assert len(gateway.requests_to(endpoint)) == 1


# -------------------------------------------- error codes, from crafted answers

# The documented codes of each family (and codes it does not know).
FAMILY_CODES: dict[type[SmsOfficeApiError], tuple[int, ...]] = {
    SmsOfficeAuthenticationError: (80, 500),
    SmsOfficeApiAccessDisabledError: (120,),
    SmsOfficeBalanceError: (20,),
    SmsOfficeRecipientError: (10, 70, 75, 76, 77, 600),
    SmsOfficeSenderError: (110, 150, 700),
    SmsOfficeContentError: (40, 60, 800),
    SmsOfficeTemporaryError: (-100,),
    SmsOfficeUnknownCodeError: (1, 30, 999, -1),
}
CODE_FAMILIES = {
    code: family for family, codes in FAMILY_CODES.items() for code in codes
}


@pytest.mark.parametrize("in_output", [False, True], ids=["top-level", "in-output"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("code", CODE_FAMILIES)
async def test_every_error_code_maps_to_its_family(
    canned: CannedGateway,
    canned_client: ClientFactory,
    code: int,
    endpoint: str,
    in_output: bool,
) -> None:
    """Crafted answers: every documented (and an unknown) code, on every endpoint."""
    family = CODE_FAMILIES[code]
    canned.answer(envelope(code, message=f"Gateway says {code}", in_output=in_output))

    with pytest.raises(SmsOfficeApiError) as caught:
        await CALLS[endpoint](canned_client())

    assert type(caught.value) is family
    assert caught.value.code == code
    assert caught.value.gateway_message == f"Gateway says {code}"
    assert str(code) in str(caught.value)
    assert f"Gateway says {code}" in str(caught.value)
    assert len(canned.requests) == 1


async def test_error_code_given_as_a_string(
    canned: CannedGateway, canned_client: ClientFactory
) -> None:
    """Crafted answers: a code written as a string is still read."""
    client = canned_client()
    canned.answer(envelope(" 20 ", message=""))
    with pytest.raises(SmsOfficeBalanceError) as caught:
        await client.send(GEO, "Hi", SENDER)
    assert caught.value.code == 20
    assert caught.value.gateway_message == ""
    assert "no message" in str(caught.value)

    canned.answer(envelope("-100", in_output=True))
    with pytest.raises(SmsOfficeTemporaryError):
        await client.get_balance()


# Success false and no code that can be read.
WITHOUT_A_USABLE_CODE = {
    "none": envelope(None),  # refused, no code at all
    "zero": envelope(0),  # refused with code 0
    "superscript-2": envelope("²"),  # a "digit" isdigit() accepts and int() refuses
    "double-minus": envelope("--5"),
    "word": envelope("twenty"),
    "bool": envelope(True),
    "float": envelope(20.0),
    "null": json.dumps(
        {"Success": False, "Message": "x", "Output": {"ErrorCode": None}}
    ),
}
# JSON without a boolean Success.
NOT_AN_ENVELOPE = {
    "list": "[]",
    "number": "42",
    "string": '"text"',
    "null": "null",
    "no-success": json.dumps({"Message": "no Success field", "ErrorCode": 0}),
    "success-str": json.dumps({"Success": "true", "ErrorCode": 0}),
    "success-int": json.dumps({"Success": 1, "ErrorCode": 0}),
}


@pytest.mark.parametrize(
    ("endpoint", "body", "match"),
    [
        *(
            pytest.param(
                endpoint, body, "without an error code", id=f"{endpoint}-{name}"
            )
            for endpoint in ENDPOINTS
            for name, body in WITHOUT_A_USABLE_CODE.items()
        ),
        *(
            pytest.param(endpoint, body, "no Success field", id=f"{endpoint}-{name}")
            for endpoint in ("send", "status")
            for name, body in NOT_AN_ENVELOPE.items()
        ),
    ],
)
async def test_answers_not_understood_are_response_errors(
    canned: CannedGateway,
    canned_client: ClientFactory,
    endpoint: str,
    body: str,
    match: str,
) -> None:
    """Crafted answers: Success false and no readable code is a response error,
    and JSON without a boolean Success is not understood."""
    canned.answer(body)

    with pytest.raises(SmsOfficeResponseError, match=match):
        await CALLS[endpoint](canned_client())


async def test_success_with_an_error_code_is_an_error(
    canned: CannedGateway, canned_client: ClientFactory
) -> None:
    """Crafted answer: a nonzero code wins over Success true."""
    canned.answer(envelope(20, success=True, message="Balance is insufficient"))

    with pytest.raises(SmsOfficeBalanceError):
        await canned_client().send(GEO, "Hi", SENDER)


# ----------------------------------------------------------------------- faults


@pytest.mark.parametrize("fault", ["slow", "reset"])
async def test_send_cut_off_may_have_been_sent_and_is_not_retried(
    make_client: ClientFactory, gateway: FakeSmsOffice, fault: str
) -> None:
    gateway.inject(fault, count=3, endpoint="send")
    client = make_client(timeout=0.3)

    with pytest.raises(SmsOfficeConnectionError) as caught:
        await client.send(GEO, "Hi", SENDER)

    assert caught.value.maybe_sent is True
    assert len(gateway.requests_to("send")) == 1
    assert len(gateway.requests) == 1


# aiohttp itself repeats a GET once when the server closes the connection
# without an answer (RFC 9112 retry of idempotent requests): each attempt of the
# client is then two requests at the fake. It never does so for the send POST.
REQUESTS_PER_ATTEMPT = {"slow": 1, "reset": 2}


@pytest.mark.parametrize("fault", ["slow", "reset"])
@pytest.mark.parametrize("endpoint", READS)
async def test_read_cut_off_is_retried_up_to_the_limit(
    make_client: ClientFactory, gateway: FakeSmsOffice, endpoint: str, fault: str
) -> None:
    """Cut off as often as there are retries: the answer comes. Once more: a
    connection error, of a read that sent nothing."""
    per_attempt = REQUESTS_PER_ATTEMPT[fault]
    gateway.inject(fault, count=per_attempt * RETRIES, endpoint=endpoint)
    client = make_client(timeout=0.3)

    result = await CALLS[endpoint](client)

    assert result == (1000 if endpoint == "balance" else DeliveryStatus.UNKNOWN)
    before = len(gateway.requests_to(endpoint))
    assert before == per_attempt * RETRIES + 1

    gateway.inject(fault, count=per_attempt * (RETRIES + 1) + 5, endpoint=endpoint)
    with pytest.raises(SmsOfficeConnectionError) as caught:
        await CALLS[endpoint](client)

    assert caught.value.maybe_sent is False
    assert len(gateway.requests_to(endpoint)) - before == per_attempt * (RETRIES + 1)


async def test_reset_read_once_is_repeated_by_aiohttp_alone(
    client: SmsOfficeClient, gateway: FakeSmsOffice, caplog: pytest.LogCaptureFixture
) -> None:
    """One reset of a GET never reaches the client's own retry."""
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)
    gateway.inject("reset", endpoint="balance")

    assert await client.get_balance() == 1000

    assert len(gateway.requests_to("balance")) == 2
    assert not [r for r in caplog.records if r.msg.startswith("Retrying")]


@pytest.mark.parametrize("fault", ["http500", "html", "invalid_json", "empty"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_unreadable_answers_are_response_errors(
    client: SmsOfficeClient, gateway: FakeSmsOffice, endpoint: str, fault: str
) -> None:
    gateway.inject(fault, count=3, endpoint=endpoint)
    before = gateway.balance

    with pytest.raises(SmsOfficeResponseError) as caught:
        await CALLS[endpoint](client)

    assert not isinstance(caught.value, SmsOfficeApiError)
    assert len(gateway.requests_to(endpoint)) == 1  # not retried
    assert gateway.balance == before
    if fault == "http500":
        assert "HTTP 500" in str(caught.value)
    if fault == "empty":
        assert "(empty)" in str(caught.value)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_temporary_code_is_retried_with_backoff(
    make_client: ClientFactory,
    gateway: FakeSmsOffice,
    endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)
    gateway.inject("temporary", count=RETRIES, endpoint=endpoint)
    before = gateway.balance
    client = make_client(retry_delay=0.05)
    started = time.monotonic()

    await CALLS[endpoint](client)

    assert time.monotonic() - started >= 0.14  # 0.05 + 0.1 of sleeps
    assert len(gateway.requests_to(endpoint)) == RETRIES + 1
    delays = [r.args[2] for r in caplog.records if r.msg.startswith("Retrying")]  # type: ignore[index]
    assert delays == [0.05, 0.1]
    if endpoint == "send":
        assert len(gateway.messages) == 1
        assert gateway.balance == before - 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_temporary_code_past_the_retry_limit(
    client: SmsOfficeClient, gateway: FakeSmsOffice, endpoint: str, quirk: bool
) -> None:
    gateway.inject("temporary", count=RETRIES + 1, endpoint=endpoint)

    with pytest.raises(SmsOfficeTemporaryError) as caught:
        await CALLS[endpoint](client)

    assert caught.value.code == -100
    assert len(gateway.requests_to(endpoint)) == RETRIES + 1
    assert gateway.messages == []


async def test_faults_do_not_leak_into_the_next_call(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    gateway.inject("http500", endpoint="balance")
    with pytest.raises(SmsOfficeResponseError):
        await client.get_balance()

    assert await client.get_balance() == 1000


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_connection_refused_is_retried_then_fails(
    make_client: ClientFactory, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens on the port: no request can have arrived anywhere."""
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(SmsOfficeConnectionError) as caught:
        await CALLS[endpoint](client)

    assert caught.value.maybe_sent is False
    assert "Cannot connect to 127.0.0.1:" in str(caught.value)
    retries = [r for r in caplog.records if r.msg.startswith("Retrying")]
    assert len(retries) == RETRIES


async def test_credentials_in_the_address_stay_out_of_errors(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy address with `user:password@`: errors and logs name the host only."""
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)
    port = free_port()
    client = make_client(base_url=f"http://user:secret-pass@127.0.0.1:{port}")

    with pytest.raises(SmsOfficeConnectionError) as caught:
        await client.get_balance()

    assert f"Cannot connect to 127.0.0.1:{port}" in str(caught.value)
    assert "secret-pass" not in str(caught.value)
    assert "secret-pass" not in caplog.text


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """Return a loopback port whose connections never complete.

    Its listening socket's queue is full and nothing accepts: the kernel
    drops further handshakes, so a connection attempt waits until it times out.
    """
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        try:
            yield port
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_connect_timeout_is_retried_then_fails_as_not_sent(
    make_client: ClientFactory,
    unanswered_port: int,
    endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connection that never completes: a send cannot have gone out either."""
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)
    client = make_client(
        base_url=f"http://127.0.0.1:{unanswered_port}", connect_timeout=0.2
    )

    with pytest.raises(SmsOfficeConnectionError) as caught:
        await CALLS[endpoint](client)

    assert caught.value.maybe_sent is False
    assert "Cannot connect to 127.0.0.1:" in str(caught.value)
    assert "ConnectionTimeoutError" in str(caught.value)
    retries = [r for r in caplog.records if r.msg.startswith("Retrying")]
    assert len(retries) == RETRIES


class _RetryWatch(logging.Handler):
    """Set an event when the client logs that it will retry."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retrying = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("Retrying"):
            self.retrying.set()


async def test_send_retried_after_refused_connection_goes_out_once(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway starts listening while the client waits to retry."""
    caplog.set_level(logging.DEBUG, logger=CLIENT_LOGGER)
    watch = _RetryWatch()
    logging.getLogger(CLIENT_LOGGER).addHandler(watch)
    port = free_port()
    client = SmsOfficeClient(
        session, KEY, base_url=f"http://127.0.0.1:{port}", retries=2, retry_delay=0.5
    )
    late = FakeSmsOffice(api_keys=[KEY], senders=[SENDER])
    task = asyncio.create_task(client.send(GEO, "Hi", SENDER))
    try:
        async with asyncio.timeout(2):
            await watch.retrying.wait()  # the first attempt was refused
        await late.start(port=port)
        result = await task
    finally:
        logging.getLogger(CLIENT_LOGGER).removeHandler(watch)
        task.cancel()
        await late.stop()

    assert result.destinations == [GEO]
    assert len(late.requests) == 1
    assert len(late.messages) == 1
    assert len([r for r in caplog.records if r.msg.startswith("Retrying")]) == 1


# ---------------------------------------------------------------------- balance


async def test_balance_is_a_get_with_the_key_in_the_query(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    gateway.balance = 1234

    assert await client.get_balance() == 1234

    request = gateway.requests[0]
    assert (request.method, request.path) == ("GET", "/api/getBalance")
    assert request.query == {"key": KEY}  # documented only this way


async def test_balance_of_zero_is_zero(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    gateway.balance = 0

    assert await client.get_balance() == 0


@pytest.mark.parametrize(
    ("body", "balance"),
    [("42", 42), ("42\r\n", 42), ("  42  ", 42), ("\t\r\n7\n", 7), ("0", 0)],
)
async def test_balance_tolerates_whitespace(
    canned: CannedGateway, canned_client: ClientFactory, body: str, balance: int
) -> None:
    """Crafted plain-text answers."""
    canned.answer(body, content_type="text/plain")

    assert await canned_client().get_balance() == balance


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   \r\n",
        "12.5",
        "1,000",
        "1 000",
        "-5",
        "+5",
        "--5",
        "²",
        "٣",  # an Arabic-Indic three: int() would read it, the client must not
        "42abc",
        "OK",
        "<html><body>Maintenance</body></html>",
        "{}",
        '{"Success": tru',
        envelope(0, success=True, output=42),  # JSON, but not a balance
    ],
)
async def test_balance_that_is_not_an_integer(
    canned: CannedGateway, canned_client: ClientFactory, body: str
) -> None:
    """Crafted answers: never a crash, never a zero."""
    canned.answer(body, content_type="text/plain")

    with pytest.raises(SmsOfficeResponseError):
        await canned_client().get_balance()


async def test_balance_with_a_wrong_key(
    make_client: ClientFactory, gateway: FakeSmsOffice, quirk: bool
) -> None:
    with pytest.raises(SmsOfficeAuthenticationError) as caught:
        await make_client(api_key="wrong").get_balance()

    assert caught.value.code == 80


async def test_balance_falls_by_parts_times_recipients(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    before = await client.get_balance()

    result = await client.send([GEO, GEO2, GEO3], "ა" * 71, SENDER)

    assert result.credits == 2 * 3
    assert await client.get_balance() == before - 6


# ----------------------------------------------------------------------- status


async def wait_for_status(
    gateway: FakeSmsOffice, reference: str, destination: str, expected: str
) -> None:
    """Wait until the fake has moved the message to `expected`."""
    for _ in range(200):
        if gateway.status_of(reference, destination) == expected:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"the fake never reached {expected}")


@pytest.mark.parametrize(
    ("outcome", "fake_status", "status"),
    [
        ("delivered", "Delivered", DeliveryStatus.DELIVERED),
        ("undelivered", "Undelivered", DeliveryStatus.UNDELIVERED),
        ("expired", "Expired", DeliveryStatus.EXPIRED),
        ("pending", "Pending", DeliveryStatus.PENDING),
        ("unknown", "Unknown", DeliveryStatus.UNKNOWN),
    ],
)
async def test_status_of_a_sent_message(
    client: SmsOfficeClient,
    gateway: FakeSmsOffice,
    outcome: str,
    fake_status: str,
    status: DeliveryStatus,
) -> None:
    gateway.set_outcome(GEO, outcome)
    await client.send(GEO, "Hi", SENDER, reference="st-1")
    await wait_for_status(gateway, "st-1", GEO, fake_status)

    assert await client.get_message_status("+995 555 12 34 56", "st-1") is status

    request = gateway.requests_to("status")[0]
    assert (request.method, request.path) == ("GET", "/api/v2/getMessageStatus/")
    assert request.query == {"key": KEY, "destination": GEO, "reference": "st-1"}


async def test_status_of_each_destination(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    gateway.set_outcome(GEO2, "undelivered")
    await client.send([GEO, GEO2], "Hi", SENDER, reference="st-2")
    await wait_for_status(gateway, "st-2", GEO, "Delivered")
    await wait_for_status(gateway, "st-2", GEO2, "Undelivered")

    assert await client.get_message_status("555123456", "st-2") is (
        DeliveryStatus.DELIVERED
    )
    assert await client.get_message_status("0577654321", "st-2") is (
        DeliveryStatus.UNDELIVERED
    )


async def test_status_of_a_reference_never_sent(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    assert await client.get_message_status(GEO, "never-sent") is DeliveryStatus.UNKNOWN


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Delivered", DeliveryStatus.DELIVERED),
        ("delivered", DeliveryStatus.DELIVERED),
        ("DELIVERED", DeliveryStatus.DELIVERED),
        ("uNdElIvErEd", DeliveryStatus.UNDELIVERED),
        (" Expired ", DeliveryStatus.EXPIRED),
        ("pending", DeliveryStatus.PENDING),
        ("UNKNOWN", DeliveryStatus.UNKNOWN),
    ],
)
async def test_status_is_read_without_case(
    canned: CannedGateway,
    canned_client: ClientFactory,
    raw: str,
    status: DeliveryStatus,
) -> None:
    """Crafted answers: the fake answers in title case only."""
    canned.answer(envelope(0, success=True, output={"Status": raw}))

    assert await canned_client().get_message_status(GEO, "ref") is status


@pytest.mark.parametrize(
    "output",
    [None, "Delivered", {"Status": "Sent"}, {"Status": ""}, {"Status": 3}, {}, [1]],
)
async def test_status_answer_without_a_known_status(
    canned: CannedGateway, canned_client: ClientFactory, output: Any
) -> None:
    """Crafted answers."""
    canned.answer(envelope(0, success=True, output=output))

    with pytest.raises(SmsOfficeResponseError, match="no known status"):
        await canned_client().get_message_status(GEO, "ref")


async def test_status_refused_with_code_zero(
    canned: CannedGateway, canned_client: ClientFactory
) -> None:
    """Crafted answer: the fake's 'reference is missing' refusal (Success false, 0)."""
    canned.answer(envelope(0, message="reference is missing"))

    with pytest.raises(SmsOfficeResponseError, match="reference is missing"):
        await canned_client().get_message_status(GEO, "ref")


@pytest.mark.parametrize("reference", ["", "r" * 21, " ref", "ref "])
async def test_status_reference_checked_before_any_request(
    client: SmsOfficeClient, gateway: FakeSmsOffice, reference: str
) -> None:
    with pytest.raises(InvalidReferenceError) as caught:
        await client.get_message_status(GEO, reference)

    assert caught.value.reference == reference
    assert gateway.requests == []


async def test_status_reference_of_20_characters(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    await client.send(GEO, "Hi", SENDER, reference="r" * 20)
    await wait_for_status(gateway, "r" * 20, GEO, "Delivered")

    assert await client.get_message_status(GEO, "r" * 20) is DeliveryStatus.DELIVERED


@pytest.mark.parametrize("destination", ["12", "abc", "", "+995 555 12 34 56 ext. 7"])
async def test_status_destination_checked_before_any_request(
    client: SmsOfficeClient, gateway: FakeSmsOffice, destination: str
) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        await client.get_message_status(destination, "ref")

    assert caught.value.invalid == [destination]
    assert gateway.requests == []


def test_delivery_status_model() -> None:
    assert DeliveryStatus.parse(" Delivered\n") is DeliveryStatus.DELIVERED
    assert DeliveryStatus.parse("sent") is None
    assert {s for s in DeliveryStatus if s.is_final} == {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.EXPIRED,
    }
    assert DeliveryStatus.PENDING.rank < DeliveryStatus.UNKNOWN.rank
    assert DeliveryStatus.UNKNOWN.rank < DeliveryStatus.DELIVERED.rank
    assert (
        DeliveryStatus.DELIVERED.rank
        == DeliveryStatus.UNDELIVERED.rank
        == DeliveryStatus.EXPIRED.rank
    )


# --------------------------------------------------- checks before any request


async def test_invalid_numbers_are_named(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        await client.send(["555123456", "12", "abc", "+995 5551"], "Hi", SENDER)

    assert caught.value.invalid == ["12", "abc", "+995 5551"]
    for bad in ("12", "abc", "+995 5551"):
        assert bad in str(caught.value)
    assert isinstance(caught.value, SmsOfficeValidationError)
    assert gateway.requests == []


@pytest.mark.parametrize("destinations", [[], "", ["12"], ["", " "]])
async def test_no_usable_number_even_with_allow_partial(
    client: SmsOfficeClient, gateway: FakeSmsOffice, destinations: Any
) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        await client.send(destinations, "Hi", SENDER, allow_partial=True)

    assert caught.value.invalid  # names the bad inputs, or says there were none
    assert gateway.requests == []


async def test_no_number_at_all_is_said_so(client: SmsOfficeClient) -> None:
    with pytest.raises(InvalidNumberError, match="no number"):
        await client.send([], "Hi", SENDER)


@pytest.mark.parametrize(
    "sender",
    ["", "A" * 12, "Home Alarm", "Home_Alarm", "Home!", "სახლი", "Hömé", "Alarm\n"],
)
async def test_invalid_sender(
    client: SmsOfficeClient, gateway: FakeSmsOffice, sender: str
) -> None:
    with pytest.raises(InvalidSenderError) as caught:
        await client.send(GEO, "Hi", sender)

    assert caught.value.sender == sender
    assert gateway.requests == []


async def test_sender_that_is_not_a_string(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    with pytest.raises(InvalidSenderError):
        await client.send(GEO, "Hi", None)  # type: ignore[arg-type]
    assert gateway.requests == []


@pytest.mark.parametrize("sender", ["A" * 11, "a.b-c", "1", "Z-9.z"])
async def test_valid_sender(
    client: SmsOfficeClient, gateway: FakeSmsOffice, sender: str
) -> None:
    gateway.senders.add(sender)

    await client.send(GEO, "Hi", sender)

    assert gateway.requests[0].form["sender"] == sender


@pytest.mark.parametrize("content", ["", "a" * 1001, "ა" * 1001])
async def test_invalid_content_length(
    client: SmsOfficeClient, gateway: FakeSmsOffice, content: str
) -> None:
    with pytest.raises(InvalidContentError) as caught:
        await client.send(GEO, content, SENDER)

    assert (caught.value.length, caught.value.maximum) == (len(content), 1000)
    assert gateway.requests == []


async def test_content_of_1000_latin_characters(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    result = await client.send(GEO, "a" * 1000, SENDER)

    assert result.parts == 7
    assert gateway.messages[0].content == "a" * 1000


async def test_reference_of_20_characters(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    result = await client.send(GEO, "Hi", SENDER, reference="ა" * 20)

    assert result.reference == "ა" * 20
    assert gateway.requests[0].form["reference"] == "ა" * 20


class _NoOffset(tzinfo):
    """A time zone that does not know its offset."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "?"

    def dst(self, dt: datetime | None) -> None:
        return None


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        *(
            pytest.param("reference", reference, InvalidReferenceError, id=name)
            for name, reference in (
                ("empty", ""),
                ("21-characters", "r" * 21),
                ("padded-before", " padded"),
                ("padded-after", "padded "),
            )
        ),
        *(
            pytest.param("scheduled_at", when, InvalidScheduleError, id=name)
            for name, when in (
                ("naive", datetime.now() + timedelta(hours=1)),  # noqa: DTZ005
                ("no-offset", datetime(2030, 1, 1, tzinfo=_NoOffset())),
                ("a-minute-ago", datetime.now(UTC) - timedelta(minutes=1)),
                ("2020", datetime(2020, 1, 1, tzinfo=GEORGIA)),
            )
        ),
    ],
)
async def test_invalid_reference_or_schedule(
    client: SmsOfficeClient,
    gateway: FakeSmsOffice,
    field: str,
    value: str | datetime,
    error: type[Exception],
) -> None:
    """Refused by the client's own checks: no request."""
    with pytest.raises(error):
        await client.send(GEO, "Hi", SENDER, **{field: value})

    assert gateway.requests == []


def test_schedule_must_be_after_now() -> None:
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    with pytest.raises(InvalidScheduleError, match="not in the future"):
        check_schedule(now, now=now)
    assert check_schedule(now + timedelta(seconds=1), now=now) == int(
        now.timestamp() + 1
    )
    # The same instant in Tbilisi.
    assert check_schedule(
        datetime(2030, 1, 1, 16, 0, 1, tzinfo=GEORGIA), now=now
    ) == int(now.timestamp() + 1)


async def test_checks_run_in_order_numbers_first(
    client: SmsOfficeClient, gateway: FakeSmsOffice
) -> None:
    with pytest.raises(InvalidNumberError):
        await client.send("12", "", "bad sender!", reference="")
    with pytest.raises(InvalidSenderError):
        await client.send(GEO, "", "bad sender!", reference="")
    assert gateway.requests == []


# ---------------------------------------------------------- the key stays secret


def _assert_no_key(key: str, *texts: object) -> None:
    for text in texts:
        assert key not in str(text)
        assert key not in repr(text)


def _assert_no_key_in_records(key: str, records: list[logging.LogRecord]) -> None:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        assert key not in record.getMessage()
        assert key not in str(record.msg)
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        _assert_no_key(key, *args)
        assert key not in formatter.format(record)


def _assert_no_key_in_error(key: str, err: BaseException) -> None:
    _assert_no_key(key, err, err.args)
    assert key not in "".join(traceback.format_exception(err))
    for name in ("gateway_message", "invalid"):
        _assert_no_key(key, getattr(err, name, ""))


async def test_key_is_in_no_log_record_error_or_repr(
    make_client: ClientFactory,
    gateway: FakeSmsOffice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    refused = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    errors: list[BaseException] = []

    async def failing(call: Awaitable[Any]) -> None:
        try:
            await call
        except SmsOfficeError as err:
            errors.append(err)
        else:
            pytest.fail("the call should have failed")

    for endpoint, call in CALLS.items():
        # Successes.
        await call(client)
        # Failures: unreadable answers, retried temporary codes, cut-offs,
        # a refused connection, and an error code.
        for fault in ("http500", "html", "invalid_json", "empty"):
            gateway.inject(fault, endpoint=endpoint)
            await failing(call(client))
        gateway.inject("temporary", count=RETRIES + 1, endpoint=endpoint)
        await failing(call(client))
        # A send is tried once; a read RETRIES + 1 times, and aiohttp repeats
        # a reset GET once itself.
        attempts = 1 if endpoint == "send" else RETRIES + 1
        resets = 1 if endpoint == "send" else 2 * attempts
        gateway.inject("reset", count=resets, endpoint=endpoint)
        await failing(call(client))
        gateway.inject("slow", count=attempts, endpoint=endpoint)
        await failing(call(make_client(timeout=0.2)))
        await failing(call(refused))
        gateway.api_access_enabled = False
        await failing(call(client))
        gateway.api_access_enabled = True
    # Failures of the checks made before any request.
    await failing(client.send(["12", GEO], "Hi", SENDER))
    await failing(client.send(GEO, "", SENDER))
    await failing(client.get_message_status(GEO, ""))

    assert len(errors) == 3 * 9 + 3
    assert caplog.records  # the client did log (at DEBUG)
    assert any(r.name == CLIENT_LOGGER for r in caplog.records)
    _assert_no_key_in_records(KEY, caplog.records)
    for err in errors:
        _assert_no_key_in_error(KEY, err)
    _assert_no_key(KEY, client, refused)
    assert "SmsOfficeClient(" in repr(client)


def _echo_url(request: web.Request, params: dict[str, str]) -> str:
    """Answer like a detailed IIS error page that quotes the request."""
    return f"<html><body>404 - {request.path_qs} {params}</body></html>"


def _echo_in_message(request: web.Request, params: dict[str, str]) -> str:
    """Answer with an error whose Message repeats the parameters received."""
    return envelope(
        -100, message=f"Temporary delay for {request.query_string} {params}"
    )


@pytest.mark.parametrize(
    "key", ["test-api-key", "k3y/with+special&chars é"], ids=["plain", "to-encode"]
)
async def test_key_echoed_by_the_gateway_is_masked(
    canned: CannedGateway,
    canned_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    key: str,
) -> None:
    """Crafted answers that repeat the request, key included."""
    caplog.set_level(logging.DEBUG)
    client = canned_client(api_key=key, retries=1)
    errors: list[BaseException] = []
    cases: list[list[tuple[int, Body, str]]] = [
        [(404, _echo_url, "text/html")],
        [(200, _echo_url, "text/html")],
        # -100 is retried once (a log line quotes the error), then raised.
        [(200, _echo_in_message, "application/json")] * 2,
    ]
    for call in CALLS.values():
        for answers in cases:
            canned.answers = list(answers)
            with pytest.raises(SmsOfficeError) as caught:
                await call(client)
            errors.append(caught.value)

    # The key did reach the server, and came back in every answer.
    assert all(request["params"]["key"] == key for request in canned.requests)
    assert len(canned.requests) == 3 * 4
    assert any("***" in str(err) for err in errors)
    temporary = [e for e in errors if isinstance(e, SmsOfficeTemporaryError)]
    assert len(temporary) == 3
    assert all("***" in e.gateway_message for e in temporary)
    _assert_no_key_in_records(key, caplog.records)
    for err in errors:
        _assert_no_key_in_error(key, err)


def test_nested_error_code_is_read_when_the_top_level_says_zero() -> None:
    from smsoffice_client.client import _check_envelope
    from smsoffice_client.errors import SmsOfficeBalanceError

    envelope = {
        "Success": False,
        "Message": "Balance is insufficient",
        "Output": {"ErrorCode": 20},
        "ErrorCode": 0,
    }
    with pytest.raises(SmsOfficeBalanceError) as raised:
        _check_envelope(envelope)
    assert raised.value.code == 20
