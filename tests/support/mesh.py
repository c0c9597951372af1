"""Minimal services on one bus, built from the real meshkit parts, for tests of the bus guarantees.

Each service has its own database holding its outbox, its inbox and an `applied_events` table; its consumer writes
a row there in the same transaction as the inbox entry, so "applied exactly once" is read from the database.

A mesh is either distributed (one RabbitMQ vhost, one PostgreSQL database per service) or embedded (one SQLite bus
file shared by every service, one SQLite database per service), so one test can run against both.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
import weakref
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.events.directory import InstitutionCreatedV1, InstitutionSnapshot
from meshkit.bus import RetryPolicy, Subscription, Transport
from meshkit.bus.embedded import EmbeddedTransport
from meshkit.bus.rabbitmq import RabbitMQTransport
from meshkit.consumers import Consumer, EventHandler, EventsHandler
from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables
from meshkit.runtime import ServiceRuntime
from meshkit.settings import ServiceSettings
from meshkit.unit_of_work import UnitOfWork
from tests.support.infra import VirtualHost, create_database, database_url, drop_database
from tests.support.waiting import wait_for

BusKind = Literal["rabbitmq", "embedded"]
EVENT_TYPE = "directory.institution.created"
RETRY_DELAYS = (0.2, 0.4)


def institution_created(code: str, version: int = 1) -> InstitutionCreatedV1:
    return InstitutionCreatedV1(
        institution=InstitutionSnapshot(code=code, name_en=f"Library {code}", kind="university", version=version)
    )


def _applied_table(metadata: sa.MetaData) -> sa.Table:
    # No unique constraint on purpose: a second application must show up as a second row.
    return sa.Table(
        "applied_events", metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("aggregate_id", sa.String(200), nullable=False),
        sa.Column("aggregate_version", sa.Integer, nullable=False),
    )


@dataclass
class TestService:
    """A service with an outbox and, if it subscribes, one consumer that records what it applies."""

    __test__ = False  # not a pytest test class

    runtime: ServiceRuntime
    applied: sa.Table
    subscription: Subscription | None
    # The consumer raises for these institution codes (a bug in the handler, as far as the bus can tell).
    failing_codes: set[str] = field(default_factory=set)
    relay_running: bool = False
    # While the gate is closed, the consumer's handler waits inside its transaction (to cut the bus under it).
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    waiting_at_gate: int = 0
    # For each event the consumer applied, in order: which of its transactions (numbered from 1) applied it.
    transactions: list[int] = field(default_factory=list)
    _numbered: weakref.WeakKeyDictionary[UnitOfWork, int] = field(default_factory=weakref.WeakKeyDictionary)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # With `together`: how many events each call of the consumer's `together` handler applied.
    together_calls: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gate.set()

    @property
    def name(self) -> str:
        return self.runtime.name

    @property
    def bus(self) -> Transport:
        return self.runtime.bus

    def unit_of_work(self) -> UnitOfWork:
        return self.runtime.unit_of_work()

    async def publish(self, codes: Sequence[str], *, version: int = 1) -> list[EventEnvelope]:
        """Commit one `institution.created` event per code, all in one transaction; return their envelopes."""
        return await self.publish_changes([(code, version) for code in codes])

    async def publish_changes(self, changes: Sequence[tuple[str, int]]) -> list[EventEnvelope]:
        """Commit one event per (institution code, version), in this order, in one transaction."""
        async with self.unit_of_work() as uow:
            events = [uow.publish(institution_created(code, version), aggregate_id=code, aggregate_version=version)
                      for code, version in changes]
            await uow.commit()
        return [event.envelope() for event in events]

    async def flush(self) -> int:
        """Run the relay until the outbox is empty (for producers whose relay loop is not running)."""
        total = 0
        while published := await self.runtime.relay.publish_pending():
            total += published
        return total

    async def unsent(self) -> int:
        outbox = self.runtime.tables.outbox
        async with self.runtime.engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(outbox)
                                      .where(outbox.c.published_at.is_(None)))
        return int(count or 0)

    async def applied_rows(self) -> list[sa.Row[Any]]:
        """What the consumer applied, in the order it applied it."""
        async with self.runtime.engine.connect() as conn:
            return list((await conn.execute(sa.select(self.applied).order_by(self.applied.c.id))).all())

    async def applied_counts(self) -> Counter[str]:
        """How many times each event id was applied."""
        return Counter(row.event_id for row in await self.applied_rows())

    async def inbox_ids(self) -> set[str]:
        inbox = self.runtime.tables.inbox
        async with self.runtime.engine.connect() as conn:
            return set((await conn.scalars(sa.select(inbox.c.event_id))).all())

    def consumed(self, outcome: str) -> float:
        """The consumer's `events_consumed_total` for an outcome (`applied`, `duplicate`, `failed`, `ignored`)."""
        value = self.runtime.metrics.registry.get_sample_value(
            "events_consumed_total",
            {"queue": self.subscription.queue if self.subscription else "", "type": EVENT_TYPE, "outcome": outcome},
        )
        return value or 0.0

    async def wait_applied(self, event_ids: Sequence[str], timeout: float = 20.0) -> Counter[str]:
        wanted = set(event_ids)
        return await wait_for(self.applied_counts, lambda counts: wanted <= counts.keys(), timeout=timeout,
                              what=f"{self.name} to apply {len(wanted)} events")


