"""What the harvester makes of what a source sends: OAI-PMH envelopes (hostile ones refused), Dublin Core and
MARCXML metadata, datestamps at both granularities and how long a busy source asks us to wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from lxml import etree

from bibliomesh_catalog.adapters.oai_client import (
    DAY,
    SECOND,
    HarvestError,
    OaiProtocolError,
    _pause,
    format_datestamp,
    parse_datestamp,
    parse_response,
)
from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.oai_metadata import read_oai_metadata

OAI = "http://www.openarchives.org/OAI/2.0/"
DC_RECORD = b"""<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
    xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:title>Structure and interpretation : of computer programs</dc:title>
  <dc:title>SICP</dc:title>
  <dc:creator>Abelson, Harold</dc:creator>
  <dc:contributor>Sussman, Gerald Jay</dc:contributor>
  <dc:subject>Computer programming</dc:subject>
  <dc:publisher>MIT Press</dc:publisher>
  <dc:date>c1996.</dc:date>
  <dc:language>en</dc:language>
  <dc:format>print</dc:format>
  <dc:identifier>urn:isbn:0-262-01153-0</dc:identifier>
  <dc:identifier>ISSN 0378-5955</dc:identifier>
  <dc:identifier>https://mitpress.mit.edu/sicp</dc:identifier>
  <dc:identifier>bibliomesh:cluster:7</dc:identifier>
</oai_dc:dc>"""
MARC_RECORD = b"""<record xmlns="http://www.loc.gov/MARC21/slim">
  <leader>00000cam a2200000 a 4500</leader>
  <controlfield tag="008">960101s1996    xx            000 0 eng d</controlfield>
  <datafield tag="245" ind1="1" ind2="0"><subfield code="a">Structure and interpretation</subfield></datafield>
  <datafield tag="852" ind1=" " ind2=" "><subfield code="a">LIB-A</subfield><subfield code="p">B1</subfield></datafield>
</record>"""


def test_dublin_core_becomes_a_record_named_by_its_oai_identifier() -> None:
    parsed = read_oai_metadata("oai:lib-a:42", etree.fromstring(DC_RECORD), 3)
    assert isinstance(parsed, ParsedRecord)
    d = parsed.description
    assert (parsed.local_id, parsed.position, parsed.holdings) == ("oai:lib-a:42", 3, None)
    assert d.title == "Structure and interpretation : of computer programs" and d.alt_titles == ["SICP"]
    assert d.authors == ["Abelson, Harold", "Sussman, Gerald Jay"] and d.year == 1996 and d.language == "eng"
    assert d.isbns == ["9780262011532"] and d.issns == ["0378-5955"] and d.urls == ["https://mitpress.mit.edu/sicp"]
    assert d.format == "print" and d.publisher == "MIT Press" and d.subjects == ["Computer programming"]
    same = read_oai_metadata("oai:lib-a:42", etree.fromstring(DC_RECORD), 9)
    assert isinstance(same, ParsedRecord) and same.content_hash == parsed.content_hash, "re-harvest is unchanged"


def test_a_file_format_makes_dublin_core_electronic_and_no_title_is_rejected() -> None:
    pdf = DC_RECORD.replace(b"<dc:format>print</dc:format>", b"<dc:format>application/pdf</dc:format>")
    parsed = read_oai_metadata("oai:x:1", etree.fromstring(pdf), 1)
    assert isinstance(parsed, ParsedRecord) and parsed.description.format == "electronic"
    untitled = etree.fromstring(DC_RECORD)
    for title in untitled.findall("{http://purl.org/dc/elements/1.1/}title"):
        untitled.remove(title)
    rejected = read_oai_metadata("oai:x:2", untitled, 2)
    assert isinstance(rejected, RejectedRecord) and "no title" in rejected.reason and rejected.local_id == "oai:x:2"


def test_marcxml_without_001_takes_the_oai_identifier_and_keeps_its_items() -> None:
    parsed = read_oai_metadata("oai:lib-a:9", etree.fromstring(MARC_RECORD), 1)
    assert isinstance(parsed, ParsedRecord)
    assert parsed.local_id == "oai:lib-a:9" and parsed.description.title.startswith("Structure and interpretation")
    assert [h.item_id for h in parsed.holdings or []] == ["B1"]


@pytest.mark.parametrize(("element", "reason"), [
    (None, "no metadata"),
    (etree.Element("{urn:example:mods}mods"), "unsupported metadata format"),
])
def test_metadata_that_cannot_be_read_is_rejected(element: etree._Element | None, reason: str) -> None:
    rejected = read_oai_metadata("oai:x:1", element, 4)
    assert isinstance(rejected, RejectedRecord) and reason in rejected.reason and rejected.position == 4
    too_long = read_oai_metadata("oai:" + "x" * 300, etree.fromstring(DC_RECORD), 5)
    assert isinstance(too_long, RejectedRecord) and "identifier" in too_long.reason


def test_error_codes_and_hostile_or_foreign_documents() -> None:
    error = f'<OAI-PMH xmlns="{OAI}"><responseDate>2020-01-01</responseDate><error code="badArgument">no</error>' \
            '</OAI-PMH>'
    with pytest.raises(OaiProtocolError) as raised:
        parse_response(error.encode())
    assert raised.value.code == "badArgument" and str(raised.value) == "badArgument: no"
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">&lol2;</OAI-PMH>')
    with pytest.raises(HarvestError, match="document type declaration"):
        parse_response(laughs)
    with pytest.raises(HarvestError, match="not an OAI-PMH response"):
        parse_response(b"<html><body>Service unavailable</body></html>")
    with pytest.raises(HarvestError, match="malformed XML"):
        parse_response(b"<OAI-PMH")


def test_datestamps_at_both_granularities() -> None:
    assert parse_datestamp("2001-04-25") == datetime(2001, 4, 25, tzinfo=UTC)
    assert parse_datestamp("2026-01-10T08:00:05Z") == datetime(2026, 1, 10, 8, 0, 5, tzinfo=UTC)
    assert parse_datestamp("2026-01-10T09:00:05+01:00") == datetime(2026, 1, 10, 8, 0, 5, tzinfo=UTC)
    assert parse_datestamp("yesterday") is None and parse_datestamp(None) is None
    moment = datetime(2026, 1, 10, 8, 0, 5, tzinfo=UTC)
    assert format_datestamp(moment, DAY) == "2026-01-10"
    assert format_datestamp(moment, SECOND) == "2026-01-10T08:00:05Z"


def test_a_busy_source_says_how_long_to_wait() -> None:
    assert _pause(httpx.Response(503, headers={"Retry-After": "7"}), 0, 2.0) == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= _pause(httpx.Response(503, headers={"Retry-After": later}), 0, 2.0) <= 30
    assert _pause(httpx.Response(503, headers={"Retry-After": "86400"}), 0, 2.0) == 600.0
    assert [_pause(None, attempt, 2.0) for attempt in range(3)] == [2.0, 4.0, 8.0]
