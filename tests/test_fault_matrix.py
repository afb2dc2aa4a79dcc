"""Every fault the fake gateway can inject, through every way to send.

Ways: the recipient's notify entity (`notify.send_message` on
`notify.sms_office_homealarm_mother`), the legacy `notify.sms_office_homealarm`
action with a target, and `smsoffice.send_sms`.

For each fault the caller gets the specified translated error, the gateway
sees no duplicate request (exactly one for a fault that may have sent the
message; exactly retries + 1 for the gateway's -100 "temporary delay", which
accepted nothing), and the entry stays loaded and healthy: a normal send
through the same way succeeds afterwards.

Faults are injected on the send endpoint only. Retries are made at once
(`client._retry_delay = 0`). For "slow", the client's timeout is shortened to
0.5 s (`loaded_entry.runtime_data.client._timeout`) while the fake holds the
answer for 2 s (`gateway.slow_seconds`); the timeout is restored before the
send that checks the entry is healthy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from string import Formatter
from typing import Final

import aiohttp
from homeassistant.components.notify import (
    ATTR_MESSAGE,
    ATTR_TARGET,
    DOMAIN as NOTIFY_DOMAIN,
    SERVICE_SEND_MESSAGE,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smsoffice.const import DOMAIN
from tests.conftest import MOTHER
from tests.fake_smsoffice import FakeSmsOffice
from tests.fake_smsoffice.server import FAULTS

MOTHER_ENTITY: Final = "notify.sms_office_homealarm_mother"
LEGACY_SERVICE: Final = "sms_office_homealarm"
WAYS: Final = ("entity", "legacy", "send_sms")
CLIENT_TIMEOUT: Final = 0.5
SLOW_SECONDS: Final = 2.0  # longer than CLIENT_TIMEOUT


@dataclass(frozen=True, slots=True)
class Case:
    """A fault, how many times it is injected, and what the caller must get."""

    id: str
    fault: str
    count: Callable[[int], int]  # of the client's retries
    key: str | None  # the translation key, None for a successful send
    requests: Callable[[int], int]  # send requests the gateway must see

    @property
    def may_have_sent(self) -> bool:
        """Whether the send failed in a way that may have sent it."""
        return self.key in ("maybe_sent", "invalid_response")


def once(_: int) -> int:
    return 1


CASES: Final = (
    Case("slow", "slow", once, "maybe_sent", once),
    Case("reset", "reset", once, "maybe_sent", once),
    Case("http500", "http500", once, "invalid_response", once),
    Case("html", "html", once, "invalid_response", once),
    Case("invalid_json", "invalid_json", once, "invalid_response", once),
    Case("empty", "empty", once, "invalid_response", once),
    Case(
        "temporary-beyond-retries",
        "temporary",
        lambda retries: retries + 1,
        "gateway_busy",
        lambda retries: retries + 1,
    ),
    Case("temporary-once", "temporary", once, None, lambda _: 2),
    Case(
        "temporary-all-retries",
        "temporary",
        lambda retries: retries,
        None,
        lambda retries: retries + 1,
    ),
)


async def send_by(hass: HomeAssistant, way: str, message: str) -> None:
    """Send `message` to Mother the way named `way`."""
    if way == "entity":
        await hass.services.async_call(
            NOTIFY_DOMAIN,
            SERVICE_SEND_MESSAGE,
            {ATTR_ENTITY_ID: MOTHER_ENTITY, ATTR_MESSAGE: message},
            blocking=True,
        )
    elif way == "legacy":
        await hass.services.async_call(
            NOTIFY_DOMAIN,
            LEGACY_SERVICE,
            {ATTR_MESSAGE: message, ATTR_TARGET: ["Mother"]},
            blocking=True,
        )
    else:
        await hass.services.async_call(
            DOMAIN,
            "send_sms",
            {"recipients": [MOTHER], "message": message},
            blocking=True,
            return_response=True,
        )


async def check_translation(hass: HomeAssistant, err: HomeAssistantError) -> str:
    """Return the English text of `err`, checking its placeholders are complete."""
    assert err.translation_domain == DOMAIN
    translations = await async_get_translations(hass, "en", "exceptions", {DOMAIN})
    key = f"component.{DOMAIN}.exceptions.{err.translation_key}.message"
    assert key in translations, key
    placeholders = err.translation_placeholders or {}
    needed = {name for _, name, _, _ in Formatter().parse(translations[key]) if name}
    assert needed <= placeholders.keys(), needed - placeholders.keys()
    return translations[key].format(**placeholders)


@pytest.fixture
async def entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The loaded entry, retrying at once; unloaded afterwards."""
    loaded_entry.runtime_data.client._retry_delay = 0
    yield loaded_entry
    if loaded_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(loaded_entry.entry_id)


def test_the_matrix_covers_every_fault() -> None:
    # "hold" is no misbehaviour: the request is answered normally once released.
    assert {case.fault for case in CASES} == set(FAULTS) - {"hold"}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_fault(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    gateway: FakeSmsOffice,
    case: Case,
    way: str,
) -> None:
    client = entry.runtime_data.client
    retries = client._retries
    timeout = client._timeout
    if case.fault == "slow":
        client._timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
        gateway.slow_seconds = SLOW_SECONDS
    gateway.inject(case.fault, case.count(retries), endpoint="send")

    if case.key is None:
        await send_by(hass, way, "After a short delay")
    else:
        with pytest.raises(HomeAssistantError) as raised:
            await send_by(hass, way, "Through a fault")
        err = raised.value
        assert not isinstance(err, ServiceValidationError)  # not the caller's fault
        assert err.translation_key == case.key
        await check_translation(hass, err)

    # No duplicate: one request, or the -100 retries of the same message.
    sends = gateway.requests_to("send")
    assert len(sends) == case.requests(retries)
    references = {request.form["reference"] for request in sends}
    assert len(references) == 1
    (reference,) = references
    assert len(gateway.messages) == (1 if case.key is None else 0)

    outbox = entry.runtime_data.tracker.outbox
    record = outbox.get(reference, MOTHER)
    if case.key is None:
        assert record is not None
        assert not record.maybe_sent
    elif case.may_have_sent:
        # Kept, so a delivery report or a status check can still settle it.
        assert err.translation_placeholders is not None
        assert err.translation_placeholders["reference"] == reference
        assert record is not None
        assert record.maybe_sent
    else:  # the gateway accepted nothing
        assert record is None

    # Still loaded and healthy: a normal send goes through, once.
    client._timeout = timeout
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await send_by(hass, way, "All is well again")
    await hass.async_block_till_done()
    sends = gateway.requests_to("send")
    assert len(sends) == case.requests(retries) + 1
    assert sends[-1].form["reference"] != reference
    assert gateway.messages[-1].reference == sends[-1].form["reference"]
    assert outbox.get(sends[-1].form["reference"], MOTHER) is not None
    assert entry.runtime_data.balance.last_update_success
    assert entry.state is ConfigEntryState.LOADED
