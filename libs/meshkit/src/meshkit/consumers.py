"""Idempotent event consumption: parse the envelope, skip what the inbox has seen, apply in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from opentelemetry import context as otel_context
from opentelemetry import trace
from pydantic import BaseModel, ValidationError

from bibliomesh_contracts import EventEnvelope, payload_model
from bibliomesh_contracts.registry import UnknownEventType
from meshkit import context
from meshkit.bus import Delivery, PermanentFailure, Subscription
from meshkit.db import insert_new, inserted_keys
from meshkit.metrics import ServiceMetrics
from meshkit.telemetry import context_from, tracer
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

EventHandler = Callable[[UnitOfWork, EventEnvelope, Any], Awaitable[None]]
# Applies several events of one type, in order, in one call (a batched consumer's run of such events).
EventsHandler = Callable[[UnitOfWork, Sequence[tuple[EventEnvelope, Any]]], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """A subscription and the handler for each event type it receives.

    `batched`: the events waiting in the queue are applied several to a transaction (falling back to one at a time
    if any fails), which a large import's thousands of events need. Only for handlers whose every effect is in the
    unit of work: a batch that fails is rolled back and applied again one event at a time, so a handler that also
    acted outside the transaction (a call to a peer, a message sent) would act twice. `together`: for some types,
    a handler that applies a run of consecutive events of that type in one call (in a few statements), used within
    a batch; it must leave what `handlers` would, applied to each event in turn.
    """

    subscription: Subscription
    handlers: Mapping[str, EventHandler]
    batched: bool = False
    together: Mapping[str, EventsHandler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A batch that fails goes one event at a time, through `handlers`: a type handled only together could not.
        if missing := set(self.together) - set(self.handlers):
            raise ValueError(f"{self.subscription.queue}: no one-at-a-time handler for {sorted(missing)}")
        if self.together and not self.batched:
            raise ValueError(f"{self.subscription.queue}: `together` handlers are used only by a batched consumer")


class InboxHandler:
    """Turns a transport delivery into exactly one application of the handler, however often it is delivered."""

    def __init__(
        self,
        consumer: Consumer,
        new_unit_of_work: Callable[[], UnitOfWork],
        inbox: sa.Table,
        metrics: ServiceMetrics,
        service: str,
    ) -> None:
        self.consumer = consumer
        self.new_unit_of_work = new_unit_of_work
        self.inbox = inbox
        self.metrics = metrics
        self.service = service

    async def __call__(self, delivery: Delivery) -> None:
        envelope = _parse(delivery)
        handler = self.consumer.handlers.get(envelope.type)
        queue = self.consumer.subscription.queue
        if handler is None:
            self.metrics.events_consumed.labels(queue, envelope.type, "ignored").inc()
            return
        payload = _payload(envelope)
        try:
            with self._scope(envelope):
                async with self.new_unit_of_work() as uow:
                    applied = bool(await insert_new(uow.session, self.inbox, [self._inbox_row(envelope)]))
                    if applied:
                        await handler(uow, envelope, payload)
                        await uow.commit()
        except Exception:
            self.metrics.events_consumed.labels(queue, envelope.type, "failed").inc()
            raise
        if not applied:
            log.info("duplicate event ignored", extra={"event_id": str(envelope.id), "type": envelope.type})
        self.metrics.events_consumed.labels(queue, envelope.type, "applied" if applied else "duplicate").inc()

    async def apply_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Apply these deliveries in order in one transaction, all or none (the transport's `BatchHandler`): if one
        of them cannot be parsed or applied, this raises with nothing stored, and the transport applies them one
        at a time. The inbox takes the whole batch in one statement."""
        events = []
        for delivery in deliveries:
            envelope = _parse(delivery)
            handler = self.consumer.handlers.get(envelope.type)
            events.append((envelope, handler, _payload(envelope) if handler is not None else None))
        outcomes: list[tuple[str, str]] = []
        async with self.new_unit_of_work() as uow:
            new = await inserted_keys(uow.session, self.inbox, [
                self._inbox_row(envelope) for envelope, handler, _ in events if handler is not None],
                self.inbox.c.event_id)
            run: list[tuple[EventEnvelope, Any]] = []  # consecutive events for one `together` handler
            for envelope, handler, payload in events:
                event_id = str(envelope.id)
                if handler is None:
                    outcomes.append((envelope.type, "ignored"))
                    continue
                if event_id not in new:
                    log.info("duplicate event ignored", extra={"event_id": event_id, "type": envelope.type})
                    outcomes.append((envelope.type, "duplicate"))
                    continue
                new.discard(event_id)  # a second copy within the batch is a duplicate
                outcomes.append((envelope.type, "applied"))
                if run and run[0][0].type != envelope.type:
                    await self._apply_together(uow, run)
                if envelope.type in self.consumer.together:
                    run.append((envelope, payload))
                    continue
                with self._scope(envelope):
                    await handler(uow, envelope, payload)
            await self._apply_together(uow, run)
            await uow.commit()
        queue = self.consumer.subscription.queue
        for event_type, outcome in outcomes:
            self.metrics.events_consumed.labels(queue, event_type, outcome).inc()

    async def _apply_together(self, uow: UnitOfWork, run: list[tuple[EventEnvelope, Any]]) -> None:
        """The run's events by their `together` handler (and the run emptied), in one consumer span: a child of the
        first event's trace, linked to the others' (a batch, as OpenTelemetry's messaging conventions have it)."""
        if not run:
            return
        first = run[0][0]
        links = [trace.Link(trace.get_current_span(_trace_of(envelope)).get_span_context())
                 for envelope, _ in run[1:] if envelope.traceparent]
        token = otel_context.attach(_trace_of(first))
        service_token = context.service.set(self.service)
        try:
            with tracer(__name__).start_as_current_span(
                f"consume {first.type}", kind=trace.SpanKind.CONSUMER, links=links,
                attributes={"messaging.destination": self.consumer.subscription.queue,
                            "messaging.batch.message_count": len(run)},
            ):
                await self.consumer.together[first.type](uow, list(run))
        finally:
            context.service.reset(service_token)
            otel_context.detach(token)
        run.clear()

    def _inbox_row(self, envelope: EventEnvelope) -> dict[str, Any]:
        return {"consumer": self.consumer.subscription.queue, "event_id": str(envelope.id),
                "event_type": envelope.type, "processed_at": datetime.now(UTC)}

    @contextmanager
    def _scope(self, envelope: EventEnvelope) -> Iterator[None]:
        """Applying one event: in its trace (a consumer span) and with its correlation id."""
        token = otel_context.attach(_trace_of(envelope))
        service_token = context.service.set(self.service)
        correlation_token = context.correlation_id.set(envelope.correlation_id)
        try:
            with tracer(__name__).start_as_current_span(
                f"consume {envelope.type}", kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.destination": self.consumer.subscription.queue,
                            "messaging.message.id": str(envelope.id)},
            ):
                yield
        finally:
            context.correlation_id.reset(correlation_token)
            context.service.reset(service_token)
            otel_context.detach(token)


def _trace_of(envelope: EventEnvelope) -> otel_context.Context:
    return context_from({"traceparent": envelope.traceparent} if envelope.traceparent else {})


def _parse(delivery: Delivery) -> EventEnvelope:
    try:
        return EventEnvelope.model_validate_json(delivery.body)
    except ValidationError as exc:
        raise PermanentFailure(f"not a valid event envelope: {exc.errors()[:3]}") from exc


def _payload(envelope: EventEnvelope) -> BaseModel:
    try:
        model = payload_model(envelope.type, envelope.version)
        return model.model_validate(envelope.payload)
    except UnknownEventType as exc:
        raise PermanentFailure(str(exc)) from exc
    except ValidationError as exc:
        raise PermanentFailure(f"payload of {envelope.type} v{envelope.version} invalid: {exc.errors()[:3]}") from exc
