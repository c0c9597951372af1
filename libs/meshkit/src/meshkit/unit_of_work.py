"""One database transaction for a state change and the events it publishes (the transactional outbox)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.envelope import envelope_json, new_event_id
from bibliomesh_contracts.registry import event_type_of
from meshkit import context
from meshkit.bulk import insert_many
from meshkit.telemetry import current_traceparent


@dataclass(slots=True)
class PendingEvent:
    """An event published in a unit of work: its outbox row's columns, the body being the envelope's JSON."""

    id: str
    type: str
    aggregate_id: str
    body: str

    def envelope(self) -> EventEnvelope:
        return EventEnvelope.model_validate_json(self.body)


class UnitOfWork:
    """Open with `async with`; call `commit()` once. Leaving without committing rolls back, events included."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: sa.Table,
        producer: str,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self.producer = producer
        self._on_commit = on_commit
        self._session: AsyncSession | None = None
        self._events: list[PendingEvent] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        self._events = []
        await self._session.begin()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            if self._session.in_transaction():
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    async def release_connection(self) -> None:
        """End the transaction, which must not have written anything yet, so that its connection goes back to the
        pool while the caller waits on something slow (a DNS lookup); the next statement starts a new one."""
        if self._events or self.session.new or self.session.dirty or self.session.deleted:
            raise RuntimeError("release_connection() after a write would lose it")
        await self.session.rollback()
        await self.session.begin()

    def publish(
        self,
        payload: BaseModel,
        *,
        aggregate_id: str,
        aggregate_version: int,
        institution: str | None = None,
    ) -> PendingEvent:
        """Record an event in the outbox; it leaves only if this unit of work commits."""
        event_id = new_event_id()
        event = PendingEvent(event_id, event_type_of(type(payload)).name, aggregate_id, envelope_json(
            payload,
            event_id=event_id,
            occurred_at=datetime.now(UTC),
            producer=self.producer,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            institution=institution,
            correlation_id=context.correlation_id.get() or context.request_id.get(),
            traceparent=current_traceparent(),
        ))
        self._events.append(event)
        return event

    async def commit(self) -> None:
        session = self.session
        if self._events:
            now = datetime.now(UTC)
            await insert_many(session, self._outbox, [
                {"event_id": e.id, "event_type": e.type, "aggregate_id": e.aggregate_id, "body": e.body,
                 "created_at": now}
                for e in self._events
            ])
        await session.commit()
        had_events = bool(self._events)
        self._events = []
        if had_events and self._on_commit is not None:
            self._on_commit()
