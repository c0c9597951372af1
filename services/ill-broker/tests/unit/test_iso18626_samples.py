"""Every real sample message is understood, written back schema-valid without loss, and can be confirmed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from bibliomesh_ill.iso18626 import (
    Action,
    ErrorData,
    ErrorType,
    MessageStatus,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    ServiceType,
    Status,
    SupplyingAgencyMessage,
    Version,
    confirm,
    parse,
    serialize,
)
from bibliomesh_ill.iso18626.xsd import schema

SAMPLES = Path(__file__).parent / "iso18626" / "samples"
ALL = sorted(SAMPLES.glob("*/*.xml"))
OCLC = SAMPLES / "oclc-circill-toolkit"
RESHARE = SAMPLES / "mod-rs"


def valid(xml: bytes, version: Version) -> bool:
    return bool(schema(version).validate(etree.fromstring(xml)))


def test_every_sample_is_here() -> None:
    assert len(list(OCLC.glob("*.xml"))) == 29 and len(list(RESHARE.glob("*.xml"))) == 8


@pytest.mark.parametrize("sample", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_round_trips_schema_valid_in_its_edition(sample: Path) -> None:
    message = parse(sample.read_bytes())
    written = serialize(message)
    assert valid(written, message.version)
    assert parse(written) == message


@pytest.mark.parametrize("sample", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_can_be_passed_on_in_the_other_edition(sample: Path) -> None:
    message = parse(sample.read_bytes())
    other = Version.V2021 if message.version is Version.V1_2 else Version.V1_2
    again = parse(serialize(message, other))  # serialize checked it against the other schema
    assert again.version is other and again.kind == message.kind


@pytest.mark.parametrize("sample", [p for p in ALL if "Confirmation" not in p.name and "confirmation" not in p.name],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_gets_a_schema_valid_confirmation_echoing_its_header(sample: Path) -> None:
    message = parse(sample.read_bytes())
    assert isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage)
    unknown_id = ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE,
                           error_value="requestingAgencyRequestId: unknown")
    for error in (None, unknown_id):
        confirmation = confirm(message, error)
        written = serialize(confirmation)
        assert valid(written, message.version)
        read = parse(written)
        assert read.kind == message.kind + "Confirmation"
        header = read.confirmation_header  # type: ignore[union-attr]
        assert header.message_status is (MessageStatus.OK if error is None else MessageStatus.ERROR)
        assert header.timestamp_received == message.header.timestamp
        assert header.requesting_agency_id == message.header.requesting_agency_id
        assert header.supplying_agency_id == message.header.supplying_agency_id
        assert read.error_data == ([] if error is None else [error])  # type: ignore[union-attr]
        if isinstance(message, SupplyingAgencyMessage):
            assert read.reason_for_message is message.message_info.reason_for_message  # type: ignore[union-attr]
        if isinstance(message, RequestingAgencyMessage):
            assert read.action is message.action  # type: ignore[union-attr]


def test_oclc_request_is_read_in_full() -> None:
    request = parse((OCLC / "NewRequest.xml").read_bytes())
    assert isinstance(request, Request) and request.version is Version.V1_2
    assert request.header.requesting_agency_id.agency_id_value == "OCLC-BCDEF"
    assert request.header.requesting_agency_id.agency_id_type.value == "ISIL"
    assert request.header.multiple_item_request_id is None  # sent empty
    assert request.header.timestamp == datetime(2021, 3, 2, 5, tzinfo=UTC)
    assert request.bibliographic_info.title == "Harry Potter and the Half-Blood Prince"
    [isbn] = request.bibliographic_info.bibliographic_item_id
    assert (isbn.bibliographic_item_identifier_code.value, isbn.bibliographic_item_identifier) == \
        ("ISBN", "9780439784542")
    assert request.bibliographic_info.edition is None  # `<ns1:edition/>`
    assert request.service_info is not None and request.service_info.service_type is ServiceType.LOAN
    assert request.service_info.any_edition is True
    first, second = request.requested_delivery_info
    assert first.address and first.address.physical_address and first.address.physical_address.locality == \
        "Rotterdam"
    assert second.address and second.address.electronic_address and \
        second.address.electronic_address.electronic_address_data == "library@example.com"


def test_oclc_supplying_message_keeps_costs_retry_window_and_delivery() -> None:
    message = parse((OCLC / "SupplyingAgencyMessageSample1.xml").read_bytes())
    assert isinstance(message, SupplyingAgencyMessage)
    info = message.message_info
    assert info.reason_for_message is ReasonForMessage.RENEW_RESPONSE and info.answer_yes_no is True
    assert info.offered_costs[0].monetary_value == Decimal("99.99")
    assert info.retry_after == datetime(2018, 3, 9, 12, tzinfo=UTC)
    assert message.status_info.status is Status.LOAN_COMPLETED
    assert message.delivery_info is not None and message.delivery_info.sent_to_patron is True
    assert message.delivery_info.delivery_method is not None and message.delivery_info.delivery_method.value == "Mail"
    # Moved into 2021's retryInfo and back again, nothing lost.
    assert parse(serialize(message, Version.V2021)).message_info == info  # type: ignore[union-attr]


def test_reshare_messages_without_envelope_and_with_plus_0000_offsets_are_understood() -> None:
    message = parse((RESHARE / "supplyingAgencyMessage.xml").read_bytes())
    assert isinstance(message, SupplyingAgencyMessage) and message.version is Version.V1_2
    assert message.header.timestamp == datetime(1900, 1, 1, 1, 1, 1, tzinfo=UTC)
    assert message.header.supplying_agency_id is not None
    assert message.header.supplying_agency_id.agency_id_type.scheme == "http://uri1"
    assert not valid((RESHARE / "supplyingAgencyMessage.xml").read_bytes(), Version.V1_2)
    action = parse((RESHARE / "requestingAgencyMessage.xml").read_bytes())
    assert isinstance(action, RequestingAgencyMessage) and action.action is Action.STATUS_REQUEST


def test_reshare_version_1_0_request_is_read_as_1_2_and_answered_in_1_2() -> None:
    request = parse((RESHARE / "case1_request.xml").read_bytes())
    assert isinstance(request, Request) and request.version is Version.V1_2
    assert request.header.multiple_item_request_id is None
    assert b'ill:version="1.2"' in serialize(confirm(request))
