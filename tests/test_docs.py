"""The README's examples and the blueprints, checked against Home Assistant.

Every ```yaml block of README.md must parse; the action examples must pass the
actions' own schemas and, run as a script against the fake smsoffice.ge, give
the responses the README shows; the automation examples must pass Home
Assistant's automation validation and do what they say; every blueprint must
load with Home Assistant's blueprint loader and work with its default inputs.
Nothing here leaves the machine: the gateway is the fake on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
from pathlib import Path
import re
import shutil
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import BLUEPRINT_SCHEMA, Blueprint
from homeassistant.components.notify.const import NOTIFY_SERVICE_SCHEMA
from homeassistant.components.persistent_notification import (
    _async_get_or_create_notifications,
)
from homeassistant.components.script.helpers import (
    async_get_blueprints as async_get_script_blueprints,
)
from homeassistant.const import STATE_ON
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.script import Script, async_validate_actions_config
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import parse_yaml
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)
import voluptuous as vol
import yaml

from custom_components.smsoffice.client import DeliveryStatus, estimate_parts
from custom_components.smsoffice.client.transliteration import (
    has_georgian_letters,
    transliterate,
)
from custom_components.smsoffice.const import DOMAIN, EVENT_DELIVERY_STATUS
from custom_components.smsoffice.entity import delivery_unique_id
from custom_components.smsoffice.notify import LEGACY_DATA_SCHEMA
from custom_components.smsoffice.services import (
    ESTIMATE_SCHEMA,
    GET_MESSAGE_STATUS_SCHEMA,
    SEND_SMS_SCHEMA,
    SERVICE_ESTIMATE,
    SERVICE_GET_MESSAGE_STATUS,
    SERVICE_SEND_SMS,
)
from tests.conftest import GUARD, MOTHER, SENDER, WEBHOOK_ID, subentry_id
from tests.fake_smsoffice import FakeSmsOffice

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLUEPRINTS = ROOT / "blueprints"
MANIFEST_URL = "https://github.com/smsoffice-ha/smsoffice"

# The entry of conftest ("SMS Office HomeAlarm") as the README names it.
ENTRY_SLUG = "sms_office_homealarm"


# --------------------------------------------------------------------------
# Reading the README
# --------------------------------------------------------------------------

FENCE = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^#{1,6} +(?P<title>.+?) *$", re.M)
# An inline response after a block: "→ `{encoding: UCS-2, ...}`".
ARROW = re.compile(r"^→ `(?P<flow>\{.*\})`[ \t]*$", re.M)


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README."""

    lang: str
    text: str
    line: int  # of the opening fence, 1-based
    section: str  # the nearest heading above it

    @property
    def id(self) -> str:
        """Name the block in test ids and messages."""
        return f"README.md:{self.line}"


def _section_at(text: str, offset: int) -> str:
    titles = [m["title"] for m in HEADING.finditer(text, 0, offset)]
    return titles[-1] if titles else ""


def _read_readme() -> tuple[str, list[Block]]:
    text = README.read_text(encoding="utf-8")
    blocks = [
        Block(
            lang=match["lang"].strip(),
            text=match["body"],
            line=text.count("\n", 0, match.start()) + 1,
            section=_section_at(text, match.start()),
        )
        for match in FENCE.finditer(text)
    ]
    return text, blocks


README_TEXT, BLOCKS = _read_readme()
YAML_BLOCKS = [block for block in BLOCKS if block.lang == "yaml"]


def _load(block: Block) -> Any:
    """Parse a block with Home Assistant's YAML loader."""
    return parse_yaml(block.text)


def _loaded_or_none(block: Block) -> Any:
    try:
        return _load(block)
    except Exception:  # noqa: BLE001 - reported by test_yaml_block_parses
        return None


PARSED = [(block, _loaded_or_none(block)) for block in YAML_BLOCKS]
ACTION_BLOCKS = [
    (block, data)
    for block, data in PARSED
    if isinstance(data, dict) and "action" in data
]


