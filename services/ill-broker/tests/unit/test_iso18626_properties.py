"""Property: any message the models allow and the edition can carry is written schema-valid and read back equal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bibliomesh_ill.iso18626 import (
    Address,
    AgencyId,
    AnyMessage,
    ElectronicAddress,
    Header,
    IsoModel,
    MessageInfo,
    MessageKind,
    PhysicalAddress,
    ReasonForMessage,
    Request,
    RequestConfirmation,
    RequestingAgencyMessage,
    RequestingAgencyMessageConfirmation,
    SchemeValue,
    ServiceInfo,
    Status,
    StatusInfo,
    SupplyingAgencyMessage,
    SupplyingAgencyMessageConfirmation,
    Version,
    parse,
    serialize,
)
from bibliomesh_ill.iso18626.codes import ONLY_IN_2021
from bibliomesh_ill.iso18626.xml_fields import element_name, field_shape, in_xml, marker

S = st.SearchStrategy
# Text that XML can carry and the reader keeps as is: no control characters, no surrounding whitespace.
TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs", "Cn", "Zl", "Zp")), min_size=1, max_size=12) \
    .map(str.strip).filter(bool)
URIS = st.sampled_from(["http://illtransactions.org/ISO18626/OpenCodeList/AgencyIdTypeList-V1.0", "urn:isil",
                        "https://www.iso.org/iso-4217-currency-codes.html"])
MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def codes(code_list: type[StrEnum], version: Version) -> S[Any]:
    return st.sampled_from([c for c in code_list if version is Version.V2021 or c not in ONLY_IN_2021])


def value_of(item_type: Any, version: Version, plain: bool) -> S[Any]:
    if item_type is SchemeValue:
        return st.builds(SchemeValue, value=TEXT, scheme=st.none() if plain else st.none() | URIS)
    if item_type is Address:
        return st.one_of(st.builds(Address, electronic_address=model_of(ElectronicAddress, version)),
                         st.builds(Address, physical_address=model_of(PhysicalAddress, version)))
    if isinstance(item_type, type) and issubclass(item_type, IsoModel):
        return model_of(item_type, version)
    if isinstance(item_type, type) and issubclass(item_type, StrEnum):
        return codes(item_type, version)
    simple: dict[Any, S[Any]] = {str: TEXT, bool: st.booleans(), int: st.integers(0, 10**6), datetime: MOMENTS,
                                 Decimal: st.decimals(min_value=0, max_value=10**6, places=2)}
    return simple[item_type]


def model_of(cls: type[IsoModel], edition: Version, **fixed: S[Any]) -> S[Any]:
    """Instances of `cls` holding only what `edition` can carry."""
    arguments: dict[str, S[Any]] = {}
    for name, field in cls.model_fields.items():
        if name in fixed:
            arguments[name] = fixed[name]
            continue
        if not in_xml(field) or element_name(name, field, edition) is None:
            continue
        item_type, is_list = field_shape(field)
        xml = marker(field)
        item = value_of(item_type, edition, plain=xml.plain_in_2021 and edition is Version.V2021)
        if is_list:
            limit = xml.max_in_1_2 if edition is Version.V1_2 else None
            arguments[name] = st.lists(item, max_size=min(2, limit or 2))
        else:
            arguments[name] = item if field.is_required() else st.none() | item
    return st.builds(cls, **arguments)


# Header elements a 2021 message does without (see serialize.py); the supplier is optional only in a 2021 request.
LEFT_OUT_IN_2021 = {
    MessageKind.REQUEST: ("supplying_agency_request_id",),
    MessageKind.SUPPLYING_AGENCY_MESSAGE: ("consortial_id", "multiple_item_request_id",
                                           "requesting_agency_authentication"),
    MessageKind.REQUESTING_AGENCY_MESSAGE: ("multiple_item_request_id",),
}


def header_of(kind: MessageKind, version: Version) -> S[Header]:
    fixed: dict[str, S[Any]] = {}
    if version is Version.V2021:
        fixed = {name: st.none() for name in LEFT_OUT_IN_2021[kind]}
    if not (version is Version.V2021 and kind is MessageKind.REQUEST):
        fixed["supplying_agency_id"] = model_of(AgencyId, version)
    return model_of(Header, version, **fixed)


def messages(version: Version) -> S[AnyMessage]:
    service = model_of(ServiceInfo, version)
    return st.one_of(
        model_of(Request, version, version=st.just(version), header=header_of(MessageKind.REQUEST, version),
                 service_info=service if version is Version.V2021 else st.none() | service),
        model_of(SupplyingAgencyMessage, version, version=st.just(version),
                 header=header_of(MessageKind.SUPPLYING_AGENCY_MESSAGE, version),
                 message_info=model_of(MessageInfo, version, reason_for_message=codes(ReasonForMessage, version)),
                 status_info=model_of(StatusInfo, version, status=codes(Status, version))),
        model_of(RequestingAgencyMessage, version, version=st.just(version),
                 header=header_of(MessageKind.REQUESTING_AGENCY_MESSAGE, version)),
        *(model_of(confirmation, version, version=st.just(version)) for confirmation in (
            RequestConfirmation, SupplyingAgencyMessageConfirmation, RequestingAgencyMessageConfirmation)),
    )


ROUND_TRIPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIPS
@given(messages(Version.V1_2))
def test_any_1_2_message_round_trips(message: AnyMessage) -> None:
    assert parse(serialize(message)) == message


@ROUND_TRIPS
@given(messages(Version.V2021))
def test_any_2021_message_round_trips(message: AnyMessage) -> None:
    assert parse(serialize(message)) == message
