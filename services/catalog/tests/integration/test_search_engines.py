"""Both engines, SQLite FTS5 and PostgreSQL, on the same catalogue: they must find, rank and count alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search import engine_for
from bibliomesh_catalog.adapters.search.query import AndNot, ClusterIds, Field, Match, Or, SearchRequest
from bibliomesh_catalog.service_layer.availability_refresh import refresh_next_batch
from bibliomesh_catalog.service_layer.directory import copy_institution
from bibliomesh_catalog.service_layer.search import SearchParams, search_catalog
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from services.catalog.tests.search_fixtures import (
    Book,
    Item,
    add_book,
    add_holders,
    database_session,
    delete_cluster,
    migrated_database,
    set_status,
)

pytestmark = pytest.mark.integration

BOOKS = {
    "history": Book("中华人民共和国史", authors=["胡绳"], year=1999, language="chi",
                    items=[Item("CN-DL-U1", "h1")]),
    "python": Book("Python programming", authors=["Lutz, Mark"], year=2010, subjects=["Computer programming"],
                   items=[Item("CN-DL-U2", "p1", status="on_loan"), Item("CN-SY-U1", "p2")]),
    "snakes": Book("Snakes of the world", year=2001, notes=["Python programming is not covered; see O'Reilly."],
                   items=[Item("CN-SY-U1", "s1", status="on_loan")]),
    "ebook": Book("Deep learning", authors=["Goodfellow, Ian"], year=2016, format="electronic",
                  items=[Item("CN-DL-U2", "e1", status="not_for_loan", format="electronic",
                              ill_copy_allowed=True)]),
    "learning": Book("Learning Python", authors=["Lutz, Mark"], year=2013, publisher="O'Reilly Media",
                     isbns=["9781449355739"], items=[Item("CN-DL-U1", "l1", status="missing")]),
    "dream": Book("红楼梦", authors=["曹雪芹"], year=1982, language="chi", items=[Item("CN-SY-U1", "d1")]),
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def catalogue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[AsyncSession, dict]]:
    async with migrated_database(request.param, tmp_path) as url, database_session(url) as session:
        await add_holders(session)
        ids = {name: await add_book(session, book) for name, book in BOOKS.items()}
        yield session, ids


async def found(session: AsyncSession, **params: object) -> list[int]:
    results = await search_catalog(session, SearchParams(**params))  # type: ignore[arg-type]
    return [hit.cluster_id for hit in results.results]


async def test_a_chinese_title_is_found_by_any_word_inside_it(catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    for word in ("人民", "共和国", "中华人民共和国", "国史", "史"):
        assert await found(session, q=word) == [ids["history"]], word
    assert await found(session, q="民国") == []  # its characters, but not a word of the title
    assert await found(session, title="红楼") == [ids["dream"]]
    assert await found(session, author="雪芹") == [ids["dream"]]
    assert await found(session, q="曹雪芹 红楼梦") == [ids["dream"]]


async def test_an_english_title_is_found_by_a_word_a_phrase_or_a_word_beginning(
        catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    assert await found(session, q="deep") == [ids["ebook"]]
    assert await found(session, q="DEEP Learning") == [ids["ebook"]]
    assert set(await found(session, q="learn*")) == {ids["ebook"], ids["learning"]}
    assert await found(session, q='"learning python"') == [ids["learning"]]
    assert await found(session, q='"python learning"') == []
    assert await found(session, isbn="978-1-4493-5573-9") == [ids["learning"]]


async def test_title_and_author_matches_rank_above_notes(catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    ranked = await found(session, q="python")
    assert set(ranked[:2]) == {ids["python"], ids["learning"]} and ranked[2] == ids["snakes"]
    assert (await found(session, q="python programming"))[0] == ids["python"]
    assert await found(session, q="python", sort="year_desc") == [ids["learning"], ids["python"], ids["snakes"]]
    assert await found(session, q="python", sort="title") == [ids["learning"], ids["python"], ids["snakes"]]


async def test_fielded_search_looks_only_in_its_field(catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    assert set(await found(session, title="python")) == {ids["python"], ids["learning"]}
    assert await found(session, publisher="reilly") == [ids["learning"]]  # the notes of "snakes" mention it too
    assert await found(session, subject="computer") == [ids["python"]]
    assert set(await found(session, author="lutz")) == {ids["python"], ids["learning"]}
    assert await found(session, q="python", year_from=2005, year_to=2011) == [ids["python"]]


async def test_facet_counts_count_each_cluster_once(catalogue: tuple[AsyncSession, dict]) -> None:
    session, _ids = catalogue
    results = await search_catalog(session, SearchParams(q="python"))
    facets = {name: {v.value: v.count for v in values} for name, values in results.facets.items()}
    assert results.total == 3
    assert facets["format"] == {"print": 3}
    assert facets["language"] == {"eng": 3}
    assert facets["institution"] == {"CN-SY-U1": 2, "CN-DL-U2": 1, "CN-DL-U1": 1}
    assert facets["region"] == {"CN-LN-DL": 2, "CN-LN-SY": 2}  # "python" is held in both regions: counted once
    assert facets["available"] == {"true": 1, "false": 2}
    labels = {v.value: v.label for v in results.facets["institution"]}
    assert labels["CN-DL-U1"] == "Dalian University Library"


async def test_filters_narrow_by_holder_region_availability_format_and_language(
        catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    assert set(await found(session, q="python", available=True)) == {ids["python"]}
    assert await found(session, institutions=["CN-DL-U1"], sort="title") == [ids["learning"], ids["history"]]
    assert set(await found(session, regions=["CN-LN-SY"])) == {ids["python"], ids["snakes"], ids["dream"]}
    assert await found(session, regions=["CN-NOWHERE"]) == []
    assert await found(session, formats=["electronic"], available=True) == [ids["ebook"]]  # licensed e-copy
    assert set(await found(session, languages=["chi"])) == {ids["history"], ids["dream"]}
    everything = await search_catalog(session, SearchParams(page_size=2, page=3))
    assert everything.total == 6 and len(everything.results) == 2


async def test_deleted_clusters_drop_out_and_availability_follows_circulation(
        catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    await delete_cluster(session, ids["snakes"])
    assert ids["snakes"] not in await found(session, q="python")
    await set_status(session, "CN-DL-U1", "l1", "available")
    assert set(await found(session, q="python", available=True)) == {ids["python"], ids["learning"]}
    hit = (await search_catalog(session, SearchParams(q="learning python"))).results[0]
    assert [(h.institution, h.available, h.name) for h in hit.holdings] == [
        ("CN-DL-U1", True, "Dalian University Library")]


async def test_query_trees_mixing_text_and_ids(catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    engine = engine_for(session)
    either = Or((Match(Field.TITLE, ("deep",)), ClusterIds((ids["dream"],))))
    result = await engine.search(session, SearchRequest(either, facets=False))
    assert set(result.cluster_ids) == {ids["ebook"], ids["dream"]} and result.total == 2
    but_not = AndNot(Match(Field.ANY, ("python",)), Match(Field.AUTHOR, ("lutz",)))
    assert (await engine.search(session, SearchRequest(but_not))).cluster_ids == [ids["snakes"]]


async def test_a_suspended_holder_lends_nothing_until_it_is_reinstated(catalogue: tuple[AsyncSession, dict]) -> None:
    session, ids = catalogue
    shenyang = InstitutionSnapshot(code="CN-SY-U1", name_en="Shenyang University Library", kind="university",
                                   regions=["CN-LN-SY"], status="suspended", version=2)
    await copy_institution(session, shenyang)
    while await refresh_next_batch(session):
        pass
    assert await found(session, q="python", available=True) == []
    assert set(await found(session, available=True)) == {ids["history"], ids["ebook"]}
    assert set(await found(session, q="python", available=False)) == {ids["python"], ids["snakes"], ids["learning"]}
    results = await search_catalog(session, SearchParams(q="python"))
    assert {v.value: v.count for v in results.facets["available"]} == {"false": 3}
    assert {v.value: v.count for v in results.facets["institution"]}["CN-SY-U1"] == 2  # still held there
    python = next(hit for hit in results.results if hit.cluster_id == ids["python"])
    assert not python.available
    assert [(h.institution, h.suspended, h.available, h.items, h.available_items) for h in python.holdings] == [
        ("CN-DL-U2", False, False, 1, 0), ("CN-SY-U1", True, False, 1, 0)]

    await copy_institution(session, shenyang.model_copy(update={"status": "active", "version": 3}))
    while await refresh_next_batch(session):
        pass
    assert await found(session, q="python", available=True) == [ids["python"]]
    assert set(await found(session, available=True)) == {ids["history"], ids["ebook"], ids["python"], ids["dream"]}
    results = await search_catalog(session, SearchParams(q="python"))
    assert {v.value: v.count for v in results.facets["available"]} == {"true": 1, "false": 2}
