"""The webhook that receives smsoffice.ge's delivery callbacks, and its URL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
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

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        return await handle_callback(request, on_report)

    webhook.async_register(
        hass,
        DOMAIN,
        f"SMS Office delivery reports ({entry.title})",
        webhook_id,
        handle,
        local_only=False,
        allowed_methods=("GET", "POST"),
    )
    return lambda: webhook.async_unregister(hass, webhook_id)


async def handle_callback(
    request: web.Request, on_report: ReportHandler
) -> web.Response:
    """Answer one callback: OK for every well-formed one, 400 for anything else."""
    try:
        params = await _read_params(request)
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


async def _read_params(request: web.Request) -> dict[str, str]:
    """Return the callback's parameters: the query, and for POST the form."""
    query = request.rel_url.raw_query_string
    if len(query) > MAX_BODY_BYTES:
        raise MalformedCallbackError("query too long")
    params: dict[str, str] = {}
    _add_form_fields(params, query)
    if request.method == "POST":
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
    return params


def _add_form_fields(params: dict[str, str], encoded: str) -> None:
    """Add the fields of a query or form body; the first of a name wins.

    What `urllib.parse.parse_qsl(encoded, keep_blank_values=True)` gives, with
    names lower-cased, at a fraction of its cost: only the parts that contain
    `%` or `+` are decoded, and a callback's six fields seldom do.
    """
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
    status = DeliveryStatus.parse(params.get("status", ""))
    if status is None:
        raise MalformedCallbackError("missing or unknown status")
    raw_time = params.get("timestamp", "").strip()
    timestamp: datetime | None = None
    if raw_time:
        # strptime alone takes "2025511..." (one-digit month): insist on 14 digits.
        if not _TIMESTAMP.fullmatch(raw_time):
            raise MalformedCallbackError("invalid timestamp")
        try:
            # What strptime("%Y%m%d%H%M%S") reads, at a tenth of its cost.
            timestamp = datetime(
                int(raw_time[0:4]),
                int(raw_time[4:6]),
                int(raw_time[6:8]),
                int(raw_time[8:10]),
                int(raw_time[10:12]),
                int(raw_time[12:14]),
                tzinfo=GEORGIA,
            )
        except ValueError as err:
            raise MalformedCallbackError("invalid timestamp") from err
    reason = params.get("reason", "").strip()[:200]
    operator = params.get("operator", "").strip()[:20]
    return DeliveryReport(reference, destination, status, reason, timestamp, operator)
