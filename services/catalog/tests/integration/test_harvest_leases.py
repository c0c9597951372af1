"""Background jobs across replicas: two catalogues on one database never harvest the same source at once, a
harvest left behind by a replica that died is failed and done again, a live one is left alone, the schedule runs
on its own, the lease a heartbeat keeps is lost to nobody while it beats, and a harvest whose source moved stops
without writing the old address's cursor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.harvest_repository import SOURCE_LEASE
from bibliomesh_catalog.adapters.leases import heartbeat
from bibliomesh_catalog.adapters.tables import harvest_runs, harvest_sources
from bibliomesh_catalog.entrypoints.background import wake
from bibliomesh_catalog.service_layer.harvest_scheduler import harvest_due, harvest_source
from services.catalog.tests.catalog_fixtures import Catalog, catalog
from services.catalog.tests.oai_fixtures import (
    LOOPBACK_SOURCES,
    StaticProvider,
    caltech_records,
    finished,
    harvest_now,
    register,
    serving,
)
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration


@dataclass
class Replicas:
    one: Catalog
    two: Catalog
    provider: StaticProvider
    url: str


@pytest.fixture(params=["sqlite", "postgresql"])
async def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Replicas]:
    """Two catalogue apps (two runtimes, two lease owners) on the same database, and an OAI-PMH source."""
    async with AsyncExitStack() as stack:
        url = "" if request.param == "sqlite" else await stack.enter_async_context(postgres_database("bm_lease"))
        one = await stack.enter_async_context(catalog(tmp_path, database_url=url, **LOOPBACK_SOURCES))
        two = await stack.enter_async_context(catalog(tmp_path, database_url=url, **LOOPBACK_SOURCES))
        provider = StaticProvider(caltech_records())
        base = await stack.enter_async_context(serving(provider.app(), "/oai"))
        yield Replicas(one, two, provider, base)


async def runs(cat: Catalog) -> list[dict[str, Any]]:
    async with cat.app.state.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(harvest_runs).order_by(harvest_runs.c.requested_at)))
                .mappings()]


async def set_lease(cat: Catalog, owner: str | None, expires: datetime | None) -> None:
    async with cat.app.state.runtime.engine.begin() as conn:
        await conn.execute(sa.update(harvest_sources).values(lease_owner=owner, lease_expires_at=expires))


async def settled(cat: Catalog) -> list[dict[str, Any]]:
    """The runs, once none is running any more."""
    for _ in range(400):
        done = await runs(cat)
        if done and all(r["status"] not in ("queued", "running") for r in done):
            return done
        await asyncio.sleep(0.05)
    raise AssertionError("a harvest did not finish")


async def test_two_replicas_never_harvest_one_source_at_once(replicas: Replicas) -> None:
    one, two, provider = replicas.one, replicas.two, replicas.provider
    provider.delay = 0.05
    await register(one, "LIB-C", replicas.url, enabled=True)  # due now
    results = await asyncio.gather(harvest_source(one.app.state.runtime, "LIB-C"),
                                   harvest_source(two.app.state.runtime, "LIB-C"),
                                   harvest_due(two.app.state.runtime))
    started = [r for r in results[:2] if r] + results[2]
    assert len(started) <= 1, results  # (a background loop may have been first: then none of these)
    done = await settled(one)
    assert [(r["trigger"], r["status"], r["created"]) for r in done] == [("schedule", "succeeded", 100)]
    assert sum(1 for r in provider.requests if r.get("verb") == "Identify") == 1


async def test_two_background_loops_run_a_due_source_once(replicas: Replicas) -> None:
    one, two, provider = replicas.one, replicas.two, replicas.provider
    provider.delay = 0.1
    await register(one, "LIB-C", replicas.url, enabled=True)
    for _ in range(15):  # both loops look again and again while the harvest runs
        wake(one.app.state.runtime)
        wake(two.app.state.runtime)
        await asyncio.sleep(0.1)
    done = await settled(one)
    assert [(r["trigger"], r["status"]) for r in done] == [("schedule", "succeeded")]
    assert sum(1 for r in provider.requests if r.get("verb") == "Identify") == 1
    source = (await two.client.get("/catalog/harvest-sources/LIB-C", headers=two.headers("LIB-C"))).json()
    assert source["running"] is False and source["last_status"] == "succeeded"
    next_run = datetime.fromisoformat(source["next_run_at"])
    assert next_run - datetime.fromisoformat(source["last_run_at"]) == timedelta(minutes=1440)


async def test_a_harvest_whose_replica_died_is_failed_and_done_again(replicas: Replicas) -> None:
    one = replicas.one
    await register(one, "LIB-C", replicas.url)
    async with one.app.state.runtime.engine.begin() as conn:
        await conn.execute(sa.insert(harvest_runs).values(
            id="dead-run", institution="LIB-C", trigger="schedule", status="running", pages=1, records_read=40,
            created=40, updated=0, unchanged=0, rejected=0, deleted=0, errors=[], requested_by="schedule",
            requested_at=datetime.now(UTC) - timedelta(hours=1), started_at=datetime.now(UTC) - timedelta(hours=1)))
    await set_lease(one, "crashed-replica", datetime.now(UTC) - timedelta(seconds=1))
    run = await harvest_now(one, "LIB-C")
    assert run["status"] == "succeeded" and run["created"] == 100
    dead = next(r for r in await runs(one) if r["id"] == "dead-run")
    assert dead["status"] == "failed" and "lease ran out" in dead["failure"] and dead["finished_at"]


async def test_a_harvest_held_by_a_live_replica_is_left_alone(replicas: Replicas) -> None:
    one, two = replicas.one, replicas.two
    await register(one, "LIB-C", replicas.url)
    await set_lease(one, "busy-replica", datetime.now(UTC) + timedelta(minutes=5))
    queued = (await one.client.post("/catalog/harvest-sources/LIB-C/runs", headers=one.headers("LIB-C"))).json()
    assert await harvest_due(one.app.state.runtime) == [] and await harvest_due(two.app.state.runtime) == []
    source = (await one.client.get("/catalog/harvest-sources/LIB-C", headers=one.headers("LIB-C"))).json()
    assert source["running"] is True and source["last_run"]["status"] == "queued"
    assert replicas.provider.requests == []
    await set_lease(one, "busy-replica", datetime.now(UTC) - timedelta(seconds=1))  # its heartbeat stops
    wake(two.app.state.runtime)
    run = await finished(one.client, one.headers("LIB-C"), "LIB-C", queued["id"])
    assert run["status"] == "succeeded"


async def test_a_heartbeat_keeps_the_lease_and_notices_when_it_is_taken(replicas: Replicas) -> None:
    one, two = replicas.one, replicas.two
    await register(one, "LIB-C", replicas.url)
    sessions = one.app.state.runtime.sessions
    async with sessions() as session, session.begin():
        assert await SOURCE_LEASE.claim(session, "LIB-C", "replica-1", 0.6)
    async with two.app.state.runtime.sessions() as session, session.begin():
        assert not await SOURCE_LEASE.claim(session, "LIB-C", "replica-2", 0.6), "held: not free"
    async with heartbeat(sessions, SOURCE_LEASE, "LIB-C", "replica-1", 0.6) as beat:
        await asyncio.sleep(1.0)  # longer than the lease: only the heartbeat keeps it
        async with two.app.state.runtime.sessions() as session, session.begin():
            assert not await SOURCE_LEASE.claim(session, "LIB-C", "replica-2", 0.6)
        assert not beat.lost
        await set_lease(one, "replica-2", datetime.now(UTC) + timedelta(minutes=1))  # taken over
        await asyncio.sleep(0.5)
        assert beat.lost
    await set_lease(one, "replica-2", datetime.now(UTC) - timedelta(seconds=1))
    async with two.app.state.runtime.sessions() as session, session.begin():
        assert await SOURCE_LEASE.claim(session, "LIB-C", "replica-3", 0.6), "expired: free again"


async def pages_applied(cat: Catalog, institution: str, run_id: str, pages: int) -> None:
    headers = cat.headers(institution)
    for _ in range(400):
        run = (await cat.client.get(f"/catalog/harvest-sources/{institution}/runs/{run_id}", headers=headers)).json()
        if run["pages"] >= pages:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the harvest did not apply {pages} page(s)")


async def test_a_source_moved_during_a_harvest_is_harvested_from_scratch_at_its_new_address_at_once(
        replicas: Replicas) -> None:
    one, old = replicas.one, replicas.provider
    old.gate = asyncio.Event()  # the first page is applied, the next ones wait until the source has moved
    new = StaticProvider(caltech_records()[old.page_size:])
    headers = one.headers("LIB-C")
    await register(one, "LIB-C", replicas.url)
    run_id = (await one.client.post("/catalog/harvest-sources/LIB-C/runs", headers=headers)).json()["id"]
    await pages_applied(one, "LIB-C", run_id, 1)
    async with serving(new.app(), "/oai") as new_url:
        await register(one, "LIB-C", new_url)
        old.gate.set()
        stopped = await finished(one.client, headers, "LIB-C", run_id)
        assert stopped["status"] == "failed" and "changed" in stopped["failure"], stopped
        assert stopped["pages"] == 1
        source = (await one.client.get("/catalog/harvest-sources/LIB-C", headers=headers)).json()
        assert (source["base_url"], source["last_datestamp"], source["running"]) == (new_url, None, False)
        assert datetime.fromisoformat(source["next_run_at"]) <= datetime.now(UTC)
        run = await harvest_now(one, "LIB-C")
        assert (run["status"], run["created"], run["harvested_from"]) == ("succeeded", 60, None), run
        assert "from" not in new.list_requests()[0]
