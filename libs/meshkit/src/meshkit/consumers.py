"""Idempotent event consumption: parse the envelope, skip what the inbox has seen, apply in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
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
from meshkit.db import insert_new
from meshkit.metrics import ServiceMetrics
from meshkit.telemetry import context_from, tracer
from meshkit.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

EventHandler = Callable[[UnitOfWork, EventEnvelope, Any], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """A subscription and the handler for each event type it receives."""

    subscription: Subscription
    handlers: Mapping[str, EventHandler]


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
        parent = context_from({"traceparent": envelope.traceparent} if envelope.traceparent else {})
        token = otel_context.attach(parent)
        service_token = context.service.set(self.service)
        correlation_token = context.correlation_id.set(envelope.correlation_id)
        try:
            with tracer(__name__).start_as_current_span(
                f"consume {envelope.type}", kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.destination": queue, "messaging.message.id": str(envelope.id)},
            ):
                applied = await self._apply_once(handler, envelope, payload)
        except Exception:
            self.metrics.events_consumed.labels(queue, envelope.type, "failed").inc()
            raise
        finally:
            context.correlation_id.reset(correlation_token)
            context.service.reset(service_token)
            otel_context.detach(token)
        self.metrics.events_consumed.labels(queue, envelope.type, "applied" if applied else "duplicate").inc()

    async def _apply_once(self, handler: EventHandler, envelope: EventEnvelope, payload: BaseModel) -> bool:
        async with self.new_unit_of_work() as uow:
            values = {"consumer": self.consumer.subscription.queue, "event_id": str(envelope.id),
                      "event_type": envelope.type, "processed_at": datetime.now(UTC)}
            if not await insert_new(uow.session, self.inbox, [values]):
                log.info("duplicate event ignored", extra={"event_id": str(envelope.id), "type": envelope.type})
                return False
            await handler(uow, envelope, payload)
            await uow.commit()
            return True


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
