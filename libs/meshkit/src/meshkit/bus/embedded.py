"""The embedded transport: the same contract as RabbitMQ, kept in one SQLite file so a crash loses nothing.

Used when every service runs in one process. Publishing commits the message into each bound queue before it
returns (that is the confirm); consumers take messages in order, delete them on success, and retry with the same
delays, delivery limit and dead-letter parking as the RabbitMQ transport.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from meshkit.bus.transport import (
    BatchHandler,
    DeadLetter,
    Delivery,
    Handler,
    OutgoingMessage,
    PermanentFailure,
    PublishFailed,
    RetryPolicy,
    Subscription,
    applied_together,
    topic_matches,
)
from meshkit.db import create_engine
from meshkit.waiting import raise_if_cancelling, wait_until_set

log = logging.getLogger(__name__)

UNROUTED = "bibliomesh.unrouted"
_metadata = sa.MetaData()
bindings = sa.Table(
    "bus_bindings", _metadata,
    sa.Column("queue", sa.String(200), primary_key=True),
    sa.Column("pattern", sa.String(200), primary_key=True),
)
messages = sa.Table(
    "bus_messages", _metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("queue", sa.String(200), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("routing_key", sa.String(200), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, default=1),
    sa.Column("deliveries", sa.Integer, nullable=False, default=0),
    sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dead", sa.Boolean, nullable=False, default=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_bus_messages_ready", "queue", "dead", "available_at", "seq"),
)


def _now() -> datetime:
    return datetime.now(UTC)


def _without_parameters(exc: Exception) -> str:
    """The error, without the statement's parameters SQLAlchemy adds to it: they hold the messages' bodies."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}"[:1000]
    return repr(exc)[:1000]


def _delivery(subscription: Subscription, row: sa.Row[Any]) -> Delivery:
    return Delivery(message_id=row.message_id, routing_key=row.routing_key, body=row.body,
                    headers=json.loads(row.headers), attempt=row.attempt, queue=subscription.queue)


