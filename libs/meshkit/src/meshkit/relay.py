"""The outbox relay: publishes committed events in order and marks them sent only after the broker confirms.

Two kinds of failure are told apart. When the bus fails (unreachable, no answer, a failure no single message can be
blamed for, or nothing at all going through), nothing counts against any event: every event waits, in order, and goes
out once the bus is back. An event that fails on its own while the bus demonstrably works (a body that is not an event;
a message the broker or its client refuses while other messages of the same pass go through) no longer holds back the
ones behind it: it is tried again after growing pauses and, after `max_attempts`, parked (`parked_at`) until an
operator releases it (`meshkit.parking`). The pause is kept in its row (`next_attempt_at`), as its attempts are: with
several replicas, each pass may be another replica's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meshkit.bus import OutgoingMessage, PublishFailed, Transport
from meshkit.metrics import ServiceMetrics
from meshkit.parking import count_parked
from meshkit.waiting import raise_if_cancelling, wait_until_set

log = logging.getLogger(__name__)
# `outbox_pending_events` counts up to this many: ten times the backlog alert's threshold, cheap enough for every pass.
PENDING_COUNT_LIMIT = 10_000

AfterPublish = Callable[[Sequence[OutgoingMessage]], Awaitable[None]]


@dataclass(frozen=True)
class _Pending:
    id: int
    event_id: str
    event_type: str
    attempts: int
    message: OutgoingMessage | None
    problem: str = ""
    """Why the row cannot even become a message (then `message` is None)."""


@dataclass
class _Pass:
    """What one pass did with each event."""

    sent: list[_Pending] = field(default_factory=list)
    failed: list[tuple[_Pending, str]] = field(default_factory=list)  # on their own: they count an attempt
    waiting: list[tuple[_Pending, str]] = field(default_factory=list)  # the bus failed: nothing counts
    bus_failure: str | None = None

    def bus_failed(self, unsettled: Sequence[_Pending], error: str) -> _Pass:
        # A pass in which the bus fails counts nothing against any event, not even those refused earlier in it.
        self.waiting.extend([*self.failed, *((p, error) for p in unsettled)])
        self.failed.clear()
        self.bus_failure = error
        return self


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
        max_attempts: int = 5,
        retry_pause_seconds: float = 1.0,
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
        self.max_attempts = max_attempts
        # An event that failed on its own waits this long before its second attempt, five times longer before each
        # next one (1 s, 5 s, 25 s, 125 s): a refusal that lasts a few minutes (a queue full for a while) is not
        # parked, and a commit that wakes the relay does not spend every attempt at once. The time is written to the
        # row (`next_attempt_at`), so another replica's relay, or this one after a restart, waits as long.
        self.retry_pause_seconds = retry_pause_seconds
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
                raise_if_cancelling(exc)
                log.warning("outbox relay could not publish; will retry", extra={"error": repr(exc)})
                published = 0
                backoff = min(backoff * 2, 30.0)
            if published >= self.batch_size:
                continue
            await wait_until_set(self._wakeup, backoff)

    async def publish_pending(self) -> int:
        """Publish one batch of unsent events, oldest first. Returns how many were published.

        Raises PublishFailed when the bus failed; events that failed on their own do not make it raise."""
        async with self.engine.connect() as conn:
            postgresql = conn.dialect.name == "postgresql"
            if postgresql:
                await conn.begin()
            # Every replica reports, leader of this pass or not: the alerts take the maximum over replicas, so a
            # replica that kept its last value would hold them up (a parked gauge never back to 0 after a release).
            await self._report(conn)
            # Transaction-scoped leader lock: with several replicas, one relay publishes at a time, in order.
            if postgresql and not await conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(self._lock_key))):
                await conn.rollback()
                return 0
            outbox = self.outbox
            rows = (await conn.execute(
                sa.select(outbox.c.id, outbox.c.event_id, outbox.c.event_type, outbox.c.attempts, outbox.c.body)
                .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None),
                       # Events pausing after a failure of their own are skipped; the ones behind them go on.
                       outbox.c.next_attempt_at.is_(None) | (outbox.c.next_attempt_at <= datetime.now(UTC)))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            )).all()
            if not rows or not postgresql:
                # SQLite cannot upgrade a read snapshot to a write after others wrote: end it before publishing.
                await _end(conn)
            if not rows:
                return 0
            done = await self._publish([self._prepare(row) for row in rows])
            if done.sent and self.after_publish is not None:
                await self.after_publish([p.message for p in done.sent if p.message is not None])
            parked = await self._record(conn, done)
        self.metrics.events_published.inc(len(done.sent))
        self.metrics.outbox_parked.inc(len(parked))
        if done.bus_failure is not None:
            raise PublishFailed(done.bus_failure)
        return len(done.sent)

    async def _report(self, conn: AsyncConnection) -> None:
        """Set the gauges: unsent events (parked ones apart, pausing ones included) and parked events."""
        outbox = self.outbox
        unsent = (sa.select(outbox.c.id).where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
                  .limit(PENDING_COUNT_LIMIT).subquery())
        pending = await conn.scalar(sa.select(sa.func.count()).select_from(unsent))
        self.metrics.outbox_pending.set(int(pending or 0))
        self.metrics.outbox_parked.set(await count_parked(conn, outbox))

    def _pause(self, attempts: int) -> float:
        """Seconds before the attempt after the `attempts`-th failure of an event."""
        return float(min(self.retry_pause_seconds * 5 ** (attempts - 1), 3600.0))

    def _prepare(self, row: Any) -> _Pending:
        """Each row becomes a message on its own, so a body that cannot is found before anything is published."""
        try:
            message = OutgoingMessage(message_id=row.event_id, routing_key=row.event_type,
                                      body=row.body.encode(), headers=_headers(row.body, self.producer))
        except Exception as exc:
            return _Pending(row.id, row.event_id, row.event_type, row.attempts, None, _unreadable(exc))
        return _Pending(row.id, row.event_id, row.event_type, row.attempts, message)

    async def _publish(self, pending: Sequence[_Pending]) -> _Pass:
        done = _Pass(failed=[(p, p.problem) for p in pending if p.message is None])
        ready = [p for p in pending if p.message is not None]
        if not ready:
            return done
        try:
            await self.transport.publish([p.message for p in ready if p.message is not None])
        except PublishFailed as exc:
            batch_failure = exc
        else:
            done.sent = ready
            return done
        done.sent = [p for p in ready if p.event_id in batch_failure.confirmed]
        unsettled = [p for p in ready if p.event_id not in batch_failure.confirmed]
        if not await self._bus_works():
            return done.bus_failed(unsettled, repr(batch_failure))
        # The bus is up, so the batch failed over some of its messages: find them, sending the others meanwhile.
        for index, pending_one in enumerate(unsettled):
            if pending_one.event_id in batch_failure.refused:
                done.failed.append((pending_one, batch_failure.refused[pending_one.event_id]))
                continue
            assert pending_one.message is not None
            try:
                await self.transport.publish([pending_one.message])
            except PublishFailed as exc:
                if pending_one.event_id in exc.refused and await self._bus_works():
                    done.failed.append((pending_one, exc.refused[pending_one.event_id]))
                    continue
                return done.bus_failed(unsettled[index:], repr(exc))  # not this message's fault: stop here
            done.sent.append(pending_one)
        if not done.sent:
            # Refused, but nothing else went through either: that does not show the bus works (a queue every one
            # of these events is routed to may be down). They count once other events go through beside them.
            return done.bus_failed([], f"no message went through; the last refusal: {done.failed[-1][1]}")
        return done

    async def _bus_works(self) -> bool:
        try:
            await self.transport.check()
        except Exception:
            return False
        return True

    async def _record(self, conn: AsyncConnection, done: _Pass) -> list[tuple[_Pending, str]]:
        """Write the pass's outcome in one transaction; return the events parked now, with why."""
        if not conn.in_transaction():
            await conn.begin()
        now = datetime.now(UTC)
        if done.sent:
            await conn.execute(sa.update(self.outbox).where(self.outbox.c.id.in_([p.id for p in done.sent]))
                               .values(published_at=now, last_error=None, next_attempt_at=None))
        parked: list[tuple[_Pending, str]] = []
        for pending, error in done.failed:
            attempts = pending.attempts + 1
            park = attempts >= self.max_attempts
            await conn.execute(sa.update(self.outbox).where(self.outbox.c.id == pending.id).values(
                attempts=attempts, last_error=error[:2000], parked_at=now if park else None,
                next_attempt_at=None if park else now + timedelta(seconds=self._pause(attempts))))
            if park:
                parked.append((pending, error))
        waiting: dict[str, list[int]] = {}  # during an outage, one error for the whole batch
        for pending, error in done.waiting:
            waiting.setdefault(error[:2000], []).append(pending.id)
        for error, ids in waiting.items():
            await conn.execute(sa.update(self.outbox).where(self.outbox.c.id.in_(ids)).values(last_error=error))
        await conn.commit()
        self._log_failures(done)
        return parked

    def _log_failures(self, done: _Pass) -> None:
        """Log each failed event once per attempt (ERROR when parked) and when it is tried next."""
        for pending, error in done.failed:
            attempts = pending.attempts + 1
            extra = {"event_id": pending.event_id, "event_type": pending.event_type, "attempts": attempts,
                     "error": error[:1000]}
            if attempts >= self.max_attempts:
                log.error("outbox event parked after failing on its own %d times: not tried again until `outbox "
                          "release` puts it back", attempts, extra=extra)
                continue
            log.warning("outbox event failed on its own; the events behind it go on, it is tried again in %.1f s",
                        self._pause(attempts), extra=extra)

    async def _purge_if_due(self) -> None:
        now = datetime.now(UTC)
        if now - self._last_purge < timedelta(hours=1):
            return
        self._last_purge = now
        async with self.engine.begin() as conn:
            # Published rows only: parked events stay until released (or deleted by hand).
            await conn.execute(sa.delete(self.outbox).where(self.outbox.c.published_at < now - self.retention))


async def _end(conn: AsyncConnection) -> None:
    if conn.in_transaction():
        await conn.commit()


def _headers(body: str, producer: str) -> dict[str, str]:
    envelope = json.loads(body)
    if not isinstance(envelope, dict):
        raise ValueError(f"the body is JSON but not an object ({type(envelope).__name__})")
    headers = {"producer": producer, "event-version": str(envelope.get("version", 1))}
    if envelope.get("traceparent"):
        headers["traceparent"] = str(envelope["traceparent"])
    return headers


def _unreadable(exc: Exception) -> str:
    """Why a body cannot be published, without quoting it (errors such as UnicodeError would)."""
    if isinstance(exc, ValueError) and not isinstance(exc, UnicodeError):  # JSONDecodeError, ours above
        return f"the body is not a publishable event: {type(exc).__name__}: {exc}"
    return f"the body is not a publishable event: {type(exc).__name__}"
