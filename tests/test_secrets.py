"""The API key and the webhook id never leak: not in logs, errors or diagnostics.

The main flows run with every logger at DEBUG (``aiohttp.access`` stays at
WARNING, as Home Assistant's bootstrap sets it: at DEBUG the test server's
access log would print each request line). Every captured record is then
searched - its message, its arguments and its formatted traceback - for each
secret, as written and as a URL or JSON would quote it; so is every
exception raised to a caller (its text, translation placeholders, translated
message and whole traceback chain) and the diagnostics.

One exception, Home Assistant's own: the webhook component and the HTTP
helper log the webhook's id at DEBUG for every call ("Handling webhook GET
payload for <id>", "Serving /api/webhook/<id> to ..."). The integration cannot
change that; those two records are allowed, any other one is not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
import json
import logging
import traceback
from typing import Any, Final
from urllib.parse import quote, quote_plus

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)
from yarl import URL

from custom_components.smsoffice.client import SmsOfficeClient, SmsOfficeError
from custom_components.smsoffice.const import (
    CONF_API_KEY,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from custom_components.smsoffice.diagnostics import async_get_config_entry_diagnostics
from tests.conftest import (
    API_KEY,
    GUARD,
    MOTHER,
    SENDER,
    WEBHOOK_ID,
    WEBHOOK_PATH,
    account_input,
    call_action,
    notify,
    poll_balance,
    reauth_flows,
    send_sms,
)
from tests.fake_smsoffice import FakeSmsOffice

NEW_KEY: Final = "renewed-secret-key-0042"
WRONG_KEY: Final = "wrong-secret-key-0013"
# A key with everything a URL, a form or JSON would quote.
ODD_KEY: Final = 'k3y+/=&?% "quoted" ключ'
MOTHER_ENTITY: Final = "notify.sms_office_homealarm_mother"

# Home Assistant's records that name the webhook id by design (logger, start).
_HA_WEBHOOK_RECORDS: Final = (
    ("homeassistant.components.webhook", "Handling webhook "),
    ("homeassistant.helpers.http", "Serving /api/webhook/"),
)


# ------------------------------------------------------------------ helpers


def forms_of(secret: str) -> set[str]:
    """Return `secret` as written and as a URL, a form or JSON would quote it."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        URL.build(query={"k": secret}).raw_query_string[2:],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def leaked(text: str, secrets: Iterable[str]) -> list[str]:
    """Return the secrets found in `text`."""
    return [s for s in secrets if any(form in text for form in forms_of(s))]


def record_texts(record: logging.LogRecord) -> list[str]:
    """Return everything of a record that could be written to a log."""
    texts = [record.getMessage(), str(record.msg), repr(record.args)]
    if record.exc_info and record.exc_info[1] is not None:
        texts.append(logging.Formatter().formatException(record.exc_info))
    texts += [record.exc_text or "", record.stack_info or ""]
    return texts


