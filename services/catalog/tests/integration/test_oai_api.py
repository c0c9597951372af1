"""`/catalog/oai` as an OAI-PMH harvester sees it: every verb, harvesting all pages with resumption tokens,
from/until at both granularities, sets per holding institution, deleted clusters as deleted headers, and each
error code in a 200 OAI-PMH response. SQLite in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from lxml import etree

from bibliomesh_catalog.adapters.oai_sets import add_sets_of_new_clusters
from bibliomesh_catalog.adapters.tables import clusters
from services.catalog.tests.search_fixtures import Book, Item, add_book, catalog_client, delete_cluster

pytestmark = pytest.mark.integration

OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {"o": OAI, "marc": "http://www.loc.gov/MARC21/slim", "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
      "dc": "http://purl.org/dc/elements/1.1/", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
MEMBER_MARC = {"leader": "00000cam a2200000 a 4500", "fields": [
    {"001": "dl-000042"}, {"008": "990101s1999    cc            000 0 chi d"},
    {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "中华人民共和国史"}, {"c": "胡绳"}]}},
]}
BOOKS = {
    "history": Book("中华人民共和国史", authors=["胡绳"], year=1999, language="chi", marc=MEMBER_MARC,
                    items=[Item("CN-DL-U1", "h1", call_number="K27 H8"), Item("CN-SY-U1", "h2")]),
    "gone": Book("Withdrawn title", items=[Item("CN-SY-U1", "g1")]),
}
BULK = 230
TOTAL = BULK + len(BOOKS)
HISTORY_AT = datetime(2026, 1, 10, 8, 0, 0, 250000, tzinfo=UTC)
GONE_AT = datetime(2026, 3, 1, tzinfo=UTC)
BULK_AT = datetime(2026, 2, 1, tzinfo=UTC)


@dataclass
class Harvestable:
    http: httpx.AsyncClient
    ids: dict[str, int]


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[Harvestable]:
    async with catalog_client("sqlite", tmp_path, BOOKS) as running:
        ids = dict(running.ids)
        async with running.app.state.runtime.sessions() as session:
            bulk = []
            for i in range(BULK):
                # Batches of 50 share one datestamp, so paging has to break ties by id.
                cluster_id = await add_book(session, Book(f"Bulk title {i}", items=[Item("CN-DL-U2", f"b{i}")]),
                                            index=False)
                bulk.append((cluster_id, "CN-DL-U2"))
                await session.execute(sa.update(clusters).where(clusters.c.id == cluster_id).values(
                    updated_at=BULK_AT + timedelta(hours=i // 50)))
            await add_sets_of_new_clusters(session, bulk)  # their set membership, as ingest keeps it (unindexed)
            await delete_cluster(session, ids["gone"])
            for name, stamp in (("history", HISTORY_AT), ("gone", GONE_AT)):
                await session.execute(sa.update(clusters).where(clusters.c.id == ids[name]).values(
                    updated_at=stamp))
            await session.commit()
        yield Harvestable(running.http, ids)


async def oai(http: httpx.AsyncClient, **params: str) -> etree._Element:
    response = await http.get("/catalog/oai", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{OAI}}}OAI-PMH"
    return root


def error_codes(root: etree._Element) -> list[str]:
    return root.xpath("o:error/@code", namespaces=NS)


def identifiers(root: etree._Element) -> list[str]:
    return root.xpath("//o:header/o:identifier/text()", namespaces=NS)


def oai_id(cluster_id: int) -> str:
    return f"oai:bibliomesh:cluster/{cluster_id}"


async def test_identify(catalog: Harvestable) -> None:
    root = await oai(catalog.http, verb="Identify")
    assert error_codes(root) == []
    assert root.get(f"{{{NS['xsi']}}}schemaLocation") == f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
    assert root.find("o:request", NS).get("verb") == "Identify"
    identify = root.find("o:Identify", NS)
    assert identify.findtext("o:baseURL", namespaces=NS) == "http://testserver/catalog/oai"
    assert identify.findtext("o:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("o:earliestDatestamp", namespaces=NS) == "2026-01-10T08:00:00Z"
    assert identify.findtext("o:deletedRecord", namespaces=NS) == "persistent"
    assert identify.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.findtext("o:repositoryName", namespaces=NS)


async def test_list_metadata_formats_for_the_repository_and_for_an_item(catalog: Harvestable) -> None:
    root = await oai(catalog.http, verb="ListMetadataFormats")
    assert root.xpath("//o:metadataPrefix/text()", namespaces=NS) == ["oai_dc", "marc21"]
    assert "http://www.loc.gov/MARC21/slim" in root.xpath("//o:metadataNamespace/text()", namespaces=NS)
    item = await oai(catalog.http, verb="ListMetadataFormats", identifier=oai_id(catalog.ids["history"]))
    assert item.xpath("//o:metadataPrefix/text()", namespaces=NS) == ["oai_dc", "marc21"]


async def test_list_sets_has_one_set_per_holding_institution(catalog: Harvestable) -> None:
    root = await oai(catalog.http, verb="ListSets")
    sets = {s.findtext("o:setSpec", namespaces=NS): s.findtext("o:setName", namespaces=NS)
            for s in root.findall("o:ListSets/o:set", NS)}
    assert sets == {"CN-DL-U1": "Dalian University Library", "CN-DL-U2": "Dalian Maritime University Library",
                    "CN-SY-U1": "Shenyang University Library"}


async def harvest(http: httpx.AsyncClient, verb: str, **params: str) -> tuple[list[etree._Element], list[tuple]]:
    """Harvest like a harvester: follow resumption tokens until there is none. Returns the pages and the
    (completeListSize, cursor) of each token seen."""
    pages, tokens = [], []
    root = await oai(http, verb=verb, **params)
    while True:
        assert error_codes(root) == [], etree.tostring(root)
        pages.append(root)
        token = root.find(f"o:{verb}/o:resumptionToken", NS)
        if token is None:
            return pages, tokens
        tokens.append((token.get("completeListSize"), token.get("cursor")))
        if not token.text:
            return pages, tokens
        root = await oai(http, verb=verb, resumptionToken=token.text)


async def test_harvesting_identifiers_follows_tokens_through_every_page(catalog: Harvestable) -> None:
    pages, tokens = await harvest(catalog.http, "ListIdentifiers", metadataPrefix="oai_dc")
    harvested = [i for page in pages for i in identifiers(page)]
    assert len(harvested) == TOTAL
    assert len(set(harvested)) == TOTAL
    assert [len(identifiers(page)) for page in pages] == [100, 100, TOTAL - 200]
    assert tokens == [(str(TOTAL), "0"), (str(TOTAL), "100"), (str(TOTAL), "200")]
    stamps = [page.xpath("//o:header/o:datestamp/text()", namespaces=NS) for page in pages]
    flat = [s for page in stamps for s in page]
    assert flat == sorted(flat)
    assert harvested[0] == oai_id(catalog.ids["history"])
    assert harvested[-1] == oai_id(catalog.ids["gone"])


async def test_harvesting_records_in_marc21_includes_the_deleted_cluster(catalog: Harvestable) -> None:
    pages, _tokens = await harvest(catalog.http, "ListRecords", metadataPrefix="marc21")
    records = [r for page in pages for r in page.findall("o:ListRecords/o:record", NS)]
    assert len(records) == TOTAL
    deleted = [r for r in records if r.find("o:header", NS).get("status") == "deleted"]
    assert [r.findtext("o:header/o:identifier", namespaces=NS) for r in deleted] == [oai_id(catalog.ids["gone"])]
    assert deleted[0].find("o:metadata", NS) is None
    live = [r for r in records if r not in deleted]
    assert all(r.find("o:metadata/marc:record", NS) is not None for r in live)


async def test_from_and_until_at_both_granularities(catalog: Harvestable) -> None:
    history, gone = oai_id(catalog.ids["history"]), oai_id(catalog.ids["gone"])
    days = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc", until="2026-01-10")
    assert identifiers(days) == [history]
    seconds = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc",
                        **{"from": "2026-01-10T08:00:00Z", "until": "2026-01-10T08:00:00Z"})
    assert identifiers(seconds) == [history]
    before = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc", until="2026-01-10T07:59:59Z")
    assert error_codes(before) == ["noRecordsMatch"]
    late = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2026-02-15"})
    assert identifiers(late) == [gone]
    assert late.find("o:ListIdentifiers/o:header", NS).get("status") == "deleted"
    window = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc",
                       **{"from": "2026-02-01T01:00:00Z", "until": "2026-02-01T02:00:00Z"})
    assert len(identifiers(window)) == 100
    assert window.find("o:ListIdentifiers/o:resumptionToken", NS) is None


@pytest.mark.parametrize("bounds", [
    {"until": "9999-12-31"},
    {"until": "9999-12-31T23:59:59Z"},
    {"from": "0001-01-01", "until": "9999-12-31"},
    {"from": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
])
async def test_dates_at_the_ends_of_the_calendar_cover_every_record(catalog: Harvestable,
                                                                    bounds: dict[str, str]) -> None:
    pages, tokens = await harvest(catalog.http, "ListIdentifiers", metadataPrefix="oai_dc", **bounds)
    assert sum(len(identifiers(page)) for page in pages) == TOTAL
    assert tokens[0] == (str(TOTAL), "0")


async def test_set_filter_is_the_clusters_held_at_that_institution(catalog: Harvestable) -> None:
    history, gone = oai_id(catalog.ids["history"]), oai_id(catalog.ids["gone"])
    shenyang = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc", set="CN-SY-U1")
    assert identifiers(shenyang) == [history, gone]
    assert shenyang.xpath("//o:header[1]/o:setSpec/text()", namespaces=NS) == ["CN-DL-U1", "CN-SY-U1"]
    dalian = await oai(catalog.http, verb="ListRecords", metadataPrefix="oai_dc", set="CN-DL-U1")
    assert identifiers(dalian) == [history]
    pages, tokens = await harvest(catalog.http, "ListIdentifiers", metadataPrefix="oai_dc", set="CN-DL-U2")
    assert sum(len(identifiers(page)) for page in pages) == BULK
    assert tokens[0] == (str(BULK), "0")
    unknown = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc", set="NO-SUCH")
    assert error_codes(unknown) == ["noRecordsMatch"]


async def test_get_record_in_both_formats_and_a_deleted_one(catalog: Harvestable) -> None:
    history_id = catalog.ids["history"]
    marc = await oai(catalog.http, verb="GetRecord", identifier=oai_id(history_id), metadataPrefix="marc21")
    record = marc.find("o:GetRecord/o:record/o:metadata/marc:record", NS)
    assert record.get(f"{{{NS['xsi']}}}schemaLocation").endswith("MARC21slim.xsd")
    assert record.xpath("marc:controlfield[@tag='001']/text()", namespaces=NS) == [str(history_id)]
    assert record.xpath("marc:datafield[@tag='852']/marc:subfield[@code='a']/text()", namespaces=NS) == [
        "CN-DL-U1", "CN-SY-U1"]
    assert marc.findtext("o:GetRecord/o:record/o:header/o:datestamp", namespaces=NS) == "2026-01-10T08:00:00Z"
    dc = await oai(catalog.http, verb="GetRecord", identifier=oai_id(history_id), metadataPrefix="oai_dc")
    assert dc.xpath("//oai_dc:dc/dc:title/text()", namespaces=NS) == ["中华人民共和国史"]
    gone = await oai(catalog.http, verb="GetRecord", identifier=oai_id(catalog.ids["gone"]), metadataPrefix="oai_dc")
    assert gone.find("o:GetRecord/o:record/o:header", NS).get("status") == "deleted"
    assert gone.find("o:GetRecord/o:record/o:metadata", NS) is None


async def test_post_with_a_form_body(catalog: Harvestable) -> None:
    response = await catalog.http.post("/catalog/oai", data={
        "verb": "GetRecord", "identifier": oai_id(catalog.ids["history"]), "metadataPrefix": "oai_dc"})
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert identifiers(root) == [oai_id(catalog.ids["history"])]


@pytest.mark.parametrize(("query", "code"), [
    ("", "badVerb"),
    ("verb=Frobnicate", "badVerb"),
    ("verb=Identify&verb=Identify", "badVerb"),
    ("verb=Identify&extra=1", "badArgument"),
    ("verb=ListRecords", "badArgument"),
    ("verb=GetRecord&identifier=oai:bibliomesh:cluster/1", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=marc21", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-13-01", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=yesterday", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01&until=2026-01-01", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-01-01&until=2026-03-01T00:00:00Z", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc", "badArgument"),
    ("verb=ListRecords&resumptionToken=not-a-token", "badResumptionToken"),
    ("verb=ListSets&resumptionToken=anything", "badResumptionToken"),
    ("verb=ListRecords&metadataPrefix=mods", "cannotDisseminateFormat"),
    ("verb=GetRecord&identifier=oai:bibliomesh:cluster/999999&metadataPrefix=oai_dc", "idDoesNotExist"),
    ("verb=GetRecord&identifier=oai:elsewhere:1&metadataPrefix=oai_dc", "idDoesNotExist"),
    ("verb=ListMetadataFormats&identifier=oai:bibliomesh:cluster/999999", "idDoesNotExist"),
    ("verb=ListIdentifiers&metadataPrefix=oai_dc&from=2030-01-01", "noRecordsMatch"),
])
async def test_each_error_code_in_a_200_oai_response(catalog: Harvestable, query: str, code: str) -> None:
    response = await catalog.http.get(f"/catalog/oai?{query}")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert error_codes(root) == [code]
    request = root.find("o:request", NS)
    assert request.text == "http://testserver/catalog/oai"
    if code in ("badVerb", "badArgument"):
        assert request.attrib == {}


async def test_a_tampered_resumption_token_is_refused(catalog: Harvestable) -> None:
    first = await oai(catalog.http, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.findtext("o:ListIdentifiers/o:resumptionToken", namespaces=NS)
    assert token
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    root = await oai(catalog.http, verb="ListIdentifiers", resumptionToken=tampered)
    assert error_codes(root) == ["badResumptionToken"]
    good = await oai(catalog.http, verb="ListIdentifiers", resumptionToken=token)
    assert len(identifiers(good)) == 100
    assert set(identifiers(good)).isdisjoint(identifiers(first))
