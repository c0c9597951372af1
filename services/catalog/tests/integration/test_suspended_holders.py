"""A suspended institution lends nothing, so nothing of it shows as available: in search (and its `available`
filter and facet), on cluster pages and in SRU holdings, until the directory reinstates it. Its copies stay
listed, marked suspended. Driven by directory events, as in production. SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lxml import etree

from bibliomesh_contracts.events.directory import InstitutionSnapshot, InstitutionSuspendedV1, InstitutionUpdatedV1
from meshkit.testing import eventually, publish_event, publish_institution
from services.catalog.tests.catalog_fixtures import Catalog, catalog

LAW = "CN-DL-LHU-LAW"
MARC = {"marc": "http://www.loc.gov/MARC21/slim", "sru": "http://docs.oasis-open.org/ns/search-ws/sruResponse"}


def book(local_id: str, title: str, item_id: str) -> bytes:
    return json.dumps({"local_id": local_id, "title": title, "year": 1999,
                       "identifiers": {"isbn": ["9780766016118"]} if local_id == "law-0001" else {},
                       "holdings": [{"item_id": item_id}]}).encode()


async def search(cat: Catalog, **params: Any) -> dict[str, Any]:
    response = await cat.client.get("/catalog/search", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def law_holding(cat: Catalog) -> dict[str, Any]:
    hit = (await search(cat, q="合同"))["results"][0]
    holding: dict[str, Any] = next(h for h in hit["holdings"] if h["institution"] == LAW)
    return holding


async def test_a_suspended_library_is_listed_but_never_available_until_reinstated(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        bus = cat.app.state.runtime.bus
        law = InstitutionSnapshot(code=LAW, name_en="Liaoning Law Library", kind="research-library",
                                  regions=["CN-LN-DL"], version=1)
        await publish_institution(bus, law)
        report = await cat.upload(LAW, book("law-0001", "合同法研究", "LAW-B0001"), "application/json")
        cluster_id = report["results"][0]["cluster_id"]
        assert (await law_holding(cat))["available"] is True

        suspended = law.model_copy(update={"status": "suspended", "version": 2})
        await publish_event(bus, InstitutionSuspendedV1(institution=suspended, reason="unpaid fees"),
                            producer="auth", aggregate_id=LAW, aggregate_version=2)

        async def shown_suspended() -> bool:
            # the holding at once; the `available` filter and facet once the refresh worker's batch reaches the
            # cluster (seconds later: waiting for the holding alone raced them)
            facets = (await search(cat, q="合同"))["facets"]["available"]
            return bool((await law_holding(cat))["suspended"]) and [(f["value"], f["count"]) for f in facets] == [
                ("false", 1)] and (await search(cat, q="合同", available=True))["total"] == 0

        await eventually(shown_suspended)
        holding = await law_holding(cat)
        assert (holding["available"], holding["items"], holding["available_items"]) == (False, 1, 0)
        assert (await search(cat, q="合同", available=True))["total"] == 0
        facets = (await search(cat, q="合同"))["facets"]
        assert [(f["value"], f["count"]) for f in facets["available"]] == [("false", 1)]
        assert [(f["value"], f["count"]) for f in facets["institution"]] == [(LAW, 1)]

        view = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
        assert [(h["institution"], h["suspended"], h["available_count"]) for h in view["holdings"]] == [
            (LAW, True, 0)]
        assert [i["available"] for i in view["holdings"][0]["items"]] == [False]

        sru = etree.fromstring((await cat.client.get("/catalog/sru", params={
            "operation": "searchRetrieve", "query": "isbn=9780766016118"})).content)
        availability = sru.xpath("//marc:datafield[@tag='852']/marc:subfield[@code='z']/text()", namespaces=MARC)
        assert availability == ["not lending now: the library is suspended (item available)"]

        # Stored while suspended: a record starting a cluster of its own is not available either.
        await cat.upload(LAW, book("law-0002", "合同法总论", "LAW-B0002"), "application/json")
        assert (await search(cat, q="总论", available=True))["total"] == 0
        assert (await search(cat, q="总论"))["total"] == 1

        reinstated = law.model_copy(update={"status": "active", "version": 3})
        await publish_event(bus, InstitutionUpdatedV1(institution=reinstated, changed_fields=["status"]),
                            producer="auth", aggregate_id=LAW, aggregate_version=3)

        async def lending_again() -> bool:
            return (await search(cat, q="合同", available=True))["total"] == 2

        await eventually(lending_again)
        holding = await law_holding(cat)
        assert (holding["available"], holding["suspended"], holding["available_items"]) == (True, False, 1)
        view = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
        assert view["holdings"][0]["available_count"] == 1