def _device_triggered(data: dict[str, Any]) -> bool:
    return any(trigger.get("trigger") == "device" for trigger in data["triggers"])


AUTOMATION_BLOCKS = [
    (block, data)
    for block, data in PARSED
    if isinstance(data, dict) and "triggers" in data and not _device_triggered(data)
]
# Device triggers name a device: run against the entry's account device.
DEVICE_TRIGGER_BLOCKS = [
    (block, data)
    for block, data in PARSED
    if isinstance(data, dict) and "triggers" in data and _device_triggered(data)
]


def _blocks_in(section: str) -> list[tuple[Block, Any]]:
    """Return the parsed yaml blocks under the heading `section`."""
    found = [(block, data) for block, data in PARSED if block.section == section]
    assert found, f"README.md has no yaml block under the heading {section!r}"
    return found


def _action_block(action: str) -> dict[str, Any]:
    """Return the README's example of `action` (there must be exactly one)."""
    found = [data for _, data in ACTION_BLOCKS if data["action"] == action]
    assert len(found) == 1, f"README.md should show {action} once: {len(found)}"
    return found[0]


def _arrow_after(section: str) -> dict[str, Any]:
    """Return the "→ `{...}`" response shown under the heading `section`."""
    start = next(
        m.end() for m in HEADING.finditer(README_TEXT) if m["title"] == section
    )
    following = HEADING.search(README_TEXT, start)
    end = following.start() if following else len(README_TEXT)
    match = ARROW.search(README_TEXT, start, end)
    assert match, f"README.md shows no '→ `{{...}}`' response under {section!r}"
    shown = yaml.safe_load(match["flow"])
    assert isinstance(shown, dict)
    return shown


def _block_ids(pairs: list[tuple[Block, Any]]) -> list[str]:
    return [block.id for block, _ in pairs]


# --------------------------------------------------------------------------
# 1. Every yaml block parses
# --------------------------------------------------------------------------


def test_readme_fences_are_closed_and_tagged() -> None:
    fences = re.findall(r"^```", README_TEXT, re.M)
    assert len(fences) % 2 == 0, "README.md has an unclosed ``` fence"
    assert len(fences) == 2 * len(BLOCKS)
    untagged = [block.id for block in BLOCKS if not block.lang]
    assert not untagged, f"code blocks without a language: {untagged}"
    # The examples this file checks are all there.
    assert len(YAML_BLOCKS) >= 9
    assert len(ACTION_BLOCKS) >= 5
    assert len(AUTOMATION_BLOCKS) >= 2


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=[b.id for b in YAML_BLOCKS])
def test_yaml_block_parses(block: Block) -> None:
    data = _load(block)
    assert isinstance(data, dict), f"{block.id}: not a mapping: {data!r}"
    # And with plain PyYAML, as editors and linters read it.
    assert yaml.safe_load(block.text) == data


# --------------------------------------------------------------------------
# 2. Action examples: the actions' own schemas
# --------------------------------------------------------------------------

SMSOFFICE_SCHEMAS: dict[str, vol.Schema] = {
    SERVICE_SEND_SMS: SEND_SMS_SCHEMA,
    SERVICE_ESTIMATE: ESTIMATE_SCHEMA,
    SERVICE_GET_MESSAGE_STATUS: GET_MESSAGE_STATUS_SCHEMA,
}
# Actions that only answer (SupportsResponse.ONLY): a script must keep the answer.
RESPONSE_ONLY = {SERVICE_ESTIMATE, SERVICE_GET_MESSAGE_STATUS}
# notify.send_message, as the notify integration registers it for its entities.
NOTIFY_ENTITY_SCHEMA = cv.make_entity_service_schema(
    {vol.Required("message"): cv.string, vol.Optional("title"): cv.string}
)


