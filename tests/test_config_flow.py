"""The config flow: account, re-authentication, reconfiguration, options, recipients.

Every flow is driven the way the frontend drives it, step by step, against the
fake smsoffice.ge on loopback; the only stand-ins are Home Assistant Cloud
(which cannot run here) and one unexpected client failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import hashlib
import json
from pathlib import Path
import re
import sys
from types import ModuleType
from typing import Any
from unittest.mock import AsyncMock, patch

import homeassistant.components
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
    ConfigSubentry,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import (
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.selector import NumberSelector
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.smsoffice.config_flow import account_id
from custom_components.smsoffice.const import (
    BALANCE_INTERVAL,
    CONF_ACCEPT_FOREIGN,
    CONF_API_KEY,
    CONF_BASE_URL,
    CONF_CLOUDHOOK_URL,
    CONF_DAILY_CREDIT_LIMIT,
    CONF_DUPLICATE_WINDOW,
    CONF_FLASH,
    CONF_LOW_BALANCE,
    CONF_NUMBER,
    CONF_SENDER,
    CONF_STATUS_POLLING,
    CONF_TRANSLITERATE,
    CONF_URGENT,
    CONF_WEBHOOK_ID,
    DOMAIN,
    SECTION_ADVANCED,
    SUBENTRY_RECIPIENT,
)
from tests.conftest import (
    API_KEY,
    GUARD,
    MOTHER,
    SENDER,
    WEBHOOK_ID,
    closed_port_url,
)
from tests.fake_smsoffice import FakeSmsOffice

NEW_KEY = "new-api-key"
OTHER_KEY = "other-api-key"
CLOUDHOOK = "https://hooks.nabu.casa/ABCDEFGHIJ"
BALANCE_SENSOR = "sensor.sms_office_homealarm_balance"
INTEGRATION = Path(__file__).parents[1] / "custom_components" / DOMAIN


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


def account_input(
    base_url: str, api_key: str = API_KEY, sender: str = SENDER
) -> dict[str, Any]:
    """Return what a user types in the account form."""
    return {
        CONF_API_KEY: api_key,
        CONF_SENDER: sender,
        SECTION_ADVANCED: {CONF_BASE_URL: base_url},
    }


def keys_sent(gateway: FakeSmsOffice) -> list[str]:
    """Return the key of every getBalance request the gateway received."""
    return [request.query["key"] for request in gateway.requests_to("balance")]


async def poll_balance(hass: HomeAssistant) -> None:
    """Let the balance poll interval (30 minutes) pass, and the poll finish."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=31))
    await hass.async_block_till_done(wait_background_tasks=True)


def suggested_values(schema: Any) -> dict[str, Any]:
    """Return the values a form suggests, inside sections too."""
    values: dict[str, Any] = {}
    for key, value in schema.schema.items():
        if hasattr(value, "schema") and hasattr(value, "options"):  # a section
            values[str(key)] = suggested_values(value.schema)
        elif key.description and "suggested_value" in key.description:
            values[str(key)] = key.description["suggested_value"]
    return values


def access_issue_id(entry: MockConfigEntry) -> str:
    """Return the id of the entry's API-access-disabled issue."""
    return f"api_access_disabled_{entry.entry_id}"


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    """Return the re-authentication flows in progress."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


class CloudNotAvailableError(Exception):
    """Home Assistant Cloud's error: the cloud cannot be used."""


class CloudNotConnectedError(CloudNotAvailableError):
    """Home Assistant Cloud's error: logged in but not connected."""


def cloud(*, active: bool, create: AsyncMock | None = None) -> Any:
    """Stand in for a loaded Home Assistant Cloud: a subscription, cloudhooks.

    The real component cannot be imported everywhere the tests run (newer
    releases need system libraries for its camera dependency), so the
    integration's lazy `from homeassistant.components import cloud` gets this.
    """
    stand_in = ModuleType("homeassistant.components.cloud")
    vars(stand_in).update(
        CloudNotAvailable=CloudNotAvailableError,
        CloudNotConnected=CloudNotConnectedError,
        async_active_subscription=lambda hass: active,
        async_create_cloudhook=create or AsyncMock(return_value=CLOUDHOOK),
    )
    return (
        patch.dict(sys.modules, {"homeassistant.components.cloud": stand_in}),
        patch.object(homeassistant.components, "cloud", stand_in, create=True),
    )


