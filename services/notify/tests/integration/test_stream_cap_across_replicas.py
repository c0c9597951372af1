"""The cap on a person's live streams holds across replicas: a stream opened behind one replica ends the person's
oldest behind another within a recheck, and streams of a replica that stopped no longer count. On SQLite and on
the real PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from notify_fixtures import Events, Notify, ada, notify, notify_app, stream_opener

from bibliomesh_notify.adapters.tables import live_streams
from meshkit.testing import eventually, running, trust
from tests.support.infra import postgres_database
from tests.support.serving import serving

CAP = {"stream_max_per_person": 2, "stream_recheck_seconds": 0.2}


@asynccontextmanager
async def two_replicas(tmp_path: Path, database: str) -> AsyncIterator[tuple[Notify, Notify, str, str]]:
    """Two notify apps on one database (and one embedded bus), each served over HTTP."""
    async with AsyncExitStack() as stack:
        if database == "postgresql":
            url = await stack.enter_async_context(postgres_database("bm_notify_streams"))
            settings = {**CAP, "database_url": url}
        else:
            settings = dict(CAP)
        first = await stack.enter_async_context(notify(tmp_path, **settings))
        app = notify_app(tmp_path, **settings)
        trust(app, first.tokens)  # one issuer, trusted by both
        second = Notify(app, await stack.enter_async_context(running(app)), first.tokens)
        first_url = await stack.enter_async_context(serving(first.app))
        second_url = await stack.enter_async_context(serving(second.app))
        yield first, second, first_url, second_url


async def registered(n: Notify) -> int:
    async with n.runtime.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(live_streams)) or 0)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_a_stream_behind_another_replica_ends_the_oldest_past_the_cap(tmp_path: Path, database: str) -> None:
    async with two_replicas(tmp_path, database) as (first, second, first_url, second_url), \
            httpx.AsyncClient(timeout=20) as http:
        await ada(first)
        async with asyncio.timeout(20), \
                stream_opener(http, first.person_headers("user:ada", "CN-U1")) as open_stream:
            oldest = await open_stream(f"{first_url}/notify/stream")
            await asyncio.sleep(0.05)  # ids order the streams; the oldest was registered first
            kept = await open_stream(f"{first_url}/notify/stream")
            newest = await open_stream(f"{second_url}/notify/stream")  # the third, in the other replica
            assert await oldest.take(None) == [("end", {"reason": "superseded"})]
            assert first.app.state.notify.streams.running("user:ada") == 1
            assert second.app.state.notify.streams.running("user:ada") == 1
            # the two within the cap go on past several rechecks
            await asyncio.sleep(1)
            reading = [asyncio.create_task(events.take(1)) for events in (kept, newest)]
            await asyncio.sleep(0.5)
            assert not any(task.done() for task in reading)
            for task in reading:
                task.cancel()

        async def all_removed() -> bool:
            return await registered(first) == 0

        await eventually(all_removed)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def test_streams_of_a_replica_that_stopped_no_longer_count(tmp_path: Path, database: str) -> None:
    async with two_replicas(tmp_path, database) as (first, _second, first_url, _), \
            httpx.AsyncClient(timeout=20) as http:
        await ada(first)
        long_ago = datetime.now(UTC) - timedelta(minutes=5)
        async with first.runtime.engine.begin() as conn:  # left behind by a replica that was killed
            for _ in range(3):
                await conn.execute(sa.insert(live_streams).values(subject="user:ada", opened_at=long_ago,
                                                                  seen_at=long_ago))
        headers = first.person_headers("user:ada", "CN-U1")
        async with http.stream("GET", f"{first_url}/notify/stream", headers=headers) as live:
            events = Events(live)
            await events.first_line()
            reading = asyncio.create_task(events.take(1))
            await asyncio.sleep(1)  # five rechecks
            assert not reading.done()
            reading.cancel()
            assert await registered(first) == 1  # the stale rows went when the person opened a stream
