"""A local copy of another service's entity keeps the newest version, whatever order concurrent consumers commit in.

On PostgreSQL (READ COMMITTED), with two connections: one writes and holds its transaction open while the other
writes the same entity, then commits; the other's statement waits on the row and goes on after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from meshkit.replica import upsert_if_newer
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration

metadata = sa.MetaData()
members = sa.Table("members", metadata, sa.Column("code", sa.String(64), primary_key=True),
                   sa.Column("name", sa.String(200), nullable=False), sa.Column("version", sa.Integer, nullable=False))


@pytest.fixture(params=["postgresql", "sqlite"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        created = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/replica.sqlite")
        async with created.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield created
        await created.dispose()
        return
    async with postgres_engine() as created:
        yield created


@pytest.fixture
async def concurrent() -> AsyncIterator[AsyncEngine]:
    """PostgreSQL only: SQLite runs one writer at a time, so nothing ever waits on a row there."""
    async with postgres_engine() as created:
        yield created


@asynccontextmanager
async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    async with postgres_database() as url:
        created = create_async_engine(url)
        async with created.begin() as conn:
            await conn.run_sync(metadata.create_all)
        try:
            yield created
        finally:
            await created.dispose()


async def stored(engine: AsyncEngine) -> tuple[str, int] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(members.c.name, members.c.version))).first()
        return (row.name, row.version) if row else None


async def put(engine: AsyncEngine, name: str, version: int) -> bool:
    async with AsyncSession(engine) as session, session.begin():
        return await upsert_if_newer(session, members, "code", {"code": "CN-U1", "name": name, "version": version})


async def test_copies_are_kept_newest_first_and_late_or_repeated_events_change_nothing(engine: AsyncEngine) -> None:
    assert await put(engine, "first", 1)
    assert await put(engine, "third", 3)
    assert not await put(engine, "second, late", 2)
    assert not await put(engine, "third again", 3)
    assert await stored(engine) == ("third", 3)


async def test_an_older_event_waiting_on_the_row_does_not_overwrite_the_newer_copy_committed_meanwhile(
        concurrent: AsyncEngine) -> None:
    assert await put(concurrent, "first", 1)
    async with AsyncSession(concurrent) as newer:
        await newer.begin()
        assert await upsert_if_newer(newer, members, "code", {"code": "CN-U1", "name": "third", "version": 3})
        older = asyncio.create_task(put(concurrent, "second, late", 2))  # waits on the row the newer one holds
        await asyncio.sleep(0.3)
        assert not older.done()
        await newer.commit()
    assert not await older
    assert await stored(concurrent) == ("third", 3)


async def test_two_first_copies_at_once_keep_the_newer_without_a_key_collision(concurrent: AsyncEngine) -> None:
    async with AsyncSession(concurrent) as first:
        await first.begin()
        assert await upsert_if_newer(first, members, "code", {"code": "CN-U1", "name": "first", "version": 1})
        second = asyncio.create_task(put(concurrent, "second", 2))
        await asyncio.sleep(0.3)
        await first.commit()
    assert await second
    assert await stored(concurrent) == ("second", 2)
