"""Every cluster whose holdings changed is re-indexed: the one an item left as well as the one it joined, also when
the record it left was not in the batch; after an item was withdrawn from a record, and after a record was
deleted. Search (filters and facets) and OAI-PMH sets tell the truth, and the broker, applying the holdings events
by version, holds each item once, under its current record and cluster. A holder is an institution with items: a
member record without items makes none, on the cluster page as everywhere else. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from services.catalog.tests.catalog_fixtures import Catalog, catalog
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration

LIB = "CN-DL-U1"
OTHER = "CN-SY-U1"
OAI = {"o": "http://www.openarchives.org/OAI/2.0/"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def cat(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Catalog]:
    async with AsyncExitStack() as stack:
        url = "" if request.param == "sqlite" else await stack.enter_async_context(postgres_database("bm_moves"))
        yield await stack.enter_async_context(catalog(tmp_path, database_url=url))


def book(local_id: str, title: str, isbn: str, item_ids: list[str]) -> dict[str, Any]:
    return {"local_id": local_id, "title": title, "year": 2020, "identifiers": {"isbn": [isbn]},
            "holdings": [{"item_id": item_id} for item_id in item_ids]}


async def upload(cat: Catalog, institution: str, *books: dict[str, Any]) -> dict[str, int]:
    """Store `books` in one batch; the cluster of each by local id."""
    report = await cat.upload(institution, json.dumps(list(books)).encode(), "application/json")
    assert all(r["status"] in ("created", "updated") for r in report["results"]), report
    return {r["local_id"]: r["cluster_id"] for r in report["results"]}


async def found(cat: Catalog, **params: Any) -> set[int]:
    response = await cat.client.get("/catalog/search", params=params)
    assert response.status_code == 200, response.text
    return {hit["cluster_id"] for hit in response.json()["results"]}


async def in_set(cat: Catalog, institution: str) -> set[int]:
    response = await cat.client.get("/catalog/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc",
                                                            "set": institution})
    root = etree.fromstring(response.content)
    return {int(str(identifier).rsplit("/", 1)[1])
            for identifier in root.xpath("//o:header[not(@status)]/o:identifier/text()", namespaces=OAI)}


async def broker_copy(cat: Catalog) -> dict[tuple[str, str], dict[str, Any]]:
    """The holdings as the broker keeps them: the newest version of each item wins; withdrawn items dropped."""
    newest: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for event in await cat.events("catalog.holdings.changed"):
        key = (event["payload"]["institution"], event["payload"]["item_id"])
        if key not in newest or newest[key][0] < event["aggregate_version"]:
            newest[key] = (event["aggregate_version"], event["payload"])
    return {key: payload for key, (_, payload) in newest.items() if payload["change"] != "withdrawn"}


async def item_changes(cat: Catalog, item_id: str) -> list[tuple[str, int, str]]:
    return [(e["payload"]["change"], e["aggregate_version"], e["payload"]["local_id"])
            for e in await cat.events("catalog.holdings.changed") if e["payload"]["item_id"] == item_id]


@pytest.mark.parametrize("receiver", ["stored", "new"])
async def test_an_item_moving_to_a_record_of_the_batch_leaves_the_other_cluster_for_good(
        cat: Catalog, receiver: str) -> None:
    clusters = await upload(cat, LIB, book("a1", "Alpha treatise", "9780306406157", ["ITEM-1"]))
    if receiver == "stored":
        clusters |= await upload(cat, LIB, book("a2", "Beta handbook", "9781449355739", ["ITEM-2"]))
    alpha = clusters["a1"]
    assert await found(cat, institution=LIB) >= {alpha} and await found(cat, available="true") >= {alpha}
    assert alpha in await in_set(cat, LIB)

    # Only the receiving record is sent: the record the item leaves is not in the batch.
    beta = (await upload(cat, LIB, book("a2", "Beta handbook", "9781449355739", ["ITEM-2", "ITEM-1"])))["a2"]
    assert beta != alpha

    assert await found(cat, institution=LIB) == {beta}
    assert await found(cat, available="true") == {beta}
    facets = (await cat.client.get("/catalog/search")).json()["facets"]
    assert {f["value"]: f["count"] for f in facets["institution"]} == {LIB: 1}
    assert {f["value"]: f["count"] for f in facets["available"]} == {"true": 1, "false": 1}
    assert await in_set(cat, LIB) == {beta}
    view = (await cat.client.get(f"/catalog/clusters/{alpha}")).json()
    assert [m["local_id"] for m in view["members"]] == ["a1"] and view["holdings"] == []

    # One event moves the item (no withdrawal, which would drop it from the broker's copy).
    assert await item_changes(cat, "ITEM-1") == [("appeared", 1, "a1"), ("changed", 2, "a2")]
    copy = await broker_copy(cat)
    assert {key: (p["local_id"], p["cluster_id"]) for key, p in copy.items()} == {
        (LIB, "ITEM-1"): ("a2", beta), (LIB, "ITEM-2"): ("a2", beta)}


async def test_a_cluster_whose_record_lost_its_items_is_no_longer_held(cat: Catalog) -> None:
    alpha = (await upload(cat, LIB, book("a1", "Alpha treatise", "9780306406157", ["ITEM-1", "ITEM-2"])))["a1"]
    await upload(cat, OTHER, book("o1", "Alpha treatise", "9780306406157", []))

    assert (await upload(cat, LIB, book("a1", "Alpha treatise", "9780306406157", [])))["a1"] == alpha

    assert await found(cat, institution=LIB) == set() and await found(cat, available="true") == set()
    assert alpha not in await in_set(cat, LIB)
    assert [c for c, _, _ in await item_changes(cat, "ITEM-1")] == ["appeared", "withdrawn"]
    assert await broker_copy(cat) == {}


async def test_a_deleted_record_takes_its_holdings_out_of_its_cluster(cat: Catalog) -> None:
    alpha = (await upload(cat, LIB, book("a1", "Alpha treatise", "9780306406157", ["ITEM-1"])))["a1"]
    assert (await upload(cat, OTHER, book("o1", "Alpha treatise", "9780306406157", ["OTHER-1"])))["o1"] == alpha
    assert await found(cat, institution=LIB) == {alpha} and alpha in await in_set(cat, LIB)

    response = await cat.client.delete(f"/catalog/records/{LIB}/a1", headers=cat.headers(LIB))
    assert response.status_code == 204, response.text

    assert await found(cat, institution=LIB) == set() and await found(cat, institution=OTHER) == {alpha}
    assert alpha not in await in_set(cat, LIB) and alpha in await in_set(cat, OTHER)
    assert [c for c, _, _ in await item_changes(cat, "ITEM-1")] == ["appeared", "withdrawn"]
    assert set(await broker_copy(cat)) == {(OTHER, "OTHER-1")}


async def test_a_member_record_without_items_is_no_holder_anywhere_until_it_sends_items(cat: Catalog) -> None:
    """The cluster page, search results, the institution facet and filter and the OAI-PMH sets agree: a library
    whose record states no items is a member of the cluster, not a holder."""
    alpha = (await upload(cat, LIB, book("a1", "Alpha treatise", "9780306406157", ["ITEM-1"])))["a1"]
    assert (await upload(cat, OTHER, book("o1", "Alpha treatise", "9780306406157", [])))["o1"] == alpha
    beta = (await upload(cat, OTHER, book("o2", "Beta treatise", "9781449355739", [])))["o2"]

    assert await page(cat, alpha) == ([LIB, OTHER], [LIB]) and await page(cat, beta) == ([OTHER], [])
    assert await search_holders(cat, alpha) == [LIB] and await search_holders(cat, beta) == []
    assert await institution_facet(cat) == {LIB: 1}
    assert await found(cat, institution=OTHER) == set() and await in_set(cat, OTHER) == set()

    await upload(cat, OTHER, book("o1", "Alpha treatise", "9780306406157", ["OTHER-1"]))
    assert await page(cat, alpha) == ([LIB, OTHER], [LIB, OTHER])
    assert sorted(await search_holders(cat, alpha)) == [LIB, OTHER]
    assert await institution_facet(cat) == {LIB: 1, OTHER: 1}
    assert await found(cat, institution=OTHER) == {alpha} and await in_set(cat, OTHER) == {alpha}


async def page(cat: Catalog, cluster_id: int) -> tuple[list[str], list[str]]:
    """The institutions of the cluster page's members, and of its holders."""
    view = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
    return [m["institution"] for m in view["members"]], [h["institution"] for h in view["holdings"]]


async def search_holders(cat: Catalog, cluster_id: int) -> list[str]:
    response = await cat.client.get("/catalog/search", params={"q": "treatise"})
    hit = next(h for h in response.json()["results"] if h["cluster_id"] == cluster_id)
    return [h["institution"] for h in hit["holdings"]]


async def institution_facet(cat: Catalog) -> dict[str, int]:
    facets = (await cat.client.get("/catalog/search")).json()["facets"]
    return {f["value"]: f["count"] for f in facets["institution"]}
