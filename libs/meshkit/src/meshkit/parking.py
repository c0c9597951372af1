"""Outbox events the relay parked after they failed on their own: listing them and putting them back in the queue.

`bibliomesh <service> outbox parked|release` runs these against the service's database; the relay, in the service's
own process, picks released events up at its next pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass(frozen=True)
class ParkedEvent:
    event_id: str
    event_type: str
    aggregate_id: str
    created_at: datetime
    parked_at: datetime
    attempts: int
    error: str
    """Why its last attempt failed; never its body."""


async def parked_events(engine: AsyncEngine, outbox: sa.Table, limit: int = 100) -> list[ParkedEvent]:
    """Parked events, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.event_id, outbox.c.event_type, outbox.c.aggregate_id, outbox.c.created_at,
                      outbox.c.parked_at, outbox.c.attempts, outbox.c.last_error)
            .where(outbox.c.parked_at.is_not(None)).order_by(outbox.c.id).limit(limit))
        return [ParkedEvent(event_id=r.event_id, event_type=r.event_type, aggregate_id=r.aggregate_id,
                            created_at=r.created_at, parked_at=r.parked_at, attempts=r.attempts,
                            error=r.last_error or "unknown") for r in rows]


async def count_parked(conn: AsyncConnection, outbox: sa.Table) -> int:
    count = await conn.scalar(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.parked_at.is_not(None)))
    return int(count or 0)


async def release(engine: AsyncEngine, outbox: sa.Table, event_ids: Sequence[str] | None = None) -> list[str]:
    """Put parked events (all, or those ids) back in the queue with their attempts reset, to be tried at the relay's
    next pass; return the ids released.

    They keep their place (the outbox's order), so the relay tries them before the events committed after them. One
    that still fails is parked again after `relay_max_attempts`."""
    condition: sa.ColumnElement[bool] = outbox.c.parked_at.is_not(None)
    if event_ids is not None:
        condition = condition & outbox.c.event_id.in_(list(event_ids))
    async with engine.begin() as conn:
        released = await conn.scalars(
            sa.update(outbox).where(condition).values(parked_at=None, attempts=0, next_attempt_at=None)
            .returning(outbox.c.event_id))
        return list(released)
