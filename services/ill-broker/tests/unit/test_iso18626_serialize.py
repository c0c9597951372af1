"""What the platform sends is valid in the edition chosen, carries what that edition can, and refuses the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from lxml import etree

from bibliomesh_ill.iso18626 import (
    ANY_MESSAGE,
    NAMESPACE,
    Action,
    AgencyId,
    Authentication,
    BibliographicInfo,
    Costs,
    ErrorType,
    Header,
    Iso18626Error,
    MessageInfo,
    MessageStatus,
    PhysicalAddress,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    RetryInfo,
    ReturnInfo,
    SchemeValue,
    SerializationError,
    ServiceInfo,
    ServiceType,
    Status,
    StatusInfo,
    SupplyingAgencyMessage,
    Version,
    confirm,
    parse,
    serialize,
)

WHEN = datetime(2024, 5, 1, 8, tzinfo=UTC)
LENDER = AgencyId(agency_id_type=SchemeValue(value="ISIL"), agency_id_value="CN-LEND")
BORROWER = AgencyId(agency_id_type=SchemeValue(value="ISIL", scheme="urn:isil"), agency_id_value="CN-BORROW")
HEADER = Header(supplying_agency_id=LENDER, requesting_agency_id=BORROWER, timestamp=WHEN,
                requesting_agency_request_id="REQ-1", supplying_agency_request_id="S-9",
                consortial_id=AgencyId(agency_id_type=SchemeValue(value="X"), agency_id_value="C1"),
                multiple_item_request_id="M-1",
                requesting_agency_authentication=Authentication(account_id="acct", security_code="s3cret"))


def elements(xml: bytes, name: str) -> list[etree._Element]:
    return list(etree.fromstring(xml).iterfind(f".//{{{NAMESPACE}}}{name}"))


def loaned(**changes: object) -> SupplyingAgencyMessage:
    message = SupplyingAgencyMessage(
        header=HEADER,
        message_info=MessageInfo(reason_for_message=ReasonForMessage.STATUS_CHANGE,
                                 offered_costs=[Costs(currency_code=SchemeValue(value="CNY"),
                                                      monetary_value=Decimal("12.50"))],
                                 retry_after=WHEN),
        status_info=StatusInfo(status=Status.LOANED, due_date=WHEN, last_change=WHEN),
        retry_info=RetryInfo(service_type=ServiceType.COPY),
        return_info=ReturnInfo(physical_address=PhysicalAddress(
            locality="Dalian", region=SchemeValue(value="CN-LN", scheme="urn:iso3166-2"))),
    )
    return message.model_copy(update=changes)


def test_2021_supplying_message_header_carries_only_what_2021_allows() -> None:
    xml = serialize(loaned(), Version.V2021)
    for absent in ("consortialId", "multipleItemRequestId", "requestingAgencyAuthentication"):
        assert not elements(xml, absent)
    assert elements(xml, "supplyingAgencyRequestId")[0].text == "S-9"
    assert b'ill:version="2021"' in xml


def test_2021_moves_costs_and_retry_window_into_retry_info_and_back() -> None:
    message = loaned()
    xml = serialize(message, Version.V2021)
    [retry] = elements(xml, "retryInfo")
    assert [etree.QName(child).localname for child in retry] == ["serviceType", "offeredCosts", "retryAfter"]
    assert not elements(xml, "messageInfo")[0].findall(f"{{{NAMESPACE}}}offeredCosts")
    read = parse(xml)
    assert isinstance(read, SupplyingAgencyMessage)
    assert (read.message_info, read.retry_info) == (message.message_info, message.retry_info)


def test_1_2_leaves_out_what_only_2021_has_and_keeps_the_region_scheme() -> None:
    xml = serialize(loaned(), Version.V1_2)
    assert not elements(xml, "retryInfo") and not elements(xml, "consortialId")
    assert elements(xml, "offeredCosts")[0].getparent().tag == f"{{{NAMESPACE}}}messageInfo"
    assert elements(xml, "region")[0].get(f"{{{NAMESPACE}}}scheme") == "urn:iso3166-2"
    assert elements(serialize(loaned(), Version.V2021), "region")[0].attrib == {}  # a plain string in 2021


def test_1_2_writes_an_unknown_multiple_item_request_id_empty_and_reads_it_back_as_unknown() -> None:
    message = loaned(header=HEADER.model_copy(update={"multiple_item_request_id": None}))
    xml = serialize(message, Version.V1_2)
    assert elements(xml, "multipleItemRequestId")[0].text is None
    assert parse(xml).header.multiple_item_request_id is None  # type: ignore[union-attr]


def test_1_2_keeps_the_first_of_what_it_allows_once() -> None:
    request = Request(header=HEADER, bibliographic_info=BibliographicInfo(volume=["1", "2"]),
                      service_info=ServiceInfo(service_type=ServiceType.LOAN))
    assert [v.text for v in elements(serialize(request, Version.V1_2), "volume")] == ["1"]
    assert [v.text for v in elements(serialize(request, Version.V2021), "volume")] == ["1", "2"]


def test_2021_request_header_has_no_supplier_request_id_but_keeps_the_rest() -> None:
    request = Request(header=HEADER, bibliographic_info=BibliographicInfo(title="Wild Swans"),
                      service_info=ServiceInfo(service_type=ServiceType.COPY))
    xml = serialize(request, Version.V2021)
    assert not elements(xml, "supplyingAgencyRequestId")
    assert elements(xml, "consortialId") and elements(xml, "multipleItemRequestId")
    assert elements(xml, "securityCode")[0].text == "s3cret"


@pytest.mark.parametrize(("message", "version"), [
    (loaned(status_info=StatusInfo(status=None, last_change=WHEN)), Version.V1_2),
    (loaned(message_info=MessageInfo()), Version.V2021),
    (RequestingAgencyMessage(header=HEADER, action=Action.LOST), Version.V1_2),
    (Request(header=HEADER.model_copy(update={"supplying_agency_id": None}), bibliographic_info=BibliographicInfo()),
     Version.V1_2),
    (Request(header=HEADER, bibliographic_info=BibliographicInfo()), Version.V2021),  # no serviceInfo
    (RequestingAgencyMessage(header=HEADER, action=Action.NOTIFICATION, note="bell \x07"), Version.V1_2),
])
def test_what_the_schema_refuses_is_never_written(message: SupplyingAgencyMessage, version: Version) -> None:
    with pytest.raises(SerializationError):
        serialize(message, version)


def test_lost_exists_in_2021() -> None:
    header = HEADER.model_copy(update={"multiple_item_request_id": None})  # not in a 2021 requesting message
    message = RequestingAgencyMessage(header=header, action=Action.LOST, version=Version.V2021)
    assert parse(serialize(message)) == message


def test_confirmation_echoes_the_header_and_answers_in_the_peers_edition() -> None:
    received = RequestingAgencyMessage(header=HEADER, action=Action.RENEW, version=Version.V2021)
    now = datetime(2024, 5, 1, 8, 0, 3, tzinfo=UTC)
    answer = confirm(received, now=now)
    assert answer.version is Version.V2021 and answer.ok and answer.action is Action.RENEW  # type: ignore[union-attr]
    header = answer.confirmation_header
    assert (header.timestamp, header.timestamp_received) == (now, WHEN)
    assert (header.supplying_agency_id, header.requesting_agency_id) == (LENDER, BORROWER)
    assert header.requesting_agency_request_id == "REQ-1"
    assert parse(serialize(answer)) == answer.model_copy(update={  # 2021 confirmations carry no multiple item id
        "confirmation_header": header.model_copy(update={"multiple_item_request_id": None})})


def test_error_confirmation_carries_the_iso_error() -> None:
    received = loaned()
    answer = confirm(received, Iso18626Error(ErrorType.UNRECOGNISED_DATA_VALUE, "requestingAgencyRequestId: unknown"))
    read = parse(serialize(answer))
    assert read.confirmation_header.message_status is MessageStatus.ERROR  # type: ignore[union-attr]
    assert read.error_data[0].error_value == "requestingAgencyRequestId: unknown"  # type: ignore[union-attr]
    assert read.reason_for_message is ReasonForMessage.STATUS_CHANGE  # type: ignore[union-attr]


def test_messages_survive_json_for_an_outbox() -> None:
    for message in (loaned(), confirm(loaned())):
        assert ANY_MESSAGE.validate_json(ANY_MESSAGE.dump_json(message)) == message


def test_security_code_never_shows_in_a_repr() -> None:
    assert "s3cret" not in repr(loaned()) and "acct" in repr(loaned())


def test_plain_strings_are_accepted_for_scheme_values_and_timestamps_kept_to_the_second_in_utc() -> None:
    agency = AgencyId.model_validate({"agency_id_type": "ISIL", "agency_id_value": "CN-X"})
    assert agency.agency_id_type == SchemeValue(value="ISIL")
    header = HEADER.model_copy(update={})
    stamped = Header.model_validate({**header.model_dump(), "timestamp": "2024-05-01T10:00:00.75+02:00"})
    assert stamped.timestamp == WHEN
    with pytest.raises(ValueError, match="time zone"):
        Header.model_validate({**header.model_dump(), "timestamp": datetime(2024, 5, 1)})
