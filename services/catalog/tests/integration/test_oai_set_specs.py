"""Institutions whose codes hold `/` or `:` (ISIL allows both) get sets with valid setSpecs, in ListSets, in
record headers and as the `set` argument; other institutions keep their code as setSpec. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from services.catalog.tests.search_fixtures import Book, Item, add_holders, catalog_client, delete_cluster

pytestmark = pytest.mark.integration

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}
SET_SPEC = re.compile(r"([A-Za-z0-9\-_.!~*'()])+(:[A-Za-z0-9\-_.!~*'()]+)*")
SLASH, COLON = "CN-QA/SLASH", "CN-QA:COLON"
BOOKS = {
    "slash": Book("Held behind a slash", items=[Item(SLASH, "s1"), Item("CN-DL-U1", "s2")]),
    "colon": Book("Held behind a colon", items=[Item(COLON, "c1")]),
    "withdrawn": Book("Withdrawn behind a slash", items=[Item(SLASH, "w1")]),
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    async with catalog_client(request.param, tmp_path, BOOKS) as catalog:
        async with catalog.app.state.runtime.sessions() as session:
            await add_holders(session, [(SLASH, "Slash Library", None, []), (COLON, "Colon Library", None, [])])
            await delete_cluster(session, catalog.ids["withdrawn"])
            await session.commit()
        yield catalog.http, catalog.ids


async def oai(http: httpx.AsyncClient, **params: str) -> etree._Element:
    response = await http.get("/catalog/oai", params=params)
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


async def listed(http: httpx.AsyncClient, spec: str) -> dict[str, list[str]] | str:
    """The setSpecs of each header ListIdentifiers gives for the set, by identifier; or the OAI error code."""
    root = await oai(http, verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
    error = root.find("o:error", NS)
    if error is not None:
        return str(error.get("code"))
    return {h.findtext("o:identifier", namespaces=NS): h.xpath("o:setSpec/text()", namespaces=NS)
            for h in root.findall("o:ListIdentifiers/o:header", NS)}


async def test_list_sets_publishes_only_valid_set_specs_without_false_parents(
        client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    root = await oai(http, verb="ListSets")
    specs = {s.findtext("o:setSpec", namespaces=NS): s.findtext("o:setName", namespaces=NS)
             for s in root.findall("o:ListSets/o:set", NS)}
    assert specs["CN-QA~2FSLASH"] == "Slash Library" and specs["CN-QA~3ACOLON"] == "Colon Library"
    assert specs["CN-DL-U1"] == "Dalian University Library"
    assert all(SET_SPEC.fullmatch(spec) and ":" not in spec for spec in specs)


async def test_harvesting_such_a_set_by_its_set_spec(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    slash, colon, withdrawn = (f"oai:bibliomesh:cluster/{ids[name]}" for name in ("slash", "colon", "withdrawn"))
    assert await listed(http, "CN-QA~2FSLASH") == {slash: ["CN-DL-U1", "CN-QA~2FSLASH"],
                                                   withdrawn: ["CN-QA~2FSLASH"]}
    assert await listed(http, "CN-QA~3ACOLON") == {colon: ["CN-QA~3ACOLON"]}
    assert await listed(http, "CN-DL-U1") == {slash: ["CN-DL-U1", "CN-QA~2FSLASH"]}
    record = await oai(http, verb="GetRecord", identifier=colon, metadataPrefix="oai_dc")
    assert record.xpath("//o:header/o:setSpec/text()", namespaces=NS) == ["CN-QA~3ACOLON"]
    assert await listed(http, SLASH) == "badArgument"
    assert await listed(http, "CN-QA") == "noRecordsMatch"
