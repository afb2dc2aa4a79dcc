"""Config flow: the account, re-authentication, reconfiguration, options, recipients."""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .client import (
    DEFAULT_BASE_URL,
    InvalidNumberError,
    InvalidSenderError,
    SmsOfficeApiAccessDisabledError,
    SmsOfficeAuthenticationError,
    SmsOfficeConnectionError,
    SmsOfficeError,
    check_sender,
    normalise_number,
)
from .client_factory import create_client
from .const import (
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
    DEFAULT_ACCEPT_FOREIGN,
    DEFAULT_DAILY_CREDIT_LIMIT,
    DEFAULT_DUPLICATE_WINDOW,
    DEFAULT_FLASH,
    DEFAULT_LOW_BALANCE,
    DEFAULT_TRANSLITERATE,
    DEFAULT_URGENT,
    DOMAIN,
    LOGGER,
    MAX_DUPLICATE_WINDOW,
    SECTION_ADVANCED,
    SUBENTRY_RECIPIENT,
)
from .coordinator import SmsOfficeConfigEntry
from .webhook import webhook_url

PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
TEXT = TextSelector()
URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
PHONE = TextSelector(TextSelectorConfig(type=TextSelectorType.TEL))


def account_id(api_key: str) -> str:
    """Return the entry's unique id: a hash of the key, never the key itself."""
    return hashlib.sha256(api_key.strip().encode()).hexdigest()


def _account_input(
    user_input: dict[str, Any], current_key: str = ""
) -> tuple[str, str, str]:
    """Return the key, sender and gateway address of the account form, tidied.

    A key left empty is `current_key` (reconfigure keeps the saved key).
    """
    return (
        user_input.get(CONF_API_KEY, "").strip() or current_key,
        user_input[CONF_SENDER].strip(),
        user_input[SECTION_ADVANCED][CONF_BASE_URL].strip().rstrip("/"),
    )


async def _account_errors(
    hass: HomeAssistant, api_key: str, sender: str, base_url: str
) -> dict[str, str]:
    """Check the sender's form, then the key live; return the form's errors."""
    errors: dict[str, str] = {}
    try:
        check_sender(sender)
    except InvalidSenderError:
        errors[CONF_SENDER] = "invalid_sender"
    else:
        if error := await _check_account(hass, api_key, base_url):
            errors["base"] = error
    return errors


async def _check_account(
    hass: HomeAssistant, api_key: str, base_url: str
) -> str | None:
    """Check the key live with getBalance; return a form error key, or None."""
    client = create_client(hass, {CONF_API_KEY: api_key, CONF_BASE_URL: base_url})
    try:
        await client.get_balance()
    except SmsOfficeApiAccessDisabledError:
        return "api_access_disabled"
    except SmsOfficeAuthenticationError:
        return "invalid_auth"
    except SmsOfficeConnectionError:
        return "cannot_connect"
    except SmsOfficeError:
        # The client turns every failure into one of its errors (fuzz-tested):
        # nothing else is caught here, so a bug shows with its traceback.
        return "invalid_response"
    return None


async def _async_create_cloudhook(hass: HomeAssistant, webhook_id: str) -> str | None:
    """Return a Home Assistant Cloud webhook URL, when a subscription is active."""
    if "cloud" not in hass.config.components:
        return None
    # Imported only when loaded: it pulls in much of Home Assistant.
    from homeassistant.components import cloud  # noqa: PLC0415

    if not cloud.async_active_subscription(hass):
        return None
    try:
        return await cloud.async_create_cloudhook(hass, webhook_id)
    except cloud.CloudNotAvailable:  # also CloudNotConnected
        LOGGER.debug("Home Assistant Cloud not connected: no cloudhook was made")
        return None


def _account_schema(*, key_required: bool = True) -> vol.Schema:
    """Return the form of the account: key, sender and, folded, the address.

    Reconfigure leaves the key optional: left empty, the saved key is kept.
    """
    key = vol.Required(CONF_API_KEY) if key_required else vol.Optional(CONF_API_KEY)
    return vol.Schema(
        {
            key: PASSWORD,
            vol.Required(CONF_SENDER): TEXT,
            vol.Required(SECTION_ADVANCED): section(
                vol.Schema(
                    {vol.Required(CONF_BASE_URL, default=DEFAULT_BASE_URL): URL}
                ),
                {"collapsed": True},
            ),
        }
    )


class SmsOfficeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an smsoffice.ge account."""

    VERSION = 1
    # 1.2: no balance interval option (see async_migrate_entry).
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: SmsOfficeConfigEntry,
    ) -> SmsOfficeOptionsFlow:
        """Return the options flow."""
        return SmsOfficeOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: SmsOfficeConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Recipients are saved under the entry."""
        return {SUBENTRY_RECIPIENT: RecipientSubentryFlow}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the API key and sender, and check the key live."""
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key, sender, base_url = _account_input(user_input)
            await self.async_set_unique_id(account_id(api_key))
            self._abort_if_unique_id_configured()
            errors = await _account_errors(self.hass, api_key, sender, base_url)
            if not errors:
                data = {
                    CONF_API_KEY: api_key,
                    CONF_SENDER: sender,
                    CONF_BASE_URL: base_url,
                    CONF_WEBHOOK_ID: webhook.async_generate_id(),
                }
                if cloudhook := await _async_create_cloudhook(
                    self.hass, data[CONF_WEBHOOK_ID]
                ):
                    data[CONF_CLOUDHOOK_URL] = cloudhook
                # Reachable: a cloudhook or an external URL. Otherwise delivery
                # reports cannot arrive, and statuses are polled instead.
                url, reachable = webhook_url(self.hass, data)
                return self.async_create_entry(
                    title=f"SMS Office {sender}",
                    data=data,
                    options={
                        CONF_URGENT: DEFAULT_URGENT,
                        CONF_FLASH: DEFAULT_FLASH,
                        CONF_LOW_BALANCE: DEFAULT_LOW_BALANCE,
                        CONF_STATUS_POLLING: not reachable,
                        CONF_ACCEPT_FOREIGN: DEFAULT_ACCEPT_FOREIGN,
                    },
                    description="webhook_reachable"
                    if reachable
                    else "webhook_unreachable",
                    description_placeholders={"webhook_url": url},
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _account_schema(), user_input
            ),
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start re-authentication: the gateway rejected the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input[CONF_API_KEY].strip()
            if self._key_used_elsewhere(entry, api_key):
                return self.async_abort(reason="already_configured")
            if error := await _check_account(
                self.hass, api_key, entry.data[CONF_BASE_URL]
            ):
                errors["base"] = error
            else:
                return self._update_entry(
                    entry, {**entry.data, CONF_API_KEY: api_key}, "reauth_successful"
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_API_KEY): PASSWORD}),
            errors=errors,
            description_placeholders={"title": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the key, the sender or the gateway's address.

        The saved key is never sent back to the browser: the key field starts
        empty, and left empty the saved key is kept (and checked again).
        """
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key, sender, base_url = _account_input(
                user_input, entry.data[CONF_API_KEY]
            )
            if self._key_used_elsewhere(entry, api_key):
                return self.async_abort(reason="already_configured")
            errors = await _account_errors(self.hass, api_key, sender, base_url)
            if not errors:
                data = {
                    **entry.data,
                    CONF_API_KEY: api_key,
                    CONF_SENDER: sender,
                    CONF_BASE_URL: base_url,
                }
                return self._update_entry(entry, data, "reconfigure_successful")
        # Never a key: neither the saved one nor one typed (it may be the same).
        suggested = {
            key: value
            for key, value in (
                user_input
                or {
                    CONF_SENDER: entry.data[CONF_SENDER],
                    SECTION_ADVANCED: {CONF_BASE_URL: entry.data[CONF_BASE_URL]},
                }
            ).items()
            if key != CONF_API_KEY
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _account_schema(key_required=False), suggested
            ),
            errors=errors,
        )

    def _key_used_elsewhere(self, entry: ConfigEntry, api_key: str) -> bool:
        """Return whether another entry already uses this key."""
        unique_id = account_id(api_key)
        return any(
            other.unique_id == unique_id
            for other in self._async_current_entries(include_ignore=False)
            if other.entry_id != entry.entry_id
        )

    def _update_entry(
        self, entry: ConfigEntry, data: dict[str, Any], reason: str
    ) -> ConfigFlowResult:
        """Save the account's new data and finish; the entry reloads once with it.

        An entry that is not loaded (its set-up failed, or waits to retry) has no
        update listener: `async_update_reload_and_abort` saves and reloads it.
        A loaded entry has one (it reloads on any change: options, recipients),
        and the newest releases deprecate `async_update_reload_and_abort` next to
        it: the listener reloads it when the data changed, and when nothing
        changed (the same key after a rejection, which stopped polling) it is
        reloaded here.
        """
        unique_id = account_id(data[CONF_API_KEY])
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_update_reload_and_abort(
                entry, data=data, unique_id=unique_id, reason=reason
            )
        if not self.hass.config_entries.async_update_entry(
            entry, data=data, unique_id=unique_id
        ):
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(reason=reason)


