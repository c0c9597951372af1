"""`GET /catalog/sru` as SRU clients see it: explain, searchRetrieve, MARCXML with holdings, Dublin Core, paging,
and diagnostics in a proper SRU response for everything a client can get wrong. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from services.catalog.tests.search_fixtures import Book, Item, catalog_client

pytestmark = pytest.mark.integration

SRU2 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
SRU1 = "http://www.loc.gov/zing/srw/"
NS = {"sru": SRU2, "srw": SRU1, "marc": "http://www.loc.gov/MARC21/slim", "zr": "http://explain.z3950.org/dtd/2.0/",
      "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/", "dc": "http://purl.org/dc/elements/1.1/",
      "diag": "http://docs.oasis-open.org/ns/search-ws/diagnostic", "diag1": "http://www.loc.gov/zing/srw/diagnostic/"}
MEMBER_MARC = {"leader": "00000cam a2200000 a 4500", "fields": [
    {"001": "dl-000042"}, {"008": "990101s1999    cc            000 0 chi d"},
    {"020": {"ind1": " ", "ind2": " ", "subfields": [{"a": "7010026702"}]}},
    {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "中华人民共和国史"}, {"c": "胡绳"}]}},
    {"852": {"ind1": " ", "ind2": " ", "subfields": [{"a": "local shelf mark, replaced by the union's"}]}},
]}
BOOKS = {
    "history": Book("中华人民共和国史", authors=["胡绳"], year=1999, language="chi", marc=MEMBER_MARC,
                    items=[Item("CN-DL-U1", "h1", call_number="K27 H8"),
                           Item("CN-SY-U1", "h2", status="on_loan", due_date=None)]),
    **{f"war{i}": Book(f"War and peace, volume {i}", authors=["Tolstoy, Leo"], year=2000 + i,
                       items=[Item("CN-DL-U2", f"w{i}")]) for i in range(1, 6)},
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    async with catalog_client(request.param, tmp_path, BOOKS) as catalog:
        yield catalog.http, catalog.ids


async def sru(http: httpx.AsyncClient, **params: str) -> etree._Element:
    response = await http.get("/catalog/sru", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return etree.fromstring(response.content)


def diagnostic_uris(root: etree._Element) -> list[str]:
    return root.xpath("//diag:diagnostic/diag:uri/text() | //diag1:diagnostic/diag1:uri/text()", namespaces=NS)


async def test_explain_lists_indexes_and_schemas_in_both_versions(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    explain = await sru(http)
    assert explain.tag == f"{{{SRU2}}}explainResponse"
    assert explain.findtext("sru:version", namespaces=NS) == "2.0"
    names = explain.xpath("//zr:indexInfo/zr:index/zr:map/zr:name/text()", namespaces=NS)
    assert {"anywhere", "title", "creator", "subject", "isbn", "issn", "id"} <= set(names)
    schemas = explain.xpath("//zr:schemaInfo/zr:schema/@name", namespaces=NS)
    assert schemas == ["marcxml", "dc"]
    legacy = await sru(http, version="1.2", operation="explain")
    assert legacy.tag == f"{{{SRU1}}}explainResponse"


async def test_search_retrieve_returns_marcxml_with_an_852_per_holding(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    root = await sru(http, query='dc.title = "共和国" and dc.creator = 胡绳', recordSchema="marcxml")
    assert root.findtext("sru:numberOfRecords", namespaces=NS) == "1"
    record = root.find("sru:records/sru:record", NS)
    assert record.findtext("sru:recordSchema", namespaces=NS) == "info:srw/schema/1/marcxml-v1.1"
    assert record.findtext("sru:recordXMLEscaping", namespaces=NS) == "xml"
    assert record.findtext("sru:recordPosition", namespaces=NS) == "1"
    marc = record.find("sru:recordData/marc:record", NS)
    # MARC 21 slim: the leader, every control field, then the data fields (the member's 001 became a 035).
    assert [(etree.QName(f).localname, f.get("tag")) for f in marc] == [
        ("leader", None), ("controlfield", "001"), ("controlfield", "003"), ("controlfield", "008"),
        ("datafield", "020"), ("datafield", "035"), ("datafield", "245"), ("datafield", "852"), ("datafield", "852")]
    leader = marc.findtext("marc:leader", namespaces=NS)
    assert leader[5:12] == "cam a22" and leader[:5] != "00000" and leader[12:17] == f"{24 + 12 * 8 + 1:05d}"
    assert marc.xpath("marc:controlfield[@tag='001']/text()", namespaces=NS) == [str(ids["history"])]
    assert marc.xpath("marc:datafield[@tag='035']/marc:subfield/text()", namespaces=NS) == ["(CN-DL-U1)dl-000042"]
    title = marc.xpath("marc:datafield[@tag='245']/marc:subfield[@code='a']/text()", namespaces=NS)
    assert title == ["中华人民共和国史"]
    holdings = [{s.get("code"): s.text for s in field} for field in marc.xpath("marc:datafield[@tag='852']",
                                                                               namespaces=NS)]
    assert holdings == [
        {"a": "CN-DL-U1", "b": "Main stacks", "h": "K27 H8", "p": "h1", "z": "available"},
        {"a": "CN-SY-U1", "b": "Main stacks", "p": "h2", "z": "on loan"},
    ]


async def test_dublin_core_and_sru_1_2_string_packing(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    root = await sru(http, query="人民", recordSchema="dc")
    dc = root.find("sru:records/sru:record/sru:recordData/oai_dc:dc", NS)
    assert dc.findtext("dc:title", namespaces=NS) == "中华人民共和国史"
    assert dc.findtext("dc:creator", namespaces=NS) == "胡绳" and dc.findtext("dc:date", namespaces=NS) == "1999"
    legacy = await sru(http, version="1.2", operation="searchRetrieve", query="人民", recordPacking="string")
    assert legacy.findtext("srw:version", namespaces=NS) == "1.2"
    packed = legacy.findtext("srw:records/srw:record/srw:recordData", namespaces=NS)
    assert etree.fromstring(packed.encode()).tag == "{http://www.loc.gov/MARC21/slim}record"


async def test_paging_with_start_record_and_maximum_records(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    first = await sru(http, query='dc.title all "war peace" sortby dc.date', maximumRecords="2")
    assert first.findtext("sru:numberOfRecords", namespaces=NS) == "5"
    assert first.findtext("sru:nextRecordPosition", namespaces=NS) == "3"
    titles = first.xpath("//marc:datafield[@tag='245']/marc:subfield[@code='a']/text()", namespaces=NS)
    assert titles == ["War and peace, volume 1", "War and peace, volume 2"]
    last = await sru(http, query='dc.title all "war peace" sortby dc.date', startRecord="5", maximumRecords="2")
    assert last.xpath("//sru:recordPosition/text()", namespaces=NS) == ["5"]
    assert last.find("sru:nextRecordPosition", NS) is None
    count_only = await sru(http, query="cql.allRecords = 1", maximumRecords="0")
    assert count_only.findtext("sru:numberOfRecords", namespaces=NS) == "6"
    assert count_only.find("sru:records", NS) is None


@pytest.mark.parametrize(("params", "code"), [
    ({"query": "dc.title = (war"}, 10),
    ({"query": "dc.title ="}, 10),
    ({"query": "dc.format = book"}, 16),
    ({"query": "dc.title within war"}, 19),
    ({"query": "war", "recordSchema": "mods"}, 66),
    ({"query": "war", "startRecord": "99"}, 61),
    ({"query": "war", "startRecord": "0"}, 6),
    ({"query": "war", "maximumRecords": "-1"}, 6),
    ({"query": "war", "startRecord": "²"}, 6),
    ({"query": "war", "startRecord": "99999999999999999999999"}, 61),
    ({"query": "war", "startRecord": "9" * 5000}, 61),
    ({"query": "war", "startRecord": str(2**63 - 1)}, 61),
    ({"query": "war", "version": "3.0"}, 5),
    ({"operation": "scan", "scanClause": "war", "version": "1.2"}, 4),
    ({"operation": "searchRetrieve", "version": "1.2"}, 7),
    ({"query": "war", "version": "1.2", "operation": "searchRetrieve", "recordPacking": "zip"}, 71),
])
async def test_bad_requests_get_srw_diagnostics_not_http_errors(client: tuple[httpx.AsyncClient, dict],
                                                                params: dict[str, str], code: int) -> None:
    http, _ids = client
    root = await sru(http, **params)
    assert root.tag.endswith("searchRetrieveResponse")
    assert diagnostic_uris(root) == [f"info:srw/diagnostic/1/{code}"]
    message = root.xpath("//diag:message/text() | //diag1:message/text()", namespaces=NS)
    assert message and message[0]


async def test_a_huge_maximum_records_is_capped_not_an_error(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    for huge in ("99999999999999999999999", "9" * 5000):
        root = await sru(http, query='dc.title all "war peace"', maximumRecords=huge)
        assert diagnostic_uris(root) == []
        assert len(root.findall("sru:records/sru:record", NS)) == 5


@pytest.mark.parametrize("version", ["1.2", "2.0"])
@pytest.mark.parametrize(("params", "code"), [
    ({"query": "\x01"}, 27),
    ({"query": "war", "recordSchema": "mo\x01ds"}, 66),
    ({"query": "war", "startRecord": "\x01"}, 6),
    ({"query": "war", "operation": "sc\x02an"}, 4),
])
async def test_control_characters_in_echoed_values_still_get_an_sru_diagnostic(
        client: tuple[httpx.AsyncClient, dict], version: str, params: dict[str, str], code: int) -> None:
    http, _ids = client
    root = await sru(http, version=version, **params)
    assert diagnostic_uris(root) == [f"info:srw/diagnostic/1/{code}"]
    details = "".join(root.xpath("//diag:details/text() | //diag1:details/text()", namespaces=NS))
    assert not any(ord(c) < 0x20 for c in details)
    if code == 66:
        assert details == "mods"


@pytest.mark.parametrize("version", ["1.2", "2.0"])
async def test_search_retrieve_over_http_post_with_a_form_body(client: tuple[httpx.AsyncClient, dict],
                                                                version: str) -> None:
    http, _ids = client
    response = await http.post("/catalog/sru", data={"version": version, "operation": "searchRetrieve",
                                                     "query": 'dc.title all "war peace"', "maximumRecords": "2"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    assert root.xpath("string(//*[local-name()='numberOfRecords'])") == "5"
    assert len(root.xpath("//marc:record", namespaces=NS)) == 2


async def test_sru_over_post_takes_only_a_form_body(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    response = await http.post("/catalog/sru", files={"query": (None, "dc.title=war")})   # multipart
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_head_answers_as_the_get_without_the_body(client: tuple[httpx.AsyncClient, dict]) -> None:
    # Every service answers HEAD on its GET routes (meshkit.head); FastAPI alone says 405.
    http, _ids = client
    for path, params in (("/catalog/sru", {"operation": "explain"}), ("/catalog/search", {"q": "war"}),
                         ("/readyz", {})):
        got = await http.get(path, params=params)
        head = await http.head(path, params=params)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == got.headers["content-length"], path
    refused = await http.head("/catalog/records")  # POST only: still a 405
    assert refused.status_code == 405 and refused.content == b""
