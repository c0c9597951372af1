"""What real peers get wrong is understood; what cannot be understood gets the ISO error type the standard names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bibliomesh_ill.iso18626 import (
    Action,
    ErrorType,
    Iso18626Error,
    ReasonForMessage,
    Request,
    RequestConfirmation,
    RequestingAgencyMessage,
    Status,
    SupplyingAgencyMessage,
    Version,
    parse,
)

ENVELOPE = ('<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" '
            'xmlns:ill="http://illtransactions.org/2013/iso18626" {version}>{body}</ISO18626Message>')
HEADER = """<header>
  <supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>CN-LEND</agencyIdValue></supplyingAgencyId>
  <requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>CN-BORROW</agencyIdValue></requestingAgencyId>
  <multipleItemRequestId/>
  <timestamp>2024-05-01T08:00:00Z</timestamp>
  <requestingAgencyRequestId>REQ-1</requestingAgencyRequestId>
</header>"""


def supplying(status: str = "Loaned", reason: str = "<reasonForMessage>StatusChange</reasonForMessage>",
              version: str = 'ill:version="1.2"', header: str = HEADER) -> bytes:
    body = (f"<supplyingAgencyMessage>{header}<messageInfo>{reason}</messageInfo>"
            f"<statusInfo>{status and f'<status>{status}</status>'}"
            "<lastChange>2024-05-01T08:00:00Z</lastChange></statusInfo></supplyingAgencyMessage>")
    return ENVELOPE.format(version=version, body=body).encode()


def action(value: str) -> bytes:
    body = f"<requestingAgencyMessage>{HEADER}<action>{value}</action></requestingAgencyMessage>"
    return ENVELOPE.format(version='ill:version="1.2"', body=body).encode()


def error_of(data: bytes) -> Iso18626Error:
    with pytest.raises(Iso18626Error) as caught:
        parse(data)
    return caught.value


def test_elements_and_attributes_without_namespace_are_read() -> None:
    data = f"""<ISO18626Message version="1.2"><requestingAgencyMessage>{HEADER}
        <action>Received</action></requestingAgencyMessage></ISO18626Message>""".encode()
    message = parse(data.replace(b"<agencyIdType>", b'<agencyIdType scheme="urn:isil">', 1))
    assert isinstance(message, RequestingAgencyMessage) and message.action is Action.RECEIVED
    assert message.header.supplying_agency_id is not None
    assert message.header.supplying_agency_id.agency_id_type.scheme == "urn:isil"


def test_case_and_whitespace_differences_are_forgiven() -> None:
    data = supplying(status="  loaned\n", reason="<ReasonForMessage> status change </ReasonForMessage>")
    message = parse(data.replace(b"<requestingAgencyRequestId>REQ-1", b"<RequestingAgencyRequestID> REQ-1 ")
                    .replace(b"</requestingAgencyRequestId>", b"</RequestingAgencyRequestID>"))
    assert isinstance(message, SupplyingAgencyMessage)
    assert message.status_info.status is Status.LOANED
    assert message.message_info.reason_for_message is ReasonForMessage.STATUS_CHANGE
    assert message.header.requesting_agency_request_id == "REQ-1"


def test_empty_status_means_no_status_given() -> None:
    for status in ("", "<status/>", "<status>  </status>"):
        message = parse(supplying(status="").replace(b"<statusInfo>", f"<statusInfo>{status}".encode()))
        assert isinstance(message, SupplyingAgencyMessage) and message.status_info.status is None


def test_missing_or_empty_reason_for_message_is_tolerated() -> None:
    for reason in ("", "<reasonForMessage/>"):
        message = parse(supplying(reason=reason))
        assert isinstance(message, SupplyingAgencyMessage) and message.message_info.reason_for_message is None


def test_error_type_spelled_with_a_z_is_understood() -> None:
    data = ENVELOPE.format(version='ill:version="1.2"', body="""<requestConfirmation><confirmationHeader>
        <timestamp>2024-05-01T08:00:01Z</timestamp><timestampReceived>2024-05-01T08:00:00Z</timestampReceived>
        <messageStatus>ERROR</messageStatus></confirmationHeader>
        <errorData><errorType>UnrecognizedDataValue</errorType><errorValue>bad id</errorValue></errorData>
        </requestConfirmation>""").encode()
    confirmation = parse(data)
    assert isinstance(confirmation, RequestConfirmation) and not confirmation.ok
    assert confirmation.error_data[0].error_type is ErrorType.UNRECOGNISED_DATA_VALUE


@pytest.mark.parametrize(("written", "expected"), [
    ("2024-05-01T08:00:00Z", datetime(2024, 5, 1, 8, tzinfo=UTC)),
    ("2024-05-01T10:00:00+0200", datetime(2024, 5, 1, 8, tzinfo=UTC)),
    ("2024-05-01T10:00:00.123+02:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),
    ("2024-05-01T08:00:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),  # no zone: read as UTC
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
])
def test_dates_are_read_as_peers_write_them(written: str, expected: datetime) -> None:
    message = parse(supplying(header=HEADER.replace("2024-05-01T08:00:00Z", written)))
    assert message.header.timestamp == expected  # type: ignore[union-attr]


@pytest.mark.parametrize(("stated", "expected"), [
    ('ill:version="1.2"', Version.V1_2), ('ill:version="v1_2_2017"', Version.V1_2), ('version="1.1"', Version.V1_2),
    ('ill:version="2021"', Version.V2021), ('ill:version="2021-2"', Version.V2021), ('ill:version="1.3"',
                                                                                      Version.V2021),
    ("", Version.V1_2),
])
def test_the_edition_is_read_from_the_version_attribute(stated: str, expected: Version) -> None:
    assert parse(supplying(version=stated)).version is expected


def test_without_a_version_elements_only_2021_has_make_it_2021() -> None:
    with_retry_info = supplying(version="").replace(b"</statusInfo>", b"</statusInfo><retryInfo/>")
    assert parse(with_retry_info).version is Version.V2021


def test_unknown_status_is_an_unrecognised_data_value_naming_the_element() -> None:
    error = error_of(supplying(status="Shipped"))
    assert error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert error.error_value.startswith("supplyingAgencyMessage/statusInfo/status: 'Shipped'")


def test_unknown_action_is_an_unsupported_action_type() -> None:
    error = error_of(action("Returned"))
    assert error.error_type is ErrorType.UNSUPPORTED_ACTION_TYPE and "action: 'Returned'" in error.error_value
    assert error.kind == "requestingAgencyMessage"
    assert error_of(action("")).error_type is ErrorType.UNSUPPORTED_ACTION_TYPE


def test_unknown_reason_for_message_is_an_unsupported_reason_type() -> None:
    error = error_of(supplying(reason="<reasonForMessage>Gossip</reasonForMessage>"))
    assert error.error_type is ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE


@pytest.mark.parametrize("element", ["requestingAgencyRequestId", "timestamp", "requestingAgencyId"])
def test_missing_mandatory_header_field_is_badly_formed_naming_it(element: str) -> None:
    header = HEADER.split("\n")
    error = error_of(supplying(header="\n".join(line for line in header if f"<{element}>" not in line)))
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert error.error_value == f"supplyingAgencyMessage/header/{element} is missing"


def test_missing_header_and_unreadable_values_name_their_element() -> None:
    assert error_of(supplying(header="")).error_value == "supplyingAgencyMessage/header is missing"
    error = error_of(supplying(header=HEADER.replace("2024-05-01T08:00:00Z", "yesterday")))
    assert error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert error.error_value == "supplyingAgencyMessage/header/timestamp: 'yesterday' is not a date and time"


def test_unknown_elements_are_skipped() -> None:
    data = supplying().replace(b"</header>", b"<vendorExtension><x>1</x></vendorExtension></header>")
    assert isinstance(parse(data), SupplyingAgencyMessage)


def test_request_read_in_2021_takes_the_2021_names() -> None:
    consortium = "<consortialId><agencyIdType>X</agencyIdType><agencyIdValue>C1</agencyIdValue></consortialId>"
    body = f"""<request>{HEADER.replace('<multipleItemRequestId/>', consortium)}
        <bibliographicInfo><authorId>0000000121032683</authorId><volume>1</volume><volume>2</volume>
        </bibliographicInfo><serviceInfo><serviceType>Copy</serviceType><itemFormat>PDF</itemFormat>
        <preferredEdition>ThisEdition</preferredEdition></serviceInfo></request>"""
    request = parse(ENVELOPE.format(version='ill:version="2021"', body=body).encode())
    assert isinstance(request, Request) and request.version is Version.V2021
    assert request.header.consortial_id is not None and request.header.consortial_id.agency_id_value == "C1"
    assert request.bibliographic_info.volume == ["1", "2"] and request.bibliographic_info.author_id
    assert request.service_info is not None and request.service_info.item_format is not None
    assert request.service_info.item_format.value == "PDF"
