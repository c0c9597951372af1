"""The request message: what the borrower asks for, how and from whom."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from bibliomesh_ill.iso18626.codes import PreferredEdition, RequestSubType, RequestType, ServiceType, Version
from bibliomesh_ill.iso18626.models.base import Address, AgencyId, Costs, IsoModel, SchemeValue, Timestamp
from bibliomesh_ill.iso18626.models.header import Header
from bibliomesh_ill.iso18626.xml_fields import NOT_XML, ONCE_IN_1_2, ONLY_2021, Xml, renamed

__all__ = ["BibliographicInfo", "BibliographicItemId", "BibliographicRecordId", "BillingInfo",
           "PatronInfo", "PublicationInfo", "Request", "RequestedDeliveryInfo", "RequestingAgencyInfo",
           "ServiceInfo", "SupplierInfo"]


class BibliographicItemId(IsoModel):
    """An identifier of the item itself: code `ISBN`, `ISSN`, ... and the identifier."""

    bibliographic_item_identifier_code: SchemeValue
    bibliographic_item_identifier: str

    xml_order: ClassVar[dict[Version, tuple[str, ...]]] = {
        Version.V1_2: ("bibliographic_item_identifier", "bibliographic_item_identifier_code"),
    }


class BibliographicRecordId(IsoModel):
    """An identifier of a catalogue record: code `OCLC`, `LCCN`, ... and the identifier."""

    bibliographic_record_identifier_code: SchemeValue
    bibliographic_record_identifier: str


class BibliographicInfo(IsoModel):
    supplier_unique_record_id: str | None = None
    title: str | None = None
    author: str | None = None
    author_id: Annotated[str | None, ONLY_2021] = None
    """ISNI of the author (2021)."""
    subtitle: str | None = None
    series_title: str | None = None
    edition: str | None = None
    title_of_component: str | None = None
    author_of_component: str | None = None
    volume: Annotated[list[str], ONCE_IN_1_2] = Field(default_factory=list)
    issue: str | None = None
    pages_requested: str | None = None
    estimated_no_pages: str | None = None
    bibliographic_item_id: list[BibliographicItemId] = Field(default_factory=list)
    """ISBN, ISSN and other item identifiers."""
    sponsor: str | None = None
    information_source: str | None = None
    bibliographic_record_id: list[BibliographicRecordId] = Field(default_factory=list)


class PublicationInfo(IsoModel):
    publisher: str | None = None
    publisher_id: Annotated[str | None, ONLY_2021] = None
    publication_type: SchemeValue | None = None
    publication_date: str | None = None
    place_of_publication: str | None = None


class ServiceInfo(IsoModel):
    request_type: RequestType | None = None
    """New, Retry or Reminder (absent means New)."""
    request_sub_type: Annotated[list[RequestSubType], Xml(max_in_1_2=3)] = Field(default_factory=list)
    requesting_agency_previous_request_id: str | None = None
    service_type: ServiceType
    service_level: SchemeValue | None = None
    item_format: Annotated[SchemeValue | None, renamed(v1_2="preferredFormat", v2021="itemFormat")] = None
    """The format wanted (1.2: `preferredFormat`)."""
    need_before_date: Timestamp | None = None
    copyright_compliance: SchemeValue | None = None
    any_edition: bool | None = None
    preferred_edition: Annotated[PreferredEdition | None, ONLY_2021] = None
    loan_condition: Annotated[list[SchemeValue], ONLY_2021] = Field(default_factory=list)
    start_date: Timestamp | None = None
    end_date: Timestamp | None = None
    note: str | None = None


class SupplierInfo(IsoModel):
    """A supplier the requester suggests, with what it holds."""

    sort_order: int | None = None
    supplier_code: AgencyId | None = None
    supplier_description: str | None = None
    bibliographic_record_id: BibliographicRecordId | None = None
    call_number: str | None = None
    summary_holdings: str | None = None
    availability_note: str | None = None


class RequestedDeliveryInfo(IsoModel):
    sort_order: int | None = None
    address: Address | None = None
    delivery_method: Annotated[SchemeValue | None, ONLY_2021] = None
    courier_name: Annotated[SchemeValue | None, ONLY_2021] = None


class RequestingAgencyInfo(IsoModel):
    name: str | None = None
    contact_name: str | None = None
    address: list[Address] = Field(default_factory=list)


class PatronInfo(IsoModel):
    patron_id: str | None = None
    surname: str | None = None
    given_name: str | None = None
    patron_type: SchemeValue | None = None
    send_to_patron: bool | None = None
    address: list[Address] = Field(default_factory=list)


class BillingInfo(IsoModel):
    payment_method: SchemeValue | None = None
    maximum_costs: Costs | None = None
    billing_method: SchemeValue | None = None
    billing_name: str | None = None
    address: Address | None = None


class Request(IsoModel):
    """A borrower asks a supplier for an item (ISO 18626 `request`)."""

    kind: Annotated[Literal["request"], NOT_XML] = "request"
    version: Annotated[Version, NOT_XML] = Version.V1_2
    """The edition the message was read in, and is written in unless `serialize` is told another."""
    header: Header
    bibliographic_info: BibliographicInfo
    publication_info: PublicationInfo | None = None
    service_info: ServiceInfo | None = None
    """Mandatory in 2021."""
    supplier_info: list[SupplierInfo] = Field(default_factory=list)
    requested_delivery_info: list[RequestedDeliveryInfo] = Field(default_factory=list)
    requesting_agency_info: RequestingAgencyInfo | None = None
    patron_info: PatronInfo | None = None
    billing_info: BillingInfo | None = None
