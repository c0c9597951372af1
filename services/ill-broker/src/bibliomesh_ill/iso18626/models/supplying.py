"""The supplying-agency message: the lender's answers and status changes."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator

from bibliomesh_ill.iso18626.codes import ReasonForMessage, ServiceType, Status, Version
from bibliomesh_ill.iso18626.models.base import (
    Address,
    AgencyId,
    Costs,
    IsoModel,
    PhysicalAddress,
    SchemeValue,
    Timestamp,
)
from bibliomesh_ill.iso18626.models.header import Header
from bibliomesh_ill.iso18626.xml_fields import NOT_XML, ONCE_IN_1_2, ONLY_1_2, ONLY_2021, Xml, renamed


class MessageInfo(IsoModel):
    reason_for_message: ReasonForMessage | None = None
    """Mandatory in the schema; None only when a peer left it out or empty (the writer refuses None)."""
    answer_yes_no: bool | None = None
    """The answer to a renew or cancel request."""
    note: str | None = None
    reason_unfilled: SchemeValue | None = None
    reason_retry: SchemeValue | None = None
    offered_costs: Annotated[list[Costs], Xml(v2021=None, max_in_1_2=1)] = Field(default_factory=list)
    """Costs the supplier asks (2021 writes them in `retryInfo`)."""
    retry_after: Annotated[Timestamp | None, ONLY_1_2] = None
    """Retry no earlier than this (2021 writes it in `retryInfo`)."""
    retry_before: Annotated[Timestamp | None, ONLY_1_2] = None
    """Retry no later than this (2021 writes it in `retryInfo`)."""


class StatusInfo(IsoModel):
    status: Status | None = None
    """Mandatory in the schema; None when a peer sent it empty (Alma, Rapido: "no change"). The writer refuses
    None."""
    expected_delivery_date: Timestamp | None = None
    due_date: Timestamp | None = None
    last_change: Timestamp


class RetryInfo(IsoModel):
    """The conditions under which a retry could be filled (2021). The offered costs and the retry window stay in
    `MessageInfo`, where 1.2 keeps them; the writer moves them here for 2021."""

    loan_condition: list[SchemeValue] = Field(default_factory=list)
    edition: list[str] = Field(default_factory=list)
    item_format: list[SchemeValue] = Field(default_factory=list)
    volume: list[str] = Field(default_factory=list)
    service_type: ServiceType | None = None
    service_level: list[SchemeValue] = Field(default_factory=list)
    delivery_method: list[SchemeValue] = Field(default_factory=list)
    courier_name: list[SchemeValue] = Field(default_factory=list)
    payment_method: list[SchemeValue] = Field(default_factory=list)


class RetryInfoElement(RetryInfo):
    """The 2021 `retryInfo` element as written: `RetryInfo` plus the retry fields of `MessageInfo`."""

    offered_costs: list[Costs] = Field(default_factory=list)
    retry_before: Timestamp | None = None
    retry_after: Timestamp | None = None

    xml_order: ClassVar[dict[Version, tuple[str, ...]]] = {Version.V2021: (
        "loan_condition", "edition", "item_format", "volume", "service_type", "service_level", "delivery_method",
        "courier_name", "offered_costs", "payment_method", "retry_before", "retry_after",
    )}


class DeliveryInfo(IsoModel):
    date_sent: Timestamp
    item_id: Annotated[list[str], ONCE_IN_1_2] = Field(default_factory=list)
    url: Annotated[str | None, Xml(v1_2=None, v2021="URL")] = None
    delivery_method: Annotated[SchemeValue | None, renamed(v1_2="sentVia", v2021="deliveryMethod")] = None
    """How it was sent (1.2: `sentVia`)."""
    address: Annotated[Address | None, ONLY_2021] = None
    sent_to_patron: Annotated[bool | None, Xml(xs_boolean=True)] = None
    loan_condition: Annotated[list[SchemeValue], ONCE_IN_1_2] = Field(default_factory=list)
    item_format: Annotated[SchemeValue | None, renamed(v1_2="deliveredFormat", v2021="itemFormat")] = None
    """The format delivered (1.2: `deliveredFormat`)."""
    service_type: Annotated[ServiceType | None, ONLY_2021] = None
    delivery_costs: Annotated[list[Costs], ONCE_IN_1_2] = Field(default_factory=list)
    payment_method: Annotated[SchemeValue | None, ONLY_2021] = None


class ShippingInfo(IsoModel):
    """How the item travels (2021)."""

    courier_name: SchemeValue | None = None
    tracking_id: list[str] = Field(default_factory=list)
    insurance: bool | None = None
    insurance_third_party: bool | None = None
    third_party_name: str | None = None
    insurance_costs: list[Costs] = Field(default_factory=list)


class ReturnInfo(IsoModel):
    """Where a loan goes back to."""

    return_agency_id: AgencyId | None = None
    name: str | None = None
    physical_address: PhysicalAddress | None = None


class SupplyingAgencyMessage(IsoModel):
    """The supplier answers a request or tells of a status change (ISO 18626 `supplyingAgencyMessage`)."""

    kind: Annotated[Literal["supplyingAgencyMessage"], NOT_XML] = "supplyingAgencyMessage"
    version: Annotated[Version, NOT_XML] = Version.V1_2
    """The edition the message was read in, and is written in unless `serialize` is told another."""
    header: Header
    message_info: MessageInfo
    status_info: StatusInfo
    retry_info: Annotated[RetryInfo | None, ONLY_2021] = None
    """None when empty: an empty `retryInfo` says nothing."""
    delivery_info: DeliveryInfo | None = None
    shipping_info: Annotated[ShippingInfo | None, ONLY_2021] = None
    return_info: ReturnInfo | None = None

    @field_validator("retry_info")
    @classmethod
    def _nothing_if_empty(cls, value: RetryInfo | None) -> RetryInfo | None:
        return None if value == RetryInfo() else value
