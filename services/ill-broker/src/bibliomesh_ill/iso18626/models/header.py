"""Message headers, the confirmation header and error data."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bibliomesh_ill.iso18626.codes import ErrorType, MessageStatus
from bibliomesh_ill.iso18626.models.base import AgencyId, IsoModel, Timestamp
from bibliomesh_ill.iso18626.xml_fields import ONLY_1_2, ONLY_2021


class Authentication(IsoModel):
    """`requestingAgencyAuthentication`: never log it."""

    account_id: str | None = None
    security_code: str | None = Field(default=None, repr=False)


class Header(IsoModel):
    """The header of a request, supplying-agency or requesting-agency message (one model for the three).

    The writer leaves out what an edition does not carry for that message: 2021 has no `supplyingAgencyRequestId`
    in a request, no `consortialId`, `multipleItemRequestId` or authentication in a supplying-agency message and
    no `multipleItemRequestId` in a requesting-agency message; 1.2 has no `consortialId`.
    """

    supplying_agency_id: AgencyId | None = None
    """Mandatory except in a 2021 request (a transfer request may name no supplier)."""
    requesting_agency_id: AgencyId
    consortial_id: Annotated[AgencyId | None, ONLY_2021] = None
    multiple_item_request_id: str | None = None
    """Mandatory in 1.2, where it is written empty when unknown."""
    timestamp: Timestamp
    """When the sender created the message."""
    requesting_agency_request_id: str
    """The borrower's id for the request: the key both sides use."""
    supplying_agency_request_id: str | None = None
    requesting_agency_authentication: Authentication | None = None


class ErrorData(IsoModel):
    error_type: ErrorType
    error_value: str | None = None
    """Human-readable detail, naming the offending element."""


class ConfirmationHeader(IsoModel):
    supplying_agency_id: AgencyId | None = None
    requesting_agency_id: AgencyId | None = None
    timestamp: Timestamp
    """When the confirmation was created."""
    requesting_agency_request_id: str | None = None
    multiple_item_request_id: Annotated[str | None, ONLY_1_2] = None
    timestamp_received: Timestamp
    """The `timestamp` of the message being confirmed (as CrossLink and ReShare fill it)."""
    message_status: MessageStatus