@pytest.mark.parametrize(
    ("block", "example"), ACTION_BLOCKS, ids=_block_ids(ACTION_BLOCKS)
)
def test_action_example_matches_the_schemas(
    block: Block, example: dict[str, Any]
) -> None:
    # A valid script step as a whole (action, target, data, response_variable).
    cv.SCRIPT_SCHEMA([example])
    domain, _, service = example["action"].partition(".")
    data = example.get("data", {})
    if domain == DOMAIN:
        assert service in SMSOFFICE_SCHEMAS, f"{block.id}: no action {service}"
        SMSOFFICE_SCHEMAS[service](data)
        if service in RESPONSE_ONLY:
            assert "response_variable" in example, (
                f"{block.id}: {example['action']} only answers; "
                "without response_variable a script refuses it"
            )
    elif example["action"] == "notify.send_message":
        NOTIFY_ENTITY_SCHEMA({**example.get("target", {}), **data})
        for entity_id in cv.ensure_list(example["target"]["entity_id"]):
            assert entity_id.startswith(f"notify.{ENTRY_SLUG}_"), entity_id
    elif example["action"] == f"notify.{ENTRY_SLUG}":
        validated = NOTIFY_SERVICE_SCHEMA(data)
        LEGACY_DATA_SCHEMA(validated.get("data", {}))
    else:
        pytest.fail(f"{block.id}: no schema known for {example['action']}")


def test_send_sms_fields_are_the_documented_ones() -> None:
    """The field list after the send_sms example names every field, no more."""
    start = README_TEXT.index("Fields: `recipients`")
    paragraph = README_TEXT[start : README_TEXT.index("\n\n", start)]
    documented = set(re.findall(r"`([a-z_]+)`", paragraph))
    assert documented == {str(key) for key in SEND_SMS_SCHEMA.schema}


# --------------------------------------------------------------------------
# 2b. Action examples, run as a script against the fake smsoffice.ge
# --------------------------------------------------------------------------


async def _run_readme(hass: HomeAssistant, *steps: dict[str, Any]) -> Mapping[str, Any]:
    """Run README examples as one script; return the script's variables."""
    sequence = await async_validate_actions_config(hass, cv.SCRIPT_SCHEMA(list(steps)))
    script = Script(hass, sequence, "README example", "test")
    result = await script.async_run(context=Context())
    assert result is not None
    return result.variables


async def _delivered(
    gateway: FakeSmsOffice, reference: str, destinations: list[str]
) -> None:
    """Wait until the fake has delivered the message everywhere."""
    for _ in range(500):
        if all(gateway.status_of(reference, d) == "Delivered" for d in destinations):
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"the fake never delivered {reference}")


