"""The outbox relay: publishes committed events in order and marks them sent only after the broker confirms."""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meshkit.bus import OutgoingMessage, PublishFailed, Transport
from meshkit.metrics import ServiceMetrics
from meshkit.waiting import wait_until_set

log = logging.getLogger(__name__)

AfterPublish = Callable[[Sequence[OutgoingMessage]], Awaitable[None]]


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        outbox: sa.Table,
        transport: Transport,
        producer: str,
        metrics: ServiceMetrics,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retention: timedelta = timedelta(days=7),
        after_publish: AfterPublish | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.transport = transport
        self.producer = producer
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        # Fault-injection point for tests: runs after the broker confirmed and before rows are marked sent.
        self.after_publish = after_publish
        self._wakeup = asyncio.Event()
        self._lock_key = zlib.crc32(f"outbox-relay:{producer}".encode())
        self._last_purge = datetime.min.replace(tzinfo=UTC)

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        backoff = self.poll_seconds
        while True:
            self._wakeup.clear()
            try:
                published = await self.publish_pending()
                backoff = self.poll_seconds
                await self._purge_if_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay could not publish; will retry", extra={"error": repr(exc)})
                published = 0
                backoff = min(backoff * 2, 30.0)
            if published >= self.batch_size:
                continue
            await wait_until_set(self._wakeup, backoff)

    async def publish_pending(self) -> int:
        """Publish one batch of unsent events, oldest first. Returns how many were published."""
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # Transaction-scoped leader lock: with several replicas, one relay publishes at a time, in order.
                await conn.begin()
                if not await conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(self._lock_key))):
                    await conn.rollback()
                    return 0
            rows = (await conn.execute(
                sa.select(self.outbox.c.id, self.outbox.c.event_id, self.outbox.c.event_type, self.outbox.c.body)
                .where(self.outbox.c.published_at.is_(None))
                .order_by(self.outbox.c.id)
                .limit(self.batch_size)
            )).all()
            self.metrics.outbox_pending.set(len(rows))
            if not rows or conn.dialect.name != "postgresql":
                # SQLite cannot upgrade a read snapshot to a write after others wrote: end it before publishing.
                await _end(conn)
            if not rows:
                return 0
            batch = [OutgoingMessage(message_id=r.event_id, routing_key=r.event_type, body=r.body.encode(),
                                     headers=_headers(r.body, self.producer)) for r in rows]
            try:
                await self.transport.publish(batch)
            except PublishFailed as exc:
                await self._record_failure(conn, [r.id for r in rows], repr(exc))
                raise
            if self.after_publish is not None:
                await self.after_publish(batch)
            await self._mark_sent(conn, [r.id for r in rows])
        self.metrics.events_published.inc(len(batch))
        return len(batch)

    async def _mark_sent(self, conn: AsyncConnection, ids: list[int]) -> None:
        if not conn.in_transaction():
            await conn.begin()
        await conn.execute(sa.update(self.outbox).where(self.outbox.c.id.in_(ids))
                           .values(published_at=datetime.now(UTC), last_error=None))
        await conn.commit()

    async def _record_failure(self, conn: AsyncConnection, ids: list[int], error: str) -> None:
        if conn.in_transaction():
            await conn.rollback()
        await conn.begin()
        await conn.execute(sa.update(self.outbox).where(self.outbox.c.id.in_(ids))
                           .values(attempts=self.outbox.c.attempts + 1, last_error=error[:2000]))
        await conn.commit()

    async def _purge_if_due(self) -> None:
        now = datetime.now(UTC)
        if now - self._last_purge < timedelta(hours=1):
            return
        self._last_purge = now
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(self.outbox).where(self.outbox.c.published_at < now - self.retention))


async def _end(conn: AsyncConnection) -> None:
    if conn.in_transaction():
        await conn.commit()


def _headers(body: str, producer: str) -> dict[str, str]:
    envelope = json.loads(body)
    headers = {"producer": producer, "event-version": str(envelope.get("version", 1))}
    if envelope.get("traceparent"):
        headers["traceparent"] = envelope["traceparent"]
    return headers
