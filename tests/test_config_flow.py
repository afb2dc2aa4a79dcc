"""The config flow: account, re-authentication, reconfiguration, options, recipients.

Every flow is driven the way the frontend drives it, step by step, against the
fake smsoffice.ge on loopback; the only stand-ins are Home Assistant Cloud
(which cannot run here) and one unexpected client failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import hashlib
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import AsyncMock, call

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import NumberSelector
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.smsoffice.config_flow import account_id
from custom_components.smsoffice.const import (
    BALANCE_INTERVAL,
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    CONF_DAILY_CREDIT_LIMIT,
    CONF_DUPLICATE_WINDOW,
    CONF_LOW_BALANCE,
    CONF_NUMBER,
    CONF_SENDER,
    CONF_STATUS_POLLING,
    CONF_TRANSLITERATE,
    CONF_WEBHOOK_ID,
    DOMAIN,
    SECTION_ADVANCED,
)
from tests.conftest import (
    API_KEY,
    GUARD,
    MOTHER,
    SENDER,
    WEBHOOK_ID,
    CloudNotConnectedError,
    account_entry,
    account_input,
    closed_port_url,
    issue,
    options_with,
    poll_balance,
    reauth_flows,
    recipient_form,
    set_up,
    stand_in_cloud,
    subentry_id,
    submit_recipient,
)
from tests.fake_smsoffice import FakeSmsOffice

NEW_KEY = "new-api-key"
OTHER_KEY = "other-api-key"
CLOUDHOOK = "https://hooks.nabu.casa/ABCDEFGHIJ"
BALANCE_SENSOR = "sensor.sms_office_homealarm_balance"
INTEGRATION = Path(__file__).parents[1] / "custom_components" / DOMAIN
ACCESS = "api_access_disabled"


pytestmark = pytest.mark.usefixtures("unload_entries")


@pytest.fixture(autouse=True)
def no_usage_reported(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Home Assistant reports no deprecated use while the flows run.

    The newest releases log one, for example, for `async_update_reload_and_abort`
    on an entry with an update listener (breaking in 2026.12).
    """
    yield
    reported = f"Detected that custom integration '{DOMAIN}'"
    for when in ("setup", "call"):
        messages = [record.getMessage() for record in caplog.get_records(when)]
        assert not [message for message in messages if reported in message], when


def keys_sent(gateway: FakeSmsOffice) -> list[str]:
    """Return the key of every getBalance request the gateway received."""
    return [request.query["key"] for request in gateway.requests_to("balance")]


def suggested_values(schema: Any) -> dict[str, Any]:
    """Return the values a form suggests, inside sections too."""
    values: dict[str, Any] = {}
    for key, value in schema.schema.items():
        if hasattr(value, "schema") and hasattr(value, "options"):  # a section
            values[str(key)] = suggested_values(value.schema)
        elif key.description and "suggested_value" in key.description:
            values[str(key)] = key.description["suggested_value"]
    return values


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Submit a flow's form as typed; let what it starts (a reload) finish."""
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    await hass.async_block_till_done()
    return result


# --------------------------------------------------------------------- user


