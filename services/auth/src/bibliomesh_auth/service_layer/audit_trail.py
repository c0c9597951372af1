"""Reading the audit trail: a platform admin sees everything, an institution admin their own institution."""

from __future__ import annotations

from datetime import UTC, datetime

from bibliomesh_auth.adapters.audit_repository import AuditEvent, AuditRepository
from bibliomesh_auth.domain.permissions import managed_institution
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


async def list_audit_events(uow: UnitOfWork, caller: Principal, *, institution: str | None = None,
                            action: str | None = None, outcome: str | None = None, since: datetime | None = None,
                            until: datetime | None = None, limit: int = 100, offset: int = 0
                            ) -> tuple[list[AuditEvent], int | None]:
    """One page of events, newest first, and the offset of the next page (None on the last)."""
    scope = managed_institution(caller, institution)
    found = await AuditRepository(uow.session).list(
        institution=scope, action=action, outcome=outcome, since=_utc(since), until=_utc(until), limit=limit + 1,
        offset=offset)
    return found[:limit], (offset + limit if len(found) > limit else None)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
