"""Reading the audit trail (writing it is `service_layer.audit.record`, inside each change's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_auth.adapters.tables import audit_events


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    action: str
    outcome: str
    actor: str | None
    institution: str | None
    target: str | None
    ip: str | None
    detail: dict[str, Any]


def _event(row: Any) -> AuditEvent:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return AuditEvent(id=row.id, at=at, action=row.action, outcome=row.outcome, actor=row.actor,
                      institution=row.institution, target=row.target, ip=row.ip, detail=dict(row.detail or {}))


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def failed_logins_from(self, ip: str, since: datetime, limit: int) -> list[datetime]:
        """When the latest `limit` failed local sign-ins from `ip` since `since` happened, newest first."""
        statement = (sa.select(audit_events.c.at)
                     .where(audit_events.c.ip == ip, audit_events.c.at >= since, audit_events.c.action == "login",
                            audit_events.c.outcome.in_(("failure", "locked")))
                     .order_by(audit_events.c.at.desc()).limit(limit))
        return [at if at.tzinfo is not None else at.replace(tzinfo=UTC) for at in await self.session.scalars(statement)]

    async def list(self, *, institution: str | None = None, action: str | None = None, outcome: str | None = None,
                   since: datetime | None = None, until: datetime | None = None, limit: int = 100,
                   offset: int = 0) -> list[AuditEvent]:
        """Newest first; `institution=None` means every institution (and events of none)."""
        statement = sa.select(audit_events).order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
        if institution is not None:
            statement = statement.where(audit_events.c.institution == institution)
        if action:
            statement = statement.where(audit_events.c.action == action)
        if outcome:
            statement = statement.where(audit_events.c.outcome == outcome)
        if since is not None:
            statement = statement.where(audit_events.c.at >= since)
        if until is not None:
            statement = statement.where(audit_events.c.at < until)
        return [_event(r) for r in await self.session.execute(statement.limit(limit).offset(offset))]
