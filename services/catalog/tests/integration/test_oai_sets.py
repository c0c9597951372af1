"""Harvesting one library's OAI-PMH set sees what left it: a deleted cluster stays in the sets it was in, and a
cluster the library stopped holding is listed, as changed, by a harvest of its set from before. ListSets, set
harvests and record headers agree on who is in which set. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from bibliomesh_contracts.events.directory import InstitutionSnapshot, InstitutionSuspendedV1
from meshkit.testing import eventually, publish_event
from services.catalog.tests.catalog_fixtures import Catalog, catalog
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration

OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {"o": OAI}
LAW = "CN-DL-LHU-LAW"
U1 = "CN-DL-U1"
SHARED_ISBN = "9780306406157"


@pytest.fixture(params=["sqlite", "postgresql"])
async def cat(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Catalog]:
    async with AsyncExitStack() as stack:
        url = "" if request.param == "sqlite" else await stack.enter_async_context(postgres_database("bm_oai_sets"))
        yield await stack.enter_async_context(catalog(tmp_path, database_url=url))


def book(local_id: str, title: str, item_ids: list[str], isbn: str | None = None) -> bytes:
    record: dict[str, Any] = {"local_id": local_id, "title": title, "year": 2020,
                              "holdings": [{"item_id": item_id} for item_id in item_ids]}
    if isbn:
        record["identifiers"] = {"isbn": [isbn]}
    return json.dumps(record).encode()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def headers(http: httpx.AsyncClient, **params: str) -> dict[str, etree._Element] | str:
    """The headers listed by ListIdentifiers by identifier, or the OAI error code."""
    response = await http.get("/catalog/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc",
                                                      **params})
    root = etree.fromstring(response.content)
    error = root.find("o:error", NS)
    if error is not None:
        return str(error.get("code"))
    return {h.findtext("o:identifier", namespaces=NS): h for h in root.findall("o:ListIdentifiers/o:header", NS)}


def sets(header: etree._Element) -> list[str]:
    return header.xpath("o:setSpec/text()", namespaces=NS)


async def test_a_set_harvest_sees_deletions_and_what_the_library_stopped_holding(cat: Catalog) -> None:
    report = await cat.upload(LAW, book("law-0003", "合同法概论", ["LAW-B0003"]), "application/json")
    only_law = report["results"][0]["cluster_id"]
    await cat.upload(LAW, book("law-0004", "Shared treatise", ["LAW-B0004"], SHARED_ISBN), "application/json")
    await cat.upload(LAW, book("law-0005", "Treatise kept elsewhere", ["LAW-B0005"], "9781449355739"),
                     "application/json")
    report = await cat.upload(U1, book("u1-0004", "Shared treatise", ["U1-0004"], SHARED_ISBN),
                              "application/json")
    shared = report["results"][0]["cluster_id"]
    report = await cat.upload(U1, book("u1-0005", "Treatise kept elsewhere", ["U1-0005"], "9781449355739"),
                              "application/json")
    items_gone = report["results"][0]["cluster_id"]
    assert len({only_law, shared, items_gone}) == 3
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    law = await headers(cat.client, set=LAW)
    assert isinstance(law, dict) and {f"oai:bibliomesh:cluster/{c}" for c in (only_law, shared, items_gone)} \
        <= set(law)

    headers_ = cat.headers(LAW)
    assert (await cat.client.delete(f"/catalog/records/{LAW}/law-0003", headers=headers_)).status_code == 204
    assert (await cat.client.delete(f"/catalog/records/{LAW}/law-0004", headers=headers_)).status_code == 204
    # The record stays; the library no longer holds an item of it.
    await cat.upload(LAW, book("law-0005", "Treatise kept elsewhere", [], "9781449355739"), "application/json")

    record = etree.fromstring((await cat.client.get("/catalog/oai", params={
        "verb": "GetRecord", "identifier": f"oai:bibliomesh:cluster/{only_law}",
        "metadataPrefix": "oai_dc"})).content)
    header = record.find("o:GetRecord/o:record/o:header", NS)
    assert header.get("status") == "deleted" and sets(header) == [LAW]

    since = await headers(cat.client, set=LAW, **{"from": stamp(before)})
    assert isinstance(since, dict)
    gone, left, emptied = (since.get(f"oai:bibliomesh:cluster/{c}") for c in (only_law, shared, items_gone))
    assert gone is not None and gone.get("status") == "deleted" and sets(gone) == [LAW]
    # Still in the repository, no longer in the set: listed as changed, its header without the set.
    assert left is not None and left.get("status") is None and sets(left) == [U1]
    assert emptied is not None and emptied.get("status") is None and sets(emptied) == [U1]

    whole = await headers(cat.client, set=LAW)
    assert isinstance(whole, dict)
    assert f"oai:bibliomesh:cluster/{only_law}" in whole  # deletedRecord persistent, in its set too
    assert f"oai:bibliomesh:cluster/{shared}" not in whole and f"oai:bibliomesh:cluster/{items_gone}" not in whole
    u1 = await headers(cat.client, set=U1)
    assert isinstance(u1, dict) and f"oai:bibliomesh:cluster/{only_law}" not in u1
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    assert await headers(cat.client, set=LAW, **{"from": stamp(later)}) == "noRecordsMatch"


async def list_sets(http: httpx.AsyncClient) -> dict[str, str]:
    root = etree.fromstring((await http.get("/catalog/oai", params={"verb": "ListSets"})).content)
    return {s.findtext("o:setSpec", namespaces=NS): s.findtext("o:setName", namespaces=NS)
            for s in root.findall("o:ListSets/o:set", NS)}


async def record_sets(http: httpx.AsyncClient, identifier: str) -> list[str]:
    root = etree.fromstring((await http.get("/catalog/oai", params={
        "verb": "GetRecord", "identifier": identifier, "metadataPrefix": "oai_dc"})).content)
    return list(root.xpath("//o:GetRecord/o:record/o:header/o:setSpec/text()", namespaces=NS))


async def membership_views(cat: Catalog) -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    """The members of each set as a set harvest lists them, as GetRecord headers name them, and the sets ListSets
    names (every set with a member in either view is asked for)."""
    everything = await headers(cat.client)
    assert isinstance(everything, dict)
    named = {ident: await record_sets(cat.client, ident) for ident in everything}
    sets = set(await list_sets(cat.client))
    by_header: dict[str, set[str]] = {}
    for ident, specs in named.items():
        for spec in specs:
            by_header.setdefault(spec, set()).add(ident)
    by_harvest: dict[str, set[str]] = {}
    for spec in sets | set(by_header):
        listed = await headers(cat.client, set=spec)
        by_harvest[spec] = set(listed) if isinstance(listed, dict) else set()
    return by_harvest, by_header, sets


async def test_list_sets_set_harvests_and_headers_name_the_same_members(cat: Catalog) -> None:
    """One source of set membership: after items are withdrawn, a record deleted and a holder suspended, ListSets
    names exactly the sets a harvest finds records in, and a harvest of each set lists exactly the records whose
    headers name it. The directory copy holds institutions with nothing (LIB-A, ...): they are no sets."""
    report = await cat.upload(LAW, book("law-0001", "Shared treatise", ["LAW-B0001"], SHARED_ISBN), "application/json")
    shared = report["results"][0]["cluster_id"]
    await cat.upload(U1, book("u1-0001", "Shared treatise", ["U1-0001"], SHARED_ISBN), "application/json")
    await cat.upload(LAW, book("law-0002", "Law alone", ["LAW-B0002"]), "application/json")
    await cat.upload(LAW, book("law-0003", "Law weeded", ["LAW-B0003"]), "application/json")
    await cat.upload("LIB-B", book("b-0001", "Library B alone", ["B-0001"]), "application/json")

    await cat.upload(LAW, book("law-0001", "Shared treatise", [], SHARED_ISBN), "application/json")
    assert (await cat.client.delete(f"/catalog/records/{LAW}/law-0003", headers=cat.headers(LAW))).status_code == 204
    await cat.upload("LIB-B", book("b-0001", "Library B alone", []), "application/json")  # its only item weeded
    law = InstitutionSnapshot(code=LAW, name_en="Liaoning Law Library", kind="research-library", status="suspended",
                              version=1)
    await publish_event(cat.app.state.runtime.bus, InstitutionSuspendedV1(institution=law, reason="fees"),
                        producer="auth", aggregate_id=LAW, aggregate_version=1)
    await eventually(lambda: _suspended(cat))

    by_harvest, by_header, sets = await membership_views(cat)
    assert {spec: members for spec, members in by_harvest.items() if members} == by_header
    assert sets == set(by_header) == {LAW, U1}
    assert await record_sets(cat.client, f"oai:bibliomesh:cluster/{shared}") == [U1]
    assert (await list_sets(cat.client))[LAW] == "Liaoning Law Library"


async def _suspended(cat: Catalog) -> bool:
    listed = (await cat.client.get("/catalog/holders")).json()
    return any(h["code"] == LAW and h["status"] == "suspended" for h in listed)
