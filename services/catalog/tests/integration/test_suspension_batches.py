"""A suspension or reinstatement is carried into the search documents in committed batches of a bounded size, so a
record write goes through while a large library's clusters are still being recomputed; a recompute stopped half
way resumes where its last batch ended; the end result is the same as one recompute of everything. Driven by
directory events, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.search import availability
from bibliomesh_catalog.adapters.search.documents import holding_states, select_holdings
from bibliomesh_catalog.adapters.search.postgres_fts import PostgresFtsEngine
from bibliomesh_catalog.adapters.search.sqlite_fts import SqliteFtsEngine
from bibliomesh_catalog.service_layer import availability_refresh
from bibliomesh_contracts.events.directory import InstitutionSnapshot, InstitutionSuspendedV1, InstitutionUpdatedV1
from meshkit.testing import eventually, publish_event
from services.catalog.tests.catalog_fixtures import Catalog, catalog
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration

LAW = "CN-DL-LHU-LAW"
OTHER = "LIB-A"
BATCH = 2
SHARED_ISBN = "9780306406157"
LAW_SNAPSHOT = InstitutionSnapshot(code=LAW, name_en="Liaoning Law Library", kind="research-library",
                                   regions=["CN-LN-DL"], version=1)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with AsyncExitStack() as stack:
        yield "" if request.param == "sqlite" else await stack.enter_async_context(
            postgres_database("bm_suspension"))


def books(prefix: str, count: int, item_prefix: str) -> bytes:
    return json.dumps([{"local_id": f"{prefix}-{n}", "title": f"{prefix} treatise {chr(65 + n)} on contracts",
                        "year": 1990 + n, "holdings": [{"item_id": f"{item_prefix}{n}"}]}
                       for n in range(count)]).encode()


def shared_book(local_id: str, item_id: str) -> bytes:
    return json.dumps({"local_id": local_id, "title": "A treatise held by two", "year": 2001,
                       "identifiers": {"isbn": [SHARED_ISBN]}, "holdings": [{"item_id": item_id}]}).encode()


async def load_law(cat: Catalog, count: int) -> None:
    await cat.upload(LAW, books("law", count, "LAW-B"), "application/json")
    await cat.upload(LAW, shared_book("law-shared", "LAW-S"), "application/json")
    await cat.upload(OTHER, shared_book("a-shared", "A-S"), "application/json")


async def indexed(cat: Catalog) -> dict[int, bool]:
    """Each document's availability as committed (read on a connection of its own)."""
    async with cat.app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT cluster_id, available FROM search_fts_docs"))
        return {int(cluster_id): bool(available) for cluster_id, available in rows}


async def recomputed(cat: Catalog) -> dict[int, bool]:
    """Every document's availability computed afresh from the holdings and the directory copy."""
    ids = sorted(await indexed(cat))
    async with cat.app.state.runtime.engine.connect() as conn:
        states = holding_states(await conn.execute(select_holdings(ids)))
    return {cluster_id: any(s.available for s in states.get(cluster_id, ())) for cluster_id in ids}


async def pending(cat: Catalog) -> list[tuple[str, int]]:
    async with cat.app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT institution, after_cluster_id FROM availability_refreshes"))
        return [(institution, int(after)) for institution, after in rows]


async def suspend(cat: Catalog) -> None:
    snapshot = LAW_SNAPSHOT.model_copy(update={"status": "suspended", "version": 2})
    await publish_event(cat.app.state.runtime.bus, InstitutionSuspendedV1(institution=snapshot, reason="fees"),
                        producer="auth", aggregate_id=LAW, aggregate_version=2)


async def reinstate(cat: Catalog) -> None:
    snapshot = LAW_SNAPSHOT.model_copy(update={"version": 3})
    await publish_event(cat.app.state.runtime.bus, InstitutionUpdatedV1(institution=snapshot,
                                                                        changed_fields=["status"]),
                        producer="auth", aggregate_id=LAW, aggregate_version=3)


Observer = Callable[[Any, Any, Any], Awaitable[None]]