def _by_design(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return any(
        record.name == name and message.startswith(start)
        for name, start in _HA_WEBHOOK_RECORDS
    )


def assert_logs_clean(
    caplog: pytest.LogCaptureFixture, keys: Iterable[str], webhook_ids: Iterable[str]
) -> None:
    """No key in any record; no webhook id in any but Home Assistant's own two."""
    keys, webhook_ids = list(keys), list(webhook_ids)
    found = []
    # The setup phase too: the entry is set up by fixtures.
    records = [*caplog.get_records("setup"), *caplog.records]
    for record in records:
        secrets = keys if _by_design(record) else [*keys, *webhook_ids]
        found.extend(
            (record.name, record.levelname, text[:300], hits)
            for text in record_texts(record)
            if (hits := leaked(text, secrets))
        )
    assert found == []
    # DEBUG was on: the integration's own debug records are there.
    assert any(
        r.levelno == logging.DEBUG and r.name.startswith("custom_components.smsoffice")
        for r in records
    )


async def error_texts(hass: HomeAssistant, err: BaseException) -> str:
    """Return all a caller can read of `err`: text, placeholders, traceback chain."""
    texts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    if isinstance(err, HomeAssistantError) and err.translation_key:
        texts.append(repr(err.translation_placeholders))
        translations = await async_get_translations(
            hass, "en", "exceptions", {err.translation_domain or DOMAIN}
        )
        key = f"component.{err.translation_domain}.exceptions.{err.translation_key}.message"
        assert key in translations, key
        texts.append(translations[key].format(**(err.translation_placeholders or {})))
    return "\n".join(texts)


class Caught:
    """Collects the errors raised to callers, to search them afterwards."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Serve `hass`."""
        self._hass = hass
        self.errors: list[BaseException] = []

    async def expect(self, call: Any, key: str | None = None) -> BaseException:
        """Await `call`, which must raise (with translation `key`); keep the error."""
        with pytest.raises(HomeAssistantError) as raised:
            await call
        if key is not None:
            assert raised.value.translation_key == key
        self.errors.append(raised.value)
        return raised.value

    async def assert_clean(self, secrets: Iterable[str]) -> None:
        """No secret in any kept error."""
        secrets = list(secrets)
        assert self.errors
        for err in self.errors:
            assert leaked(await error_texts(self._hass, err), secrets) == []


async def diagnostics_text(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Return the entry's diagnostics as JSON."""
    return json.dumps(
        await async_get_config_entry_diagnostics(hass, entry), default=str
    )


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every logger at DEBUG (levels are restored afterwards)."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name != "aiohttp.access":
            caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.WARNING, logger="aiohttp.access")  # as HA does
    # Last: set_level also sets the capturing handler's level.
    caplog.set_level(logging.DEBUG)
    return caplog


pytestmark = pytest.mark.usefixtures("unload_entries")


@pytest.fixture
async def http(hass: HomeAssistant, hass_client_no_auth: Any) -> TestClient:
    """An HTTP client of Home Assistant."""
    return await hass_client_no_auth()


# -------------------------------------------------------------------- flows


async def test_config_flow_setup_and_diagnostics(
    logs: pytest.LogCaptureFixture, hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    """A wrong key, then the right one: the entry is made and set up."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url, WRONG_KEY)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert leaked(repr(result), [WRONG_KEY]) == []
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url, f" {API_KEY} ")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_API_KEY] == API_KEY
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    await poll_balance(hass)

    diagnostics = await diagnostics_text(hass, entry)
    assert leaked(diagnostics, [API_KEY, webhook_id]) == []
    assert [r.query["key"] for r in gateway.requests_to("balance")][:2] == [
        WRONG_KEY,
        API_KEY,
    ]
    assert_logs_clean(logs, [API_KEY, WRONG_KEY], [webhook_id])


async def test_sending_reports_status_and_polling(
    logs: pytest.LogCaptureFixture,
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    """Every way to send, reports by webhook, status checks, balance polls, faults."""
    caught = Caught(hass)
    loaded_entry.runtime_data.client._retry_delay = 0
    webhook_path = WEBHOOK_PATH
    gateway.callback_url = str(http.make_url(webhook_path))

    # Sends of each kind; the gateway calls back for each.
    await notify(hass, MOTHER_ENTITY, message="Entity", title="Alarm")
    await hass.services.async_call(
        "notify",
        "sms_office_homealarm",
        {"message": "Legacy", "target": ["Mother", GUARD], "data": {"urgent": True}},
        blocking=True,
    )
    sent = await send_sms(
        hass, recipients=[MOTHER], message="Action", reference="secret-flow-1"
    )
    assert sent["reference"] == "secret-flow-1"
    await gateway.wait_for_callbacks(4)
    await hass.async_block_till_done()
    assert {c.http_status for c in gateway.callbacks} == {200}

    # Callbacks by hand: POST, malformed, unknown reference.
    delivered = {"reference": "secret-flow-1", "destination": MOTHER}
    response = await http.post(webhook_path, data={**delivered, "status": "delivered"})
    assert response.status == 200
    response = await http.get(webhook_path, params={"reference": "x", "status": "?"})
    assert response.status == 400
    response = await http.post(webhook_path, data=b"\xff\xfe", headers={})
    assert response.status == 400
    response = await http.get(
        webhook_path,
        params={"reference": "elsewhere", "destination": MOTHER, "status": "pending"},
    )
    assert response.status == 200

    # Status checks, one refused and one failing.
    status = await call_action(
        hass, "get_message_status", reference="secret-flow-1", destinations=["Mother"]
    )
    assert status["statuses"][0]["status"] == "delivered"
    gateway.inject("html", endpoint="status")
    await caught.expect(
        call_action(
            hass, "get_message_status", reference="secret-flow-1", destinations=[MOTHER]
        ),
        "status_failed",
    )

    # Balance polls: one fine, one failing, one fine again.
    await poll_balance(hass)
    gateway.inject("invalid_json", endpoint="balance")
    await poll_balance(hass)
    assert not loaded_entry.runtime_data.balance.last_update_success
    await poll_balance(hass)
    assert loaded_entry.runtime_data.balance.last_update_success

    # Failed sends: each kind of fault, and refusals.
    loaded_entry.runtime_data.client._timeout = aiohttp.ClientTimeout(total=0.5)
    gateway.slow_seconds = 2
    for fault, key in (
        ("slow", "maybe_sent"),
        ("reset", "maybe_sent"),
        ("http500", "invalid_response"),
        ("html", "invalid_response"),
        ("invalid_json", "invalid_response"),
        ("empty", "invalid_response"),
    ):
        gateway.inject(fault, endpoint="send")
        await caught.expect(send_sms(hass, recipients=[MOTHER], message=fault), key)
    gateway.inject("temporary", count=3, endpoint="send")
    await caught.expect(
        send_sms(hass, recipients=[MOTHER], message="-100"), "gateway_busy"
    )
    gateway.senders.discard(SENDER)
    await caught.expect(
        send_sms(hass, recipients=[MOTHER], message="No"), "sender_rejected"
    )
    await caught.expect(
        send_sms(hass, recipients=["not a number"], message="No"), "invalid_number"
    )
    await hass.async_block_till_done()

    diagnostics = await diagnostics_text(hass, loaded_entry)
    assert leaked(diagnostics, [API_KEY, WEBHOOK_ID]) == []
    await caught.assert_clean([API_KEY, WEBHOOK_ID])
    assert_logs_clean(logs, [API_KEY], [WEBHOOK_ID])


async def test_rejected_key_reauth_and_the_new_key(
    logs: pytest.LogCaptureFixture,
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    """A send with a rejected key starts reauth; the new key is as secret."""
    caught = Caught(hass)
    gateway.api_keys = {NEW_KEY}
    await caught.expect(
        send_sms(hass, recipients=[MOTHER], message="Hi"), "auth_failed"
    )
    await caught.expect(notify(hass, MOTHER_ENTITY, message="Hi"), "auth_failed")
    await poll_balance(hass)  # rejected while polling too
    await hass.async_block_till_done()

    flows = reauth_flows(hass)
    assert len(flows) == 1
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_API_KEY: WRONG_KEY}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_API_KEY: NEW_KEY}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.data[CONF_API_KEY] == NEW_KEY

    await send_sms(hass, recipients=[MOTHER], message="With the new key")
    await poll_balance(hass)
    diagnostics = await diagnostics_text(hass, loaded_entry)
    secrets = [API_KEY, NEW_KEY, WRONG_KEY]
    assert leaked(diagnostics, [*secrets, WEBHOOK_ID]) == []
    await caught.assert_clean([*secrets, WEBHOOK_ID])
    assert_logs_clean(logs, secrets, [WEBHOOK_ID])


# --------------------------------------------- a gateway that echoes the key


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A gateway that repeats the request (and so the key) in its answers."""
    mode: dict[str, Any] = {"answer": "page"}

    async def handle(request: web.Request) -> web.Response:
        echoed = f"{request.path_qs} {(await request.read()).decode()}"
        match mode["answer"]:
            case "page":  # an error page that shows the URL and the form
                return web.Response(
                    status=500, text=f"<html><body>{echoed}</body></html>"
                )
            case "json":  # an error whose message repeats the parameters
                return web.json_response(
                    {"Success": False, "Message": echoed, "ErrorCode": 999}
                )
            case "temporary":  # -100, with the parameters, retried
                return web.json_response(
                    {"Success": False, "Message": echoed, "ErrorCode": -100}
                )
            case _:  # not JSON at all, with the parameters
                return web.Response(text=f"Bad request: {echoed}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", mode
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("answer", ["page", "json", "temporary", "text"])
async def test_a_gateway_echoing_the_key_is_masked(
    logs: pytest.LogCaptureFixture,
    hass: HomeAssistant,
    echo_server: tuple[str, dict[str, Any]],
    answer: str,
) -> None:
    """The key in an answer, as sent in a URL, a form or JSON, is masked."""
    url, mode = echo_server
    mode["answer"] = answer
    errors: list[SmsOfficeError] = []
    async with aiohttp.ClientSession() as session:
        client = SmsOfficeClient(session, ODD_KEY, base_url=url, retry_delay=0)
        for call in (
            client.get_balance(),
            client.get_message_status(MOTHER, "echo-1"),
            client.send(MOTHER, "Echo", SENDER, reference="echo-2"),
        ):
            with pytest.raises(SmsOfficeError) as raised:
                await call
            errors.append(raised.value)
    for err in errors:
        text = "\n".join([str(err), repr(err), *traceback.format_exception(err)])
        assert leaked(text, [ODD_KEY]) == []
        assert "***" in text  # the echo was there, masked
    assert_logs_clean(logs, [ODD_KEY], [])
