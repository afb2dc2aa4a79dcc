"""Diagnostics show the gateway address without the credentials it may hold."""

from __future__ import annotations

import base64
import json

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.smsoffice.const import CONF_BASE_URL
from custom_components.smsoffice.diagnostics import redact_url
from tests.fake_smsoffice import FakeSmsOffice

REDACTED = "**REDACTED**"

pytestmark = pytest.mark.usefixtures("unload_entries")


def with_credentials(url: str) -> str:
    """Return `url` with `user:secret@` before its host, as a proxy's address."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://user:secret@{rest}"


@pytest.fixture
def config_entry(
    config_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> MockConfigEntry:
    """The usual entry, reaching the gateway through an address with credentials."""
    data = {**config_entry.data, CONF_BASE_URL: with_credentials(gateway.url)}
    return MockConfigEntry(
        domain=config_entry.domain,
        title=config_entry.title,
        unique_id=config_entry.unique_id,
        data=data,
        options=dict(config_entry.options),
    )


async def test_credentials_in_the_gateway_address_are_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
) -> None:
    # The address works: aiohttp takes the credentials out as basic auth
    # (which the fake ignores).
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert gateway.requests_to("balance")

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, loaded_entry
    )

    dumped = json.dumps(diagnostics)
    assert "secret" not in dumped
    assert "user:" not in dumped
    port = URL(gateway.url).port
    expected = f"http://{REDACTED}@127.0.0.1:{port}"
    assert diagnostics["gateway"] == expected
    assert diagnostics["entry"]["data"][CONF_BASE_URL] == expected


async def test_home_assistant_session_sends_url_credentials_as_basic_auth(
    hass: HomeAssistant,
) -> None:
    """What the fake does not check: the credentials reach the server."""
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        session = async_get_clientsession(hass)
        async with session.get(f"http://user:secret@127.0.0.1:{port}/") as response:
            assert response.status == 200
    finally:
        await runner.cleanup()
    assert seen == ["Basic " + base64.b64encode(b"user:secret").decode()]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.smsoffice.ge", "https://api.smsoffice.ge"),
        ("http://127.0.0.1:8181/", "http://127.0.0.1:8181/"),
        (
            "http://user:secret@proxy.lan:3128/sms",
            f"http://{REDACTED}@proxy.lan:3128/sms",
        ),
        ("http://user@proxy.lan/", f"http://{REDACTED}@proxy.lan/"),
        (
            "http://us%40er:p%40ss:w@[::1]:8080/",
            f"http://{REDACTED}@[::1]:8080/",
        ),
        (
            "https://proxy.lan/sms?token=secret&region=ge",
            f"https://proxy.lan/sms?token={REDACTED}&region={REDACTED}",
        ),
        ("https://proxy.lan/?secret", f"https://proxy.lan/?secret={REDACTED}"),
        ("https://proxy.lan/#secret", f"https://proxy.lan/#{REDACTED}"),
        ("http://[::1:secret", REDACTED),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