def _recording_handler(service: TestService, queue: str) -> EventHandler:
    async def record(uow: UnitOfWork, envelope: EventEnvelope, payload: Any) -> None:
        code = payload.institution.code
        if not service.gate.is_set():
            service.waiting_at_gate += 1
            await service.gate.wait()
        if code in service.failing_codes:
            raise RuntimeError(f"handler cannot apply institution {code}")
        await uow.session.execute(sa.insert(service.applied).values(
            consumer=queue, event_id=str(envelope.id), aggregate_id=envelope.aggregate_id,
            aggregate_version=envelope.aggregate_version,
        ))
        if uow not in service._numbered:
            service._numbered[uow] = next(service._numbers)
        service.transactions.append(service._numbered[uow])

    return record


def _recording_together(service: TestService, record: EventHandler) -> EventsHandler:
    async def record_all(uow: UnitOfWork, events: Sequence[tuple[EventEnvelope, Any]]) -> None:
        service.together_calls.append(len(events))
        for envelope, payload in events:
            await record(uow, envelope, payload)

    return record_all


class Mesh:
    """Services sharing one bus, torn down together."""

    def __init__(self, kind: BusKind, workdir: Path, vhost: VirtualHost | None = None) -> None:
        if kind == "rabbitmq" and vhost is None:
            raise ValueError("a RabbitMQ mesh needs a vhost")
        self.kind = kind
        self.workdir = workdir
        self.vhost = vhost
        self.retry = RetryPolicy(delays_seconds=RETRY_DELAYS)
        self.services: list[TestService] = []
        self._databases: list[str] = []
        self._transports: list[Transport] = []
        self._shared_embedded: EmbeddedTransport | None = None

    @property
    def bus_url(self) -> str:
        return self.vhost.url() if self.vhost is not None else "embedded"

    def new_transport(self) -> Transport:
        """Another transport on the same bus, for raw publishing or restarts; closed with the mesh if still open."""
        transport: Transport
        if self.vhost is not None:
            transport = RabbitMQTransport(self.vhost.url())
        else:
            transport = EmbeddedTransport(self.workdir / "bus.sqlite")
        self._transports.append(transport)
        return transport

    async def service(
        self,
        name: str,
        *,
        bindings: Sequence[str] = (),
        relay: bool = False,
        relay_batch_size: int = 500,
        relay_max_attempts: int = 5,
        failing_codes: Sequence[str] = (),
        batched: bool = False,
        together: bool = False,
        consumer_batches: bool = True,
    ) -> TestService:
        """Build a service; start it if it consumes (`bindings`, several events to a transaction with `batched`, a
        run of them in one handler call with `together` too) or runs its relay loop (`relay`).

        A producer without `relay` publishes only when the test calls `flush()` or the relay itself.
        """
        if self.kind == "rabbitmq":
            database = await create_database(f"bm_test_{name}")
            self._databases.append(database)
            url = database_url(database)
            transport: Transport | None = None  # the runtime connects and closes its own
        else:
            url = f"sqlite+aiosqlite:///{self.workdir / f'{name}.sqlite'}"
            if self._shared_embedded is None:
                # One instance, as when every service runs in one process: a publish wakes consumers at once.
                self._shared_embedded = EmbeddedTransport(self.workdir / "bus.sqlite")
            transport = self._shared_embedded
        settings = ServiceSettings(
            service_name=name, database_url=url, bus_url=self.bus_url, data_dir=self.workdir / name,
            retry_delays_seconds=list(RETRY_DELAYS), relay_poll_seconds=0.1 if relay else 1.0,
            relay_batch_size=relay_batch_size, relay_max_attempts=relay_max_attempts, consumer_batches=consumer_batches,
        )
        metadata = new_metadata()
        tables = add_messaging_tables(metadata)
        applied = _applied_table(metadata)
        subscription = Subscription(f"{name}.directory", tuple(bindings)) if bindings else None
        consumers: list[Consumer] = []
        runtime = ServiceRuntime(name=name, settings=settings, tables=tables, consumers=consumers, transport=transport)
        service = TestService(runtime=runtime, applied=applied, subscription=subscription,
                              failing_codes=set(failing_codes), relay_running=relay)
        if subscription is not None:
            record = _recording_handler(service, subscription.queue)
            consumers.append(Consumer(subscription, {EVENT_TYPE: record}, batched=batched,
                                      together={EVENT_TYPE: _recording_together(service, record)} if together else {}))
        async with runtime.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        self.services.append(service)
        if relay or subscription is not None:
            await runtime.start()
        return service

    async def drain(self, producer: TestService, consumers: Sequence[TestService]) -> None:
        """Wait until every consumer has handled everything the producer published so far.

        A marker event is published last; each consumer takes its queue in order, so once it has applied the marker
        it has also seen every earlier delivery, duplicates included.
        """
        (marker,) = await producer.publish([f"MARKER-{uuid.uuid4().hex[:8]}"])
        if not producer.relay_running:
            await producer.flush()
        for consumer in consumers:
            await consumer.wait_applied([str(marker.id)])

    async def close(self) -> None:
        """Stop every service and transport, then drop the databases, even if stopping something failed."""
        transports = [*self._transports, *([self._shared_embedded] if self._shared_embedded else [])]
        try:
            for service in reversed(self.services):
                await service.runtime.stop()
            for transport in transports:
                await transport.close()
        finally:
            for database in self._databases:
                await drop_database(database)