async def test_send_sms_and_get_message_status_examples(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    """`sent` of the send_sms example feeds the get_message_status example."""
    send = _action_block(f"{DOMAIN}.{SERVICE_SEND_SMS}")
    status = _action_block(f"{DOMAIN}.{SERVICE_GET_MESSAGE_STATUS}")
    assert (
        status["data"]["reference"]
        == f"{{{{ {send['response_variable']}.reference }}}}"
    )
    events = async_capture_events(hass, EVENT_DELIVERY_STATUS)

    # Two runs, as the fake settles the message in between: the second gets
    # the first's response variable, as a later step of the same script would.
    variables = await _run_readme(hass, send)
    sent = dict(variables[send["response_variable"]])
    await _delivered(gateway, sent["reference"], [MOTHER, GUARD])
    variables = await _run_readme(
        hass, {"variables": {send["response_variable"]: sent}}, status
    )

    # send_sms answers what the README shows, key for key and (but for the
    # generated reference) value for value.
    (response_block, documented), *_ = [
        (block, data)
        for block, data in _blocks_in(f"`{DOMAIN}.{SERVICE_SEND_SMS}`")
        if "action" not in data
    ]
    assert set(sent) == set(documented), response_block.id
    assert re.fullmatch(r"ha[0-9a-f]{18}", documented["reference"])
    assert re.fullmatch(r"ha[0-9a-f]{18}", sent["reference"])
    assert {**sent, "reference": None} == {**documented, "reference": None}
    message = gateway.messages[-1]
    assert message.destinations == [MOTHER, GUARD]
    assert message.content == send["data"]["message"]
    assert message.urgent is send["data"]["urgent"]

    # get_message_status: the README's answer, with the keys the action gives.
    answer = dict(variables[status["response_variable"]])
    shown = _arrow_after(f"`{DOMAIN}.{SERVICE_GET_MESSAGE_STATUS}`")
    assert set(answer) == set(shown)
    assert answer["reference"] == sent["reference"]
    assert [set(item) for item in answer["statuses"]] == [
        set(item) for item in shown["statuses"]
    ]

    def destination_status(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(item["destination"], item["status"]) for item in items]

    assert destination_status(answer["statuses"]) == destination_status(
        shown["statuses"]
    )

    # The poll fired the documented event, with the documented data.
    event_block, event_example = next(
        (block, data) for block, data in PARSED if "event_type" in data
    )
    assert event_example["event_type"] == EVENT_DELIVERY_STATUS
    assert len(events) == 1
    assert set(events[0].data) == set(event_example["data"]), event_block.id
    assert events[0].data["config_entry_id"] == loaded_entry.entry_id
    assert events[0].data["source"] == "poll"
    # The comments list every status and every source.
    comment = re.search(r"^  status: \w+ +# (.+)$", event_block.text, re.M)
    assert comment
    assert set(comment[1].split(", ")) == {status.value for status in DeliveryStatus}
    assert re.search(r"^  source: webhook +# or poll$", event_block.text, re.M)

    # ... and Mother's event entity took it, the status as its event type.
    state = hass.states.get(f"event.{ENTRY_SLUG}_mother_delivery_report")
    assert state is not None
    assert state.attributes["event_type"] == "delivered"
    assert state.attributes["reference"] == sent["reference"]


async def test_estimate_example(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    example = _action_block(f"{DOMAIN}.{SERVICE_ESTIMATE}")
    before = len(gateway.requests)
    variables = await _run_readme(hass, example)
    answer = dict(variables[example["response_variable"]])
    assert answer == _arrow_after(f"`{DOMAIN}.{SERVICE_ESTIMATE}`")
    assert len(gateway.requests) == before


async def test_notify_entity_example(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    example = _action_block("notify.send_message")
    await _run_readme(hass, example)
    message = gateway.messages[-1]
    assert message.destinations == [MOTHER]
    # "A title, when given, goes on its own line before the message."
    assert (
        message.content == f"{example['data']['title']}\n{example['data']['message']}"
    )


async def test_legacy_notify_example(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    example = _action_block(f"notify.{ENTRY_SLUG}")
    assert loaded_entry.title == "SMS Office HomeAlarm"  # the README's entry
    await hass.async_block_till_done()  # the legacy platform loads in a task
    await _run_readme(hass, example)
    message = gateway.messages[-1]
    # Both targets: a number and a saved recipient, in that order.
    assert message.destinations == ["995599112233", MOTHER]
    assert message.content == example["data"]["message"]
    assert message.urgent is True
    assert message.sender == example["data"]["data"]["sender"] == SENDER


async def test_documented_entity_ids_exist(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    await hass.async_block_till_done()
    named = set(re.findall(r"\b(?:notify|sensor|event)\.[a-z0-9_]+", README_TEXT))
    named = {entity_id for entity_id in named if ENTRY_SLUG in entity_id}
    assert named == {
        f"notify.{ENTRY_SLUG}",
        f"notify.{ENTRY_SLUG}_mother",
        f"sensor.{ENTRY_SLUG}_balance",
        f"sensor.{ENTRY_SLUG}_messages_sent_today",
        f"sensor.{ENTRY_SLUG}_credits_today",
        f"sensor.{ENTRY_SLUG}_credits_this_month",
        f"event.{ENTRY_SLUG}_mother_delivery_report",
        # The account's, in the dashboard example's logbook card.
        f"event.{ENTRY_SLUG}_delivery_reports_other_numbers",
    }
    assert hass.services.has_service("notify", ENTRY_SLUG)
    for entity_id in named - {f"notify.{ENTRY_SLUG}"}:
        assert entity_registry.async_get(entity_id), entity_id
    # The patterns: "event.<entry>_<recipient>_delivery_report" and the account's.
    assert "`event.<entry>_<recipient>_delivery_report`" in README_TEXT
    assert "`event.<entry>_delivery_reports_other_numbers`" in README_TEXT
    assert entity_registry.async_get(
        f"event.{ENTRY_SLUG}_delivery_reports_other_numbers"
    )


# --------------------------------------------------------------------------
# 2c. Cost control: the transliteration example and the dashboard card
# --------------------------------------------------------------------------


def test_transliteration_example() -> None:
    """The before/after example is what the integration makes of it, and costs."""
    (block,) = [
        block
        for block in BLOCKS
        if block.section == "Transliteration" and block.lang == "text"
    ]
    georgian, georgian_cost, latin, latin_cost = block.text.splitlines()
    assert has_georgian_letters(georgian)
    assert transliterate(georgian) == latin
    for text, cost in ((georgian, georgian_cost), (latin, latin_cost)):
        estimate = estimate_parts(text)
        plural = "s" if estimate.parts > 1 else ""
        assert cost.strip() == (
            f"{estimate.encoding.value}, {estimate.characters} characters: "
            f"{estimate.parts} part{plural}, {estimate.parts} credit{plural} "
            "per recipient"
        )
    assert estimate_parts(latin).parts < estimate_parts(georgian).parts


async def test_dashboard_card_example(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The cards show entities the entry has: sensors, reports and their rows."""
    ((block, stack),) = [
        (block, data)
        for block, data in _blocks_in("Usage sensors")
        if data.get("type") == "vertical-stack"
    ]
    assert set(stack) == {"type", "cards"}, block.id
    (card,) = [card for card in stack["cards"] if card["type"] == "entities"]
    (logbook,) = [card for card in stack["cards"] if card["type"] == "logbook"]
    assert len(stack["cards"]) == 2, block.id
    await hass.async_block_till_done()
    rows = [
        {"entity": row} if isinstance(row, str) else row for row in card["entities"]
    ]
    shown = {row["entity"] for row in rows}
    assert shown == {
        f"sensor.{ENTRY_SLUG}_balance",
        f"sensor.{ENTRY_SLUG}_credits_today",
        f"sensor.{ENTRY_SLUG}_credits_this_month",
        f"event.{ENTRY_SLUG}_mother_delivery_report",
    }, block.id
    for entity_id in shown:
        assert entity_registry.async_get(entity_id), entity_id
        assert hass.states.get(entity_id), entity_id
    strings = json.loads(
        (ROOT / "custom_components" / DOMAIN / "strings.json").read_text("utf-8")
    )
    event_attributes = set(strings["entity"]["event"]["delivery"]["state_attributes"])
    for row in rows:
        assert row.get("type", "entity") in {"entity", "attribute"}, row
        assert set(row) <= {"entity", "name", "type", "attribute"}, row
        if row.get("type") == "attribute":
            assert row["entity"].startswith("event."), row
            assert row["attribute"] in event_attributes, row

    # The logbook card (its options as the frontend's card editor takes
    # them): the delivery event entities, Mother's and the account's.
    assert set(logbook) <= {"type", "title", "hours_to_show", "target"}, logbook
    assert isinstance(logbook["hours_to_show"], int), logbook
    assert set(logbook["target"]) == {"entity_id"}, logbook
    reporting = logbook["target"]["entity_id"]
    mother = subentry_id(loaded_entry, MOTHER)
    assert reporting == [
        entity_registry.async_get_entity_id(
            "event", DOMAIN, delivery_unique_id(loaded_entry.entry_id, recipient)
        )
        for recipient in (mother, None)
    ], block.id
    for entity_id in reporting:
        assert hass.states.get(entity_id), entity_id


# --------------------------------------------------------------------------
# 3. Automation examples
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "example"), AUTOMATION_BLOCKS, ids=_block_ids(AUTOMATION_BLOCKS)
)
async def test_automation_example_validates(
    hass: HomeAssistant, block: Block, example: dict[str, Any]
) -> None:
    assert await async_validate_config_item(hass, block.id, dict(example))


def _notifications(hass: HomeAssistant) -> list[dict[str, Any]]:
    return [dict(item) for item in _async_get_or_create_notifications(hass).values()]


async def _setup_automations(
    hass: HomeAssistant, configs: list[dict[str, Any]]
) -> None:
    assert await async_setup_component(hass, "persistent_notification", {})
    assert await async_setup_component(hass, "automation", {"automation": configs})
    await hass.async_block_till_done()
    for number in range(len(configs)):
        state = hass.states.get(f"automation.readme_{number}")
        assert state is not None
        assert state.state == STATE_ON, state


async def test_automation_examples_run(hass: HomeAssistant) -> None:
    """Set up every README automation; trigger both and see them act."""
    configs = [
        {"id": f"readme_{number}", "alias": f"README {number}", **example}
        for number, (_, example) in enumerate(AUTOMATION_BLOCKS)
    ]
    balance = f"sensor.{ENTRY_SLUG}_balance"
    hass.states.async_set(balance, "100")
    notify_calls = async_mock_service(hass, "notify", "notify")
    await _setup_automations(hass, configs)

    # The delivery alert.
    event = {"reference": "ha3f9c2a71be04d5e8a1", "destination": MOTHER}
    hass.bus.async_fire(EVENT_DELIVERY_STATUS, {**event, "status": "delivered"})
    await hass.async_block_till_done()
    assert _notifications(hass) == []
    hass.bus.async_fire(
        EVENT_DELIVERY_STATUS,
        {**event, "status": "undelivered", "reason": "Absent subscriber"},
    )
    await hass.async_block_till_done()
    (notification,) = _notifications(hass)
    assert notification["title"] == "SMS not delivered"
    assert notification["message"] == f"To {MOTHER}: Absent subscriber"

    # The low-balance warning.
    hass.states.async_set(balance, "19")
    await hass.async_block_till_done()
    assert [call.data for call in notify_calls] == [{"message": "Only 19 SMS left."}]


# --------------------------------------------------------------------------
# 4. Blueprints
# --------------------------------------------------------------------------

BLUEPRINT_FILES = sorted(BLUEPRINTS.rglob("*.yaml"))
BLUEPRINT_SCHEMAS: dict[str, Callable[[Any], Any]] = {
    "automation": AUTOMATION_BLUEPRINT_SCHEMA,
    "script": BLUEPRINT_SCHEMA,
}


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _blueprint(path: Path) -> Blueprint:
    domain = path.relative_to(BLUEPRINTS).parts[0]
    assert domain in BLUEPRINT_SCHEMAS, f"{_relative(path)}: no schema for {domain}"
    return Blueprint(
        parse_yaml(path.read_text(encoding="utf-8")),
        path=_relative(path),
        expected_domain=domain,
        schema=BLUEPRINT_SCHEMAS[domain],
    )


def test_there_are_blueprints() -> None:
    assert BLUEPRINT_FILES
    assert not [p for p in BLUEPRINTS.rglob("*") if p.is_file() and p.suffix != ".yaml"]


@pytest.mark.parametrize("path", BLUEPRINT_FILES, ids=_relative)
def test_blueprint_loads(path: Path) -> None:
    blueprint = _blueprint(path)
    assert blueprint.validate() is None
    # Imported from the repository: the source URL is this file on main.
    source_url = blueprint.metadata["source_url"]
    assert source_url == f"{MANIFEST_URL}/blob/main/{_relative(path)}"
    # Usable as is: every input has a default.
    assert all("default" in spec for spec in blueprint.inputs.values())
    # And the README tells where it is.
    assert f"`{_relative(path)}`" in README_TEXT


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Give hass a configuration directory of its own.

    The test plugin's default one lies inside the installed package and is
    shared by every run: blueprints copied there would outlive the test.
    """
    hass.config.config_dir = str(tmp_path)
    return tmp_path


async def _install_blueprint(hass: HomeAssistant, config_dir: Path, path: Path) -> str:
    """Copy a blueprint to config/blueprints/; return its path within its domain."""
    relative = path.relative_to(BLUEPRINTS)
    target = config_dir.joinpath("blueprints", *relative.parts)
    assert Path(hass.config.path("blueprints", *relative.parts)) == target

    def copy() -> None:
        target.parent.mkdir(parents=True)
        shutil.copyfile(path, target)

    await hass.async_add_executor_job(copy)
    return Path(*relative.parts[1:]).as_posix()


@pytest.mark.parametrize("path", BLUEPRINT_FILES, ids=_relative)
async def test_blueprint_loads_from_the_config_dir(
    hass: HomeAssistant, config_dir: Path, path: Path
) -> None:
    """Copied to config/blueprints/ as the README says, the loader takes it."""
    domain = path.relative_to(BLUEPRINTS).parts[0]
    name = await _install_blueprint(hass, config_dir, path)
    blueprints = (
        async_get_blueprints(hass)
        if domain == "automation"
        else async_get_script_blueprints(hass)
    )
    loaded = await blueprints.async_get_blueprint(name)
    assert loaded.name == _blueprint(path).name


UNDELIVERED = BLUEPRINTS / "automation" / DOMAIN / "undelivered_sms_alert.yaml"


async def _use_undelivered_blueprint(
    hass: HomeAssistant, config_dir: Path, inputs: dict[str, Any]
) -> None:
    name = await _install_blueprint(hass, config_dir, UNDELIVERED)
    config = {
        "id": "readme_0",
        "alias": "README 0",
        "use_blueprint": {"path": name, "input": inputs},
    }
    await _setup_automations(hass, [config])


def _report(status: str, reason: str = "") -> dict[str, Any]:
    return {
        "config_entry_id": "01JABCDEF",
        "reference": "ha3f9c2a71be04d5e8a1",
        "destination": MOTHER,
        "status": status,
        "reason": reason,
        "timestamp": "2026-11-24T18:45:06+04:00",
        "operator": "28202",
        "source": "webhook",
    }


async def test_undelivered_blueprint_with_default_inputs(
    hass: HomeAssistant, config_dir: Path
) -> None:
    await _use_undelivered_blueprint(hass, config_dir, {})

    for status in ("delivered", "pending", "unknown"):
        hass.bus.async_fire(EVENT_DELIVERY_STATUS, _report(status))
    await hass.async_block_till_done()
    assert _notifications(hass) == []

    hass.bus.async_fire(
        EVENT_DELIVERY_STATUS, _report("undelivered", "Absent subscriber")
    )
    await hass.async_block_till_done()
    (notification,) = _notifications(hass)
    assert notification["title"] == "SMS not delivered"
    assert notification["message"] == (
        f"The SMS ha3f9c2a71be04d5e8a1 to {MOTHER} is undelivered (Absent subscriber)."
    )

    hass.bus.async_fire(EVENT_DELIVERY_STATUS, _report("expired"))
    await hass.async_block_till_done()
    messages = [item["message"] for item in _notifications(hass)]
    # Both alerts stay (each gets its own id), the second without a reason.
    assert len(messages) == 2
    assert f"The SMS ha3f9c2a71be04d5e8a1 to {MOTHER} is expired." in messages


async def test_undelivered_blueprint_with_a_notify_action(
    hass: HomeAssistant, config_dir: Path
) -> None:
    calls: list[ServiceCall] = async_mock_service(hass, "notify", "my_phone")
    await _use_undelivered_blueprint(
        hass, config_dir, {"statuses": ["unknown"], "notify_action": "notify.my_phone"}
    )
    hass.bus.async_fire(EVENT_DELIVERY_STATUS, _report("undelivered"))
    hass.bus.async_fire(EVENT_DELIVERY_STATUS, _report("unknown", "Unknown status"))
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [
        {"message": f"SMS to {MOTHER} is unknown."}
    ]
    assert len(_notifications(hass)) == 1


def test_readme_images_exist() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README_TEXT)
    assert images, "the README shows screenshots"
    for image in images:
        path = ROOT / image
        assert path.is_file(), image
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image


async def test_device_trigger_example_runs(
    hass: HomeAssistant,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
) -> None:
    """The README's device trigger, on the account's device, fires on a report."""
    ((block, example),) = DEVICE_TRIGGER_BLOCKS
    (device,) = (
        device
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), loaded_entry.entry_id
        )
        if device.identifiers == {(DOMAIN, loaded_entry.entry_id)}
    )
    config = {"id": "readme_0", "alias": "README 0", **example}
    config["triggers"] = [
        {**trigger, "device_id": device.id} for trigger in example["triggers"]
    ]
    await _setup_automations(hass, [config])
    await hass.services.async_call(
        DOMAIN,
        SERVICE_SEND_SMS,
        {"recipients": [MOTHER], "message": "x", "reference": "readme-1"},
        blocking=True,
        return_response=True,
    )
    response = await http.get(
        f"/api/webhook/{WEBHOOK_ID}",
        params={"reference": "readme-1", "destination": MOTHER, "status": "expired"},
    )
    assert response.status == 200
    await hass.async_block_till_done()
    (notification,) = _notifications(hass)
    assert notification["message"] == f"SMS to {MOTHER} was not delivered", block.id


ESCALATION = BLUEPRINTS / "script" / DOMAIN / "sms_with_escalation.yaml"


@pytest.mark.parametrize(
    ("outcome", "escalated"),
    [("delivered", False), ("undelivered", True), ("pending", True)],
)
async def test_escalation_blueprint(  # noqa: PLR0917
    hass: HomeAssistant,
    config_dir: Path,
    gateway: FakeSmsOffice,
    loaded_entry: MockConfigEntry,
    http: TestClient,
    outcome: str,
    escalated: bool,
) -> None:
    """Not delivered within the wait: the night guard gets it, and a notify action runs."""
    gateway.callback_url = str(http.make_url(f"/api/webhook/{WEBHOOK_ID}"))
    gateway.set_outcome(MOTHER, outcome)
    notify_calls = async_mock_service(hass, "notify", "family")
    name = await _install_blueprint(hass, config_dir, ESCALATION)
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "escalate": {
                    "use_blueprint": {
                        "path": name,
                        "input": {
                            "first_recipient": "Mother",
                            "second_recipient": "Night guard",
                            "message": "Water leak",
                            "wait": {"seconds": 1},
                            "notify_action": "notify.family",
                        },
                    }
                }
            }
        },
    )
    await hass.services.async_call("script", "escalate", blocking=True)
    await hass.async_block_till_done()

    sent = [(m.destinations, m.content) for m in gateway.messages]
    if escalated:
        assert sent == [([MOTHER], "Water leak"), ([GUARD], "Water leak")]
        (call,) = notify_calls
        assert call.data["message"] == (
            f"SMS to {MOTHER} was not delivered ({outcome}): Water leak"
        )
    else:
        assert sent == [([MOTHER], "Water leak")]
        assert notify_calls == []
