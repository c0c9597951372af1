"""The three confirmations: the synchronous answer to each message, OK or ERROR with error data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bibliomesh_ill.iso18626.codes import Action, MessageStatus, ReasonForMessage, Version
from bibliomesh_ill.iso18626.models.base import IsoModel
from bibliomesh_ill.iso18626.models.header import ConfirmationHeader, ErrorData
from bibliomesh_ill.iso18626.xml_fields import NOT_XML, ONCE_IN_1_2

ErrorList = Annotated[list[ErrorData], ONCE_IN_1_2]


class _Confirmation(IsoModel):
    confirmation_header: ConfirmationHeader

    @property
    def ok(self) -> bool:
        return self.confirmation_header.message_status is MessageStatus.OK


class RequestConfirmation(_Confirmation):
    kind: Annotated[Literal["requestConfirmation"], NOT_XML] = "requestConfirmation"
    version: Annotated[Version, NOT_XML] = Version.V1_2
    error_data: ErrorList = Field(default_factory=list)


class SupplyingAgencyMessageConfirmation(_Confirmation):
    kind: Annotated[Literal["supplyingAgencyMessageConfirmation"], NOT_XML] = "supplyingAgencyMessageConfirmation"
    version: Annotated[Version, NOT_XML] = Version.V1_2
    reason_for_message: ReasonForMessage | None = None
    """The confirmed message's reason, echoed."""
    error_data: ErrorList = Field(default_factory=list)


class RequestingAgencyMessageConfirmation(_Confirmation):
    kind: Annotated[Literal["requestingAgencyMessageConfirmation"], NOT_XML] = "requestingAgencyMessageConfirmation"
    version: Annotated[Version, NOT_XML] = Version.V1_2
    action: Action | None = None
    """The confirmed message's action, echoed."""
    error_data: ErrorList = Field(default_factory=list)