async def submit_user_step(
    hass: HomeAssistant, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Start the user flow and submit its one step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await submit(hass, result, user_input)


async def test_user_flow_creates_the_entry(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    """The key is checked live; the entry is made and set up; no key in the id."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    schema = result["data_schema"].schema
    assert set(schema) == {CONF_API_KEY, CONF_SENDER, SECTION_ADVANCED}
    advanced = schema[SECTION_ADVANCED]
    assert advanced.options == {"collapsed": True}
    assert advanced.schema({}) == {CONF_BASE_URL: "https://smsoffice.ge"}
    assert gateway.requests == []

    result = await submit(hass, result, account_input(gateway.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"SMS Office {SENDER}"
    data = result["data"]
    webhook_id = data[CONF_WEBHOOK_ID]
    assert data == {
        CONF_API_KEY: API_KEY,
        CONF_SENDER: SENDER,
        CONF_BASE_URL: gateway.url,
        CONF_WEBHOOK_ID: webhook_id,
    }
    assert len(webhook_id) >= 32
    # The test instance has only an internal URL: no delivery reports can come.
    assert result["description"] == "webhook_unreachable"
    assert result["description_placeholders"] == {
        "webhook_url": f"http://10.10.10.10:8123/api/webhook/{webhook_id}"
    }
    assert result["options"] == options_with(**{CONF_STATUS_POLLING: True})
    entry = result["result"]
    assert entry.unique_id == hashlib.sha256(API_KEY.encode()).hexdigest()
    assert API_KEY not in entry.unique_id
    assert entry.state is ConfigEntryState.LOADED
    # Checked by the flow, then by the setup's first poll.
    assert keys_sent(gateway) == [API_KEY, API_KEY]
    assert hass.states.get(BALANCE_SENSOR).state == "1000"


@pytest.mark.parametrize(
    ("external_url", "active", "create", "cloudhook"),
    [
        ("https://home.example.ge", None, AsyncMock(), None),
        (None, True, AsyncMock(return_value=CLOUDHOOK), CLOUDHOOK),
        (None, False, AsyncMock(return_value=CLOUDHOOK), None),
        (None, True, AsyncMock(side_effect=CloudNotConnectedError), None),
    ],
    ids=["external_url", "cloudhook", "no_subscription", "not_connected"],
)
async def test_user_flow_callback_url(  # noqa: PLR0917
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    external_url: str | None,
    active: bool | None,
    create: AsyncMock,
    cloudhook: str | None,
) -> None:
    """The URL the gateway can call back on is shown; polling only without one.

    With an external URL that URL; with a Home Assistant Cloud subscription a
    cloudhook is made and shown. No cloudhook (no subscription, or not
    connected) and no external URL: the local URL, polling on.
    """
    await hass.config.async_update(external_url=external_url)
    with stand_in_cloud(
        hass,
        active=bool(active),
        loaded=active is not None,
        async_create_cloudhook=create,
    ):
        result = await submit_user_step(hass, account_input(gateway.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    webhook_id = result["data"][CONF_WEBHOOK_ID]
    assert create.await_args_list == [call(hass, webhook_id)] * (active is True)
    assert result["data"].get(CONF_CLOUDHOOK_URL) == cloudhook
    reachable = bool(cloudhook or external_url)
    base = external_url or "http://10.10.10.10:8123"
    assert result["description"] == (
        "webhook_reachable" if reachable else "webhook_unreachable"
    )
    assert result["description_placeholders"] == {
        "webhook_url": cloudhook or f"{base}/api/webhook/{webhook_id}"
    }
    assert result["options"][CONF_STATUS_POLLING] is not reachable


async def test_user_flow_strips_what_was_typed(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    """Spaces around the key and sender and a trailing slash are dropped."""
    result = await submit_user_step(
        hass,
        account_input(
            f" {gateway.url}/ ", api_key=f"  {API_KEY} ", sender=" HomeAlarm "
        ),
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_KEY] == API_KEY
    assert result["data"][CONF_SENDER] == SENDER
    assert result["data"][CONF_BASE_URL] == gateway.url
    assert result["result"].unique_id == account_id(API_KEY)
    assert keys_sent(gateway)[0] == API_KEY


@pytest.mark.parametrize(
    ("break_it", "typed", "errors"),
    [
        (
            lambda gateway: None,
            lambda url: account_input(url, sender="Home Alarm!"),
            {CONF_SENDER: "invalid_sender"},
        ),
        (
            lambda gateway: None,
            lambda url: account_input(closed_port_url()),
            {"base": "cannot_connect"},
        ),
        (
            lambda gateway: gateway.api_keys.clear(),
            account_input,
            {"base": "invalid_auth"},
        ),
        (
            lambda gateway: setattr(gateway, "api_access_enabled", False),
            account_input,
            {"base": ACCESS},
        ),
        (
            lambda gateway: gateway.inject("html", endpoint="balance"),
            account_input,
            {"base": "invalid_response"},
        ),
        (
            lambda gateway: gateway.inject("http500", endpoint="balance"),
            account_input,
            {"base": "invalid_response"},
        ),
    ],
    ids=[
        "invalid_sender",
        "cannot_connect",
        "invalid_auth",
        ACCESS,
        "html_page",
        "http_500",
    ],
)
async def test_user_flow_errors(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    break_it: Callable[[FakeSmsOffice], None],
    typed: Callable[[str], dict[str, Any]],
    errors: dict[str, str],
) -> None:
    """A form error; then the user retries, and the entry is made.

    A sender the gateway cannot accept is refused before any request, and an
    address nothing answers on is cannot_connect; what the gateway answers
    becomes its form error.
    """
    break_it(gateway)
    result = await submit_user_step(hass, typed(gateway.url))

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    asked = (
        []
        if CONF_SENDER in errors or "cannot_connect" in errors.values()
        else [API_KEY]
    )
    assert [request.query["key"] for request in gateway.requests] == asked
    assert hass.config_entries.async_entries(DOMAIN) == []

    gateway.api_keys.add(API_KEY)
    gateway.api_access_enabled = True
    result = await submit(hass, result, account_input(gateway.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == gateway.url


async def test_user_flow_one_entry_per_account(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """The same key again aborts, without asking the gateway."""
    config_entry.add_to_hass(hass)
    result = await submit_user_step(
        hass, account_input(gateway.url, api_key=f" {API_KEY}")
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert gateway.requests == []
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


# ------------------------------------------------------------------- reauth


async def test_reauth_after_the_key_is_rejected_while_polling(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A key rejected by a poll starts reauth; a new key brings the entry back."""
    assert reauth_flows(hass) == []
    gateway.api_keys.discard(API_KEY)
    await poll_balance(hass)

    assert hass.states.get(BALANCE_SENSOR).state == "unavailable"
    failure = loaded_entry.runtime_data.balance.last_exception
    assert isinstance(failure, ConfigEntryAuthFailed)
    assert failure.translation_key == "auth_failed"
    assert failure.translation_placeholders == {"code": "80"}
    flows = reauth_flows(hass)
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == loaded_entry.entry_id
    assert flows[0]["step_id"] == "reauth_confirm"

    # The old key still fails.
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "invalid_auth"}

    gateway.api_keys.add(NEW_KEY)
    gateway.balance = 640
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: f" {NEW_KEY} "}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert loaded_entry.data[CONF_API_KEY] == NEW_KEY
    assert loaded_entry.data[CONF_WEBHOOK_ID] == WEBHOOK_ID
    assert loaded_entry.unique_id == hashlib.sha256(NEW_KEY.encode()).hexdigest()
    # Reloaded with the new key: polling is back.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(BALANCE_SENSOR).state == "640"
    # Setup, the failed poll, the failed attempt, the new key, one reload.
    assert keys_sent(gateway) == [API_KEY, API_KEY, API_KEY, NEW_KEY, NEW_KEY]
    assert reauth_flows(hass) == []


