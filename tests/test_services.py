"""The actions `smsoffice.send_sms`, `smsoffice.estimate` and `get_message_status`.

Driven as a user does: service calls with responses, checked against what the
fake smsoffice.ge received, the outbox, repairs and re-authentication flows.
"""

from __future__ import annotations

from datetime import timedelta
from string import Formatter
import threading
import time
from typing import Any

import aiohttp
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.client import (
    InvalidScheduleError,
    NumberCheck,
    SmsOfficeError,
    SmsOfficeUnknownCodeError,
)
from custom_components.smsoffice.client.numbers import INLINE_LIMIT
from custom_components.smsoffice.const import (
    CONF_FLASH,
    CONF_URGENT,
    DOMAIN,
    EVENT_DELIVERY_STATUS,
    ISSUE_LOW_BALANCE,
)
from custom_components.smsoffice.error_handling import (
    handle_gateway_error,
    validation_error,
)
from tests.client.test_numbers import MANY, many_usable, mixed_inputs, spies
from tests.conftest import (
    API_KEY,
    GUARD,
    MOTHER,
    SENDER,
    call_action,
    send_sms,
    set_up_second_account,
)
from tests.fake_smsoffice import FakeSmsOffice

OTHER = "995555112233"


async def translated(hass: HomeAssistant, err: HomeAssistantError) -> str:
    """Return the English message of a translated error (placeholders complete)."""
    assert err.translation_domain == DOMAIN
    translations = await async_get_translations(hass, "en", "exceptions", {DOMAIN})
    key = f"component.{DOMAIN}.exceptions.{err.translation_key}.message"
    assert key in translations, key
    template = translations[key]
    placeholders = err.translation_placeholders or {}
    needed = {name for _, name, _, _ in Formatter().parse(template) if name}
    assert needed <= placeholders.keys(), needed - placeholders.keys()
    return template.format(**placeholders)


def only_send(gateway: FakeSmsOffice) -> dict[str, str]:
    """Return the form of the one send request, checking how it was made."""
    sends = gateway.requests_to("send")
    assert len(sends) == 1
    request = sends[0]
    assert request.method == "POST"
    assert request.path == "/api/v2/send/"
    assert request.content_type.startswith("application/x-www-form-urlencoded")
    assert request.raw_query_string == ""  # the key (and all else) in the body
    assert request.form["key"] == API_KEY
    return request.form


def recipients_and_expected(blocks: int) -> tuple[list[str], NumberCheck]:
    """Return `mixed_inputs` between saved names, and what checking them gives."""
    raw, expected = mixed_inputs(blocks)
    return (
        ["Night guard", *raw, "Uncle", "mother"],
        NumberCheck([GUARD, *expected.valid, MOTHER], [*expected.invalid, "Uncle"]),
    )


FEW_AND_MANY = pytest.mark.parametrize("blocks", [1, MANY], ids=["few", "many"])

pytestmark = pytest.mark.usefixtures("unload_entries", "loaded_entry")


@pytest.fixture
def no_retry_delay(loaded_entry: MockConfigEntry) -> None:
    """Retry at once (the client waits 1 s, then 2 s, by default)."""
    loaded_entry.runtime_data.client._retry_delay = 0


# ---------------------------------------------------------------- send_sms