def observe_batches(monkeypatch: pytest.MonkeyPatch, before: Callable[[dict[int, bool]], Awaitable[None]]) -> None:
    """Call `before(batch)` ahead of every availability rewrite either engine makes."""
    for engine in (SqliteFtsEngine, PostgresFtsEngine):
        original = engine.set_availability

        def wrapped(original: Any) -> Observer:
            async def set_availability(self: Any, session: Any, available: Any) -> None:
                await before(dict(available))
                await original(self, session, available)
            return set_availability

        monkeypatch.setattr(engine, "set_availability", wrapped(original))


async def test_a_suspension_is_recomputed_in_committed_batches_while_a_write_goes_through(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with catalog(tmp_path, database_url=database_url) as cat:
        await load_law(cat, 16)
        before = await indexed(cat)
        assert len(before) == 17 and all(before.values())
        monkeypatch.setattr(availability, "BATCH", BATCH)
        seen: list[tuple[int, int, bool]] = []
        """Per rewrite: documents shown unavailable as committed, the batch's size, whether the write is done."""
        write: list[asyncio.Task[dict[str, Any]]] = []

        async def before_batch(batch: dict[int, bool]) -> None:
            committed = sum(1 for available in (await indexed(cat)).values() if not available)
            seen.append((committed, len(batch), bool(write) and write[0].done()))
            if not write:
                write.append(asyncio.create_task(cat.upload(OTHER, books("a", 1, "A-B"), "application/json")))

        async def write_in_between() -> None:  # the write, waiting for the lock, gets it between two batches
            await write[0]

        observe_batches(monkeypatch, before_batch)
        monkeypatch.setattr(availability_refresh, "writers_turn", write_in_between)
        await suspend(cat)

        async def law_unavailable() -> bool:
            return sum(1 for available in (await indexed(cat)).values() if not available) == 16

        await eventually(law_unavailable)
        assert (await write[0])["results"][0]["status"] == "created"

        assert all(size <= BATCH for _, size, _ in seen) and len(seen) >= 16 // BATCH
        # Each batch starts from what the batches before it committed, not from one transaction holding them all.
        assert [committed for committed, _, _ in seen] == [sum(size for _, size, _ in seen[:n])
                                                           for n in range(len(seen))]
        # The write did not wait for the whole recompute: started during the first batch, it was stored before the
        # second (one transaction for everything would have kept it waiting, and this test with it).
        assert not seen[0][2] and seen[1][2], seen
        await eventually(lambda: _no_pending(cat))
        after = await indexed(cat)
        assert after == await recomputed(cat)
        shared = next(c for c, available in after.items() if available and c in before)
        assert [c for c, available in after.items() if available] == sorted([shared, *set(after) - set(before)])

        await reinstate(cat)

        async def lending_again() -> bool:
            return all((await indexed(cat)).values())

        await eventually(lending_again)
        await eventually(lambda: _no_pending(cat))
        assert await indexed(cat) == await recomputed(cat) == {**before, **{c: True for c in set(after) - set(before)}}


async def _no_pending(cat: Catalog) -> bool:
    return await pending(cat) == []


async def test_a_recompute_stopped_half_way_resumes_where_its_last_batch_ended(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    async with catalog(tmp_path, database_url=database_url) as cat:
        await load_law(cat, 8)
        with monkeypatch.context() as patched:
            patched.setattr(availability, "BATCH", BATCH)

            async def stop_at_third(batch: dict[int, bool]) -> None:
                calls.append(len(batch))
                if len(calls) == 3:
                    await asyncio.Event().wait()  # the process stops here, its batch never committed

            observe_batches(patched, stop_at_third)
            await suspend(cat)
            await eventually(lambda: _called(calls, 3))
            shown = await indexed(cat)
            assert sum(1 for available in shown.values() if not available) == 2 * BATCH
            [(institution, after)] = await pending(cat)
            assert institution == LAW and after == sorted(c for c, available in shown.items() if not available)[-1]
    async with catalog(tmp_path, database_url=database_url) as cat:
        await eventually(lambda: _no_pending(cat))
        after_restart = await indexed(cat)
        assert after_restart == await recomputed(cat)
        assert sum(1 for available in after_restart.values() if not available) == 8


async def _called(calls: list[int], count: int) -> bool:
    return len(calls) >= count
