"""An in-process fake of the smsoffice.ge HTTP API.

The fake speaks real HTTP (aiohttp) on 127.0.0.1 so the integration's client can
be tested end to end: sending (GET and POST, the trailing-slash rule), the
balance, message status, delivery callbacks, every documented error code and a
set of injectable transport faults.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
import html
import itertools
import logging
import re
import time
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from ._segments import estimate_parts

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_LOGGER = logging.getLogger(__name__)

SEND_PATHS: Final = ("/api/v2/send", "/api/v2/send/")
BALANCE_PATHS: Final = ("/api/getBalance", "/api/getBalance/")
STATUS_PATHS: Final = ("/api/v2/getMessageStatus", "/api/v2/getMessageStatus/")

ENDPOINTS: Final = ("send", "balance", "status")
OUTCOMES: Final = (
    "delivered",
    "undelivered",
    "expired",
    "pending_then_delivered",
    "pending",
    "unknown",
)
FAULTS: Final = (
    "hold",
    "slow",
    "reset",
    "http500",
    "html",
    "invalid_json",
    "empty",
    "temporary",
)

MAX_CONTENT_CHARACTERS: Final = 1000
GEORGIA: Final = timezone(timedelta(hours=4), "Asia/Tbilisi")
OPERATOR: Final = "28202"
FIRST_MESSAGE_ID: Final = 4_810_001

_GEORGIAN_NUMBER: Final = re.compile(r"995[0-9]{9}")
_INTERNATIONAL_NUMBER: Final = re.compile(r"[1-9][0-9]{7,14}")
_ALL_DIGITS: Final = re.compile(r"[0-9]+")

ERROR_MESSAGES: Final[Mapping[int, str]] = {
    -100: "Temporary delay",
    0: "reference is missing",
    10: "Destination does not contain any valid numbers",
    20: "Balance is insufficient",
    40: "Content is too long",
    60: "Content parameter is missing",
    70: "Destination parameter is empty",
    75: "All numbers are stoplisted",
    76: "All numbers have invalid format",
    77: "All numbers are stoplisted or have invalid format",
    80: "API key is incorrect",
    120: "API access is disabled",
    150: "Sender not found",
    500: "API key is missing",
    600: "Destination is missing",
    700: "Sender is missing",
    800: "Content is missing",
}

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"

_NOT_FOUND_PAGE: Final = (
    "<!DOCTYPE html>\n<html><head><title>404 - Not Found</title></head>"
    "<body><h1>Server Error</h1><h2>404 - File or directory not found.</h2>"
    "<p>The resource you are looking for might have been removed, had its name "
    "changed, or is temporarily unavailable.</p></body></html>\n"
)
_METHOD_NOT_ALLOWED_PAGE: Final = (
    "<!DOCTYPE html>\n<html><head><title>405 - Method Not Allowed</title></head>"
    "<body><h1>405 - HTTP verb used to access this page is not allowed.</h1>"
    "</body></html>\n"
)
_SERVER_ERROR_PAGE: Final = (
    "<!DOCTYPE html>\n<html><head><title>Runtime Error</title></head>"
    "<body><h1>Server Error in '/' Application.</h1><h2><i>Runtime Error</i></h2>"
    "<p>An application error occurred on the server.</p></body></html>\n"
)
_MAINTENANCE_PAGE: Final = (
    '<!DOCTYPE html>\n<html lang="ka"><head><meta charset="utf-8">'
    "<title>smsoffice.ge</title></head><body><h1>Site is under maintenance</h1>"
    "<p>Please try again later.</p></body></html>\n"
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request the fake received, recorded before it was answered."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    content_type: str
    raw_query_string: str
    endpoint: str
    at: float  # when it arrived: `time.time()`, so frozen time in tests

    @property
    def params(self) -> dict[str, str]:
        """Return the parameters the fake acted on (the form for POST)."""
        return self.form if self.method == "POST" else self.query


@dataclass(slots=True)
class AcceptedMessage:
    """A send request the fake accepted (and charged for)."""

    reference: str | None
    destinations: list[str]
    content: str
    sender: str
    urgent: bool
    content_type: int
    scheduled_at: int | None
    parts: int
    message_id: int = 0


@dataclass(slots=True)
class CallbackRecord:
    """One delivery callback the fake made and what the receiver answered."""

    params: dict[str, str]
    http_status: int | None
    body: str
    error: str | None


@dataclass(slots=True)
class _Fault:
    kind: str
    endpoint: str | None


@dataclass(slots=True)
class _Delivery:
    reference: str | None
    destination: str
    status: str = "Pending"


class FakeSmsOffice:
    """A fake smsoffice.ge gateway served over real HTTP.

    Everything a test may want to steer is a plain mutable attribute
    (``balance``, ``api_keys``, ``senders``, ``stoplist``, ``callback_url``,
    ``callback_delay``, ``api_access_enabled``); everything it may want to
    check is recorded (``requests``, ``messages``, ``callbacks``).
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = ("test-api-key",),
        balance: int = 1000,
        senders: Iterable[str] = ("smsoffice", "HomeAlarm"),
        stoplist: Iterable[str] = (),
        callback_url: str | None = None,
        callback_delay: float = 0.0,
        status_case: str = "lower",
        error_code_in_output: bool = False,
        slow_seconds: float = 30.0,
    ) -> None:
        """Configure the fake; nothing listens until :meth:`start`."""
        if status_case not in ("lower", "title"):
            raise ValueError(f"status_case must be 'lower' or 'title': {status_case}")
        self.api_keys: set[str] = set(api_keys)
        self.balance: int = balance
        self.senders: set[str] = set(senders)
        self.stoplist: set[str] = set(stoplist)
        self.callback_url: str | None = callback_url
        self.callback_delay: float = callback_delay
        self.status_case: str = status_case
        self.error_code_in_output: bool = error_code_in_output
        self.slow_seconds: float = slow_seconds
        self.api_access_enabled: bool = True
        self.url: str = ""
        self.requests: list[RecordedRequest] = []
        self.messages: list[AcceptedMessage] = []
        self.callbacks: list[CallbackRecord] = []
        self._outcomes: dict[str, str] = {}
        self._faults: deque[_Fault] = deque()
        self._deliveries: dict[tuple[str, str], _Delivery] = {}
        self._message_ids = itertools.count(FIRST_MESSAGE_ID)
        self._tasks: set[asyncio.Task[None]] = set()
        self._callback_event = asyncio.Event()  # replaced after each callback
        self._release = asyncio.Event()  # replaced at each `release()`
        self._release_faults: dict[asyncio.Event, str] = {}  # `release(fault)`
        self._held_changed = asyncio.Event()
        self.held = 0  # requests the "hold" fault holds now
        # Requests being answered now, and the most at once, per endpoint.
        self.in_flight: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        self.most_in_flight: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ life

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening and return the base URL (``http://host:port``)."""
        if self._runner is not None:
            raise RuntimeError("the fake is already running")
        self._stopping = asyncio.Event()
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=5),
            connector=aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver()),
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        self._runner = runner
        try:
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
        except Exception:
            await self.stop()
            raise
        bound_host, bound_port = runner.addresses[0][:2]
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Cancel pending deliveries and callbacks, close the session, stop."""
        if self._stopping is not None:
            self._stopping.set()  # wakes up requests held by the "slow" fault
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> FakeSmsOffice:
        """Start on entering an ``async with`` block."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop on leaving an ``async with`` block."""
        await self.stop()

    # -------------------------------------------------------------- steering

    def set_outcome(self, destination: str, outcome: str) -> None:
        """Choose what happens to messages sent to ``destination``.

        One of ``delivered`` (the default), ``undelivered``, ``expired``,
        ``pending_then_delivered``, ``pending`` (never settles) or ``unknown``.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
        self._outcomes[destination] = outcome

    def inject(
        self, fault: str, count: int = 1, *, endpoint: str | None = None
    ) -> None:
        """Queue ``fault`` for the next ``count`` requests (to ``endpoint`` only).

        Faults: ``hold`` (answered normally once :meth:`release` is called),
        ``slow``, ``reset``, ``http500``, ``html``, ``invalid_json``,
        ``empty``, ``temporary``. Endpoints: ``send``, ``balance``, ``status``
        or ``None`` for any request.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(
                f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}"
            )
        if count < 1:
            raise ValueError("count must be at least 1")
        self._faults.extend(_Fault(fault, endpoint) for _ in range(count))

    def release(self, fault: str | None = None) -> None:
        """Let the requests held by the ``hold`` fault go on.

        They are answered normally, or with ``fault`` (``reset``: the
        connection drops once the request is in, as if after sending).
        """
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
        if fault is not None:
            self._release_faults[self._release] = fault
        self._release.set()
        self._release = asyncio.Event()

    async def wait_for_held(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the fake's public API
    ) -> None:
        """Wait until ``count`` requests are held by the ``hold`` fault."""
        async with asyncio.timeout(timeout):
            while self.held < count:
                await self._held_changed.wait()
                self._held_changed = asyncio.Event()

    # -------------------------------------------------------------- checking

    def status_of(self, reference: str, destination: str) -> str | None:
        """Return the current status of a sent message, ``None`` if never sent."""
        delivery = self._deliveries.get((reference, destination))
        return None if delivery is None else delivery.status

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """Return the recorded requests to ``send``, ``balance`` or ``status``."""
        return [request for request in self.requests if request.endpoint == endpoint]

    async def wait_for_callbacks(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the fake's public API
    ) -> list[CallbackRecord]:
        """Wait until at least ``count`` callbacks were made; return them all.

        Raises ``TimeoutError`` when fewer arrive within ``timeout`` seconds.
        """
        try:
            async with asyncio.timeout(timeout):
                while len(self.callbacks) < count:
                    await self._callback_event.wait()
        except TimeoutError:
            raise TimeoutError(
                f"expected {count} callbacks within {timeout}s, "
                f"got {len(self.callbacks)}"
            ) from None
        return list(self.callbacks)

    # -------------------------------------------------------------- handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = _endpoint_of(request.path)
        if endpoint not in self.in_flight:
            return await self._answer(request)
        self.in_flight[endpoint] += 1
        self.most_in_flight[endpoint] = max(
            self.most_in_flight[endpoint], self.in_flight[endpoint]
        )
        try:
            return await self._answer(request)
        finally:
            self.in_flight[endpoint] -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        _LOGGER.info("%s %s (%s)", request.method, request.path, recorded.endpoint)

        fault = self._take_fault(recorded.endpoint)
        if fault is not None:
            response = await self._apply_fault(fault, request)
            if response is not None:
                return response

        if recorded.path.rstrip("/") == PROFILE_PATH:
            return self._profile(recorded)
        page = _routing_error(recorded)
        if page is not None:
            return page
        handlers = {
            "send": self._send,
            "balance": self._balance,
            "status": self._status,
        }
        try:
            return handlers[recorded.endpoint](recorded.params)
        except _RefusedError as refusal:
            return self._error(refusal.code)

    def _profile(self, recorded: RecordedRequest) -> web.Response:
        """Imitate the account's profile page, plus what only a fake can do.

        On smsoffice.ge the user pastes Home Assistant's callback URL into the
        profile; `scripts/develop` sends newcomers here to do the same. The
        second form chooses what happens to messages to one number (what
        `set_outcome` does in tests), so the undelivered alert can be tried
        without code. A POST answers with the page and a "Saved" line.
        """
        notice = ""
        status = 200
        if recorded.method == "POST" and "callback_url" in recorded.form:
            self.callback_url = recorded.form["callback_url"].strip() or None
            notice = (
                f"Saved: delivery reports go to {self.callback_url}"
                if self.callback_url
                else "Saved: no callback URL (no delivery reports by webhook)"
            )
        elif recorded.method == "POST" and "destination" in recorded.form:
            destination = number_as_sent(recorded.form["destination"])
            outcome = recorded.form.get("outcome", "")
            if destination is None:
                notice, status = "Not saved: write a number, e.g. 599 11 22 33", 400
            elif outcome not in OUTCOMES:
                notice, status = f"Not saved: unknown outcome {outcome!r}", 400
            else:
                self.set_outcome(destination, outcome)
                notice = (
                    f"Saved: messages to {destination} from now on end "
                    f"{_OUTCOME_LABELS[outcome]}"
                )
        return _html(self._profile_page(notice), status=status)

    def _profile_page(self, notice: str) -> str:
        current = html.escape(self.callback_url or "")
        keys = ", ".join(html.escape(key) for key in sorted(self.api_keys))
        shown = (
            f"<p id=notice role=status><strong>{html.escape(notice)}</strong></p>"
            if notice
            else ""
        )
        options = "".join(
            f"<option value={outcome}>{html.escape(label)}</option>"
            for outcome, label in _OUTCOME_LABELS.items()
        )
        chosen = "".join(
            f"<li><code>{html.escape(number)}</code>: "
            f"{html.escape(_OUTCOME_LABELS[outcome])}</li>"
            for number, outcome in sorted(self._outcomes.items())
        )
        return (
            "<!doctype html><html><head><meta charset=utf-8>"
            "<title>Profile</title></head>"
            "<body><h1>Fake smsoffice.ge profile</h1>"
            f"{shown}"
            f"<p>API key(s): <code>{keys}</code> &middot; balance: {self.balance}"
            f" &middot; messages sent: {len(self.messages)}</p>"
            f"<h2>Delivery reports</h2>"
            f"<form method=post action={PROFILE_PATH}>"
            "<label>Callback URL for delivery reports<br>"
            f"<input name=callback_url size=90 value='{current}'></label> "
            "<button>Save</button></form>"
            "<h2>What happens to messages (fake only)</h2>"
            "<p>Every message ends delivered unless you choose otherwise for its"
            " number here; the report comes after the delay the fake was started"
            " with (and again after as long for <em>pending, then"
            " delivered</em>).</p>"
            f"<form method=post action={PROFILE_PATH}>"
            "<label>Number <input name=destination size=20"
            " placeholder='599 11 22 33'></label> "
            f"<label>ends <select name=outcome>{options}</select></label> "
            "<button>Save</button></form>"
            f"<ul id=outcomes>{chosen}</ul>"
            "</body></html>"
        )

    async def _record(self, request: web.Request) -> RecordedRequest:
        form: dict[str, str] = {}
        if request.method == "POST" and request.content_type == FORM_CONTENT_TYPE:
            body = (await request.read()).decode("utf-8", errors="replace")
            form = _first_values(parse_qsl(body, keep_blank_values=True))
        raw_query = request.rel_url.raw_query_string
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=_first_values(parse_qsl(raw_query, keep_blank_values=True)),
            form=form,
            content_type=request.headers.get("Content-Type", ""),
            raw_query_string=raw_query,
            endpoint=_endpoint_of(request.path),
            at=time.time(),
        )
        self.requests.append(recorded)
        return recorded

    def _take_fault(self, endpoint: str) -> _Fault | None:
        for fault in self._faults:
            if fault.endpoint is None or fault.endpoint == endpoint:
                self._faults.remove(fault)
                return fault
        return None

    async def _hold(self) -> str | None:
        """Wait until `release()` (or the fake stops); return its fault."""
        release = self._release
        self.held += 1
        self._held_changed.set()
        waiters = [asyncio.ensure_future(release.wait())]
        if self._stopping is not None:
            waiters.append(asyncio.ensure_future(self._stopping.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self.held -= 1
        return self._release_faults.get(release) if release.is_set() else None

    async def _apply_fault(
        self, fault: _Fault, request: web.Request
    ) -> web.StreamResponse | None:
        """Answer with the fault, or return ``None`` to answer normally."""
        response: web.StreamResponse | None = None
        match fault.kind:
            case "hold":
                if (then := await self._hold()) is not None:
                    response = await self._apply_fault(_Fault(then, None), request)
            case "slow":
                if self._stopping is not None:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.slow_seconds):
                            await self._stopping.wait()
            case "reset":
                if request.transport is not None:
                    request.transport.close()
                # Nothing can be written any more: aiohttp drops this response.
                response = web.Response(status=500)
            case "http500":
                response = _html(_SERVER_ERROR_PAGE, status=500)
            case "html":
                response = _html(_MAINTENANCE_PAGE, status=200)
            case "invalid_json":
                response = web.Response(
                    status=200,
                    body=b'{"Success": tru',
                    content_type="application/json",
                    charset="utf-8",
                )
            case "empty":
                response = web.Response(status=200, body=b"")
            case _:  # "temporary"
                response = self._error(-100)
        return response

    # ------------------------------------------------------------ endpoints

    def _check_key(self, params: Mapping[str, str]) -> None:
        key = params.get("key", "")
        if not key:
            raise _RefusedError(500)
        if key not in self.api_keys:
            raise _RefusedError(80)
        if not self.api_access_enabled:
            raise _RefusedError(120)

    def _send(self, params: Mapping[str, str]) -> web.Response:
        self._check_key(params)
        items = _destination_items(params)
        sender = self._checked_sender(params)
        content = _checked_content(params)
        urgent = params.get("urgent", "").strip().lower() == "true"
        accepted = self._accepted_numbers(items, urgent=urgent)
        parts = estimate_parts(content).parts
        cost = parts * len(accepted)
        if self.balance < cost:
            raise _RefusedError(20)
        self.balance -= cost

        message = AcceptedMessage(
            reference=params.get("reference") or None,
            destinations=accepted,
            content=content,
            sender=sender,
            urgent=urgent,
            content_type=2 if params.get("contentType", "").strip() == "2" else 1,
            scheduled_at=_int_or_none(params.get("scheduledAt")),
            parts=parts,
            message_id=next(self._message_ids),
        )
        self.messages.append(message)
        self._schedule_deliveries(message)
        return web.json_response(
            {
                "Success": True,
                "Message": "Message sent successfully",
                "Output": message.message_id,
                "ErrorCode": 0,
            }
        )

    def _checked_sender(self, params: Mapping[str, str]) -> str:
        sender = params.get("sender", "")
        if not sender:
            raise _RefusedError(700)
        if sender not in self.senders:
            raise _RefusedError(150)
        return sender

    def _accepted_numbers(self, items: list[str], *, urgent: bool) -> list[str]:
        """Drop badly formed and stoplisted numbers; refuse if none is left.

        ``urgent=true`` is sent "even if the receiver has blocked receiving
        messages" (the API page), so it ignores the stoplist.
        """
        stoplist = set() if urgent else self.stoplist
        if not any(_ALL_DIGITS.fullmatch(item) for item in items):
            raise _RefusedError(10)
        well_formed = [item for item in items if _valid_number(item)]
        accepted = [item for item in well_formed if item not in stoplist]
        if not accepted:
            if not well_formed:
                raise _RefusedError(76)
            raise _RefusedError(75 if len(well_formed) == len(items) else 77)
        return list(dict.fromkeys(accepted))

    def _balance(self, params: Mapping[str, str]) -> web.Response:
        self._check_key(params)
        return web.Response(
            text=f"{self.balance}\r\n", content_type="text/plain", charset="utf-8"
        )

    def _status(self, params: Mapping[str, str]) -> web.Response:
        self._check_key(params)
        destination = params.get("destination", "").strip()
        if not destination:
            raise _RefusedError(600)
        reference = params.get("reference", "")
        if not reference:
            raise _RefusedError(0)
        status = self.status_of(reference, destination) or "Unknown"
        return web.json_response(
            {
                "Success": True,
                "Message": "",
                "Output": {"Status": status},
                "ErrorCode": 0,
            }
        )

    def _error(self, code: int) -> web.Response:
        payload: dict[str, Any] = {
            "Success": False,
            "Message": ERROR_MESSAGES.get(code, "Error"),
            "Output": None,
        }
        if self.error_code_in_output:
            payload["Output"] = {"ErrorCode": code}
        else:
            payload["ErrorCode"] = code
        return web.json_response(payload)

    # ------------------------------------------------------------- delivery

    def _schedule_deliveries(self, message: AcceptedMessage) -> None:
        """Start one task per message (not per number: bulk sends stay cheap)."""
        start = time.time()
        if message.scheduled_at is not None:
            start = max(start, float(message.scheduled_at))
        deliveries = []
        for destination in message.destinations:
            delivery = _Delivery(message.reference, destination)
            if message.reference is not None:
                self._deliveries[message.reference, destination] = delivery
            deliveries.append((delivery, self._outcomes.get(destination, "delivered")))
        task = asyncio.get_running_loop().create_task(
            self._deliver(deliveries, start),
            name=f"fake-smsoffice-delivery-{message.message_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, deliveries: list[tuple[_Delivery, str]], start: float
    ) -> None:
        """Settle each destination after the delay; pending ones a delay later."""
        await asyncio.sleep(max(0.0, start + self.callback_delay - time.time()))
        later = []
        for delivery, outcome in deliveries:
            match outcome:
                case "delivered":
                    await self._change(delivery, "Delivered", "")
                case "undelivered":
                    await self._change(delivery, "Undelivered", "Absent subscriber")
                case "expired":
                    await self._change(delivery, "Expired", "Validity period expired")
                case "pending":
                    await self._change(
                        delivery, "Pending", "Waiting for delivery report"
                    )
                case "pending_then_delivered":
                    await self._change(
                        delivery, "Pending", "Waiting for delivery report"
                    )
                    later.append(delivery)
                case _:  # "unknown"
                    await self._change(delivery, "Unknown", "Unknown status")
        if later:
            await asyncio.sleep(self.callback_delay)
            for delivery in later:
                await self._change(delivery, "Delivered", "")

    async def _change(self, delivery: _Delivery, status: str, reason: str) -> None:
        delivery.status = status
        url = self.callback_url
        if url is None or delivery.reference is None or self._session is None:
            return
        params = {
            "reference": delivery.reference,
            "status": status.lower() if self.status_case == "lower" else status,
            "reason": reason,
            "destination": delivery.destination,
            "timestamp": datetime.now(GEORGIA).strftime("%Y%m%d%H%M%S"),
            "operator": OPERATOR,
        }
        record = CallbackRecord(params=params, http_status=None, body="", error=None)
        try:
            async with self._session.get(url, params=params) as response:
                record.http_status = response.status
                record.body = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            record.error = f"{type(err).__name__}: {err}"
        # The callback URL is not logged: it may hold a webhook secret.
        _LOGGER.info(
            "callback %s %s -> %s",
            params["destination"],
            params["status"],
            record.error or record.http_status,
        )
        self.callbacks.append(record)
        self._callback_event.set()
        self._callback_event = asyncio.Event()


class _RefusedError(Exception):
    """An API error answer (``Success`` false with ``code``)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


PROFILE_PATH: Final = "/profile"
_OUTCOME_LABELS: Final[Mapping[str, str]] = {
    "delivered": "delivered",
    "undelivered": "undelivered (absent subscriber)",
    "expired": "expired",
    "pending_then_delivered": "pending, then delivered",
    "pending": "pending (never settles)",
    "unknown": "unknown",
}


def number_as_sent(text: str) -> str | None:
    """Return the number as the integration sends it (``995...``), or ``None``.

    Spaces, dashes, brackets and a leading ``+`` or ``00`` are dropped; nine
    digits are a Georgian number without the country code.
    """
    digits = re.sub(r"[\s\-().]", "", text).removeprefix("+")
    if digits.startswith("00"):
        digits = digits[2:]
    if not _ALL_DIGITS.fullmatch(digits):
        return None
    if len(digits) == 9:  # a Georgian number without 995
        digits = f"995{digits}"
    return digits if _valid_number(digits) else None


def _routing_error(recorded: RecordedRequest) -> web.Response | None:
    if recorded.method not in ("GET", "POST"):
        return _html(_METHOD_NOT_ALLOWED_PAGE, status=405)
    if recorded.endpoint == "other":
        return _html(_NOT_FOUND_PAGE, status=404)
    if (
        recorded.endpoint == "send"
        and recorded.method == "POST"
        and not recorded.path.endswith("/")
    ):
        # The real site redirects send -> send/ and the POST body is lost.
        return _html(_NOT_FOUND_PAGE, status=404)
    return None


def _destination_items(params: Mapping[str, str]) -> list[str]:
    if "destination" not in params:
        raise _RefusedError(600)
    items = [item.strip() for item in params["destination"].split(",")]
    items = [item for item in items if item]
    if not items:
        raise _RefusedError(70)
    return items


def _checked_content(params: Mapping[str, str]) -> str:
    if "content" not in params:
        raise _RefusedError(800)
    content = params["content"]
    if not content:
        raise _RefusedError(60)
    if len(content) > MAX_CONTENT_CHARACTERS:
        raise _RefusedError(40)
    return content


def _endpoint_of(path: str) -> str:
    if path in SEND_PATHS:
        return "send"
    if path in BALANCE_PATHS:
        return "balance"
    if path in STATUS_PATHS:
        return "status"
    return "other"


def _first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def _valid_number(item: str) -> bool:
    return bool(
        _GEORGIAN_NUMBER.fullmatch(item) or _INTERNATIONAL_NUMBER.fullmatch(item)
    )


def _int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _html(page: str, *, status: int) -> web.Response:
    return web.Response(
        status=status, text=page, content_type="text/html", charset="utf-8"
    )
