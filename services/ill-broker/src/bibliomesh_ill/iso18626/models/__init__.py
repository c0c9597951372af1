"""ISO 18626 messages as immutable pydantic models, one model for both editions of the schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from bibliomesh_ill.iso18626.models.base import (
    Address,
    AgencyId,
    Costs,
    ElectronicAddress,
    IsoModel,
    PhysicalAddress,
    SchemeValue,
    Timestamp,
)
from bibliomesh_ill.iso18626.models.confirmations import (
    RequestConfirmation,
    RequestingAgencyMessageConfirmation,
    SupplyingAgencyMessageConfirmation,
)
from bibliomesh_ill.iso18626.models.header import Authentication, ConfirmationHeader, ErrorData, Header
from bibliomesh_ill.iso18626.models.request import (
    BibliographicInfo,
    BibliographicItemId,
    BibliographicRecordId,
    BillingInfo,
    PatronInfo,
    PublicationInfo,
    Request,
    RequestedDeliveryInfo,
    RequestingAgencyInfo,
    ServiceInfo,
    SupplierInfo,
)
from bibliomesh_ill.iso18626.models.requesting import RequestingAgencyMessage
from bibliomesh_ill.iso18626.models.supplying import (
    DeliveryInfo,
    MessageInfo,
    RetryInfo,
    ReturnInfo,
    ShippingInfo,
    StatusInfo,
    SupplyingAgencyMessage,
)

Message = Request | SupplyingAgencyMessage | RequestingAgencyMessage
"""A message that opens an exchange and is answered by a confirmation."""
Confirmation = RequestConfirmation | SupplyingAgencyMessageConfirmation | RequestingAgencyMessageConfirmation
AnyMessage = Message | Confirmation

ANY_MESSAGE = TypeAdapter[AnyMessage](Annotated[AnyMessage, Field(discriminator="kind")])
"""JSON for any message (e.g. an outbox row): `ANY_MESSAGE.dump_json(m)`, `ANY_MESSAGE.validate_json(data)`."""

__all__ = [
    "ANY_MESSAGE", "Address", "AgencyId", "AnyMessage", "Authentication", "BibliographicInfo", "BibliographicItemId",
    "BibliographicRecordId", "BillingInfo", "Confirmation", "ConfirmationHeader", "Costs", "DeliveryInfo",
    "ElectronicAddress", "ErrorData", "Header", "IsoModel", "Message", "MessageInfo", "PatronInfo",
    "PhysicalAddress", "PublicationInfo", "Request", "RequestConfirmation", "RequestedDeliveryInfo",
    "RequestingAgencyInfo", "RequestingAgencyMessage", "RequestingAgencyMessageConfirmation", "RetryInfo",
    "ReturnInfo", "SchemeValue", "ServiceInfo", "ShippingInfo", "StatusInfo", "SupplierInfo",
    "SupplyingAgencyMessage", "SupplyingAgencyMessageConfirmation", "Timestamp",
]
