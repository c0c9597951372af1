"""Clusters stored before search existed are indexed by the migration that adds it, and the later migrations that
derive from clusters (OAI-PMH sets, availability at suspended holders) bring stored data along; on both engines."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.search import engine_for
from bibliomesh_catalog.adapters.tables import cluster_sets, holders
from bibliomesh_catalog.bootstrap import MIGRATIONS
from bibliomesh_catalog.service_layer.search import SearchParams, search_catalog
from meshkit.migrations import upgrade, upgrade_in_thread
from services.catalog.tests.search_fixtures import Book, Item, add_book, add_holders, database_session
from tests.support.infra import database_on

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_search_migration_indexes_existing_clusters(kind: str, tmp_path: Path) -> None:
    async with database_on(kind, tmp_path, "bm_search_mig") as url:
        await _check(url)


async def _check(url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0002")  # the schema before search
    async with database_session(url) as session:
        await add_holders(session)
        cluster_id = await add_book(session, Book("中华人民共和国史", items=[Item("CN-DL-U1", "h1")]), index=False)
        await session.commit()
    await upgrade_in_thread(MIGRATIONS, url)
    async with database_session(url) as session:
        found = await search_catalog(session, SearchParams(q="人民"))
        assert [hit.cluster_id for hit in found.results] == [cluster_id]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_upgrading_keeps_oai_sets_and_hides_what_suspended_holders_hold(kind: str, tmp_path: Path) -> None:
    async with database_on(kind, tmp_path, "bm_sets_mig") as url:
        await _check_sets_and_suspended(url)


async def _check_sets_and_suspended(url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0007")  # before cluster_sets, search counting suspended
    async with database_session(url) as session:
        await add_holders(session)
        await session.execute(sa.update(holders).where(holders.c.code == "CN-SY-U1").values(status="suspended"))
        shared = await add_book(session, Book("Python programming", items=[Item("CN-DL-U1", "p1"),
                                                                           Item("CN-SY-U1", "p2")]), index=False)
        only_suspended = await add_book(session, Book("Snakes of the world", items=[Item("CN-SY-U1", "s1")]),
                                        index=False)
        await engine_for(session).reindex(session, [shared, only_suspended])
        # As the code before this change indexed it: the suspended holder's copy counted as available.
        await session.execute(sa.text("UPDATE search_fts_docs SET available = :yes"), {"yes": True})
        await session.commit()
    await upgrade_in_thread(MIGRATIONS, url)
    async with database_session(url) as session:
        stored = (await session.execute(sa.select(cluster_sets.c.cluster_id, cluster_sets.c.set_spec)
                                        .where(cluster_sets.c.left_at.is_(None)))).all()
        assert sorted(stored) == sorted([(shared, "CN-DL-U1"), (shared, "CN-SY-U1"),
                                         (only_suspended, "CN-SY-U1")])
        available = await search_catalog(session, SearchParams(available=False))
        assert [hit.cluster_id for hit in available.results] == [only_suspended]
