"""Clusters stored before search existed are indexed by the migration that adds it, on both engines."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bibliomesh_catalog.bootstrap import MIGRATIONS
from bibliomesh_catalog.service_layer.search import SearchParams, search_catalog
from meshkit.migrations import upgrade, upgrade_in_thread
from services.catalog.tests.search_fixtures import Book, Item, add_book, add_holders, database_session
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_search_migration_indexes_existing_clusters(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        await _check(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite'}")
    else:
        async with postgres_database("bm_search_mig") as url:
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
