"""The webhook that receives smsoffice.ge's delivery callbacks, and its URL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from http import HTTPStatus
import re
from typing import Any
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError, get_url

from .client import MAX_REFERENCE_LENGTH, DeliveryStatus
from .const import CONF_CLOUDHOOK_URL, CONF_WEBHOOK_ID, DOMAIN, LOGGER
from .models import DeliveryReport

__all__ = [
    "MalformedCallbackError",
    "async_register_webhook",
    "handle_callback",
    "parse_report",
    "webhook_url",
]

GEORGIA = ZoneInfo("Asia/Tbilisi")
MAX_BODY_BYTES = 4096
_TIMESTAMP = re.compile(r"[0-9]{14}")
_DESTINATION = re.compile(r"[0-9]{6,15}")
_STATUSES = {status.value: status for status in DeliveryStatus}

type ReportHandler = Callable[[DeliveryReport], None]


class MalformedCallbackError(ValueError):
    """A callback that cannot be a delivery report."""


def webhook_url(hass: HomeAssistant, data: Mapping[str, Any]) -> tuple[str, bool]:
    """Return the callback URL to paste in the profile, and whether the internet reaches it.

    Reached: the entry's cloudhook (Home Assistant Cloud), or Home Assistant's
    external URL. A Cloud subscription alone is not enough: reports arrive
    through a cloudhook, which the entry has only if it was made at set-up.
    """
    if cloudhook := data.get(CONF_CLOUDHOOK_URL):
        return str(cloudhook), True
    path = webhook.async_generate_path(data[CONF_WEBHOOK_ID])
    try:
        return get_url(hass, allow_internal=False, allow_cloud=False) + path, True
    except NoURLAvailableError:
        pass
    try:
        return get_url(hass, allow_cloud=False) + path, False
    except NoURLAvailableError:
        return path, False


@callback
def async_register_webhook(
    hass: HomeAssistant, entry: ConfigEntry[Any], on_report: ReportHandler
) -> CALLBACK_TYPE:
    """Register the entry's webhook; return the callback that unregisters it."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]

    webhook.async_register(
        hass,
        DOMAIN,
        f"SMS Office delivery reports ({entry.title})",
        webhook_id,
        partial(handle_callback, on_report),
        local_only=False,
        allowed_methods=("GET", "POST"),
    )
    return lambda: webhook.async_unregister(hass, webhook_id)


async def handle_callback(
    on_report: ReportHandler,
    hass: HomeAssistant,
    webhook_id: str,
    request: web.Request,
) -> web.Response:
    """Answer one callback: OK for every well-formed one, 400 for anything else.

    Registered with the entry's `on_report` bound (one coroutine per callback).
    """
    try:
        params = _read_query(request)
        if request.method == "POST":
            await _add_body(request, params)
        report = parse_report(params)
    except MalformedCallbackError as err:
        LOGGER.debug("Refused a delivery callback: %s", err)
        return web.Response(status=HTTPStatus.BAD_REQUEST, text=str(err))
    except Exception:  # noqa: BLE001 - whatever arrives, the caller gets an answer
        LOGGER.exception("Unexpected error reading a delivery callback")
        return web.Response(status=HTTPStatus.BAD_REQUEST, text="unreadable callback")
    try:
        on_report(report)
    except Exception:  # noqa: BLE001 - a bug here must not become a 500 (and retries)
        LOGGER.exception("Unexpected error applying a delivery report")
    return web.Response(text="OK")


def _read_query(request: web.Request) -> dict[str, str]:
    """Return the callback's query parameters (a GET's are all there is)."""
    query = request.rel_url.raw_query_string
    if len(query) > MAX_BODY_BYTES:
        raise MalformedCallbackError("query too long")
    params: dict[str, str] = {}
    _add_form_fields(params, query)
    return params


async def _add_body(request: web.Request, params: dict[str, str]) -> None:
    """Add a POST's form fields to `params` (the query's win)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise MalformedCallbackError("body too large")
    # `read(n)` returns what has arrived so far: read until the end or the limit.
    body = b""
    try:
        while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(body)):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise MalformedCallbackError("body too large")
    except (RequestPayloadError, HttpProcessingError) as err:
        # For example a body that claims gzip but is not: the sender's fault.
        raise MalformedCallbackError("unreadable body") from err
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise MalformedCallbackError("body is not UTF-8") from err
        _add_form_fields(params, text)


def _add_form_fields(params: dict[str, str], encoded: str) -> None:
    """Add the fields of a query or form body; the first of a name wins.

    What `urllib.parse.parse_qsl(encoded, keep_blank_values=True)` gives, with
    names lower-cased, at a fraction of its cost: only the parts that contain
    `%` or `+` are decoded, and a callback's six fields seldom do.
    """
    if "%" not in encoded and "+" not in encoded:  # nothing to decode anywhere
        for field in encoded.split("&"):
            if field:
                name, _, value = field.partition("=")
                params.setdefault(name.lower(), value)
        return
    for field in encoded.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        params.setdefault(name.lower(), value)


def parse_report(params: Mapping[str, str]) -> DeliveryReport:
    """Check a callback's parameters and turn them into a report."""
    reference = params.get("reference", "").strip()
    if not reference or len(reference) > MAX_REFERENCE_LENGTH:
        raise MalformedCallbackError("missing or invalid reference")
    destination = params.get("destination", "").strip().removeprefix("+")
    if not _DESTINATION.fullmatch(destination):  # ASCII digits only, not "²" or "٣"
        raise MalformedCallbackError("missing or invalid destination")
    raw_status = params.get("status", "")
    # The gateway's own spelling first: a dict lookup instead of the enum's.
    status = _STATUSES.get(raw_status) or DeliveryStatus.parse(raw_status)
    if status is None:
        raise MalformedCallbackError("missing or unknown status")
    raw_time = params.get("timestamp", "").strip()
    timestamp: datetime | None = None
    if raw_time:
        # strptime alone takes "2025511..." (one-digit month): insist on 14
        # digits, and on an hour below 24 (Python 3.14 reads "T24" as the
        # next day's midnight, strptime refuses it).
        if not _TIMESTAMP.fullmatch(raw_time) or raw_time[8:10] > "23":
            raise MalformedCallbackError("invalid timestamp")
        try:
            # What strptime("%Y%m%d%H%M%S") reads (ISO 8601's basic format),
            # at a tenth of its cost.
            timestamp = datetime.fromisoformat(
                f"{raw_time[:8]}T{raw_time[8:]}"
            ).replace(tzinfo=GEORGIA)
        except ValueError as err:
            raise MalformedCallbackError("invalid timestamp") from err
    reason = params.get("reason", "").strip()[:200]
    operator = params.get("operator", "").strip()[:20]
    return DeliveryReport(reference, destination, status, reason, timestamp, operator)
