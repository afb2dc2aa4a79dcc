"""Client of the smsoffice.ge SMS gateway (no Home Assistant imports).

The integration's subpackage `client`, and the same files are the package
`smsoffice-client` (import name `smsoffice_client`): see pyproject.toml and
README.md in this folder. Modules here import one another relatively only.
"""

from .client import DEFAULT_BASE_URL, SmsOfficeClient
from .errors import (
    InvalidContentError,
    InvalidNumberError,
    InvalidReferenceError,
    InvalidScheduleError,
    InvalidSenderError,
    SmsOfficeApiAccessDisabledError,
    SmsOfficeApiError,
    SmsOfficeAuthenticationError,
    SmsOfficeBalanceError,
    SmsOfficeConnectionError,
    SmsOfficeContentError,
    SmsOfficeError,
    SmsOfficeRecipientError,
    SmsOfficeResponseError,
    SmsOfficeSenderError,
    SmsOfficeTemporaryError,
    SmsOfficeUnknownCodeError,
    SmsOfficeValidationError,
)
from .models import DeliveryStatus, SendResult
from .numbers import (
    NumberCheck,
    async_check_numbers,
    check_numbers,
    load_number_metadata,
    normalise_number,
)
from .segments import Encoding, SegmentEstimate, estimate_parts
from .transliteration import has_georgian_letters, transliterate
from .validation import (
    MAX_CONTENT_LENGTH,
    MAX_REFERENCE_LENGTH,
    check_content,
    check_reference,
    check_schedule,
    check_sender,
    new_reference,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_CONTENT_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "DeliveryStatus",
    "Encoding",
    "InvalidContentError",
    "InvalidNumberError",
    "InvalidReferenceError",
    "InvalidScheduleError",
    "InvalidSenderError",
    "NumberCheck",
    "SegmentEstimate",
    "SendResult",
    "SmsOfficeApiAccessDisabledError",
    "SmsOfficeApiError",
    "SmsOfficeAuthenticationError",
    "SmsOfficeBalanceError",
    "SmsOfficeClient",
    "SmsOfficeConnectionError",
    "SmsOfficeContentError",
    "SmsOfficeError",
    "SmsOfficeRecipientError",
    "SmsOfficeResponseError",
    "SmsOfficeSenderError",
    "SmsOfficeTemporaryError",
    "SmsOfficeUnknownCodeError",
    "SmsOfficeValidationError",
    "async_check_numbers",
    "check_content",
    "check_numbers",
    "check_reference",
    "check_schedule",
    "check_sender",
    "estimate_parts",
    "has_georgian_letters",
    "load_number_metadata",
    "new_reference",
    "normalise_number",
    "transliterate",
]
