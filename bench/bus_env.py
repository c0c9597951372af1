"""A fresh bus and fresh databases for each bus measurement, built from the real meshkit parts and removed after.

RabbitMQ: one vhost and one PostgreSQL database per service (as in distributed mode).
Embedded: one SQLite bus file shared by the services through one transport instance, and one SQLite database per
service (as the embedded launcher runs them). Everything runs in this process, on one event loop.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from bibliomesh_contracts import EventEnvelope, new_envelope
from bibliomesh_contracts.events.directory import InstitutionCreatedV1, InstitutionSnapshot
from meshkit.bus import BatchHandler, Delivery, Handler, OutgoingMessage, RetryPolicy, Subscription, Transport
from meshkit.bus.embedded import EmbeddedTransport
from meshkit.bus.rabbitmq import RabbitMQTransport
from meshkit.consumers import Consumer
from meshkit.db import new_metadata
from meshkit.messaging_tables import add_messaging_tables
from meshkit.runtime import ServiceRuntime
from meshkit.settings import ServiceSettings
from tests.support.infra import VirtualHost, create_database, database_url, drop_database, rabbitmq_vhost

Kind = Literal["rabbitmq", "embedded"]
KINDS: tuple[Kind, ...] = ("rabbitmq", "embedded")
EVENT_TYPE = "directory.institution.created"
PRODUCER = "bench-producer"
CONSUMER = "bench-consumer"
SUBSCRIPTION = Subscription(f"{CONSUMER}.directory", ("directory.#",))
RETRY_DELAYS = [0.5, 1.0]
RETRY = RetryPolicy(delays_seconds=tuple(RETRY_DELAYS))


def institution_created(number: int) -> InstitutionCreatedV1:
    code = f"BENCH-{number:06d}"
    return InstitutionCreatedV1(
        institution=InstitutionSnapshot(code=code, name_en=f"Library {code}", kind="university", version=1))


def prebuilt_messages(count: int, start: int = 0) -> list[OutgoingMessage]:
    """Messages as the relay builds them from outbox rows (same body and headers), ready to publish."""
    messages = []
    for number in range(start, start + count):
        envelope = new_envelope(institution_created(number), producer=PRODUCER,
                                aggregate_id=f"BENCH-{number:06d}", aggregate_version=1)
        messages.append(OutgoingMessage(message_id=str(envelope.id), routing_key=envelope.type,
                                        body=envelope.model_dump_json().encode(),
                                        headers={"producer": PRODUCER, "event-version": "1"}))
    return messages


class AppliedClock:
    """When each event's consumer transaction committed (perf_counter seconds), keyed by event id."""

    def __init__(self) -> None:
        self.applied: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._target = 0
        self._reached = asyncio.Event()

    def mark(self, event_id: str) -> None:
        now = time.perf_counter()
        self.applied.setdefault(event_id, now)
        waiter = self._waiters.pop(event_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)
        if self._target and len(self.applied) >= self._target:
            self._reached.set()

    async def applied_at(self, event_id: str, within: float) -> float:
        if event_id in self.applied:
            return self.applied[event_id]
        waiter = self._waiters.setdefault(event_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(waiter, within)

    async def until_count(self, count: int, within: float) -> None:
        self._target = count
        if len(self.applied) < count:
            self._reached.clear()
            await asyncio.wait_for(self._reached.wait(), within)


class ObservedTransport:
    """Passes everything to the real transport; tells the clock when a handler has returned (its work committed)."""

    def __init__(self, inner: Transport, clock: AppliedClock) -> None:
        self.inner = inner
        self.clock = clock

    async def subscribe(self, subscription: Subscription, handler: Handler, retry: RetryPolicy,
                        batch_handler: BatchHandler | None = None) -> None:
        async def observed(delivery: Delivery) -> None:
            await handler(delivery)
            self.clock.mark(delivery.message_id)

        async def observed_batch(deliveries: Sequence[Delivery]) -> None:
            assert batch_handler is not None
            await batch_handler(deliveries)
            for delivery in deliveries:
                self.clock.mark(delivery.message_id)

        await self.inner.subscribe(subscription, observed, retry, observed_batch if batch_handler else None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class BenchService:
    runtime: ServiceRuntime
    applied: sa.Table

    async def publish(self, first: int, count: int) -> list[EventEnvelope]:
        """Commit `count` events in one unit of work, as a service's use case would."""
        async with self.runtime.unit_of_work() as uow:
            envelopes = [uow.publish(institution_created(n), aggregate_id=f"BENCH-{n:06d}", aggregate_version=1)
                         for n in range(first, first + count)]
            await uow.commit()
        return envelopes

    async def applied_rows(self) -> tuple[int, int]:
        """(rows, distinct event ids) the consumer wrote."""
        async with self.runtime.engine.connect() as conn:
            row = (await conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(self.applied.c.event_id)))
                                      .select_from(self.applied))).one()
        return int(row[0]), int(row[1])

    async def unsent(self) -> int:
        outbox = self.runtime.tables.outbox
        async with self.runtime.engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(outbox)
                                      .where(outbox.c.published_at.is_(None)))
        return int(count or 0)


