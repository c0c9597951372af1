"""ISO 18626 closed code lists, and a tolerant reading of what peers write for them.

Only the closed lists of the schema are enums; open code lists (service level, reason unfilled, agency id type...)
stay scheme/value pairs, as the standard intends.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar


class Version(StrEnum):
    """The two incompatible editions of the schema; the value is what the platform writes in `ill:version`."""

    V1_2 = "1.2"
    V2021 = "2021"


class MessageKind(StrEnum):
    """The six messages an `ISO18626Message` can carry, by element name."""

    REQUEST = "request"
    REQUEST_CONFIRMATION = "requestConfirmation"
    SUPPLYING_AGENCY_MESSAGE = "supplyingAgencyMessage"
    SUPPLYING_AGENCY_MESSAGE_CONFIRMATION = "supplyingAgencyMessageConfirmation"
    REQUESTING_AGENCY_MESSAGE = "requestingAgencyMessage"
    REQUESTING_AGENCY_MESSAGE_CONFIRMATION = "requestingAgencyMessageConfirmation"

    @property
    def confirmed_by(self) -> MessageKind | None:
        """The confirmation that answers this message (None for a confirmation)."""
        return None if self.value.endswith("Confirmation") else MessageKind(self.value + "Confirmation")


class Status(StrEnum):
    REQUEST_RECEIVED = "RequestReceived"
    EXPECT_TO_SUPPLY = "ExpectToSupply"
    WILL_SUPPLY = "WillSupply"
    LOANED = "Loaned"
    OVERDUE = "Overdue"
    RECALLED = "Recalled"
    RETRY_POSSIBLE = "RetryPossible"
    UNFILLED = "Unfilled"
    HOLD_RETURN = "HoldReturn"  # 2021 only
    RELEASE_HOLD_RETURN = "ReleaseHoldReturn"  # 2021 only
    COPY_COMPLETED = "CopyCompleted"
    LOAN_COMPLETED = "LoanCompleted"
    COMPLETED_WITHOUT_RETURN = "CompletedWithoutReturn"
    CANCELLED = "Cancelled"


class ReasonForMessage(StrEnum):
    REQUEST_RESPONSE = "RequestResponse"
    STATUS_REQUEST_RESPONSE = "StatusRequestResponse"
    RENEW_RESPONSE = "RenewResponse"
    CANCEL_RESPONSE = "CancelResponse"
    STATUS_CHANGE = "StatusChange"
    NOTIFICATION = "Notification"


class Action(StrEnum):
    """What a requesting agency tells the supplier (`requestingAgencyMessage/action`)."""

    STATUS_REQUEST = "StatusRequest"
    RECEIVED = "Received"
    CANCEL = "Cancel"
    RENEW = "Renew"
    HOLD_RETURN = "HoldReturn"  # 2021 only
    SHIPPED_RETURN = "ShippedReturn"
    SHIPPED_FORWARD = "ShippedForward"
    NOTIFICATION = "Notification"
    LOST = "Lost"  # 2021 only


class ErrorType(StrEnum):
    UNSUPPORTED_ACTION_TYPE = "UnsupportedActionType"
    UNSUPPORTED_REASON_FOR_MESSAGE_TYPE = "UnsupportedReasonForMessageType"
    UNRECOGNISED_DATA_ELEMENT = "UnrecognisedDataElement"
    UNRECOGNISED_DATA_VALUE = "UnrecognisedDataValue"
    BADLY_FORMED_MESSAGE = "BadlyFormedMessage"


class MessageStatus(StrEnum):
    OK = "OK"
    ERROR = "ERROR"


class ServiceType(StrEnum):
    COPY = "Copy"
    LOAN = "Loan"
    COPY_OR_LOAN = "CopyOrLoan"


class RequestType(StrEnum):
    NEW = "New"
    RETRY = "Retry"
    REMINDER = "Reminder"


class RequestSubType(StrEnum):
    BOOKING_REQUEST = "BookingRequest"
    MULTIPLE_ITEM_REQUEST = "MultipleItemRequest"
    PATRON_REQUEST = "PatronRequest"
    TRANSFER_REQUEST = "TransferRequest"
    SUPPLYING_LIBRARYS_CHOICE = "SupplyingLibrarysChoice"


class PreferredEdition(StrEnum):
    """2021 only (it replaces the deprecated `anyEdition`)."""

    MOST_RECENT_EDITION = "MostRecentEdition"
    THIS_EDITION = "ThisEdition"
    ANY_EDITION = "AnyEdition"


ONLY_IN_2021: frozenset[StrEnum] = frozenset({
    Status.HOLD_RETURN, Status.RELEASE_HOLD_RETURN, Action.HOLD_RETURN, Action.LOST,
})

Code = TypeVar("Code", bound=StrEnum)

# Spellings seen from real peers that mean one code unambiguously.
_ALIASES: dict[str, str] = {
    "unrecognizeddatavalue": "UnrecognisedDataValue",
    "unrecognizeddataelement": "UnrecognisedDataElement",
    "canceled": "Cancelled",
}


def _folded(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


def code_from_text(code_list: type[Code], text: str) -> Code | None:
    """The member of `code_list` that `text` names, ignoring case, spaces, `_` and `-`; None if none does."""
    folded = _folded(text)
    folded = _folded(_ALIASES.get(folded, folded))
    for member in code_list:
        if _folded(member.value) == folded:
            return member
    return None


def version_from_text(text: str) -> Version | None:
    """Read an `ill:version` attribute as peers write it: "1.2", "v1_2_2017" (OCLC), "1.0"/"1.1" (older
    ReShare: the 2014 structure, read as 1.2), "2021", "2021-2", "1.3" (the 2021-1 schema's other name)."""
    folded = text.strip().lower().removeprefix("v").replace("_", ".").replace("-", ".")
    if folded in {"1", "2017"} or re.fullmatch(r"1\.[012](\.\d+)*", folded):
        return Version.V1_2
    if folded == "1.3" or re.fullmatch(r"2021(\.\d+)*", folded):
        return Version.V2021
    return None
