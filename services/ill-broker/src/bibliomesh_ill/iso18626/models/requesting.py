"""The requesting-agency message: what the borrower tells the supplier after the request."""

from __future__ import annotations

from typing import Annotated, Literal

from bibliomesh_ill.iso18626.codes import Action, Version
from bibliomesh_ill.iso18626.models.base import IsoModel
from bibliomesh_ill.iso18626.models.header import Header
from bibliomesh_ill.iso18626.xml_fields import NOT_XML


class RequestingAgencyMessage(IsoModel):
    """Received, ShippedReturn, Cancel, Renew, StatusRequest, ... (ISO 18626 `requestingAgencyMessage`)."""

    kind: Annotated[Literal["requestingAgencyMessage"], NOT_XML] = "requestingAgencyMessage"
    version: Annotated[Version, NOT_XML] = Version.V1_2
    """The edition the message was read in, and is written in unless `serialize` is told another."""
    header: Header
    action: Action
    note: str | None = None
