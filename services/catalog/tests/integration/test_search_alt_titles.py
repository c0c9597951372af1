"""Titles in another script (880 parallels of 245) are searchable on both engines, also for clusters stored before
they were indexed (migration 0006)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.tables import messaging, records
from bibliomesh_catalog.bootstrap import MIGRATIONS
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.service_layer.ingest import ingest_records
from bibliomesh_catalog.service_layer.search import SearchParams, search_catalog
from meshkit.db import create_engine, session_factory
from meshkit.migrations import upgrade, upgrade_in_thread
from meshkit.security import SYSTEM_PRINCIPAL
from meshkit.unit_of_work import UnitOfWork
from services.catalog.tests.catalog_fixtures import loc_records
from services.catalog.tests.search_fixtures import database_session, migrated_database
from tests.support.infra import database_on

pytestmark = pytest.mark.integration

# LoC 00049916 is catalogued in pinyin ("Ming dai zheng zhi zhi du") with its Chinese title, 明代政治制度, in an
# 880 linked to the 245; its neighbours in the file carry other Chinese titles.
LOCAL_ID = "00049916"
NEIGHBOURS = loc_records(12, skip=34070)


async def _ingest(url: str) -> int:
    engine = create_engine(url)
    try:
        async with UnitOfWork(session_factory(engine), messaging.outbox, "catalog") as uow:
            await ingest_records(uow, "US-DLC", read_marc(io.BytesIO(b"".join(NEIGHBOURS))), SYSTEM_PRINCIPAL)
            await uow.commit()
        async with engine.connect() as conn:
            cluster_id = await conn.scalar(sa.select(records.c.cluster_id).where(records.c.local_id == LOCAL_ID))
    finally:
        await engine.dispose()
    assert cluster_id is not None
    return int(cluster_id)


async def _found(url: str, **params: str) -> list[int]:
    async with database_session(url) as session:
        results = await search_catalog(session, SearchParams(**params))  # type: ignore[arg-type]
        return [hit.cluster_id for hit in results.results]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_pinyin_record_is_found_by_a_word_of_its_chinese_title(kind: str, tmp_path: Path) -> None:
    async with migrated_database(kind, tmp_path) as url:
        cluster_id = await _ingest(url)
        for word in ("政治", "政治制度", "明代"):
            assert await _found(url, q=word) == [cluster_id], word
        assert await _found(url, title="政治制度") == [cluster_id]
        assert await _found(url, q="zheng zhi") == [cluster_id]  # the romanized title still counts
        assert await _found(url, q="明治") == []  # its characters, but not a word of it


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_migration_indexes_chinese_titles_of_clusters_stored_before(kind: str, tmp_path: Path) -> None:
    async with database_on(kind, tmp_path, "bm_search_alt") as url:
        await _migrated_later(url)


async def _migrated_later(url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0005")
    cluster_id = await _ingest(url)
    engine = create_engine(url)
    try:  # documents as the code before 0006 wrote them: without the other script's titles
        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM search_fts_docs"))
            if conn.dialect.name == "sqlite":
                await conn.execute(sa.text("DELETE FROM search_fts"))
    finally:
        await engine.dispose()
    assert await _found(url, q="政治") == []
    await upgrade_in_thread(MIGRATIONS, url)
    assert await _found(url, q="政治") == [cluster_id]
