"""Hostile or broken input is refused with the right ISO error type, and can always be answered in ISO terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from bibliomesh_ill.iso18626 import (
    MAX_MESSAGE_BYTES,
    ErrorType,
    Iso18626Error,
    MessageKind,
    MessageStatus,
    Version,
    confirm_failure,
    parse,
    serialize,
)

SAMPLES = Path(__file__).parent / "iso18626" / "samples"
LOANED = (SAMPLES / "oclc-circill-toolkit" / "SupplyingAgencyMessageLoaned.xml").read_bytes()
NS = 'xmlns="http://illtransactions.org/2013/iso18626" xmlns:ill="http://illtransactions.org/2013/iso18626"'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626"><request><header><requestingAgencyRequestId>&lol9;
</requestingAgencyRequestId></header></request></ISO18626Message>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE request [<!ENTITY secret SYSTEM "file://{path}">]>
<request xmlns="http://illtransactions.org/2013/iso18626"><header><requestingAgencyRequestId>&secret;
</requestingAgencyRequestId></header></request>"""


def refused(data: bytes) -> Iso18626Error:
    with pytest.raises(Iso18626Error) as caught:
        parse(data)
    answer = confirm_failure(caught.value)
    written = serialize(answer)  # the answer is always schema-valid
    assert answer.confirmation_header.message_status is MessageStatus.ERROR
    assert parse(written).error_data == [caught.value.error_data]  # type: ignore[union-attr]
    return caught.value


def test_billion_laughs_is_refused_without_expanding() -> None:
    error = refused(BILLION_LAUGHS)
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE and "DOCTYPE" in error.error_value
    assert error.kind is MessageKind.REQUEST  # guessed from the bytes, so the answer is a request confirmation


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    error = refused(EXTERNAL_ENTITY.format(path=secret).encode())
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE
    assert "TOP-SECRET" not in str(error) and error.echo is None


def test_a_doctype_hidden_in_utf16_is_refused_too(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    utf16 = EXTERNAL_ENTITY.format(path=secret).replace('<?xml version="1.0"?>',
                                                       '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")
    error = refused(utf16)
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE and "DOCTYPE" in error.error_value
    assert "TOP-SECRET" not in str(error)


def test_plain_doctype_is_refused() -> None:
    error = refused(b"<!DOCTYPE ISO18626Message>" + LOANED.split(b"?>", 1)[1])
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE


@pytest.mark.parametrize("data", [b"", b"not xml", b"<request", LOANED[:-40], b"\xff\xfe\x00garbage"])
def test_malformed_xml_is_a_badly_formed_message(data: bytes) -> None:
    assert refused(data).error_type is ErrorType.BADLY_FORMED_MESSAGE


def test_oversized_body_is_refused_before_parsing() -> None:
    padding = b"<!-- " + b"x" * MAX_MESSAGE_BYTES + b" -->"
    error = refused(LOANED.replace(b"<ns1:header>", b"<ns1:header>" + padding))
    assert error.error_type is ErrorType.BADLY_FORMED_MESSAGE and "larger than" in error.error_value
    assert error.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE
    with pytest.raises(Iso18626Error):
        parse(LOANED, max_bytes=100)


def test_unknown_version_is_an_unrecognised_value_answered_in_1_2() -> None:
    error = refused(LOANED.replace(b'ns1:version="v1_2_2017"', b'ns1:version="3.0"'))
    assert error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE and "'3.0'" in error.error_value
    assert error.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE and error.version is Version.V1_2


def test_something_other_than_a_message_in_the_envelope_is_an_unrecognised_element() -> None:
    error = refused(f'<ISO18626Message {NS} ill:version="1.2"><loanRequest/></ISO18626Message>'.encode())
    assert error.error_type is ErrorType.UNRECOGNISED_DATA_ELEMENT and "loanRequest" in error.error_value


@pytest.mark.parametrize("data", [
    f'<ISO18626Message {NS} ill:version="1.2"/>'.encode(),
    b"<html><body>hello</body></html>",
    b'<request xmlns="urn:other"/>',
])
def test_no_message_at_all_is_badly_formed(data: bytes) -> None:
    assert refused(data).error_type is ErrorType.BADLY_FORMED_MESSAGE


def test_a_refused_message_is_answered_with_what_of_its_header_could_be_read() -> None:
    broken = LOANED.replace(b"<ns1:status>Loaned</ns1:status>", b"<ns1:status>Lent</ns1:status>")
    error = refused(broken)
    assert error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert error.error_value.startswith("supplyingAgencyMessage/statusInfo/status: 'Lent' is not one of")
    answer = confirm_failure(error)
    assert answer.kind == "supplyingAgencyMessageConfirmation"
    assert answer.confirmation_header.requesting_agency_request_id == "Requesting-ID-2"
    assert answer.confirmation_header.requesting_agency_id is not None
    assert answer.confirmation_header.requesting_agency_id.agency_id_value == "OCLC-ABCDE"


def test_a_broken_2021_message_is_answered_in_2021() -> None:
    error = refused(b'<?xml version="1.0"?><ISO18626Message ill:version="2021"><request><header>')
    assert error.kind is MessageKind.REQUEST and error.version is Version.V2021