async def test_send_to_numbers_and_names(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    response = await send_sms(
        hass,
        recipients=["Mother", "night GUARD ", "555 11 22 33", "+995 555 12 34 56"],
        message="The alarm went off at home.",
    )

    reference = response["reference"]
    assert isinstance(reference, str)
    assert 1 <= len(reference) <= 20
    assert response == {
        "reference": reference,
        "recipients": [MOTHER, GUARD, OTHER],
        "rejected": [],
        "encoding": "GSM-7",
        "characters": 27,
        "parts": 1,
        "credits": 3,
        "status": "accepted",
        "scheduled_at": None,
        "suppressed": [],
        "transliterated": False,
    }
    form = only_send(gateway)
    assert form["destination"] == f"{MOTHER},{GUARD},{OTHER}"
    assert form["content"] == "The alarm went off at home."
    assert form["sender"] == SENDER
    assert form["reference"] == reference
    assert form["urgent"] == "false"
    assert form["contentType"] == "1"
    assert "scheduledAt" not in form
    assert [m.destinations for m in gateway.messages] == [[MOTHER, GUARD, OTHER]]

    outbox = loaded_entry.runtime_data.tracker.outbox
    for number in (MOTHER, GUARD, OTHER):
        record = outbox.get(reference, number)
        assert record is not None
        assert record.status is None
        assert not record.maybe_sent
        assert abs(record.sent_at - time.time()) < 60

    # Every send gets its own reference.
    second = await send_sms(hass, recipients=[MOTHER], message="Again")
    assert second["reference"] != reference
    assert len(gateway.requests_to("send")) == 2


async def test_send_with_every_option(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    when = (dt_util.now() + timedelta(hours=2)).replace(microsecond=0)
    response = await send_sms(
        hass,
        config_entry_id=loaded_entry.entry_id,
        recipients=[MOTHER],
        message="Scheduled",
        sender="smsoffice",
        urgent=True,
        flash=True,
        schedule=when.isoformat(),
        reference="alarm-2026-11-24",
    )

    assert response["reference"] == "alarm-2026-11-24"
    assert response["status"] == "scheduled"
    assert dt_util.parse_datetime(response["scheduled_at"]) == when
    form = only_send(gateway)
    assert form["sender"] == "smsoffice"
    assert form["urgent"] == "true"
    assert form["contentType"] == "2"
    assert form["scheduledAt"] == str(int(when.timestamp()))
    assert form["reference"] == "alarm-2026-11-24"
    message = gateway.messages[0]
    assert (message.urgent, message.content_type, message.scheduled_at) == (
        True,
        2,
        int(when.timestamp()),
    )


async def test_schedule_without_zone_is_local_time(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    local = (dt_util.now() + timedelta(days=1)).replace(microsecond=0)
    await send_sms(
        hass,
        recipients=[MOTHER],
        message="Tomorrow",
        schedule=local.replace(tzinfo=None).isoformat(),
    )
    assert only_send(gateway)["scheduledAt"] == str(int(local.timestamp()))


@pytest.mark.parametrize(
    "options",
    [
        {
            CONF_URGENT: True,
            CONF_FLASH: True,
        }
    ],
)
async def test_options_give_the_defaults(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    await send_sms(hass, recipients=[MOTHER], message="Defaults")
    await send_sms(
        hass, recipients=[MOTHER], message="Overridden", urgent=False, flash=False
    )
    first, second = (r.form for r in gateway.requests_to("send"))
    assert (first["urgent"], first["contentType"]) == ("true", "2")
    assert (second["urgent"], second["contentType"]) == ("false", "1")


async def test_georgian_text_is_counted_before_sending(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    text = "ა" * 71  # one more than a single UCS-2 part holds
    response = await send_sms(hass, recipients=[MOTHER, GUARD], message=text)
    assert (response["encoding"], response["characters"]) == ("UCS-2", 71)
    assert (response["parts"], response["credits"]) == (2, 4)
    assert only_send(gateway)["content"] == text


@FEW_AND_MANY
async def test_few_and_many_recipients_are_checked_alike(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    blocks: int,
) -> None:
    """Above `INLINE_LIMIT` the numbers are checked in a worker thread, the same way."""
    recipients, expected = recipients_and_expected(blocks)
    assert (len(recipients) > INLINE_LIMIT) is (blocks > 1)

    response = await send_sms(
        hass, recipients=recipients, message="Hi", skip_invalid=True
    )
    assert response["recipients"] == expected.valid
    assert response["rejected"] == expected.invalid
    assert response["credits"] == len(expected.valid)
    assert only_send(gateway)["destination"] == ",".join(expected.valid)
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert len(outbox) == len(expected.valid)
    for number in expected.valid:
        assert outbox.get(response["reference"], number) is not None

    with pytest.raises(ServiceValidationError) as err:
        await send_sms(hass, recipients=recipients, message="Hi")
    assert err.value.translation_key == "invalid_number"
    assert err.value.translation_placeholders == {
        "numbers": ", ".join(expected.invalid)
    }
    assert len(gateway.requests_to("send")) == 1


@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        (
            {"recipients": ["Mother", "12", "Uncle"]},
            "invalid_number",
            {"numbers": "12, Uncle"},
        ),
        (
            {"recipients": ["12"], "skip_invalid": True},
            "invalid_number",
            {"numbers": "12"},
        ),
        (
            {"message": "x" * 1001},
            "invalid_content",
            {"length": "1001", "maximum": "1000"},
        ),
        ({"message": ""}, "invalid_content", {"length": "0", "maximum": "1000"}),
        (
            {"sender": "Home Alarm!"},
            "invalid_sender",
            {"sender": "Home Alarm!"},
        ),
        (
            {"reference": "r" * 21},
            "invalid_reference",
            {"reference": "r" * 21},
        ),
        ({"reference": " padded"}, "invalid_reference", {"reference": " padded"}),
    ],
)
async def test_invalid_input_is_refused_before_any_request(
    hass: HomeAssistant,
    *,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    data: dict[str, Any],
    key: str,
    placeholders: dict[str, str],
) -> None:
    call = {"recipients": ["Mother"], "message": "Hi"} | data
    with pytest.raises(ServiceValidationError) as err:
        await send_sms(hass, **call)
    assert err.value.translation_key == key
    assert err.value.translation_placeholders == placeholders
    message = await translated(hass, err.value)
    for value in placeholders.values():
        assert value in message
    assert gateway.requests_to("send") == []
    assert len(loaded_entry.runtime_data.tracker.outbox) == 0


async def test_schedule_in_the_past_is_refused(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    past = dt_util.now() - timedelta(minutes=5)
    with pytest.raises(ServiceValidationError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Late", schedule=past)
    assert err.value.translation_key == "schedule_in_past"
    shown = dt_util.as_local(past).isoformat(sep=" ", timespec="seconds")
    assert err.value.translation_placeholders == {"schedule": shown}
    assert shown in await translated(hass, err.value)
    assert gateway.requests_to("send") == []


async def test_a_reference_is_used_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    await send_sms(hass, recipients=[MOTHER], message="One", reference="door")
    with pytest.raises(ServiceValidationError) as err:
        await send_sms(hass, recipients=[GUARD], message="Two", reference="door")
    assert err.value.translation_key == "reference_in_use"
    assert err.value.translation_placeholders == {"reference": "door"}
    await translated(hass, err.value)
    assert len(gateway.requests_to("send")) == 1
    assert loaded_entry.runtime_data.tracker.outbox.get("door", GUARD) is None


# ----------------------------------------------------- choosing the account


async def test_the_account_must_be_chosen_among_several(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    second = await set_up_second_account(hass, gateway)

    with pytest.raises(ServiceValidationError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Which?")
    assert err.value.translation_key == "entry_required"
    await translated(hass, err.value)

    await send_sms(
        hass, config_entry_id=second.entry_id, recipients=[MOTHER], message="Hi"
    )
    assert gateway.requests_to("send")[0].form["key"] == "second-key"
    assert gateway.requests_to("send")[0].form["sender"] == "smsoffice"

    # Names are those of the chosen account: the second one has none saved.
    with pytest.raises(ServiceValidationError) as err:
        await send_sms(
            hass, config_entry_id=second.entry_id, recipients=["Mother"], message="x"
        )
    assert err.value.translation_key == "invalid_number"


async def test_unknown_or_unloaded_account(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await send_sms(hass, config_entry_id="nope", recipients=[MOTHER], message="Hi")
    assert err.value.translation_key == "entry_not_found"
    assert err.value.translation_placeholders == {"entry_id": "nope"}
    await translated(hass, err.value)

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as err:
        await send_sms(
            hass,
            config_entry_id=loaded_entry.entry_id,
            recipients=[MOTHER],
            message="x",
        )
    assert err.value.translation_key == "entry_not_loaded"
    await translated(hass, err.value)
    with pytest.raises(ServiceValidationError) as err:
        await send_sms(hass, recipients=[MOTHER], message="x")
    assert err.value.translation_key == "no_loaded_entry"
    await translated(hass, err.value)
    assert gateway.requests_to("send") == []


# ------------------------------------------------------- gateway refusals


async def test_balance_too_low_raises_and_opens_the_repair(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    issue_id = ISSUE_LOW_BALANCE.format(entry_id=loaded_entry.entry_id)
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    gateway.balance = 1

    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER, GUARD], message="Two credits")
    assert err.value.translation_key == "balance_too_low"
    assert err.value.translation_placeholders == {
        "code": "20",
        "message": "Balance is insufficient",
    }
    await translated(hass, err.value)
    assert registry.async_get_issue(DOMAIN, issue_id) is not None
    assert len(gateway.requests_to("send")) == 1
    assert gateway.messages == []
    assert len(loaded_entry.runtime_data.tracker.outbox) == 0


@pytest.mark.parametrize(
    ("setup", "data", "key", "code"),
    [
        (lambda gw: None, {"sender": "Unknown"}, "sender_rejected", "150"),
        (lambda gw: gw.stoplist.add(MOTHER), {}, "recipients_rejected", "75"),
    ],
)
async def test_gateway_refusals(
    hass: HomeAssistant,
    *,
    gateway: FakeSmsOffice,
    setup: Any,
    data: dict[str, Any],
    key: str,
    code: str,
) -> None:
    setup(gateway)
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Hi", **data)
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == key
    assert err.value.translation_placeholders is not None
    assert err.value.translation_placeholders["code"] == code
    assert code in await translated(hass, err.value)
    assert len(gateway.requests_to("send")) == 1
    assert gateway.messages == []
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


async def test_rejected_key_starts_reauthentication(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    """A key the gateway rejects (API access off is a repair: see test_init)."""
    gateway.api_keys.clear()
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Hi")
    assert err.value.translation_key == "auth_failed"
    message = await translated(hass, err.value)
    assert API_KEY not in message
    assert API_KEY not in str(err.value.translation_placeholders)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == loaded_entry.entry_id
    assert len(gateway.requests_to("send")) == 1


async def test_unreachable_gateway(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    no_retry_delay: None,
) -> None:
    await gateway.stop()
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Hi")
    assert err.value.translation_key == "cannot_connect"
    assert API_KEY not in await translated(hass, err.value)
    assert len(loaded_entry.runtime_data.tracker.outbox) == 0


@pytest.mark.parametrize("fault", ["html", "invalid_json", "http500", "empty"])
async def test_unexpected_answer_may_have_sent(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    no_retry_delay: None,
    fault: str,
) -> None:
    gateway.inject(fault, endpoint="send")
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER, GUARD], message="Hi")
    assert err.value.translation_key == "invalid_response"
    assert err.value.translation_placeholders is not None
    reference = err.value.translation_placeholders["reference"]
    assert reference in await translated(hass, err.value)
    assert only_send(gateway)["reference"] == reference  # not sent again
    outbox = loaded_entry.runtime_data.tracker.outbox
    for number in (MOTHER, GUARD):
        record = outbox.get(reference, number)
        assert record is not None
        assert record.maybe_sent


@FEW_AND_MANY
async def test_maybe_sent_records_the_numbers_checked_once(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    no_retry_delay: None,
    blocks: int,
) -> None:
    recipients, expected = recipients_and_expected(blocks)
    # A send that goes through, then one that may have: each input read as often.
    accepted, reads_accepted = spies(recipients)
    await send_sms(hass, recipients=accepted, message="Hi", skip_invalid=True)
    gateway.inject("html", endpoint="send")
    maybe, reads_maybe = spies(recipients)
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=maybe, message="Hi", skip_invalid=True)

    assert err.value.translation_key == "invalid_response"
    assert sorted(text for text, _ in reads_maybe) == sorted(
        text for text, _ in reads_accepted
    )
    checked_elsewhere = {thread for _, thread in reads_maybe} - {
        threading.get_ident()  # the event loop's
    }
    assert bool(checked_elsewhere) is (blocks > 1)  # in a worker thread
    assert err.value.translation_placeholders is not None
    reference = err.value.translation_placeholders["reference"]
    assert gateway.requests_to("send")[-1].form["destination"] == ",".join(
        expected.valid
    )
    outbox = loaded_entry.runtime_data.tracker.outbox
    assert len(outbox) == 2 * len(expected.valid)
    for number in expected.valid:
        record = outbox.get(reference, number)
        assert record is not None
        assert record.maybe_sent


async def test_connection_broken_after_sending_may_have_sent(
    hass: HomeAssistant, gateway: FakeSmsOffice, no_retry_delay: None
) -> None:
    gateway.inject("reset", endpoint="send")
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Hi")
    assert err.value.translation_key == "maybe_sent"
    assert len(gateway.requests_to("send")) == 1


async def test_timeout_after_sending_is_maybe_sent_and_not_repeated(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    no_retry_delay: None,
) -> None:
    # The client waits 15 s by default; the fake holds this answer for 3 s.
    loaded_entry.runtime_data.client._timeout = aiohttp.ClientTimeout(total=0.5)
    gateway.inject("slow", endpoint="send")
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Hi", reference="slow-1")
    assert err.value.translation_key == "maybe_sent"
    assert err.value.translation_placeholders is not None
    assert err.value.translation_placeholders["reference"] == "slow-1"
    assert "slow-1" in await translated(hass, err.value)
    assert len(gateway.requests_to("send")) == 1
    record = loaded_entry.runtime_data.tracker.outbox.get("slow-1", MOTHER)
    assert record is not None
    assert record.maybe_sent
    # The same reference cannot be sent again by mistake.
    with pytest.raises(ServiceValidationError):
        await send_sms(hass, recipients=[MOTHER], message="Hi", reference="slow-1")
    assert len(gateway.requests_to("send")) == 1


async def test_temporary_delay_is_retried_once_accepted(
    hass: HomeAssistant, gateway: FakeSmsOffice, no_retry_delay: None
) -> None:
    gateway.inject("temporary", endpoint="send")
    response = await send_sms(hass, recipients=[MOTHER], message="Hi")
    sends = gateway.requests_to("send")
    assert len(sends) == 2  # -100: the gateway did not accept the first one
    assert {r.form["reference"] for r in sends} == {response["reference"]}
    assert len(gateway.messages) == 1


async def test_gateway_busy_after_retries(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    no_retry_delay: None,
) -> None:
    gateway.inject("temporary", count=3, endpoint="send")
    with pytest.raises(HomeAssistantError) as err:
        await send_sms(hass, recipients=[MOTHER], message="Hi")
    assert err.value.translation_key == "gateway_busy"
    assert err.value.translation_placeholders == {
        "code": "-100",
        "message": "Temporary delay",
    }
    await translated(hass, err.value)
    assert len(gateway.requests_to("send")) == 3
    assert gateway.messages == []
    assert len(loaded_entry.runtime_data.tracker.outbox) == 0


async def test_unknown_error_families(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    err = handle_gateway_error(hass, loaded_entry, SmsOfficeUnknownCodeError(999, ""))
    assert err.translation_key == "gateway_error"
    assert err.translation_placeholders == {"code": "999", "message": "-"}
    err = handle_gateway_error(hass, loaded_entry, SmsOfficeError("new kind"))
    assert err.translation_key == "gateway_error"
    assert err.translation_placeholders == {"code": "-", "message": "new kind"}
    await translated(hass, err)
    # A naive time is read as local time before it gets here; the client's
    # own check still has a translated error.
    invalid = validation_error(InvalidScheduleError("no time zone"))
    assert invalid.translation_key == "invalid_schedule"
    assert "no time zone" in await translated(hass, invalid)


async def test_a_send_refreshes_the_balance(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    await send_sms(hass, recipients=[MOTHER, GUARD], message="Hi")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(gateway.requests_to("balance")) == 2  # setup, then after sending
    state = hass.states.get("sensor.sms_office_homealarm_balance")
    assert state is not None
    assert state.state == "998"


# -------------------------------------------------------------------- scale


async def test_ten_thousand_recipients_in_one_call(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    gateway.balance = 20_000
    numbers = [f"99559{i:07d}" for i in range(9_000)]
    # Some typed the Georgian way.
    typed = [f"5 7{i:03d} 12 34" for i in range(500)] + [
        f"+995 57{i:03d}5678" for i in range(500)
    ]
    # The fake starts one delivery task per destination; in asyncio's debug
    # mode (on in these tests) each task and callback records its stack, which
    # makes the fake, not the integration, take seconds for 10,000 of them.
    debug = hass.loop.get_debug()
    hass.loop.set_debug(False)
    try:
        started = time.monotonic()
        response = await send_sms(
            hass, recipients=[*numbers, *typed], message="Storm warning"
        )
        elapsed = time.monotonic() - started
    finally:
        hass.loop.set_debug(debug)

    assert len(response["recipients"]) == 10_000
    assert response["recipients"][:9_000] == numbers
    assert response["recipients"][9_000] == "995570001234"
    assert response["recipients"][-1] == "995574995678"
    assert response["rejected"] == []
    assert response["credits"] == 10_000
    form = only_send(gateway)  # one POST, nothing in the URL
    assert form["destination"].split(",") == response["recipients"]
    assert len(gateway.messages[0].destinations) == 10_000
    assert len(loaded_entry.runtime_data.tracker.outbox) == 10_000
    assert gateway.requests_to("status") == []
    assert elapsed < 10


# ----------------------------------------------------------------- estimate


async def test_estimate_sends_nothing(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    before = len(gateway.requests)
    response = await call_action(hass, "estimate", message="გამარჯობა! " * 7)
    assert response == {
        "encoding": "UCS-2",
        "characters": 77,
        "parts": 2,
        "per_part": 67,
        "recipients": 1,
        "credits": 2,
        # Beside: the same text in Latin letters.
        "transliterated": {
            "message": "gamarjoba! " * 7,
            "encoding": "GSM-7",
            "characters": 77,
            "parts": 1,
            "credits": 1,
        },
    }

    response = await call_action(
        hass,
        "estimate",
        message="a" * 161,
        recipients=["Mother", "Night guard", "555112233"],
    )
    assert (response["encoding"], response["parts"]) == ("GSM-7", 2)
    assert (response["recipients"], response["credits"]) == (3, 6)
    assert len(gateway.requests) == before


async def test_estimate_counts_many_recipients_once_each(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    raw, valid, expected = many_usable()
    before = len(gateway.requests)

    response = await call_action(
        hass, "estimate", message="Hi", recipients=["Mother", *valid]
    )
    assert response["recipients"] == len(expected.valid) + 1
    assert response["credits"] == len(expected.valid) + 1

    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "estimate", message="Hi", recipients=raw)
    assert err.value.translation_key == "invalid_number"
    assert err.value.translation_placeholders == {
        "numbers": ", ".join(expected.invalid)
    }
    assert len(gateway.requests) == before


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("estimate", {"message": "x" * 1001}, "invalid_content"),
        (
            "estimate",
            {"message": "Hi", "recipients": ["Mother", "Aunt"]},
            "invalid_number",
        ),
        (
            "get_message_status",
            {"reference": "r" * 21, "destinations": [MOTHER]},
            "invalid_reference",
        ),
        (
            "get_message_status",
            {"reference": "r1", "destinations": ["Mother", "Aunt"]},
            "invalid_number",
        ),
    ],
)
async def test_estimate_and_get_message_status_refuse_invalid_input(
    hass: HomeAssistant,
    *,
    gateway: FakeSmsOffice,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    before = len(gateway.requests)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, service, **data)
    assert err.value.translation_key == key
    await translated(hass, err.value)
    assert len(gateway.requests) == before


# ------------------------------------------------------- get_message_status


async def test_get_message_status_updates_the_outbox(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, gateway: FakeSmsOffice
) -> None:
    gateway.set_outcome(GUARD, "undelivered")
    await send_sms(
        hass, recipients=["Mother", "Night guard"], message="Hi", reference="r1"
    )
    await hass.async_block_till_done()  # the fake settles the messages
    events = []
    hass.bus.async_listen(EVENT_DELIVERY_STATUS, events.append)

    response = await call_action(
        hass,
        "get_message_status",
        reference="r1",
        destinations=["Mother", "+995 577 65 43 21", OTHER],
    )
    statuses = response["statuses"]
    assert response["reference"] == "r1"
    assert [(s["destination"], s["status"]) for s in statuses] == [
        (MOTHER, "delivered"),
        (GUARD, "undelivered"),
        (OTHER, "unknown"),
    ]
    requests = gateway.requests_to("status")
    assert [r.query["destination"] for r in requests] == [MOTHER, GUARD, OTHER]
    assert all(r.method == "GET" for r in requests)

    outbox = loaded_entry.runtime_data.tracker.outbox
    assert outbox.get("r1", MOTHER).status == "delivered"
    assert outbox.get("r1", GUARD).status == "undelivered"
    assert outbox.get("r1", OTHER) is None
    await hass.async_block_till_done()
    assert [(e.data["destination"], e.data["status"]) for e in events] == [
        (MOTHER, "delivered"),
        (GUARD, "undelivered"),
    ]


async def test_get_message_status_of_a_foreign_number(
    hass: HomeAssistant, gateway: FakeSmsOffice
) -> None:
    """A number abroad is asked about in the form it was sent to (it once failed)."""
    await send_sms(hass, recipients=["+44 7911 123456"], message="Hi", reference="r2")
    await hass.async_block_till_done()

    response = await call_action(
        hass, "get_message_status", reference="r2", destinations=["+44 7911 123456"]
    )
    assert response["statuses"] == [
        {"destination": "447911123456", "status": "delivered"}
    ]
    assert [r.query["destination"] for r in gateway.requests_to("status")] == [
        "447911123456"
    ]


async def test_get_message_status_failures(
    hass: HomeAssistant, gateway: FakeSmsOffice, no_retry_delay: None
) -> None:
    call = {"reference": "r1", "destinations": [MOTHER]}
    gateway.inject("html", endpoint="status")
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "get_message_status", **call)
    assert err.value.translation_key == "status_failed"
    assert "not JSON" in await translated(hass, err.value)

    gateway.api_keys.clear()
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "get_message_status", **call)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
