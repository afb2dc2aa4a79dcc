"""Tests of the fake smsoffice.ge gateway itself, through real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
import json
import logging
from pathlib import Path
import select
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any
import urllib.request

import aiohttp
from aiohttp import web
import pytest

from tests.fake_smsoffice import FakeSmsOffice
from tests.fake_smsoffice.__main__ import main

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

KEY = "test-api-key"
GEO = "995555123456"
GEO2 = "995599112233"
GEO3 = "995577000111"
ROOT = Path(__file__).resolve().parent.parent
GEORGIA = timezone(timedelta(hours=4))

# The Home Assistant test plugin blocks sockets; `socket_enabled` lifts that
# (connections stay limited to 127.0.0.1).
pytestmark = pytest.mark.usefixtures("socket_enabled")


@dataclass
class Receiver:
    """A small HTTP server standing in for the integration's webhook."""

    url: str
    received: list[dict[str, str]] = field(default_factory=list)
    answer: str = "OK"


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[FakeSmsOffice]:
    """Return a started fake with fast deliveries and a short slow fault."""
    gateway = FakeSmsOffice(callback_delay=0.01, slow_seconds=0.3)
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Return a client session closed after the test."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[Receiver]:
    """Return a callback receiver listening on 127.0.0.1."""
    state = Receiver(url="")

    async def handle(request: web.Request) -> web.Response:
        state.received.append(dict(request.query))
        return web.Response(text=state.answer)

    app = web.Application()
    app.router.add_get("/callback", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/callback"
    yield state
    await runner.cleanup()


@pytest.fixture
def called_back(fake: FakeSmsOffice, receiver: Receiver) -> Receiver:
    """The receiver, the fake's callback URL."""
    fake.callback_url = receiver.url
    return receiver


def send_params(**overrides: str | None) -> dict[str, str]:
    """Return valid send parameters with ``overrides`` (``None`` drops one)."""
    params: dict[str, str | None] = {
        "key": KEY,
        "destination": GEO,
        "sender": "smsoffice",
        "content": "Alarm: front door opened",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


async def get_json(
    session: aiohttp.ClientSession, url: str, params: dict[str, str]
) -> dict[str, Any]:
    """GET ``url`` and decode the JSON answer."""
    async with session.get(url, params=params) as response:
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


async def send(
    session: aiohttp.ClientSession, fake: FakeSmsOffice, **overrides: str | None
) -> dict[str, Any]:
    """Send through the documented POST form and return the JSON answer."""
    async with session.post(
        f"{fake.url}/api/v2/send/", data=send_params(**overrides)
    ) as response:
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


async def status(
    session: aiohttp.ClientSession, fake: FakeSmsOffice, reference: str, number: str
) -> dict[str, Any]:
    """Ask getMessageStatus for one destination."""
    return await get_json(
        session,
        f"{fake.url}/api/v2/getMessageStatus/",
        {"key": KEY, "destination": number, "reference": reference},
    )


async def balance_text(session: aiohttp.ClientSession, fake: FakeSmsOffice) -> str:
    """Return getBalance's raw answer."""
    async with session.get(f"{fake.url}/api/getBalance", params={"key": KEY}) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        return await resp.text()


# --------------------------------------------------------------------- send


@pytest.mark.parametrize("path", ["/api/v2/send", "/api/v2/send/"])
async def test_send_by_get_on_both_paths(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, path: str
) -> None:
    """GET with query parameters works with and without the trailing slash."""
    answer = await get_json(session, fake.url + path, send_params(reference="r-get"))
    assert answer["Success"] is True
    assert answer["ErrorCode"] == 0
    assert isinstance(answer["Output"], int)
    assert answer["Message"]
    assert fake.balance == 999
    [message] = fake.messages
    assert message.destinations == [GEO]
    assert message.reference == "r-get"
    assert message.message_id == answer["Output"]
    [request] = fake.requests_to("send")
    assert request.method == "GET"
    assert request.path == path
    assert request.query["key"] == KEY
    assert request.form == {}
    assert "key=test-api-key" in request.raw_query_string


async def test_send_by_post_form(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """POST to send/ with a form body is accepted and recorded as a form."""
    answer = await send(session, fake, content="გამარჯობა + & = ?")
    assert answer["Success"] is True
    [request] = fake.requests
    assert request.method == "POST"
    assert request.endpoint == "send"
    assert request.content_type.startswith("application/x-www-form-urlencoded")
    assert request.query == {}
    assert request.form["content"] == "გამარჯობა + & = ?"
    assert fake.messages[0].content == "გამარჯობა + & = ?"


async def test_post_without_trailing_slash_is_an_html_404(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """POST to send (no slash) loses the body as the real redirect does."""
    async with session.post(f"{fake.url}/api/v2/send", data=send_params()) as resp:
        assert resp.status == 404
        assert resp.content_type == "text/html"
        assert "<html" in await resp.text()
    assert fake.messages == []
    assert fake.balance == 1000
    assert fake.requests_to("send")[0].form["key"] == KEY


async def test_post_with_another_content_type_carries_no_parameters(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """A JSON body is not read: the key counts as missing."""
    async with session.post(f"{fake.url}/api/v2/send/", json=send_params()) as resp:
        answer = await resp.json()
    assert answer == {
        "Success": False,
        "Message": "API key is missing",
        "Output": None,
        "ErrorCode": 500,
    }
    assert fake.requests[0].form == {}
    assert fake.requests[0].content_type.startswith("application/json")


async def test_post_reads_the_form_not_the_query(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Parameters in the query of a POST are not used."""
    async with session.post(
        f"{fake.url}/api/v2/send/", params=send_params(), data={"x": "1"}
    ) as resp:
        answer = await resp.json()
    assert answer["ErrorCode"] == 500


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"key": None}, 500),
        ({"key": ""}, 500),
        ({"key": "wrong"}, 80),
        ({"destination": None}, 600),
        ({"destination": ""}, 70),
        ({"destination": " , "}, 70),
        ({"sender": None}, 700),
        ({"sender": "Unknown"}, 150),
        ({"content": None}, 800),
        ({"content": ""}, 60),
        ({"content": "a" * 1001}, 40),
        ({"destination": "+995555123456"}, 10),
        ({"destination": "abc,+995555123456"}, 10),
        ({"destination": "555123456x,123"}, 76),
        ({"destination": "0555123456,0995555123456"}, 76),
        ({"destination": "995555000000"}, 75),
        ({"destination": "995555000000,+995555123456"}, 77),
        ({"destination": "995555000000,12"}, 77),
        # order: the key is checked first, then destination, sender, content
        ({"key": None, "destination": None}, 500),
        ({"key": "wrong", "sender": None}, 80),
        ({"destination": None, "sender": None}, 600),
        ({"sender": None, "content": None}, 700),
        ({"sender": "Unknown", "content": ""}, 150),
        ({"content": "a" * 1001, "destination": "bad"}, 40),
    ],
)
async def test_send_error_codes(
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    overrides: dict[str, str | None],
    code: int,
) -> None:
    """Each documented failure answers its code and sends nothing."""
    fake.stoplist.add("995555000000")
    answer = await send(session, fake, **overrides)
    assert answer["Success"] is False
    assert answer["ErrorCode"] == code
    assert answer["Output"] is None
    assert isinstance(answer["Message"], str)
    assert answer["Message"]
    assert fake.messages == []
    assert fake.balance == 1000


async def test_api_access_disabled(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """With API access off every endpoint answers 120 (after the key checks)."""
    fake.api_access_enabled = False
    assert (await send(session, fake))["ErrorCode"] == 120
    assert (await send(session, fake, key="wrong"))["ErrorCode"] == 80
    balance = await get_json(session, f"{fake.url}/api/getBalance", {"key": KEY})
    assert balance["ErrorCode"] == 120
    answer = await status(session, fake, "r", GEO)
    assert answer["ErrorCode"] == 120
    assert fake.messages == []


async def test_content_of_1000_characters_is_accepted(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """The limit is 1000 characters, Georgian included."""
    answer = await send(session, fake, content="ა" * 1000)
    assert answer["Success"] is True
    assert fake.messages[0].parts == 15  # ceil(1000 / 67)


async def test_balance_too_low_sends_nothing(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """A send costing more than the balance is refused whole."""
    fake.balance = 5
    answer = await send(session, fake, destination=f"{GEO},{GEO2}", content="a" * 400)
    assert answer["ErrorCode"] == 20  # 3 parts x 2 numbers = 6 > 5
    assert fake.balance == 5
    answer = await send(session, fake, destination=GEO, content="a" * 400)
    assert answer["Success"] is True
    assert fake.balance == 2


@pytest.mark.parametrize(
    ("content", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("]" * 81, 2),
        ("ა" * 70, 1),
        ("ა" * 71, 2),
        ("😀" * 36, 2),
    ],
)
async def test_balance_decreases_by_parts_times_recipients(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, content: str, parts: int
) -> None:
    """The cost is the segment count times the accepted numbers."""
    answer = await send(
        session, fake, destination=f"{GEO}, {GEO2} ,{GEO3}", content=content
    )
    assert answer["Success"] is True
    assert fake.messages[0].parts == parts
    assert fake.balance == 1000 - 3 * parts
    assert await balance_text(session, fake) == f"{1000 - 3 * parts}\r\n"


async def test_partly_accepted_destinations(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Invalid and stoplisted numbers are dropped; the rest go out and cost."""
    fake.stoplist.add(GEO2)
    answer = await send(
        session, fake, destination=f"{GEO},{GEO2},+995577000111,123,{GEO},4915112345678"
    )
    assert answer["Success"] is True
    assert fake.messages[0].destinations == [GEO, "4915112345678"]
    assert fake.balance == 998


async def test_urgent_ignores_the_stoplist(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """urgent=true reaches numbers that blocked messages (the API page)."""
    fake.stoplist.add(GEO)
    assert (await send(session, fake, urgent="false"))["ErrorCode"] == 75
    answer = await send(session, fake, urgent="true")
    assert answer["Success"] is True
    assert fake.messages[0].destinations == [GEO]


async def test_optional_parameters_are_recorded(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Reference, urgent, contentType and scheduledAt reach the record."""
    await send(session, fake)
    scheduled = int(time.time()) + 3600
    await send(
        session,
        fake,
        reference="abc-123",
        urgent="true",
        contentType="2",
        scheduledAt=str(scheduled),
        sender="HomeAlarm",
    )
    plain, full = fake.messages
    assert (plain.reference, plain.urgent, plain.content_type) == (None, False, 1)
    assert plain.scheduled_at is None
    assert full.reference == "abc-123"
    assert full.urgent is True
    assert full.content_type == 2
    assert full.scheduled_at == scheduled
    assert full.sender == "HomeAlarm"
    assert full.message_id == plain.message_id + 1
    # A scheduled message is pending until its time comes.
    await asyncio.sleep(0.05)
    assert fake.status_of("abc-123", GEO) == "Pending"


async def test_error_code_inside_output_quirk(session: aiohttp.ClientSession) -> None:
    """With the quirk on, ErrorCode moves into Output on failures only."""
    gateway = FakeSmsOffice(error_code_in_output=True)
    await gateway.start()
    try:
        answer = await send(session, gateway, key="wrong")
        assert answer == {
            "Success": False,
            "Message": "API key is incorrect",
            "Output": {"ErrorCode": 80},
        }
        answer = await send(session, gateway)
        assert answer["Success"] is True
        assert answer["ErrorCode"] == 0
    finally:
        await gateway.stop()


# ------------------------------------------------------------------ balance


async def test_balance_is_plain_text(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """getBalance answers the number of messages left and CRLF."""
    assert await balance_text(session, fake) == "1000\r\n"
    fake.balance = 7
    assert await balance_text(session, fake) == "7\r\n"
    assert [r.query for r in fake.requests_to("balance")] == [{"key": KEY}] * 2


@pytest.mark.parametrize(("params", "code"), [({}, 500), ({"key": "nope"}, 80)])
async def test_balance_key_errors_are_json(
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    params: dict[str, str],
    code: int,
) -> None:
    """A missing or wrong key gets the JSON error answer."""
    answer = await get_json(session, f"{fake.url}/api/getBalance", params)
    assert answer["Success"] is False
    assert answer["ErrorCode"] == code


async def test_keys_are_mutable(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Tests can revoke and add keys while the fake runs."""
    fake.api_keys = {"new-key"}
    answer = await get_json(session, f"{fake.url}/api/getBalance", {"key": KEY})
    assert answer["ErrorCode"] == 80
    async with session.get(
        f"{fake.url}/api/getBalance", params={"key": "new-key"}
    ) as resp:
        assert await resp.text() == "1000\r\n"


async def test_unknown_path_is_an_html_404(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Anything else is a 404 page, recorded as endpoint "other"."""
    async with session.get(f"{fake.url}/api/v1/send") as resp:
        assert resp.status == 404
        assert resp.content_type == "text/html"
    assert fake.requests[0].endpoint == "other"
    assert fake.requests_to("send") == []


# ------------------------------------------------------------------- status


@pytest.mark.parametrize(
    "path", ["/api/v2/getMessageStatus", "/api/v2/getMessageStatus/"]
)
async def test_status_moves_from_pending_to_delivered(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, path: str
) -> None:
    """getMessageStatus shows Pending first and the outcome after the delay."""
    fake.callback_delay = 0.2
    await send(session, fake, reference="ref-1", destination=f"{GEO},{GEO2}")
    params = {"key": KEY, "destination": GEO, "reference": "ref-1"}
    answer = await get_json(session, fake.url + path, params)
    assert answer == {
        "Success": True,
        "Message": "",
        "Output": {"Status": "Pending"},
        "ErrorCode": 0,
    }
    await asyncio.sleep(0.35)
    answer = await get_json(session, fake.url + path, params)
    assert answer["Output"] == {"Status": "Delivered"}
    assert fake.status_of("ref-1", GEO2) == "Delivered"
    assert fake.requests_to("status")[0].path == path


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("delivered", "Delivered"),
        ("undelivered", "Undelivered"),
        ("expired", "Expired"),
        ("pending", "Pending"),
        ("pending_then_delivered", "Delivered"),
        ("unknown", "Unknown"),
    ],
)
async def test_status_reflects_outcome(
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    outcome: str,
    expected: str,
) -> None:
    """Each outcome settles (or not) into its status."""
    fake.set_outcome(GEO, outcome)
    await send(session, fake, reference="r")
    await asyncio.sleep(0.1)
    assert fake.status_of("r", GEO) == expected
    assert (await status(session, fake, "r", GEO))["Output"]["Status"] == expected


async def test_status_of_unknown_pair(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """A reference never sent (or another number) is Unknown, not an error."""
    await send(session, fake, reference="known")
    answer = await status(session, fake, "never-sent", GEO)
    assert answer["Success"] is True
    assert answer["Output"] == {"Status": "Unknown"}
    answer = await status(session, fake, "known", GEO2)
    assert answer["Output"] == {"Status": "Unknown"}
    assert fake.status_of("known", GEO2) is None


async def test_status_parameter_errors(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Missing destination is 600; missing reference is a message, code 0."""
    url = f"{fake.url}/api/v2/getMessageStatus/"
    answer = await get_json(session, url, {"key": KEY, "reference": "r"})
    assert (answer["Success"], answer["ErrorCode"]) == (False, 600)
    answer = await get_json(session, url, {"key": KEY, "destination": GEO})
    assert answer == {
        "Success": False,
        "Message": "reference is missing",
        "Output": None,
        "ErrorCode": 0,
    }
    answer = await get_json(session, url, {"destination": GEO, "reference": "r"})
    assert answer["ErrorCode"] == 500
    answer = await get_json(
        session, url, {"key": "x", "destination": GEO, "reference": "r"}
    )
    assert answer["ErrorCode"] == 80


async def test_messages_without_reference_have_no_status(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Without a reference nothing can be looked up."""
    await send(session, fake)
    await asyncio.sleep(0.05)
    assert fake.status_of("", GEO) is None
    assert (await status(session, fake, "x", GEO))["Output"]["Status"] == "Unknown"


# ---------------------------------------------------------------- callbacks


def georgian_now() -> datetime:
    """Return the current time in Georgia (UTC+4)."""
    return datetime.now(GEORGIA)


async def test_callbacks_for_each_destination(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, called_back: Receiver
) -> None:
    """One GET per destination with the documented parameters; OK recorded."""
    fake.set_outcome(GEO2, "undelivered")
    fake.set_outcome(GEO3, "expired")
    await send(session, fake, reference="cb-1", destination=f"{GEO},{GEO2},{GEO3}")
    records = await fake.wait_for_callbacks(3)
    by_number = {record.params["destination"]: record for record in records}
    assert set(by_number) == {GEO, GEO2, GEO3}
    for record in records:
        assert record.http_status == 200
        assert record.body == "OK"
        assert record.error is None
        assert record.params["reference"] == "cb-1"
        assert record.params["operator"] == "28202"
        stamp = datetime.strptime(
            record.params["timestamp"] + "+0400", "%Y%m%d%H%M%S%z"
        )
        assert abs(stamp - georgian_now()) < timedelta(minutes=1)
    assert by_number[GEO].params["status"] == "delivered"
    assert by_number[GEO].params["reason"] == ""
    assert by_number[GEO2].params["status"] == "undelivered"
    assert by_number[GEO2].params["reason"] == "Absent subscriber"
    assert by_number[GEO3].params["status"] == "expired"
    assert by_number[GEO3].params["reason"] == "Validity period expired"
    assert sorted(called_back.received, key=lambda p: p["destination"]) == sorted(
        (record.params for record in records), key=lambda p: p["destination"]
    )
    assert set(called_back.received[0]) == {
        "reference",
        "status",
        "reason",
        "destination",
        "timestamp",
        "operator",
    }


async def test_callback_status_in_title_case(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """status_case="title" sends Delivered as the status table spells it."""
    gateway = FakeSmsOffice(
        callback_url=receiver.url, callback_delay=0.01, status_case="title"
    )
    await gateway.start()
    try:
        await send(session, gateway, reference="t")
        [record] = await gateway.wait_for_callbacks(1)
        assert record.params["status"] == "Delivered"
        assert receiver.received[0]["status"] == "Delivered"
    finally:
        await gateway.stop()


async def test_pending_then_delivered_order(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, called_back: Receiver
) -> None:
    """A Pending callback comes first, then Delivered."""
    fake.set_outcome(GEO, "pending_then_delivered")
    await send(session, fake, reference="ptd")
    first, second = await fake.wait_for_callbacks(2)
    assert (first.params["status"], second.params["status"]) == (
        "pending",
        "delivered",
    )
    assert first.params["reason"] != ""
    assert second.params["reason"] == ""
    assert [params["status"] for params in called_back.received] == [
        "pending",
        "delivered",
    ]
    assert fake.status_of("ptd", GEO) == "Delivered"


async def test_pending_outcome_never_settles(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, called_back: Receiver
) -> None:
    """ "pending" makes one Pending callback and stays Pending."""
    outcomes = {GEO: "pending", GEO2: "unknown"}
    for number, outcome in outcomes.items():
        fake.set_outcome(number, outcome)
    await send(session, fake, reference="p", destination=",".join(outcomes))
    records = await fake.wait_for_callbacks(2)
    await asyncio.sleep(0.1)
    assert len(fake.callbacks) == 2
    assert {r.params["destination"]: r.params["status"] for r in records} == outcomes
    assert fake.status_of("p", GEO) == "Pending"


async def test_no_callbacks_without_reference_or_url(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """No reference (or no URL): statuses change but nobody is called."""
    await send(session, fake, reference="no-url")
    await asyncio.sleep(0.1)
    assert fake.status_of("no-url", GEO) == "Delivered"
    fake.callback_url = receiver.url
    await send(session, fake)
    await asyncio.sleep(0.1)
    assert fake.callbacks == []
    assert receiver.received == []
    with pytest.raises(TimeoutError):
        await fake.wait_for_callbacks(1, timeout=0.05)


async def test_callback_answer_other_than_ok_is_recorded(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """Whatever the receiver answers is kept for the test to inspect."""
    receiver.answer = "nope"
    fake.callback_url = receiver.url.replace("/callback", "/missing")
    await send(session, fake, reference="x")
    [record] = await fake.wait_for_callbacks(1)
    assert record.http_status == 404
    assert record.error is None
    fake.callback_url = receiver.url
    await send(session, fake, reference="y")
    records = await fake.wait_for_callbacks(2)
    assert (records[1].http_status, records[1].body) == (200, "nope")


async def test_callback_connection_error_is_recorded(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """A receiver that cannot be reached gives a record with the error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake.callback_url = f"http://127.0.0.1:{port}/callback"
    await send(session, fake, reference="down")
    [record] = await fake.wait_for_callbacks(1)
    assert record.http_status is None
    assert record.body == ""
    assert record.error
    assert record.params["reference"] == "down"


async def test_scheduled_at_delays_delivery(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, called_back: Receiver
) -> None:
    """A message scheduled in the future stays Pending until then."""
    # scheduledAt is whole seconds: start early in a second so that the next
    # whole second is at least half a second away.
    if (fraction := time.time() % 1) > 0.5:
        await asyncio.sleep(1.01 - fraction)
    scheduled = int(time.time()) + 1
    await send(session, fake, reference="later", scheduledAt=str(scheduled))
    await asyncio.sleep(0.05)
    assert fake.status_of("later", GEO) == "Pending"
    assert fake.callbacks == []
    [record] = await fake.wait_for_callbacks(1, timeout=3)
    assert time.time() >= scheduled
    assert record.params["status"] == "delivered"
    # A time in the past is sent at once.
    await send(session, fake, reference="past", scheduledAt=str(scheduled - 3600))
    await fake.wait_for_callbacks(2, timeout=1)


async def test_stop_cancels_pending_deliveries(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """Stopping with deliveries still due leaves no task behind."""
    gateway = FakeSmsOffice(callback_url=receiver.url, callback_delay=30)
    await gateway.start()
    await send(session, gateway, reference="cut")
    await gateway.stop()
    assert gateway.callbacks == []
    assert gateway.status_of("cut", GEO) == "Pending"


# ------------------------------------------------------------------- faults


def is_invalid_json(text: str) -> bool:
    """Tell whether `text` is the truncated JSON the fault answers."""
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    return text == '{"Success": tru'


@pytest.mark.parametrize(
    ("fault", "endpoint", "status", "content_type", "page"),
    [
        ("http500", "send", 500, "text/html", lambda text: "<html" in text),
        (
            "html",
            "balance",
            200,
            "text/html",
            lambda text: text.startswith("<!DOCTYPE html>"),
        ),
        ("invalid_json", "send", 200, "application/json", is_invalid_json),
        ("empty", "balance", 200, "application/octet-stream", lambda text: not text),
    ],
)
async def test_fault_answers(  # noqa: PLR0917
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    fault: str,
    endpoint: str,
    status: int,
    content_type: str,
    page: Callable[[str], bool],
) -> None:
    """http500: an HTML error page, status 500; html: 200 with an HTML page
    instead of JSON; invalid_json: a truncated JSON document; empty: 200 and
    no body. Nothing is sent."""
    fake.inject(fault)
    if endpoint == "send":
        request = session.post(f"{fake.url}/api/v2/send/", data=send_params())
    else:
        request = session.get(f"{fake.url}/api/getBalance", params={"key": KEY})
    async with request as resp:
        assert resp.status == status
        assert resp.content_type == content_type
        assert page(await resp.text())
    assert fake.messages == []
    assert len(fake.requests_to(endpoint)) == 1


async def test_fault_temporary(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """temporary answers -100 and accepts nothing; the retry goes through."""
    fake.inject("temporary")
    answer = await send(session, fake, reference="tmp")
    assert answer["Success"] is False
    assert answer["ErrorCode"] == -100
    assert fake.messages == []
    assert fake.balance == 1000
    answer = await send(session, fake, reference="tmp")
    assert answer["Success"] is True
    assert len(fake.messages) == 1


async def test_fault_reset(fake: FakeSmsOffice) -> None:
    """reset closes the connection without any answer."""
    fake.inject("reset")
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as fresh:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await fresh.post(f"{fake.url}/api/v2/send/", data=send_params())
        answer = await send(fresh, fake)
    assert answer["Success"] is True
    assert len(fake.requests_to("send")) == 2
    assert len(fake.messages) == 1


async def test_fault_slow(fake: FakeSmsOffice, session: aiohttp.ClientSession) -> None:
    """slow answers normally after slow_seconds, or times a client out."""
    fake.inject("slow", 2, endpoint="balance")
    started = time.monotonic()
    assert await balance_text(session, fake) == "1000\r\n"
    assert time.monotonic() - started >= 0.3
    with pytest.raises(TimeoutError):
        await session.get(
            f"{fake.url}/api/getBalance",
            params={"key": KEY},
            timeout=aiohttp.ClientTimeout(total=0.05),
        )
    assert len(fake.requests_to("balance")) == 2


async def test_stop_releases_slow_requests(session: aiohttp.ClientSession) -> None:
    """stop() does not wait slow_seconds for a held request."""
    gateway = FakeSmsOffice(slow_seconds=30)
    await gateway.start()
    gateway.inject("slow")

    async def held_request() -> None:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(
                f"{gateway.url}/api/getBalance", params={"key": KEY}
            ) as response:
                await response.read()

    request = asyncio.create_task(held_request())
    for _ in range(500):
        if gateway.requests:
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await gateway.stop()
    assert time.monotonic() - started < 5
    await request


async def test_faults_are_fifo_counted_and_per_endpoint(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """Faults apply to the next matching requests, in the order queued."""
    fake.inject("temporary", 2, endpoint="send")
    fake.inject("empty", endpoint="balance")
    fake.inject("html")
    # balance: first the balance-only "empty", then the any-endpoint "html"
    async with session.get(f"{fake.url}/api/getBalance", params={"key": KEY}) as resp:
        assert await resp.read() == b""
    async with session.get(f"{fake.url}/api/getBalance", params={"key": KEY}) as resp:
        assert resp.content_type == "text/html"
    assert await balance_text(session, fake) == "1000\r\n"
    assert (await send(session, fake))["ErrorCode"] == -100
    assert (await send(session, fake))["ErrorCode"] == -100
    assert (await send(session, fake))["Success"] is True
    assert len(fake.requests) == 6


async def test_context_manager_and_failed_start(
    session: aiohttp.ClientSession,
) -> None:
    """``async with`` starts and stops; a busy port fails start cleanly."""
    async with FakeSmsOffice(balance=3) as gateway:
        assert await balance_text(session, gateway) == "3\r\n"
        port = int(gateway.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"):
            await FakeSmsOffice().start(port=port)


async def test_request_log_never_shows_the_key(
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Requests are logged by path and endpoint only."""
    caplog.set_level(logging.INFO, logger="tests.fake_smsoffice")
    await send(session, fake)
    await balance_text(session, fake)
    assert "/api/v2/send/ (send)" in caplog.text
    assert "/api/getBalance (balance)" in caplog.text
    assert KEY not in caplog.text


def test_cli_refuses_a_bad_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    """``--outcome`` needs NUMBER=OUTCOME with a known outcome."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--outcome", "995599112233=lost"])
    assert exit_info.value.code == 2
    assert "--outcome '995599112233=lost'" in capsys.readouterr().err


def test_invalid_arguments() -> None:
    """Misspelt outcomes, faults and endpoints fail loudly."""
    gateway = FakeSmsOffice()
    with pytest.raises(ValueError, match="outcome"):
        gateway.set_outcome(GEO, "delivred")
    with pytest.raises(ValueError, match="fault"):
        gateway.inject("timeout")
    with pytest.raises(ValueError, match="endpoint"):
        gateway.inject("slow", endpoint="getBalance")
    with pytest.raises(ValueError, match="status_case"):
        FakeSmsOffice(status_case="upper")


# ------------------------------------------------------------------ profile


async def profile(
    session: aiohttp.ClientSession, fake: FakeSmsOffice, **form: str
) -> tuple[int, str]:
    """GET the profile page, or POST ``form`` to it; return status and page."""
    url = f"{fake.url}/profile"
    request = session.post(url, data=form) if form else session.get(url)
    async with request as response:
        assert response.content_type == "text/html"
        return response.status, await response.text()


async def test_profile_shows_key_balance_and_no_notice(
    fake: FakeSmsOffice, session: aiohttp.ClientSession
) -> None:
    """A plain visit shows the key and balance, and says nothing was saved."""
    code, page = await profile(session, fake)
    assert code == 200
    assert KEY in page
    assert "balance: 1000" in page
    assert "Saved" not in page
    assert "name=callback_url" in page
    for outcome in ("delivered", "undelivered", "expired", "pending_then_delivered"):
        assert f"<option value={outcome}>" in page


async def test_profile_saves_the_callback_url_and_says_so(
    fake: FakeSmsOffice, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """The saved URL is confirmed, shown in the field and gets the callbacks."""
    url = f"{receiver.url}?id=a'b<c>"
    code, page = await profile(session, fake, callback_url=f"  {url} ")
    assert code == 200
    assert "Saved: delivery reports go to" in page
    assert "value='" + receiver.url + "?id=a&#x27;b&lt;c&gt;'" in page
    assert fake.callback_url == url
    await send(session, fake, reference="ref-profile")
    await fake.wait_for_callbacks(1)
    assert receiver.received[0]["status"] == "delivered"

    code, page = await profile(session, fake, callback_url="")
    assert code == 200
    assert "Saved: no callback URL" in page
    assert fake.callback_url is None


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("599 11 22 33", "995599112233"),
        ("+995 (599) 11-22-33", "995599112233"),
        ("00995599112233", "995599112233"),
        ("995599112233", "995599112233"),
        ("4915112345678", "4915112345678"),
    ],
)
async def test_profile_chooses_the_outcome_of_a_number(
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    called_back: Receiver,
    typed: str,
    number: str,
) -> None:
    """The outcome chosen on the page is what messages to that number get."""
    code, page = await profile(session, fake, destination=typed, outcome="undelivered")
    assert code == 200
    assert f"Saved: messages to {number} from now on end undelivered" in page
    assert f"<li><code>{number}</code>: undelivered" in page
    await send(session, fake, reference="ref-1", destination=f"{number},{GEO3}")
    await fake.wait_for_callbacks(2)
    assert fake.status_of("ref-1", number) == "Undelivered"
    assert fake.status_of("ref-1", GEO3) == "Delivered"


@pytest.mark.parametrize(
    ("outcome", "statuses"),
    [
        ("expired", ["expired"]),
        ("pending_then_delivered", ["pending", "delivered"]),
        ("delivered", ["delivered"]),
    ],
)
async def test_profile_outcomes_reach_the_callbacks(
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    called_back: Receiver,
    outcome: str,
    statuses: list[str],
) -> None:
    """Each outcome offered on the page ends as that status (a later choice wins)."""
    await profile(session, fake, destination=GEO2, outcome="undelivered")
    await profile(session, fake, destination=GEO2, outcome=outcome)
    await send(session, fake, reference="ref-2", destination=GEO2)
    await fake.wait_for_callbacks(len(statuses))
    assert [report["status"] for report in called_back.received] == statuses


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"destination": "mother", "outcome": "undelivered"}, "write a number"),
        ({"destination": "12", "outcome": "undelivered"}, "write a number"),
        ({"destination": GEO, "outcome": "lost"}, "unknown outcome"),
        ({"destination": GEO}, "unknown outcome"),
    ],
)
async def test_profile_refuses_a_bad_number_or_outcome(
    fake: FakeSmsOffice,
    session: aiohttp.ClientSession,
    form: dict[str, str],
    message: str,
) -> None:
    """Nothing is saved, and the page says why."""
    code, page = await profile(session, fake, **form)
    assert code == 400
    assert f"Not saved: {message}" in page
    assert "Saved:" not in page
    assert fake._outcomes == {}  # nothing chosen


# ---------------------------------------------------------------------- CLI


def test_cli_serves_and_exits_cleanly() -> None:
    """The module runs, prints its URL, answers getBalance and stops on SIGTERM."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_smsoffice",
            "--port",
            "0",
            "--key",
            "cli-key",
            "--key",
            "second-key",
            "--balance",
            "42",
            "--outcome",
            "599 11 22 33=expired",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the CLI printed nothing within 60 s"
        line = process.stdout.readline()
        assert "cli-key" in line
        assert "second-key" in line
        url = next(word for word in line.split() if word.startswith("http://"))
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        with urllib.request.urlopen(  # noqa: S310
            f"{url}/api/getBalance?key=second-key", timeout=10
        ) as response:
            assert response.read() == b"42\r\n"
        with urllib.request.urlopen(f"{url}/profile", timeout=10) as response:  # noqa: S310
            assert "<code>995599112233</code>: expired" in response.read().decode()
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "/api/getBalance" in stderr
    assert "second-key" not in stderr
