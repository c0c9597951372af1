"""A service's running parts: database, bus, relay, consumers, token verifier. Built in the composition root."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from meshkit.bus import RetryPolicy, Transport
from meshkit.bus.embedded import EmbeddedTransport
from meshkit.bus.rabbitmq import RabbitMQTransport
from meshkit.consumers import Consumer, InboxHandler
from meshkit.db import create_engine, session_factory
from meshkit.messaging_tables import MessagingTables
from meshkit.metrics import ServiceMetrics
from meshkit.relay import OutboxRelay
from meshkit.security import KeySource, RemoteJwks, TokenVerifier
from meshkit.settings import ServiceSettings
from meshkit.unit_of_work import UnitOfWork
from meshkit.waiting import raise_if_cancelling

log = logging.getLogger(__name__)

# A long-running loop of a service (timers, schedules), started with the relay and cancelled at stop.
Worker = Callable[["ServiceRuntime"], Awaitable[None]]


def build_transport(settings: ServiceSettings) -> Transport:
    if settings.uses_embedded_bus:
        return EmbeddedTransport(settings.data_dir / "bus.sqlite", prefetch=settings.consumer_prefetch)
    return RabbitMQTransport(settings.effective_bus_url(), exchange=settings.exchange,
                             prefetch=settings.consumer_prefetch)


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    tables: MessagingTables
    consumers: Sequence[Consumer] = ()
    transport: Transport | None = None
    key_source: KeySource | None = None
    run_workers: bool = True
    workers: Sequence[Worker] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.settings.effective_database_url())
        self.sessions = session_factory(self.engine)
        self.metrics = ServiceMetrics(self.name)
        self._owns_transport = self.transport is None
        self.bus: Transport = self.transport or build_transport(self.settings)
        self.retry = RetryPolicy(delays_seconds=tuple(self.settings.retry_delays_seconds))
        self.relay = OutboxRelay(self.engine, self.tables.outbox, self.bus, self.name, self.metrics,
                                 batch_size=self.settings.relay_batch_size,
                                 poll_seconds=self.settings.relay_poll_seconds,
                                 max_attempts=self.settings.relay_max_attempts)
        keys = self.key_source or RemoteJwks(self.settings.effective_jwks_url(),
                                             max_stale_seconds=self.settings.jwks_max_stale_seconds)
        self.verifier = TokenVerifier(keys,
                                      issuer=self.settings.token_issuer, audience=self.settings.token_audience)
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed: list[Consumer] = []

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.tables.outbox, self.name, on_commit=self.relay.wake)

    async def start(self) -> None:
        if not self.run_workers:
            return
        try:
            async with asyncio.timeout(self.settings.bus_connect_timeout_seconds):
                await self.bus.start()
        except Exception as exc:
            # Serve without the bus rather than never start (a pod would fail its startup probe and crash-loop for
            # as long as the broker is down): events wait in the outbox, and consuming starts once it is reachable.
            log.warning("event bus not reachable; serving without it until it is", extra={"error": repr(exc)})
            self._tasks.append(asyncio.create_task(self._connect_then_consume(), name=f"{self.name}-bus-connect"))
        else:
            await self._consume()
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(self._keep_running(worker), name=f"{self.name}-{worker.__name__}"))

    async def _keep_running(self, worker: Worker) -> None:
        # A worker that crashes is logged and restarted after a pause, so one bad run does not stop timers for good.
        while True:
            try:
                await worker(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise_if_cancelling(exc)
                log.exception("background worker failed; restarting", extra={"worker": worker.__name__})
                await asyncio.sleep(self.settings.worker_restart_seconds)

    async def _consume(self) -> None:
        for consumer in self.consumers[len(self._subscribed):]:
            handler = InboxHandler(consumer, self.unit_of_work, self.tables.inbox, self.metrics, self.name)
            await self.bus.subscribe(consumer.subscription, handler, self.retry,
                                     handler.apply_batch if consumer.batched and self.settings.consumer_batches
                                     else None)
            self._subscribed.append(consumer)
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-outbox-relay"))

    async def _connect_then_consume(self) -> None:
        while True:
            await self._connect_bus()
            try:
                await self._consume()
            except Exception as exc:  # the broker went away again while we subscribed
                raise_if_cancelling(exc)
                log.warning("could not subscribe to the event bus; trying again", extra={"error": repr(exc)})
                await asyncio.sleep(self.settings.worker_restart_seconds)
                continue
            log.info("event bus reachable: consuming and publishing")
            return

    async def _connect_bus(self) -> None:
        delay = 0.5
        while True:
            try:
                async with asyncio.timeout(self.settings.bus_connect_timeout_seconds):
                    await self.bus.start()
                return
            except Exception as exc:
                raise_if_cancelling(exc)
                log.warning("event bus not reachable yet", extra={"error": repr(exc), "retry_in": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._owns_transport:
            await self.bus.close()
        await self.engine.dispose()

    async def readiness(self) -> dict[str, str]:
        """Each dependency and its state (`ok` or why not); `web.REQUIRED_FOR_READINESS` says which make the
        service unready."""
        state: dict[str, str] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            state["database"] = "ok"
        except Exception as exc:
            state["database"] = f"unreachable: {type(exc).__name__}"
        try:
            await self.bus.check()
            state["bus"] = "ok"
        except Exception as exc:
            state["bus"] = f"unreachable: {type(exc).__name__}"
        return state