# --------------------------------------------------------------------- user


async def submit_user_step(
    hass: HomeAssistant, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Start the user flow and submit its one step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


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

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )

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
    assert result["options"] == {
        CONF_URGENT: False,
        CONF_FLASH: False,
        CONF_LOW_BALANCE: 50,
        CONF_STATUS_POLLING: True,
        CONF_ACCEPT_FOREIGN: False,
    }
    entry = result["result"]
    assert entry.unique_id == hashlib.sha256(API_KEY.encode()).hexdigest()
    assert API_KEY not in entry.unique_id
    assert entry.state is ConfigEntryState.LOADED
    # Checked by the flow, then by the setup's first poll.
    assert keys_sent(gateway) == [API_KEY, API_KEY]
    assert hass.states.get(BALANCE_SENSOR).state == "1000"


async def test_user_flow_external_url(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    """With an external URL the callback URL is shown and polling stays off."""
    await hass.config.async_update(external_url="https://home.example.ge")
    result = await submit_user_step(hass, account_input(gateway.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    webhook_id = result["data"][CONF_WEBHOOK_ID]
    assert result["description"] == "webhook_reachable"
    assert result["description_placeholders"] == {
        "webhook_url": f"https://home.example.ge/api/webhook/{webhook_id}"
    }
    assert result["options"][CONF_STATUS_POLLING] is False


async def test_user_flow_cloudhook(hass: HomeAssistant, gateway: FakeSmsOffice) -> None:
    """With a Home Assistant Cloud subscription a cloudhook is made and shown."""
    hass.config.components.add("cloud")
    create = AsyncMock(return_value=CLOUDHOOK)
    active, creating = cloud(active=True, create=create)
    with active, creating:
        result = await submit_user_step(hass, account_input(gateway.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    webhook_id = result["data"][CONF_WEBHOOK_ID]
    create.assert_awaited_once_with(hass, webhook_id)
    assert result["data"][CONF_CLOUDHOOK_URL] == CLOUDHOOK
    assert result["description"] == "webhook_reachable"
    assert result["description_placeholders"] == {"webhook_url": CLOUDHOOK}
    assert result["options"][CONF_STATUS_POLLING] is False


@pytest.mark.parametrize(
    ("active", "create"),
    [
        (False, AsyncMock(return_value=CLOUDHOOK)),
        (True, AsyncMock(side_effect=CloudNotConnectedError)),
    ],
    ids=["no_subscription", "not_connected"],
)
async def test_user_flow_cloud_without_cloudhook(
    hass: HomeAssistant, gateway: FakeSmsOffice, active: bool, create: AsyncMock
) -> None:
    """No cloudhook (no subscription, or not connected): the local URL, polling on."""
    hass.config.components.add("cloud")
    subscription, creating = cloud(active=active, create=create)
    with subscription, creating:
        result = await submit_user_step(hass, account_input(gateway.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_CLOUDHOOK_URL not in result["data"]
    assert result["description"] == "webhook_unreachable"
    assert result["options"][CONF_STATUS_POLLING] is True
    assert create.await_count == (1 if active else 0)


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


async def test_user_flow_invalid_sender(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    """A sender the gateway cannot accept is refused before any request."""
    result = await submit_user_step(
        hass, account_input(gateway.url, sender="Home Alarm!")
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SENDER: "invalid_sender"}
    assert gateway.requests == []

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        (lambda gateway: gateway.api_keys.clear(), "invalid_auth"),
        (
            lambda gateway: setattr(gateway, "api_access_enabled", False),
            "api_access_disabled",
        ),
        (
            lambda gateway: gateway.inject("html", endpoint="balance"),
            "invalid_response",
        ),
        (
            lambda gateway: gateway.inject("http500", endpoint="balance"),
            "invalid_response",
        ),
    ],
    ids=["invalid_auth", "api_access_disabled", "html_page", "http_500"],
)
async def test_user_flow_gateway_errors(
    hass: HomeAssistant, gateway: FakeSmsOffice, break_it: Any, error: str
) -> None:
    """What the gateway answers becomes a form error; then the user retries."""
    break_it(gateway)
    result = await submit_user_step(hass, account_input(gateway.url))

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    assert keys_sent(gateway) == [API_KEY]
    assert hass.config_entries.async_entries(DOMAIN) == []

    gateway.api_keys.add(API_KEY)
    gateway.api_access_enabled = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_cannot_connect(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    """An address nothing answers on is cannot_connect; the right one works."""
    result = await submit_user_step(hass, account_input(closed_port_url()))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )
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


async def test_api_access_disabled_is_no_reauth(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """API access off (120) while polling: a repair issue, not re-authentication.

    The same key works again once API access is on: the next poll clears it.
    """
    gateway.api_access_enabled = False
    await poll_balance(hass)
    assert hass.states.get(BALANCE_SENSOR).state == "unavailable"
    failure = loaded_entry.runtime_data.balance.last_exception
    assert isinstance(failure, UpdateFailed)
    assert not isinstance(failure, ConfigEntryAuthFailed)
    assert failure.translation_key == "api_access_disabled"
    assert reauth_flows(hass) == []
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry))
    assert loaded_entry.state is ConfigEntryState.LOADED

    gateway.api_access_enabled = True
    gateway.balance = 999
    await poll_balance(hass)
    assert hass.states.get(BALANCE_SENSOR).state == "999"
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(loaded_entry)) is None
    assert reauth_flows(hass) == []
    # Setup and two polls, all with the same key.
    assert keys_sent(gateway) == [API_KEY, API_KEY, API_KEY]


async def test_reauth_form_tells_api_access_is_disabled(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Reauth opened by the user while API access is off says so; then works."""
    result = await loaded_entry.start_reauth_flow(hass)
    gateway.api_access_enabled = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["errors"] == {"base": "api_access_disabled"}

    gateway.api_access_enabled = True
    old_runtime = loaded_entry.runtime_data
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    # The same key changes nothing saved, and still reloads the entry, once.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is not old_runtime
    # Setup, the refused check, the check, and one reload.
    assert keys_sent(gateway) == [API_KEY] * 4


async def test_reauth_of_an_entry_whose_setup_failed(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """A key rejected at setup: reauth with a good key sets the entry up."""
    gateway.api_keys = {NEW_KEY}
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = reauth_flows(hass)

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: NEW_KEY}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(BALANCE_SENSOR).state == "1000"
    # The failed set-up, the check of the new key, and one set-up with it.
    assert keys_sent(gateway) == [API_KEY, NEW_KEY, NEW_KEY]


async def test_reauth_started_by_the_user(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Reauth opened from the entry: its form, then errors, then success."""
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert set(result["data_schema"].schema) == {CONF_API_KEY}
    assert result["description_placeholders"]["title"] == loaded_entry.title

    gateway.inject("html", endpoint="balance")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["errors"] == {"base": "invalid_response"}

    # The gateway goes away for a while.
    port = int(gateway.url.rsplit(":", 1)[1])
    await gateway.stop()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    await gateway.start(port=port)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_reauth_with_the_key_of_another_entry(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A key another entry uses aborts; neither entry changes."""
    other = MockConfigEntry(
        domain=DOMAIN,
        title="SMS Office other",
        unique_id=account_id(OTHER_KEY),
        data={
            CONF_API_KEY: OTHER_KEY,
            CONF_SENDER: "smsoffice",
            CONF_BASE_URL: gateway.url,
            CONF_WEBHOOK_ID: "other-webhook",
        },
    )
    other.add_to_hass(hass)
    requests = len(gateway.requests)
    result = await loaded_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: OTHER_KEY}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert loaded_entry.data[CONF_API_KEY] == API_KEY
    assert loaded_entry.unique_id == account_id(API_KEY)
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
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        account_input(f"{gateway.url}/", api_key=NEW_KEY, sender="smsoffice"),
    )
    await hass.async_block_till_done()

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


async def test_reconfigure_without_changes(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Saving the same values finishes (and reloads) without harm."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.data[CONF_API_KEY] == API_KEY
    # Setup, the check, and one reload.
    assert keys_sent(gateway) == [API_KEY, API_KEY, API_KEY]


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


async def test_reconfigure_without_a_key_keeps_it(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """The key left out keeps the saved key, which is checked live again."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    typed = account_input(gateway.url, sender="smsoffice")
    del typed[CONF_API_KEY]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data[CONF_API_KEY] == API_KEY
    assert loaded_entry.data[CONF_SENDER] == "smsoffice"
    assert loaded_entry.unique_id == account_id(API_KEY)
    # Setup, the live check of the kept key, and one reload.
    assert keys_sent(gateway) == [API_KEY, API_KEY, API_KEY]

    # An empty field is the same; a key no longer accepted is an error.
    gateway.api_keys.clear()
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url, api_key="  ")
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert keys_sent(gateway)[-1] == API_KEY
    assert loaded_entry.data[CONF_API_KEY] == API_KEY


async def test_reconfigure_after_api_access_is_enabled(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Setup failed for API access (retrying, an issue): the same key sets it up."""
    gateway.api_access_enabled = False
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass) == []
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(config_entry))

    result = await config_entry.start_reconfigure_flow(hass)
    typed = account_input(gateway.url)
    del typed[CONF_API_KEY]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    assert result["errors"] == {"base": "api_access_disabled"}

    gateway.api_access_enabled = True
    result = await hass.config_entries.flow.async_configure(result["flow_id"], typed)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, access_issue_id(config_entry)) is None
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


async def test_reconfigure_with_the_key_of_another_entry(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A key another entry uses aborts with already_configured."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=account_id(OTHER_KEY),
        data={
            CONF_API_KEY: OTHER_KEY,
            CONF_SENDER: "smsoffice",
            CONF_BASE_URL: gateway.url,
            CONF_WEBHOOK_ID: "other-webhook",
        },
    ).add_to_hass(hass)
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url, api_key=OTHER_KEY)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert loaded_entry.data[CONF_API_KEY] == API_KEY


async def test_reconfigure_fixes_an_unreachable_address(
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
) -> None:
    """An entry waiting to retry (wrong address) is set up with the fixed one."""
    wrong = closed_port_url()
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_BASE_URL: wrong}
    )
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY

    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(gateway.url)
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data[CONF_BASE_URL] == gateway.url
    assert config_entry.state is ConfigEntryState.LOADED
    # The check at the fixed address, and one set-up (the wrong one got none).
    assert keys_sent(gateway) == [API_KEY, API_KEY]


# ------------------------------------------------------------------ options


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
    assert set(result["data_schema"].schema) == {
        CONF_URGENT,
        CONF_FLASH,
        CONF_LOW_BALANCE,
        CONF_STATUS_POLLING,
        CONF_ACCEPT_FOREIGN,
        CONF_TRANSLITERATE,
        CONF_DAILY_CREDIT_LIMIT,
        CONF_DUPLICATE_WINDOW,
    }
    old_runtime = loaded_entry.runtime_data

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_URGENT: True,
            CONF_FLASH: True,
            CONF_LOW_BALANCE: 20.0,
            CONF_STATUS_POLLING: True,
            CONF_ACCEPT_FOREIGN: True,
            CONF_TRANSLITERATE: True,
            CONF_DAILY_CREDIT_LIMIT: 100.0,
            CONF_DUPLICATE_WINDOW: 15.0,
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {
        CONF_URGENT: True,
        CONF_FLASH: True,
        CONF_LOW_BALANCE: 20,
        CONF_STATUS_POLLING: True,
        CONF_ACCEPT_FOREIGN: True,
        CONF_TRANSLITERATE: True,
        CONF_DAILY_CREDIT_LIMIT: 100,
        CONF_DUPLICATE_WINDOW: 15,
    }
    # Number selectors answer floats: whole numbers are kept.
    for key in (CONF_LOW_BALANCE, CONF_DAILY_CREDIT_LIMIT, CONF_DUPLICATE_WINDOW):
        assert isinstance(loaded_entry.options[key], int), key
    # Reloaded, once; the balance is still polled at the fixed interval.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data is not old_runtime
    assert keys_sent(gateway) == [API_KEY, API_KEY]
    assert loaded_entry.runtime_data.balance.update_interval == BALANCE_INTERVAL


async def test_options_numbers_have_their_units_in_translated_labels(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
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
    hass: HomeAssistant, gateway: FakeSmsOffice, config_entry: MockConfigEntry
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
        CONF_URGENT: False,
        CONF_FLASH: False,
        CONF_LOW_BALANCE: 50,
        CONF_STATUS_POLLING: False,
        CONF_ACCEPT_FOREIGN: False,
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
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert set(result["data_schema"].schema) == {CONF_NAME, CONF_NUMBER}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "  ", CONF_NUMBER: "12"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_NAME: "invalid_name",
        CONF_NUMBER: "invalid_number",
    }

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: " Grandpa ", CONF_NUMBER: "599 11-22-33"}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Grandpa"
    assert result["data"] == {CONF_NAME: "Grandpa", CONF_NUMBER: "995599112233"}
    (added,) = [
        sub
        for sub in loaded_entry.subentries.values()
        if sub.unique_id == "995599112233"
    ]
    assert added.subentry_type == SUBENTRY_RECIPIENT
    assert added.title == "Grandpa"
    # The entry was reloaded, once, with the new recipient's notify entity.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert keys_sent(gateway) == [API_KEY, API_KEY]
    entity_id = entity_registry.async_get_entity_id(
        "notify", DOMAIN, f"{loaded_entry.entry_id}_recipient_{added.subentry_id}"
    )
    assert entity_id == "notify.sms_office_homealarm_grandpa"
    assert hass.states.get(entity_id) is not None


def recipient(entry: MockConfigEntry, number: str) -> ConfigSubentry:
    """Return the saved recipient with this number."""
    return next(sub for sub in entry.subentries.values() if sub.unique_id == number)


async def start_recipient_flow(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str | None = None
) -> SubentryFlowResult:
    """Open the recipient form: adding one, or editing the one given."""
    if subentry_id is None:
        context: dict[str, Any] = {"source": SOURCE_USER}
    else:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_RECIPIENT), context=context
    )


async def test_add_recipient_with_a_taken_name(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A saved recipient's name, in other capitals and spaces, is refused."""
    result = await start_recipient_flow(hass, loaded_entry)
    for name in ("mother", " MOTHER "):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_NAME: name, CONF_NUMBER: "599 11 22 33"}
        )

        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "user"
        assert result["errors"] == {CONF_NAME: "name_taken"}
    await hass.async_block_till_done()
    assert len(loaded_entry.subentries) == 2
    assert "995599112233" not in {
        sub.unique_id for sub in loaded_entry.subentries.values()
    }


async def test_add_recipient_with_a_saved_number(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """A saved number, typed another way, is a form error naming its recipient."""
    result = await start_recipient_flow(hass, loaded_entry)
    # The form always carries the placeholder its errors may use.
    assert result["description_placeholders"] == {"recipient": ""}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Mum", CONF_NUMBER: "+995 555 12 34 56"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_NUMBER: "number_taken"}
    assert result["description_placeholders"] == {"recipient": "Mother"}
    assert len(loaded_entry.subentries) == 2

    # Both fields wrong at once: both errors.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Night Guard", CONF_NUMBER: f"+{GUARD}"}
    )
    assert result["errors"] == {
        CONF_NAME: "name_taken",
        CONF_NUMBER: "number_taken",
    }
    assert result["description_placeholders"] == {"recipient": "Night guard"}

    # The same form, with the number corrected, adds the recipient.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Mum", CONF_NUMBER: "599 11 22 33"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_NAME: "Mum", CONF_NUMBER: "995599112233"}
    assert recipient(loaded_entry, "995599112233").title == "Mum"
    assert len(loaded_entry.subentries) == 3
    assert loaded_entry.state is ConfigEntryState.LOADED


async def test_edit_recipient(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Editing shows the saved values; the number may stay, or change."""
    mother = next(
        sub for sub in loaded_entry.subentries.values() if sub.unique_id == MOTHER
    )
    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, SUBENTRY_RECIPIENT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": mother.subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested_values(result["data_schema"]) == {
        CONF_NAME: "Mother",
        CONF_NUMBER: MOTHER,
    }

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Mother", CONF_NUMBER: "bad"}
    )
    assert result["errors"] == {CONF_NUMBER: "invalid_number"}

    # Keeping its own number is no duplicate.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Mom", CONF_NUMBER: "555123456"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    mother = loaded_entry.subentries[mother.subentry_id]
    assert mother.title == "Mom"
    assert dict(mother.data) == {CONF_NAME: "Mom", CONF_NUMBER: MOTHER}
    # Reloaded once (setup and one reload).
    assert keys_sent(gateway) == [API_KEY, API_KEY]

    result = await hass.config_entries.subentries.async_init(
        (loaded_entry.entry_id, SUBENTRY_RECIPIENT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": mother.subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Mom", CONF_NUMBER: "0 568 00 11 22"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    mother = loaded_entry.subentries[mother.subentry_id]
    assert mother.unique_id == "995568001122"
    assert mother.data[CONF_NUMBER] == "995568001122"
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert keys_sent(gateway) == [API_KEY] * 3


async def test_edit_recipient_to_a_taken_name(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Another recipient's name is refused; a recipient's own name in capitals is not."""
    guard = recipient(loaded_entry, GUARD)
    result = await start_recipient_flow(hass, loaded_entry, guard.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: " MOTHER ", CONF_NUMBER: GUARD}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {CONF_NAME: "name_taken"}
    assert dict(loaded_entry.subentries[guard.subentry_id].data) == {
        CONF_NAME: "Night guard",
        CONF_NUMBER: GUARD,
    }

    mother = recipient(loaded_entry, MOTHER)
    result = await start_recipient_flow(hass, loaded_entry, mother.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "mother", CONF_NUMBER: MOTHER}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    mother = loaded_entry.subentries[mother.subentry_id]
    assert mother.title == "mother"
    assert dict(mother.data) == {CONF_NAME: "mother", CONF_NUMBER: MOTHER}


async def test_edit_recipient_to_a_saved_number(
    hass: HomeAssistant, gateway: FakeSmsOffice, loaded_entry: MockConfigEntry
) -> None:
    """Another recipient's number is a form error naming it; nothing changes."""
    mother = recipient(loaded_entry, MOTHER)
    result = await start_recipient_flow(hass, loaded_entry, mother.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Mother", CONF_NUMBER: f"+{GUARD}"}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {CONF_NUMBER: "number_taken"}
    assert result["description_placeholders"] == {"recipient": "Night guard"}
    assert loaded_entry.subentries[mother.subentry_id].data[CONF_NUMBER] == MOTHER


async def test_remove_recipient(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    entity_registry: er.EntityRegistry,
) -> None:
    """Deleting a recipient, as the frontend does, reloads the entry once."""
    guard = recipient(loaded_entry, GUARD)
    unique_id = f"{loaded_entry.entry_id}_recipient_{guard.subentry_id}"
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
            "subentry_id": guard.subentry_id,
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
