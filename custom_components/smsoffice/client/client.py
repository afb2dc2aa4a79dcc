"""The only place that speaks HTTP to smsoffice.ge.

It takes an `aiohttp.ClientSession` and a base URL, imports nothing of Home
Assistant, and never puts the API key in a log line, an error text or a URL it
builds for sending (sends are form-encoded POSTs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
import json
import logging
import re
from typing import Any, Final
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from .errors import (
    InvalidNumberError,
    SmsOfficeConnectionError,
    SmsOfficeError,
    SmsOfficeResponseError,
    SmsOfficeTemporaryError,
    error_for_code,
)
from .models import DeliveryStatus, SendResult
from .numbers import NumberCheck, async_check_numbers, normalise_number
from .segments import estimate_parts
from .validation import (
    check_content,
    check_reference,
    check_schedule,
    check_sender,
    new_reference,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://smsoffice.ge"
SEND_PATH: Final = "/api/v2/send/"
BALANCE_PATH: Final = "/api/getBalance"
STATUS_PATH: Final = "/api/v2/getMessageStatus/"
CONTENT_TYPE_TEXT: Final = 1
CONTENT_TYPE_FLASH: Final = 2
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
# An integer in ASCII digits only: str.isdigit() also accepts "²" or "٣", which
# int() then refuses or reads as a number nobody meant.
# Bounded: a longer "number" is nonsense, and Python refuses to convert
# strings of over 4,300 digits.
_INTEGER: Final = re.compile(r"-?[0-9]{1,18}")
_MASK: Final = "***"
_NUMBER_LIST: Final = re.compile(r"[0-9,]*")


class SmsOfficeClient:
    """Client of the smsoffice.ge HTTP API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
        retry_delay: float = 1.0,
    ) -> None:
        """Use `session` to reach the gateway at `base_url`.

        `timeout` bounds a whole call; `connect_timeout` (at most `timeout`)
        the connection alone: a call that times out connecting cannot have
        arrived, so it is retried, and a send is known not to have gone out.
        """
        self._session = session
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, connect=min(connect_timeout, timeout)
        )
        self._retries = retries
        self._retry_delay = retry_delay
        # The key as given and as a URL or JSON quotes it, longest first.
        self._key_forms = (
            sorted(
                {
                    api_key,
                    quote(api_key, safe=""),
                    quote_plus(api_key),
                    URL.build(query={"k": api_key}).raw_query_string[2:],
                    json.dumps(api_key)[1:-1],
                },
                key=len,
                reverse=True,
            )
            if api_key
            else []
        )

    def __repr__(self) -> str:
        """Describe the client without its key."""
        return f"SmsOfficeClient(base_url={self.base_url!r})"

    async def get_balance(self) -> int:
        """Return the number of messages left on the account."""
        text, envelope = await self._request(
            "GET", BALANCE_PATH, {"key": self._api_key}, idempotent=True
        )
        stripped = text.strip()
        if _INTEGER.fullmatch(stripped):
            balance = int(stripped)
            if balance >= 0:
                return balance
        if stripped.startswith("{"):
            # Errors come as the usual JSON envelope; an answer that is JSON
            # but not an error is still not a balance.
            _check_envelope(self._require_envelope(text, envelope))
        raise SmsOfficeResponseError(
            f"The balance answer is not a number of messages: {_excerpt(stripped)}"
        )

    async def get_message_status(
        self, destination: str, reference: str
    ) -> DeliveryStatus:
        """Return the status of the message `reference` at `destination`."""
        number = normalise_number(destination)
        check_reference(reference)
        text, envelope = await self._request(
            "GET",
            STATUS_PATH,
            {"key": self._api_key, "destination": number, "reference": reference},
            idempotent=True,
        )
        output = _check_envelope(self._require_envelope(text, envelope))
        raw = output.get("Status") if isinstance(output, Mapping) else None
        status = DeliveryStatus.parse(raw) if isinstance(raw, str) else None
        if status is None:
            raise SmsOfficeResponseError(
                f"The status answer has no known status: {_excerpt(text)}"
            )
        return status

    async def send(
        self,
        destinations: Iterable[str] | str | NumberCheck,
        content: str,
        sender: str,
        *,
        urgent: bool = False,
        flash: bool = False,
        reference: str | None = None,
        scheduled_at: datetime | None = None,
        allow_partial: bool = False,
    ) -> SendResult:
        """Send `content` to `destinations`; return what the gateway accepted.

        Every input is checked before any request. Invalid numbers fail the
        call, unless `allow_partial` is set and at least one number is valid:
        then they are reported in the result's `invalid`.

        `destinations` may also be what `check_numbers` (or
        `async_check_numbers`) made of them, so that a caller who needs the
        normalised numbers itself does not check them twice. A long list is
        checked in a worker thread (see `async_check_numbers`).
        """
        if isinstance(destinations, NumberCheck):
            numbers = destinations
        else:
            numbers = await async_check_numbers(
                [destinations] if isinstance(destinations, str) else destinations
            )
        if not numbers.valid or (numbers.invalid and not allow_partial):
            raise InvalidNumberError(numbers.invalid or ["(no number)"])
        check_sender(sender)
        check_content(content)
        reference = (
            check_reference(reference) if reference is not None else new_reference()
        )
        when = check_schedule(scheduled_at) if scheduled_at is not None else None
        form = {
            "key": self._api_key,
            "destination": ",".join(numbers.valid),
            "sender": sender,
            "content": content,
            "reference": reference,
            "urgent": "true" if urgent else "false",
            "contentType": str(CONTENT_TYPE_FLASH if flash else CONTENT_TYPE_TEXT),
        }
        if when is not None:
            form["scheduledAt"] = str(when)
        text, decoded = await self._request("POST", SEND_PATH, form, idempotent=False)
        envelope = self._require_envelope(text, decoded)
        _check_envelope(envelope)
        estimate = estimate_parts(content)
        return SendResult(
            reference=reference,
            destinations=numbers.valid,
            invalid=numbers.invalid,
            encoding=estimate.encoding,
            characters=estimate.characters,
            parts=estimate.parts,
            credits=estimate.parts * len(numbers.valid),
            scheduled_at=when,
            gateway_message=str(envelope.get("Message") or ""),
        )

    async def _request(
        self, method: str, path: str, params: dict[str, str], *, idempotent: bool
    ) -> tuple[str, dict[str, Any] | None]:
        """Make one call, retrying only where a repeat cannot send twice.

        Returns the answer's text and its decoded envelope (None when the
        answer is not one, as a balance is not).

        Retried: the gateway's -100 "temporary delay" (nothing was accepted),
        failures to connect at all, and, for reads, any connection failure.
        Never retried: a send that may have reached the gateway.
        """
        attempt = 0
        while True:
            try:
                text = await self._request_once(
                    method, path, params, idempotent=idempotent
                )
                envelope = self._envelope_or_none(text)
                _raise_if_temporary(envelope)
            except (SmsOfficeTemporaryError, SmsOfficeConnectionError) as err:
                retriable = (
                    isinstance(err, SmsOfficeTemporaryError) or not err.maybe_sent
                )
                if not retriable or attempt >= self._retries:
                    raise
                attempt += 1
                delay = self._retry_delay * 2 ** (attempt - 1)
                _LOGGER.debug("Retrying %s %s in %.1f s: %s", method, path, delay, err)
                await asyncio.sleep(delay)
            else:
                return text, envelope

    async def _request_once(
        self, method: str, path: str, params: dict[str, str], *, idempotent: bool
    ) -> str:
        url = self.base_url + path
        _LOGGER.debug("%s %s", method, path)
        kwargs: dict[str, Any] = (
            {"data": _form(params)} if method == "POST" else {"params": params}
        )
        try:
            async with self._session.request(
                method, url, timeout=self._timeout, allow_redirects=False, **kwargs
            ) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as err:
            # The connection was never made: the request cannot have arrived.
            raise SmsOfficeConnectionError(
                f"Cannot connect to {self._host}: {type(err).__name__}",
                maybe_sent=False,
            ) from None
        except TimeoutError:
            raise SmsOfficeConnectionError(
                f"No answer from {self._host} in time", maybe_sent=not idempotent
            ) from None
        except aiohttp.ClientError as err:
            raise SmsOfficeConnectionError(
                f"Connection to {self._host} failed: {type(err).__name__}",
                maybe_sent=not idempotent,
            ) from None
        text = self._masked(body.decode("utf-8", errors="replace"))
        if status != 200:
            raise SmsOfficeResponseError(
                f"The gateway answered HTTP {status}: {_excerpt(text)}"
            )
        return text

    @property
    def _host(self) -> str:
        """Return the gateway's address for messages: no scheme, no credentials."""
        return self.base_url.split("://", 1)[-1].rpartition("@")[2]

    def _masked(self, text: str) -> str:
        """Return `text` with the key masked, as given or as a URL or JSON quotes it.

        Answers are quoted in error texts and log lines; a page that echoes the
        request (an error page showing the URL, a message repeating the
        parameters) must not carry the key there.
        """
        for form in self._key_forms:
            text = text.replace(form, _MASK)
        return text

    def _envelope(self, text: str) -> dict[str, Any]:
        """Decode the answer's envelope, with the key masked in its Message too."""
        envelope = _decode_envelope(text)
        if envelope.get("Message"):
            envelope["Message"] = self._masked(str(envelope["Message"]))
        return envelope

    def _require_envelope(
        self, text: str, envelope: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Return the envelope `_request` decoded; raise the decoding error if none."""
        return envelope if envelope is not None else self._envelope(text)

    def _envelope_or_none(self, text: str) -> dict[str, Any] | None:
        """Decode the envelope; None when the answer is not one (a balance...)."""
        try:
            return self._envelope(text)
        except SmsOfficeError:
            return None


def _form(params: dict[str, str]) -> aiohttp.BytesPayload:
    """Return the form as aiohttp's `FormData` sends it (the same bytes and type).

    Encoded here: `FormData` makes a multipart writer (with a random
    boundary) for every form, ~40 µs a send; this takes ~3 µs. It is what
    `urlencode` makes of the form: each name and value `quote_plus`-ed, the
    values that repeat (key, sender, texts) remembered, numbers and their
    commas written at once.
    """
    return aiohttp.BytesPayload(
        "&".join(
            f"{_quoted(name)}={_quoted_numbers(value) if name == 'destination' else _quoted(value)}"
            for name, value in params.items()
        ).encode(),
        content_type=FORM_CONTENT_TYPE,
    )


# `quote_plus` of the names and values that repeat (a text up to the longest
# an SMS may be); each call takes 1-2 µs.
_quoted: Final = lru_cache(maxsize=256)(quote_plus)


def _quoted_numbers(numbers: str) -> str:
    """Return `quote_plus(numbers)`: digits stay, each comma is %2C."""
    if _NUMBER_LIST.fullmatch(numbers):
        return numbers.replace(",", "%2C")
    return quote_plus(numbers)  # numbers checked by the caller, as they came


def _raise_if_temporary(envelope: Mapping[str, Any] | None) -> None:
    """Raise `SmsOfficeTemporaryError` when the answer is the -100 code."""
    if envelope is not None and _error_code(envelope) == -100:
        raise error_for_code(-100, str(envelope.get("Message") or ""))


def _decode_envelope(text: str) -> dict[str, Any]:
    """Read the `{"Success", "Message", "Output", "ErrorCode"}` answer."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise SmsOfficeResponseError(
            f"The gateway's answer is not JSON: {_excerpt(text)}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("Success"), bool):
        raise SmsOfficeResponseError(
            f"The gateway's answer has no Success field: {_excerpt(text)}"
        )
    return data


def _error_code(envelope: Mapping[str, Any]) -> int | None:
    """Return the error code at the top level, else inside Output; None if absent.

    A top-level 0 does not hide a non-zero code inside Output (one client saw
    failures reported that way).
    """
    found: int | None = None
    for holder in (envelope, envelope.get("Output")):
        # A dict (what JSON gives) without the slower abstract check.
        if type(holder) is dict or isinstance(holder, Mapping):
            code = holder.get("ErrorCode")
            if isinstance(code, str) and _INTEGER.fullmatch(code.strip()):
                code = int(code)
            if isinstance(code, int) and not isinstance(code, bool):
                if code != 0:
                    return code
                found = 0
    return found


def _check_envelope(envelope: Mapping[str, Any]) -> Any:
    """Return the envelope's Output, or raise the error it carries."""
    code = _error_code(envelope)
    message = str(envelope.get("Message") or "")
    if envelope["Success"] and code in (None, 0):
        return envelope.get("Output")
    if code in (None, 0):
        raise SmsOfficeResponseError(
            f"The gateway refused without an error code: {message or 'no message'}"
        )
    raise error_for_code(code, message)


def _excerpt(text: str, limit: int = 80) -> str:
    """Return the start of an answer, on one line, for an error text."""
    flat = " ".join(text.split())
    if not flat:
        return "(empty)"
    return flat if len(flat) <= limit else flat[:limit] + "…"