class EmbeddedTransport:
    def __init__(self, path: Path | str, prefetch: int = 64) -> None:
        self.url = f"sqlite+aiosqlite:///{path}" if str(path) != ":memory:" else "sqlite+aiosqlite:///:memory:"
        self.prefetch = prefetch
        self._engine = create_engine(self.url)
        self._started = False
        self._wakeups: dict[str, asyncio.Event] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._bindings: list[tuple[str, str]] = []

    async def start(self) -> None:
        if not self._started:
            async with self._engine.begin() as conn:
                await conn.run_sync(_metadata.create_all)
            await self._load_bindings()
            self._started = True

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        await self._engine.dispose()
        self._started = False

    async def check(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def _load_bindings(self) -> None:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(bindings.c.queue, bindings.c.pattern))
            self._bindings = [(r.queue, r.pattern) for r in rows]

    async def declare(self, subscription: Subscription, retry: RetryPolicy) -> None:
        await self.start()
        async with self._engine.begin() as conn:
            existing = {(q, p) for q, p in self._bindings}
            for pattern in subscription.bindings:
                if (subscription.queue, pattern) not in existing:
                    await conn.execute(sa.insert(bindings).values(queue=subscription.queue, pattern=pattern))
        await self._load_bindings()
        self._wakeups.setdefault(subscription.queue, asyncio.Event())

    async def publish(self, outgoing: Sequence[OutgoingMessage]) -> None:
        if not outgoing:
            return
        await self.start()
        now = _now()
        rows: list[dict[str, object]] = []
        for message in outgoing:
            queues = sorted({q for q, p in self._bindings if topic_matches(p, message.routing_key)}) or [UNROUTED]
            rows.extend(
                {"queue": q, "message_id": message.message_id, "routing_key": message.routing_key,
                 "body": message.body, "headers": json.dumps(message.headers), "attempt": 1, "deliveries": 0,
                 "available_at": now, "dead": False}
                for q in queues
            )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(sa.insert(messages), rows)
        except Exception as exc:
            # One transaction for the batch: a failure names a message only when it was alone, and then only if
            # the bus file itself was not the trouble (locked, unreadable, full).
            alone = len(outgoing) == 1 and not isinstance(exc, sa.exc.OperationalError)
            reason = _without_parameters(exc)
            raise PublishFailed(reason, refused={outgoing[0].message_id: reason} if alone else None) from exc
        for queue in {row["queue"] for row in rows}:
            if queue in self._wakeups:
                self._wakeups[queue].set()

    async def subscribe(self, subscription: Subscription, handler: Handler, retry: RetryPolicy,
                        batch_handler: BatchHandler | None = None) -> None:
        await self.declare(subscription, retry)
        self._workers.append(asyncio.create_task(self._work(subscription, handler, retry, batch_handler)))

    async def _work(self, subscription: Subscription, handler: Handler, retry: RetryPolicy,
                    batch_handler: BatchHandler | None) -> None:
        wakeup = self._wakeups[subscription.queue]
        while True:
            wakeup.clear()
            try:
                handled, next_due = await self._drain(subscription, handler, retry, batch_handler)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.exception("embedded bus worker failed; retrying", extra={"queue": subscription.queue})
                handled, next_due = 0, 1.0
            if handled:
                continue
            await wait_until_set(wakeup, next_due)

    async def _drain(self, subscription: Subscription, handler: Handler, retry: RetryPolicy,
                     batch_handler: BatchHandler | None) -> tuple[int, float]:
        now = _now()
        async with self._engine.connect() as conn:
            batch = (await conn.execute(
                sa.select(messages)
                .where(messages.c.queue == subscription.queue, messages.c.dead.is_(False),
                       messages.c.available_at <= now)
                .order_by(messages.c.seq).limit(self.prefetch)
            )).all()
            upcoming = await conn.scalar(
                sa.select(sa.func.min(messages.c.available_at))
                .where(messages.c.queue == subscription.queue, messages.c.dead.is_(False))
            )
        acked: list[int] = []
        try:
            one_by_one: Sequence[sa.Row[Any]] = batch
            counted: set[int] = set()  # deliveries counted already, by a batch that failed
            if batch_handler is not None:
                fresh = list(itertools.takewhile(lambda row: row.attempt == 1 and row.deliveries == 0, batch))
                if len(fresh) > 1:
                    if await self._deliver_together(subscription, fresh, batch_handler, acked):
                        acked.extend(row.seq for row in fresh)
                        one_by_one = batch[len(fresh):]
                    else:
                        counted = {row.seq for row in fresh}
            for row in one_by_one:
                if await self._deliver(subscription, row, handler, retry, acked, counted=row.seq in counted):
                    acked.append(row.seq)
        finally:
            if acked:
                async with self._engine.begin() as conn:
                    await conn.execute(sa.delete(messages).where(messages.c.seq.in_(acked)))
        next_due = 1.0
        if upcoming is not None and not batch:
            next_due = min(1.0, max(0.01, (upcoming - now).total_seconds()))
        return len(batch), next_due

    async def _count_deliveries(self, seqs: list[int], acked: list[int]) -> None:
        """Count a delivery of these messages before their handler runs, so that a message that crashes the process
        is parked after the limit (and is never tried in a batch again)."""
        async with self._engine.begin() as conn:
            # Acks of earlier messages ride along in this transaction: one write per message instead of two.
            # Losing them in a crash only means a redelivery, which the consumer's inbox absorbs.
            if acked:
                await conn.execute(sa.delete(messages).where(messages.c.seq.in_(acked)))
                acked.clear()
            await conn.execute(sa.update(messages).where(messages.c.seq.in_(seqs))
                               .values(deliveries=messages.c.deliveries + 1))

    async def _deliver_together(self, subscription: Subscription, rows: list[sa.Row[Any]],
                                batch_handler: BatchHandler, acked: list[int]) -> bool:
        """Hand first deliveries to the batch handler; True if it applied them all (the caller deletes them)."""
        await self._count_deliveries([row.seq for row in rows], acked)
        return await applied_together(batch_handler, [_delivery(subscription, row) for row in rows],
                                      subscription.queue)

    async def _deliver(self, subscription: Subscription, row: sa.Row[Any], handler: Handler, retry: RetryPolicy,
                       acked: list[int], *, counted: bool = False) -> bool:
        """Hand one message to the handler; True if it succeeded (the caller deletes it). `counted`: this delivery
        was counted already (by a batch that failed)."""
        if not counted:
            await self._count_deliveries([row.seq], acked)
        if row.deliveries + 1 > retry.delivery_limit:
            await self._park(row.seq, "delivery limit reached (the handler never finished: crash or timeout)")
            return False
        delivery = _delivery(subscription, row)
        try:
            await handler(delivery)
        except asyncio.CancelledError:
            raise
        except PermanentFailure as exc:
            raise_if_cancelling(exc)
            await self._park(row.seq, repr(exc))
            return False
        except Exception as exc:
            raise_if_cancelling(exc)   # not the handler's failure: the message comes again after a restart
            if row.attempt >= retry.max_attempts:
                await self._park(row.seq, repr(exc))
            else:
                delay = retry.delays_seconds[row.attempt - 1]
                log.warning("handler failed, will retry", extra={"queue": subscription.queue, "attempt": row.attempt,
                                                                 "error": repr(exc)})
                async with self._engine.begin() as conn:
                    await conn.execute(sa.update(messages).where(messages.c.seq == row.seq).values(
                        attempt=row.attempt + 1, deliveries=0, error=repr(exc)[:1000],
                        available_at=_now() + timedelta(seconds=delay)))
            return False
        return True

    async def _park(self, seq: int, error: str) -> None:
        log.error("message parked in dead-letter queue", extra={"seq": seq, "error": error})
        async with self._engine.begin() as conn:
            await conn.execute(sa.update(messages).where(messages.c.seq == seq).values(
                dead=True, error=error[:2000], failed_at=_now()))

    async def dead_letters(self, subscription: Subscription, limit: int = 100) -> list[DeadLetter]:
        await self.start()
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(messages).where(messages.c.queue == subscription.queue, messages.c.dead.is_(True))
                .order_by(messages.c.seq).limit(limit))
            return [DeadLetter(message_id=r.message_id, queue=r.queue, routing_key=r.routing_key,
                               error=r.error or "unknown",
                               failed_at=r.failed_at.replace(tzinfo=UTC) if r.failed_at else None,
                               attempts=r.attempt, body=r.body) for r in rows]

    async def replay(self, subscription: Subscription, message_ids: Sequence[str] | None = None) -> int:
        await self.start()
        condition = sa.and_(messages.c.queue == subscription.queue, messages.c.dead.is_(True))
        if message_ids is not None:
            condition = sa.and_(condition, messages.c.message_id.in_(list(message_ids)))
        async with self._engine.begin() as conn:
            result = await conn.execute(sa.update(messages).where(condition).values(
                dead=False, attempt=1, deliveries=0, error=None, failed_at=None,
                available_at=_now()))
        if subscription.queue in self._wakeups:
            self._wakeups[subscription.queue].set()
        return result.rowcount or 0
