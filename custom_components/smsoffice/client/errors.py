"""Errors of the smsoffice.ge client.

Every gateway error code maps to one family below; each error carries the code
and the gateway's own message. Checks made before any request raise
`SmsOfficeValidationError` subclasses naming the bad value. No error text ever
contains the API key.
"""

from __future__ import annotations


class SmsOfficeError(Exception):
    """Base of every error this client raises."""


class SmsOfficeValidationError(SmsOfficeError):
    """A value was refused before any request was made."""


class InvalidNumberError(SmsOfficeValidationError):
    """One or more phone numbers cannot be used."""

    def __init__(self, invalid: list[str]) -> None:
        """Keep the inputs that were refused."""
        self.invalid = invalid
        super().__init__(f"Invalid phone number(s): {', '.join(invalid)}")


class InvalidSenderError(SmsOfficeValidationError):
    """The sender name is not 1-11 of A-Z, a-z, 0-9, dot and dash."""

    def __init__(self, sender: str) -> None:
        """Keep the refused sender."""
        self.sender = sender
        super().__init__(
            f"Invalid sender {sender!r}: use 1 to 11 letters, digits, dots or dashes"
        )


class InvalidContentError(SmsOfficeValidationError):
    """The text is empty or longer than the gateway accepts."""

    def __init__(self, length: int, maximum: int) -> None:
        """Keep the length that was refused."""
        self.length = length
        self.maximum = maximum
        super().__init__(
            f"Message has {length} characters; it must have 1 to {maximum}"
        )


class InvalidReferenceError(SmsOfficeValidationError):
    """The reference is empty or longer than 20 characters."""

    def __init__(self, reference: str) -> None:
        """Keep the refused reference."""
        self.reference = reference
        super().__init__(
            f"Invalid reference {reference!r}: it must have 1 to 20 characters"
        )


class InvalidScheduleError(SmsOfficeValidationError):
    """The scheduled time is in the past or has no time zone."""


class SmsOfficeApiError(SmsOfficeError):
    """The gateway answered with an error code."""

    def __init__(self, code: int, gateway_message: str) -> None:
        """Keep the code and the gateway's message."""
        self.code = code
        self.gateway_message = gateway_message
        super().__init__(
            f"smsoffice.ge error {code}: {gateway_message or 'no message'}"
        )


class SmsOfficeAuthenticationError(SmsOfficeApiError):
    """The key is missing or rejected (80, 500), or API access is off (120)."""


class SmsOfficeApiAccessDisabledError(SmsOfficeAuthenticationError):
    """API access is disabled for the account (120)."""


class SmsOfficeBalanceError(SmsOfficeApiError):
    """The balance is too low for the message (20)."""


class SmsOfficeRecipientError(SmsOfficeApiError):
    """No usable destination: invalid, empty or stop-listed (10, 70, 75-77, 600)."""


class SmsOfficeSenderError(SmsOfficeApiError):
    """The sender is missing, unclear or not approved (110, 150, 700)."""


class SmsOfficeContentError(SmsOfficeApiError):
    """The content is missing or too long (40, 60, 800)."""


class SmsOfficeTemporaryError(SmsOfficeApiError):
    """The gateway asked to try again later (-100)."""


class SmsOfficeUnknownCodeError(SmsOfficeApiError):
    """An error code this client does not know."""


class SmsOfficeConnectionError(SmsOfficeError):
    """The gateway could not be reached, or did not answer in time.

    `maybe_sent` is true when the request may have reached the gateway: a send
    that failed this way must not be repeated blindly.
    """

    def __init__(self, detail: str, *, maybe_sent: bool) -> None:
        """Keep whether the request may have arrived."""
        self.maybe_sent = maybe_sent
        super().__init__(detail)


class SmsOfficeResponseError(SmsOfficeError):
    """The gateway's answer could not be understood (HTML, empty, not JSON...)."""


ERROR_FAMILIES: dict[int, type[SmsOfficeApiError]] = {
    80: SmsOfficeAuthenticationError,
    120: SmsOfficeApiAccessDisabledError,
    500: SmsOfficeAuthenticationError,
    20: SmsOfficeBalanceError,
    10: SmsOfficeRecipientError,
    70: SmsOfficeRecipientError,
    75: SmsOfficeRecipientError,
    76: SmsOfficeRecipientError,
    77: SmsOfficeRecipientError,
    600: SmsOfficeRecipientError,
    110: SmsOfficeSenderError,
    150: SmsOfficeSenderError,
    700: SmsOfficeSenderError,
    40: SmsOfficeContentError,
    60: SmsOfficeContentError,
    800: SmsOfficeContentError,
    -100: SmsOfficeTemporaryError,
}


def error_for_code(code: int, gateway_message: str) -> SmsOfficeApiError:
    """Return the typed error for a gateway error code."""
    return ERROR_FAMILIES.get(code, SmsOfficeUnknownCodeError)(code, gateway_message)
