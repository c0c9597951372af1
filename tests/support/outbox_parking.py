"""Looking into a test service's outbox: raw rows committed past the unit of work, parked events, a second
replica's relay."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from meshkit.db import create_engine
from meshkit.metrics import ServiceMetrics
from meshkit.relay import OutboxRelay
from tests.support.mesh import EVENT_TYPE, Mesh, TestService


async def commit_raw(service: TestService, body: str, *, event_id: str | None = None,
                     event_type: str = EVENT_TYPE, aggregate_id: str = "CN-RAW") -> str:
    """An outbox row written as a buggy producer (or a hand edit) would; returns its event id."""
    event_id = event_id or str(uuid.uuid4())
    async with service.runtime.engine.begin() as conn:
        await conn.execute(sa.insert(service.runtime.tables.outbox).values(
            event_id=event_id, event_type=event_type, aggregate_id=aggregate_id, body=body,
            created_at=datetime.now(UTC)))
    return event_id


async def outbox_rows(service: TestService) -> dict[str, Any]:
    outbox = service.runtime.tables.outbox
    async with service.runtime.engine.connect() as conn:
        return {row.event_id: row for row in await conn.execute(sa.select(outbox))}


async def parked_ids(service: TestService) -> set[str]:
    return {event_id for event_id, row in (await outbox_rows(service)).items() if row.parked_at is not None}


def parked_gauge(service: TestService) -> float | None:
    return service.runtime.metrics.registry.get_sample_value("outbox_parked_events")


async def applied_ids(service: TestService) -> list[str]:
    return [row.event_id for row in await service.applied_rows()]


@contextlib.asynccontextmanager
async def replica(mesh: Mesh, service: TestService) -> AsyncIterator[OutboxRelay]:
    """The relay of a second replica of `service`: the same outbox, its own engine, bus connection and metrics (and
    nothing shared in memory with the first)."""
    runtime = service.runtime
    engine = create_engine(runtime.settings.effective_database_url())
    try:
        yield OutboxRelay(engine, runtime.tables.outbox, mesh.new_transport(), runtime.name,
                          ServiceMetrics(runtime.name), max_attempts=runtime.relay.max_attempts,
                          retry_pause_seconds=runtime.relay.retry_pause_seconds)
    finally:
        await engine.dispose()


def gauges(relay: OutboxRelay) -> tuple[float | None, float | None]:
    """(outbox_pending_events, outbox_parked_events) as this relay's replica reports them."""
    registry = relay.metrics.registry
    return registry.get_sample_value("outbox_pending_events"), registry.get_sample_value("outbox_parked_events")


async def make_due(service: TestService, event_id: str) -> None:
    """As if the event's pause had run out (instead of waiting for it)."""
    outbox = service.runtime.tables.outbox
    async with service.runtime.engine.begin() as conn:
        await conn.execute(sa.update(outbox).where(outbox.c.event_id == event_id)
                           .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