async def test_reauth_started_by_the_user(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Reauth opened from the entry: its form, then errors, then success.

    The errors tell what is wrong (API access disabled too); the same key
    then changes nothing saved, and still reloads the entry, once.
    """
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert set(result["data_schema"].schema) == {CONF_API_KEY}
    assert result["description_placeholders"]["title"] == loaded_entry.title

    gateway.inject("html", endpoint="balance")
    result = await submit(hass, result, {CONF_API_KEY: API_KEY})
    assert result["errors"] == {"base": "invalid_response"}

    # The gateway goes away for a while.
    port = int(gateway.url.rsplit(":", 1)[1])
    await gateway.stop()
    result = await submit(hass, result, {CONF_API_KEY: API_KEY})
    assert result["errors"] == {"base": "cannot_connect"}
    await gateway.start(port=port)

    gateway.api_access_enabled = False
    result = await submit(hass, result, {CONF_API_KEY: API_KEY})
    assert result["errors"] == {"base": ACCESS}

    gateway.api_access_enabled = True
    old_runtime = loaded_entry.runtime_data
    result = await submit(hass, result, {CONF_API_KEY: API_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is not old_runtime
    # Setup, the error page, the refused check, the check, and one reload.
    assert keys_sent(gateway) == [API_KEY] * 5


async def test_reauth_of_an_entry_whose_setup_failed(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """A key rejected at setup: reauth with a good key sets the entry up."""
    gateway.api_keys = {NEW_KEY}
    assert not await set_up(hass, config_entry)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = reauth_flows(hass)

    result = await submit(hass, flow, {CONF_API_KEY: NEW_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(BALANCE_SENSOR).state == "1000"
    # The failed set-up, the check of the new key, and one set-up with it.
    assert keys_sent(gateway) == [API_KEY, NEW_KEY, NEW_KEY]


@pytest.mark.parametrize(
    ("flow", "typed"),
    [
        ("reauth", lambda url: {CONF_API_KEY: OTHER_KEY}),
        ("reconfigure", lambda url: account_input(url, api_key=OTHER_KEY)),
    ],
)
async def test_the_key_of_another_entry(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    flow: str,
    typed: Callable[[str], dict[str, Any]],
) -> None:
    """A key another entry uses aborts, unasked; neither entry changes."""
    other = account_entry(gateway.url, OTHER_KEY, "smsoffice", "other-webhook")
    other.add_to_hass(hass)
    requests = len(gateway.requests)
    result = await getattr(loaded_entry, f"start_{flow}_flow")(hass)
    result = await submit(hass, result, typed(gateway.url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert loaded_entry.data[CONF_API_KEY] == API_KEY
    assert loaded_entry.unique_id == account_id(API_KEY)
    assert other.data[CONF_API_KEY] == OTHER_KEY
    assert len(gateway.requests) == requests


# -------------------------------------------------------------- reconfigure


async def test_reconfigure_changes_key_sender_and_address(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Reconfigure shows the current values; the new ones are checked and saved."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    # Not the key: the field starts empty.
    assert suggested_values(result["data_schema"]) == {
        CONF_SENDER: SENDER,
        SECTION_ADVANCED: {CONF_BASE_URL: gateway.url},
    }

    old_runtime = loaded_entry.runtime_data
    gateway.api_keys = {NEW_KEY}
    gateway.balance = 321
    result = await submit(
        hass,
        result,
        account_input(f"{gateway.url}/", api_key=NEW_KEY, sender="smsoffice"),
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data == {
        CONF_API_KEY: NEW_KEY,
        CONF_SENDER: "smsoffice",
        CONF_BASE_URL: gateway.url,
        CONF_WEBHOOK_ID: WEBHOOK_ID,
    }
    assert loaded_entry.unique_id == account_id(NEW_KEY)
    # The update listener reloaded the entry with the new key.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is not old_runtime
    # Setup, the check of the new key, and one reload (by the update listener).
    assert keys_sent(gateway) == [API_KEY, NEW_KEY, NEW_KEY]
    assert hass.states.get(BALANCE_SENSOR).state == "321"


async def test_reconfigure_never_shows_the_key(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """The form as the browser gets it holds the stored key nowhere.

    Driven through Home Assistant's flow API, which serialises the form as it
    sends it to the browser; also after an error following a submission.
    """
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post(
        "/api/config/config_entries/flow",
        json={"handler": DOMAIN, "entry_id": loaded_entry.entry_id},
    )
    assert response.status == 200
    form = await response.json()
    for _ in range(2):
        assert form["step_id"] == "reconfigure"
        assert API_KEY not in json.dumps(form)
        (key_field,) = (f for f in form["data_schema"] if f["name"] == CONF_API_KEY)
        assert key_field.get("optional") is True
        assert not key_field.get("required")
        assert "default" not in key_field
        typed = account_input(gateway.url, sender="far-too-long-sender")
        response = await client.post(
            f"/api/config/config_entries/flow/{form['flow_id']}", json=typed
        )
        assert response.status == 200
        form = await response.json()
        assert form["errors"] == {CONF_SENDER: "invalid_sender"}


def without_the_key(url: str) -> dict[str, Any]:
    """Return the reconfigure form as typed with the key left out, a new sender."""
    typed = account_input(url, sender="smsoffice")
    del typed[CONF_API_KEY]
    return typed


@pytest.mark.parametrize(
    ("typed", "sender"),
    [(account_input, SENDER), (without_the_key, "smsoffice")],
    ids=["without_changes", "without_a_key"],
)
async def test_reconfigure_keeps_the_key(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    typed: Callable[[str], dict[str, Any]],
    sender: str,
) -> None:
    """The same values, or the key left out: the saved key, checked live again.

    Saving the same values finishes (and reloads) without harm. An empty
    field is the same as none; a key no longer accepted is an error.
    """
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, typed(gateway.url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.data[CONF_API_KEY] == API_KEY
    assert loaded_entry.data[CONF_SENDER] == sender
    assert loaded_entry.unique_id == account_id(API_KEY)
    # Setup, the live check of the kept key, and one reload.
    assert keys_sent(gateway) == [API_KEY, API_KEY, API_KEY]

    gateway.api_keys.clear()
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, account_input(gateway.url, api_key="  "))
    assert result["errors"] == {"base": "invalid_auth"}
    assert keys_sent(gateway)[-1] == API_KEY
    assert loaded_entry.data[CONF_API_KEY] == API_KEY


async def test_reconfigure_after_api_access_is_enabled(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    entry_without_api_access: MockConfigEntry,
) -> None:
    """Setup failed for API access (retrying, an issue): the same key sets it up."""
    config_entry = entry_without_api_access
    result = await config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, without_the_key(gateway.url))
    assert result["errors"] == {"base": ACCESS}

    gateway.api_access_enabled = True
    result = await submit(hass, result, account_input(gateway.url))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue(hass, ACCESS, config_entry) is None
    # The set-up refused, the check refused, the check, and one set-up.
    assert keys_sent(gateway) == [API_KEY] * 4


async def test_reconfigure_errors(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Every error shows the form again with what the user typed."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    requests = len(gateway.requests)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url, sender="far-too-long-sender")
    )
    assert result["errors"] == {CONF_SENDER: "invalid_sender"}
    assert len(gateway.requests) == requests
    assert suggested_values(result["data_schema"])[CONF_SENDER] == (
        "far-too-long-sender"
    )

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url, api_key="wrong")
    )
    assert result["errors"] == {"base": "invalid_auth"}

    gateway.api_access_enabled = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )
    assert result["errors"] == {"base": "api_access_disabled"}
    gateway.api_access_enabled = True

    gateway.inject("invalid_json", endpoint="balance")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )
    assert result["errors"] == {"base": "invalid_response"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(closed_port_url())
    )
    assert result["errors"] == {"base": "cannot_connect"}

    # Nothing was saved along the way.
    assert loaded_entry.data[CONF_API_KEY] == API_KEY
    assert loaded_entry.data[CONF_BASE_URL] == gateway.url
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_reconfigure_fixes_an_unreachable_address(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """An entry waiting to retry (wrong address) is set up with the fixed one."""
    wrong = closed_port_url()
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_BASE_URL: wrong}
    )
    await set_up(hass, config_entry)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY

    result = await config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, account_input(gateway.url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data[CONF_BASE_URL] == gateway.url
    assert config_entry.state is ConfigEntryState.LOADED
    # The check at the fixed address, and one set-up (the wrong one got none).
    assert keys_sent(gateway) == [API_KEY, API_KEY]


# ------------------------------------------------------------------ options


# Every option set, by the names the entry saves them under (a renamed one
# would lose what users saved).
ALL_ON = {
    "urgent": True,
    "flash": True,
    "low_balance_threshold": 20,
    "status_polling": True,
    "accept_foreign_reports": True,
    "transliterate": True,
    "daily_credit_limit": 100,
    "duplicate_window": 15,
}


async def test_options_flow(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The options show the callback URL; saving them reloads the entry."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["description_placeholders"] == {
        "webhook_url": f"http://10.10.10.10:8123/api/webhook/{WEBHOOK_ID}"
    }
    assert set(result["data_schema"].schema) == set(ALL_ON)
    old_runtime = loaded_entry.runtime_data

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **ALL_ON,
            CONF_LOW_BALANCE: 20.0,
            CONF_DAILY_CREDIT_LIMIT: 100.0,
            CONF_DUPLICATE_WINDOW: 15.0,
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == ALL_ON
    # Number selectors answer floats: whole numbers are kept.
    for key in (CONF_LOW_BALANCE, CONF_DAILY_CREDIT_LIMIT, CONF_DUPLICATE_WINDOW):
        assert isinstance(loaded_entry.options[key], int), key
    # Reloaded, once; the balance is still polled at the fixed interval.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is not old_runtime
    assert keys_sent(gateway) == [API_KEY, API_KEY]
    assert loaded_entry.runtime_data.balance.update_interval == BALANCE_INTERVAL


async def test_options_numbers_have_their_units_in_translated_labels(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A number selector's own unit is shown untranslated: the labels carry it."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    numbers = {
        str(key): value
        for key, value in result["data_schema"].schema.items()
        if isinstance(value, NumberSelector)
    }
    assert set(numbers) == {
        CONF_LOW_BALANCE,
        CONF_DAILY_CREDIT_LIMIT,
        CONF_DUPLICATE_WINDOW,
    }
    for path in ("strings.json", "translations/ka.json"):
        labels = json.loads((INTEGRATION / path).read_text("utf-8"))["options"]["step"][
            "init"
        ]["data"]
        for key, selector in numbers.items():
            assert "unit_of_measurement" not in selector.config, key
            assert re.search(r"\(\S.*\)$", labels[key]), f"{path}: {labels[key]}"


@pytest.mark.parametrize("options", [{}])
async def test_options_flow_defaults(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Without saved options the form offers the defaults; polling follows the URL."""
    config_entry.add_to_hass(hass)
    await hass.config.async_update(external_url="https://home.example.ge")

    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["description_placeholders"] == {
        "webhook_url": f"https://home.example.ge/api/webhook/{WEBHOOK_ID}"
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options == {
        **options_with(),
        # Cost control is off until asked for.
        CONF_TRANSLITERATE: False,
        CONF_DAILY_CREDIT_LIMIT: 0,
        CONF_DUPLICATE_WINDOW: 0,
    }


# --------------------------------------------------------------- recipients


async def test_add_recipient(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A recipient: name and number checked, the number normalised, an entity."""
    result = await recipient_form(hass, loaded_entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert set(result["data_schema"].schema) == {CONF_NAME, CONF_NUMBER}
    # The form always carries the placeholder its errors may use.
    assert result["description_placeholders"] == {"recipient": ""}

    result = await submit_recipient(hass, result, "  ", "12")
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_NAME: "invalid_name",
        CONF_NUMBER: "invalid_number",
    }

    result = await submit_recipient(hass, result, " Grandpa ", "599 11-22-33")

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Grandpa"
    assert result["data"] == {CONF_NAME: "Grandpa", CONF_NUMBER: "995599112233"}
    added = loaded_entry.subentries[subentry_id(loaded_entry, "995599112233")]
    assert added.unique_id == "995599112233"
    assert added.subentry_type == "recipient"
    assert added.title == "Grandpa"
    # The entry was reloaded, once, with the new recipient's notify entity.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert keys_sent(gateway) == [API_KEY, API_KEY]
    entity_id = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{loaded_entry.entry_id}_recipient_{added.subentry_id}"
    )
    assert entity_id == "notify.sms_office_homealarm_grandpa"
    assert hass.states.get(entity_id) is not None


@pytest.mark.parametrize(
    ("editing", "name", "number", "errors", "named"),
    [
        (None, "mother", "599 11 22 33", {CONF_NAME: "name_taken"}, ""),
        (None, " MOTHER ", "599 11 22 33", {CONF_NAME: "name_taken"}, ""),
        (None, "Mum", "+995 555 12 34 56", {CONF_NUMBER: "number_taken"}, "Mother"),
        (
            None,
            "Night Guard",
            f"+{GUARD}",
            {CONF_NAME: "name_taken", CONF_NUMBER: "number_taken"},
            "Night guard",
        ),
        (GUARD, " MOTHER ", GUARD, {CONF_NAME: "name_taken"}, ""),
        (MOTHER, "Mother", f"+{GUARD}", {CONF_NUMBER: "number_taken"}, "Night guard"),
    ],
    ids=[
        "add_a_taken_name",
        "add_a_taken_name_in_capitals",
        "add_a_saved_number",
        "add_both",
        "edit_to_a_taken_name",
        "edit_to_a_saved_number",
    ],
)
async def test_recipient_form_refuses_a_saved_name_or_number(  # noqa: PLR0917
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    editing: str | None,
    name: str,
    number: str,
    errors: dict[str, str],
    named: str,
) -> None:
    """Another recipient's name (other capitals, spaces) or number (typed another
    way) is a form error naming that recipient; nothing changes. The same form,
    corrected, then finishes."""
    saved = {
        sub.subentry_id: dict(sub.data) for sub in loaded_entry.subentries.values()
    }
    result = await recipient_form(hass, loaded_entry, editing)
    result = await submit_recipient(hass, result, name, number)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == ("user" if editing is None else "reconfigure")
    assert result["errors"] == errors
    assert result["description_placeholders"] == {"recipient": named}
    assert {
        sub.subentry_id: dict(sub.data) for sub in loaded_entry.subentries.values()
    } == saved

    if editing is None:
        result = await submit_recipient(hass, result, "Mum", "599 11 22 33")
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {CONF_NAME: "Mum", CONF_NUMBER: "995599112233"}
        assert len(loaded_entry.subentries) == 3
    else:
        edited = loaded_entry.subentries[subentry_id(loaded_entry, editing)]
        result = await submit_recipient(hass, result, edited.title, editing)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_edit_recipient(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Editing shows the saved values; the number may stay, or change.

    A recipient's own name in other capitals is no taken name.
    """
    mother = subentry_id(loaded_entry, MOTHER)
    result = await recipient_form(hass, loaded_entry, MOTHER)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested_values(result["data_schema"]) == {
        CONF_NAME: "Mother",
        CONF_NUMBER: MOTHER,
    }

    result = await submit_recipient(hass, result, "Mother", "bad")
    assert result["errors"] == {CONF_NUMBER: "invalid_number"}

    # Its own name in other capitals; its own number typed another way; a new
    # number: each saved, with one reload.
    edits = [
        ("mother", MOTHER, MOTHER),
        ("Mom", "555123456", MOTHER),
        ("Mom", "0 568 00 11 22", "995568001122"),
    ]
    for reloads, (name, typed, number) in enumerate(edits, start=2):
        result = await submit_recipient(hass, result, name, typed)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        edited = loaded_entry.subentries[mother]
        assert (edited.title, edited.unique_id) == (name, number)
        assert dict(edited.data) == {CONF_NAME: name, CONF_NUMBER: number}
        assert loaded_entry.state is ConfigEntryState.LOADED
        assert keys_sent(gateway) == [API_KEY] * reloads
        if reloads <= len(edits):
            result = await recipient_form(hass, loaded_entry, number)


async def test_remove_recipient(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    entity_registry: er.EntityRegistry,
) -> None:
    """Deleting a recipient, as the frontend does, reloads the entry once."""
    guard = subentry_id(loaded_entry, GUARD)
    unique_id = f"{loaded_entry.entry_id}_recipient_{guard}"
    entity_id = entity_registry.async_get_entity_id("notify", DOMAIN, unique_id)
    assert entity_id is not None
    assert hass.states.get(entity_id) is not None
    old_runtime = loaded_entry.runtime_data
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)

    await client.send_json_auto_id(
        {
            "type": "config_entries/subentries/delete",
            "entry_id": loaded_entry.entry_id,
            "subentry_id": guard,
        }
    )
    response = await client.receive_json()
    await hass.async_block_till_done()

    assert response["success"]
    assert [sub.unique_id for sub in loaded_entry.subentries.values()] == [MOTHER]
    assert entity_registry.async_get_entity_id("notify", DOMAIN, unique_id) is None
    assert hass.states.get(entity_id) is None
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is not old_runtime
    # Setup and one reload.
    assert keys_sent(gateway) == [API_KEY, API_KEY]