def _applied_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "applied_events", metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("institution_code", sa.String(200), nullable=False),
    )


@dataclass
class BusEnv:
    kind: Kind
    workdir: Path
    vhost: VirtualHost | None
    clock: AppliedClock = field(default_factory=AppliedClock)
    services: list[BenchService] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    transports: list[Transport] = field(default_factory=list)
    shared: EmbeddedTransport | None = None
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    @property
    def bus_url(self) -> str:
        return self.vhost.url() if self.vhost is not None else "embedded"

    def transport(self) -> Transport:
        """A transport on this bus, closed with the environment (the embedded one is shared, as in one process)."""
        if self.vhost is not None:
            transport: Transport = RabbitMQTransport(self.vhost.url())
            self.transports.append(transport)
            return transport
        if self.shared is None:
            self.shared = EmbeddedTransport(self.workdir / "bus.sqlite")
            self.transports.append(self.shared)
        return self.shared

    async def _database(self, name: str) -> str:
        if self.kind == "rabbitmq":
            database = await create_database(f"bm_bench_{name.replace('-', '_')}")
            self.databases.append(database)
            return database_url(database)
        return f"sqlite+aiosqlite:///{self.workdir / f'{name}.sqlite'}"

    async def service(self, name: str, *, consumes: bool = False, batched: bool = False,
                      start: bool = True) -> BenchService:
        """A service with an outbox; with `consumes`, its handler inserts one row per `institution.created`
        (several events to a transaction with `batched`, as `Consumer.batched`).

        Started services run their relay loop and consumers; a service not started publishes only when asked.
        """
        settings = ServiceSettings(service_name=name, database_url=await self._database(name), bus_url=self.bus_url,
                                   data_dir=self.workdir / name, retry_delays_seconds=RETRY_DELAYS)
        metadata = new_metadata()
        tables = add_messaging_tables(metadata)
        applied = _applied_table(metadata)
        consumers: Sequence[Consumer] = ()
        transport: Any = self.transport()
        if consumes:
            async def record(uow: Any, envelope: EventEnvelope, payload: Any) -> None:
                await uow.session.execute(sa.insert(applied).values(
                    event_id=str(envelope.id), institution_code=payload.institution.code))

            consumers = (Consumer(SUBSCRIPTION, {EVENT_TYPE: record}, batched=batched),)
            transport = ObservedTransport(transport, self.clock)
        runtime = ServiceRuntime(name=name, settings=settings, tables=tables, consumers=consumers,
                                 transport=transport)
        async with runtime.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        service = BenchService(runtime, applied)
        self.services.append(service)
        if start:
            await runtime.start()
        return service

    async def close(self) -> None:
        for closer in self.closers:
            await closer()
        for service in reversed(self.services):
            await service.runtime.stop()
        for transport in self.transports:
            await transport.close()
        for database in self.databases:
            await drop_database(database)


@asynccontextmanager
async def bus_env(kind: Kind) -> AsyncIterator[BusEnv]:
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bibliomesh-bench-")))
        vhost = await stack.enter_async_context(rabbitmq_vhost("bm-bench")) if kind == "rabbitmq" else None
        env = BusEnv(kind, workdir, vhost)
        try:
            yield env
        finally:
            await env.close()
