"""The core of ingest and clustering on PostgreSQL: overlap, updates, deletes, and concurrent batches."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.tables import clusters, messaging, records
from bibliomesh_catalog.bootstrap import MIGRATIONS
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.service_layer.ingest import delete_record, ingest_records
from meshkit.db import create_engine, session_factory
from meshkit.migrations import upgrade_in_thread
from meshkit.security import SYSTEM_PRINCIPAL, Principal
from meshkit.unit_of_work import UnitOfWork
from services.catalog.tests.catalog_fixtures import catalog, know, loc_records, local_id_of, marc_record
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration
ADMIN = Principal(subject="test", institution="*", roles=frozenset({"platform-admin"}))


async def test_two_libraries_over_the_api_on_postgresql(tmp_path: Path) -> None:
    async with postgres_database() as url, catalog(tmp_path, database_url=url) as cat:
        first = loc_records(200)
        second = loc_records(200, skip=100)
        a = await cat.upload("LIB-A", b"".join(first))
        b = await cat.upload("LIB-B", b"".join(second))
        assert a["counts"] == {"created": 200} and b["counts"] == {"created": 200}
        overlap = {r["local_id"]: r["cluster_id"] for r in a["results"][100:]}
        assert all(overlap[r["local_id"]] == r["cluster_id"] for r in b["results"][:100])
        live = await cat.scalar(sa.select(sa.func.count()).select_from(clusters).where(clusters.c.deleted_at.is_(None)))
        assert live == 300
        assert (await cat.upload("LIB-B", b"".join(second)))["counts"] == {"unchanged": 200}


async def test_ingest_update_and_delete_re_cluster_on_postgresql() -> None:
    async with postgres_database() as url:
        await upgrade_in_thread(MIGRATIONS, url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        await know(engine, ("A", "B", "C"))

        async def ingest(institution: str, data: bytes) -> list[str]:
            async with UnitOfWork(sessions, messaging.outbox, "catalog") as uow:
                results = await ingest_records(uow, institution, read_marc(io.BytesIO(data)), SYSTEM_PRINCIPAL)
                await uow.commit()
            return [r.status for r in results]

        async def cluster_of(institution: str, local_id: str) -> int | None:
            async with engine.connect() as conn:
                return await conn.scalar(sa.select(records.c.cluster_id).where(
                    records.c.institution == institution, records.c.local_id == local_id))

        try:
            assert await ingest("A", marc_record("a1", "Shared", isbns=("0306406152",))) == ["created"]
            assert await ingest("B", marc_record("b1", "Shared", isbns=("0306406152",))) == ["created"]
            assert await cluster_of("A", "a1") == await cluster_of("B", "b1")
            assert await ingest("B", marc_record("b1", "Shared", isbns=("1566199093",), year=1980)) == ["updated"]
            assert await cluster_of("A", "a1") != await cluster_of("B", "b1")
            assert await ingest("C", marc_record("c1", "Shared", isbns=("0306406152", "1566199093"))) == ["created"]
            assert await cluster_of("A", "a1") == await cluster_of("C", "c1")
            async with UnitOfWork(sessions, messaging.outbox, "catalog") as uow:
                assert await delete_record(uow, ADMIN, "C", "c1")
                await uow.commit()
            assert await cluster_of("C", "c1") is None
        finally:
            await engine.dispose()


async def test_concurrent_batches_of_the_same_books_do_not_create_duplicate_clusters() -> None:
    batch = loc_records(60)
    async with postgres_database() as url:
        await upgrade_in_thread(MIGRATIONS, url)
        engine = create_engine(url)
        sessions = session_factory(engine)

        async def load(institution: str) -> None:
            async with UnitOfWork(sessions, messaging.outbox, "catalog") as uow:
                await ingest_records(uow, institution, read_marc(io.BytesIO(b"".join(batch))), SYSTEM_PRINCIPAL)
                await uow.commit()

        try:
            await asyncio.gather(*(load(code) for code in ("A", "B", "C")))
            async with engine.connect() as conn:
                live = await conn.scalar(sa.select(sa.func.count()).select_from(clusters).where(
                    clusters.c.deleted_at.is_(None), clusters.c.member_count > 0))
                sizes = set((await conn.execute(sa.select(clusters.c.member_count).where(
                    clusters.c.deleted_at.is_(None)))).scalars())
            assert live == len({local_id_of(raw) for raw in batch}) and sizes == {3}
        finally:
            await engine.dispose()