class SmsOfficeOptionsFlow(OptionsFlow):
    """Defaults for sending, the low-balance threshold, status polling, cost control.

    The balance is polled at a fixed interval (`BALANCE_INTERVAL`): no option.
    Saved options reload the entry through its update listener, on every
    supported release (`OptionsFlowWithReload`, which 2025.4 lacks, refuses an
    entry with an update listener, which the recipients need).
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the options, and the callback URL to paste in the profile."""
        if user_input is not None:
            # Number selectors answer floats: keep whole numbers. Keys as
            # strings: newer releases' schemas fill defaults under their markers.
            return self.async_create_entry(
                data={
                    **{str(key): value for key, value in user_input.items()},
                    CONF_LOW_BALANCE: int(user_input[CONF_LOW_BALANCE]),
                    CONF_DAILY_CREDIT_LIMIT: int(user_input[CONF_DAILY_CREDIT_LIMIT]),
                    CONF_DUPLICATE_WINDOW: int(user_input[CONF_DUPLICATE_WINDOW]),
                }
            )
        options = self.config_entry.options
        url, reachable = webhook_url(self.hass, self.config_entry.data)
        # The numbers' units are in their labels, which are translated: a number
        # selector's own unit is shown as written (untranslated on 2025.4).
        schema = vol.Schema(
            {
                vol.Required(CONF_URGENT, default=DEFAULT_URGENT): bool,
                vol.Required(CONF_FLASH, default=DEFAULT_FLASH): bool,
                vol.Required(
                    CONF_LOW_BALANCE, default=DEFAULT_LOW_BALANCE
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=100000, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
                vol.Required(CONF_STATUS_POLLING, default=not reachable): bool,
                vol.Required(CONF_ACCEPT_FOREIGN, default=DEFAULT_ACCEPT_FOREIGN): bool,
                # Cost control.
                vol.Required(CONF_TRANSLITERATE, default=DEFAULT_TRANSLITERATE): bool,
                vol.Required(
                    CONF_DAILY_CREDIT_LIMIT, default=DEFAULT_DAILY_CREDIT_LIMIT
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=1000000, step=1, mode=NumberSelectorMode.BOX
                    )
                ),
                vol.Required(
                    CONF_DUPLICATE_WINDOW, default=DEFAULT_DUPLICATE_WINDOW
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=0,
                        max=MAX_DUPLICATE_WINDOW,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, options),
            description_placeholders={"webhook_url": url},
        )


class RecipientSubentryFlow(ConfigSubentryFlow):
    """A saved recipient: a name and a number, with its own notify entity.

    Adding, changing or removing one reloads the entry through its update
    listener: Home Assistant reloads nothing for a recipient added or removed,
    and its `async_update_reload_and_abort` for a changed one (not in 2025.4)
    refuses an entry with an update listener.
    """

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a recipient."""
        return await self._async_step_recipient("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a recipient."""
        return await self._async_step_recipient("reconfigure", user_input)

    async def _async_step_recipient(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        # Who already has the number typed, for the number_taken error.
        holder = ""
        editing = self._get_reconfigure_subentry() if step_id == "reconfigure" else None
        if user_input is not None:
            entry = self._get_entry()
            others = _other_recipients(entry, editing)
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "invalid_name"
            elif any(_same_name(other, name) for other in others):
                errors[CONF_NAME] = "name_taken"
            try:
                number = normalise_number(user_input[CONF_NUMBER])
            except InvalidNumberError:
                errors[CONF_NUMBER] = "invalid_number"
            else:
                if taken := next((o for o in others if o.unique_id == number), None):
                    errors[CONF_NUMBER] = "number_taken"
                    holder = str(taken.data[CONF_NAME])
            if not errors:
                data = {CONF_NAME: name, CONF_NUMBER: number}
                if editing is None:
                    return self.async_create_entry(
                        title=name, data=data, unique_id=number
                    )
                return self.async_update_and_abort(
                    entry, editing, title=name, data=data, unique_id=number
                )
        suggested = user_input or (dict(editing.data) if editing else None)
        schema = vol.Schema(
            {vol.Required(CONF_NAME): TEXT, vol.Required(CONF_NUMBER): PHONE}
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            # The frontend shows the errors with these too: always give them.
            description_placeholders={"recipient": holder},
        )


def _other_recipients(
    entry: ConfigEntry, editing: ConfigSubentry | None
) -> list[ConfigSubentry]:
    """Return the entry's saved recipients, but the one being edited."""
    return [
        sub
        for sub in entry.subentries.values()
        if sub.subentry_type == SUBENTRY_RECIPIENT
        and (editing is None or sub.subentry_id != editing.subentry_id)
    ]


def _same_name(recipient: ConfigSubentry, name: str) -> bool:
    """Return whether a saved recipient is called `name`, ignoring case and spaces."""
    return str(recipient.data[CONF_NAME]).strip().casefold() == name.casefold()
