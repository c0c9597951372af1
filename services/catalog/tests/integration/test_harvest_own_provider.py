"""One catalogue harvests another over HTTP: our own OAI-PMH provider (served by uvicorn on loopback) as the
source, real Library of Congress records across several pages, MARCXML chosen over Dublin Core, then only what
changed, deleted clusters withdrawn with their holdings and re-clustered in the harvesting catalogue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.tables import clusters, holdings, records
from services.catalog.tests.catalog_fixtures import LIBRARIES, Catalog, catalog, loc_records, marc_record
from services.catalog.tests.oai_fixtures import LOOPBACK_SOURCES, harvest_now, register, serving
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration
ISBN_KEEP, ISBN_GONE, ISBN_NEW = "9780262033848", "9780131103627", "9780201633610"


def book(local_id: str, title: str, isbn: str, barcode: str) -> bytes:
    return marc_record(local_id, title, isbns=(isbn,), author="Author, An", year=2009,
                       items=(("p", barcode, "c", "Main stacks"),))


@dataclass
class Pair:
    source: Catalog
    target: Catalog
    base_url: str


@pytest.fixture(params=["sqlite", "postgresql"])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    async with AsyncExitStack() as stack:
        source = await stack.enter_async_context(catalog(tmp_path / "source", directory=(*LIBRARIES, "LIB-Z"),
                                                                 harvest_scheduler=False))
        base_url = await stack.enter_async_context(serving(source.app, "/catalog/oai"))
        url = "" if request.param == "sqlite" else await stack.enter_async_context(postgres_database("bm_harvest"))
        target = await stack.enter_async_context(catalog(tmp_path / "target", database_url=url, **LOOPBACK_SOURCES))
        yield Pair(source, target, base_url)


async def count(cat: Catalog, statement: sa.Select[tuple[int]]) -> int:
    return int(await cat.scalar(sa.select(sa.func.count()).select_from(statement.subquery())))


async def cluster_of(cat: Catalog, institution: str, local_id: str) -> int | None:
    found: int | None = await cat.scalar(sa.select(records.c.cluster_id).where(
        records.c.institution == institution, records.c.local_id == local_id))
    return found


async def identifier_of(source: Catalog, local_id: str) -> str:
    return f"oai:bibliomesh:cluster/{await cluster_of(source, 'LIB-A', local_id)}"


async def test_harvest_pages_then_changes_then_deletions(pair: Pair) -> None:
    source, target = pair.source, pair.target
    await source.upload("LIB-A", b"".join(loc_records(230)))
    await source.upload("LIB-A", book("a-1", "Keep this book", ISBN_KEEP, "A1") + book("a-2", "Going away", ISBN_GONE,
                                                                                       "A2"))
    await target.upload("LIB-B", marc_record("b-1", "Going away", isbns=(ISBN_GONE,), author="Author, An", year=2009))
    await asyncio.sleep(1.1)  # the provider's datestamps are to the second: let the harvest start a second later
    live = await count(source, sa.select(clusters.c.id).where(clusters.c.deleted_at.is_(None)))
    every = await count(source, sa.select(clusters.c.id))

    await register(target, "LIB-H", pair.base_url)
    first = await harvest_now(target, "LIB-H")
    assert first["status"] == "succeeded", first
    assert first["metadata_prefix"] == "marc21", "MARCXML is preferred to Dublin Core"
    assert first["pages"] == -(-every // 100) and first["records_read"] == every
    assert (first["created"], first["rejected"], first["deleted"]) == (live, 0, 0), first["errors"]
    gone = await identifier_of(source, "a-2")
    assert await cluster_of(target, "LIB-H", gone) == await cluster_of(target, "LIB-B", "b-1"), \
        "the harvested record joins the same book held by another library"
    assert sorted(await target_items(target)) == ["A1", "A2"], "the items came along in the provider's 852s"
    state = (await target.client.get("/catalog/harvest-sources/LIB-H", headers=target.headers("LIB-H"))).json()
    cursor = state["last_datestamp"]
    assert cursor and cursor.endswith("Z") and "T" in cursor, "second granularity, as the provider's Identify says"

    await source.upload("LIB-A", book("a-1", "Keep this book, second printing", ISBN_KEEP, "A1"))
    await source.upload("LIB-A", book("a-3", "A new arrival", ISBN_NEW, "A3"))
    deleted = await source.client.delete("/catalog/records/LIB-A/a-2", headers=source.headers("LIB-A"))
    assert deleted.status_code == 204
    second = await harvest_now(target, "LIB-H")
    assert second["status"] == "succeeded", second
    assert second["harvested_from"] == cursor
    assert (second["records_read"], second["created"], second["updated"], second["deleted"], second["unchanged"]) \
        == (3, 1, 1, 1, 0)
    kept = await target.scalar(sa.select(records.c.title).where(
        records.c.local_id == await identifier_of(source, "a-1"), records.c.institution == "LIB-H"))
    assert kept.startswith("Keep this book, second printing")
    withdrawn = await target.scalar(sa.select(records.c.deleted_at).where(records.c.local_id == gone))
    assert withdrawn is not None
    assert sorted(await target_items(target)) == ["A1", "A3"], "the deleted record's item is withdrawn"
    view = (await target.client.get(f"/catalog/clusters/{await cluster_of(target, 'LIB-B', 'b-1')}")).json()
    assert [(m["institution"], m["local_id"]) for m in view["members"]] == [("LIB-B", "b-1")], \
        "the other library's record is re-clustered without the withdrawn one"

    again = await harvest_now(target, "LIB-H")
    assert again["status"] == "succeeded" and again["created"] == again["updated"] == again["deleted"] == 0


async def target_items(target: Catalog) -> list[str]:
    async with target.app.state.runtime.engine.connect() as conn:
        return list((await conn.execute(sa.select(holdings.c.item_id).where(
            holdings.c.institution == "LIB-H"))).scalars())


async def test_a_set_harvests_only_the_clusters_held_there(pair: Pair) -> None:
    source, target = pair.source, pair.target
    await source.upload("LIB-A", book("a-1", "Keep this book", ISBN_KEEP, "A1"))
    await source.upload("LIB-Z", book("z-1", "Elsewhere only", ISBN_NEW, "Z1") + b"".join(loc_records(5)))
    await register(target, "LIB-H", pair.base_url, set_spec="LIB-A", metadata_prefix="oai_dc")
    run = await harvest_now(target, "LIB-H")
    assert run["status"] == "succeeded" and run["metadata_prefix"] == "oai_dc"
    assert (run["records_read"], run["created"]) == (1, 1)
    title = await target.scalar(sa.select(records.c.title).where(records.c.institution == "LIB-H"))
    assert title == "Keep this book"
