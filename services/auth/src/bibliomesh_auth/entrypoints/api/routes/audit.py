"""`/auth/audit`: the audit trail of sign-ins, tokens and every change to accounts, clients, keys and the
directory."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from bibliomesh_auth.entrypoints.api.callers import Manager
from bibliomesh_auth.entrypoints.api.schemas_clients import AuditEntry, AuditPage
from bibliomesh_auth.service_layer.audit_trail import list_audit_events
from meshkit.web import MAX_ID, UnitOfWorkDep

router = APIRouter(prefix="/auth/audit", tags=["audit"])


@router.get("", summary="The audit trail, newest first (`accounts:manage`; platform admin: everything; "
            "institution admin: their own institution only).")
async def audit_trail(
    uow: UnitOfWorkDep, caller: Manager,
    institution: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=100, description="e.g. `login`, `user-created`.")] = None,
    outcome: Annotated[str | None, Query(max_length=16, description="e.g. `success`, `failure`, `refused`.")] = None,
    since: Annotated[datetime | None, Query(description="Only events at or after this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Only events before this time (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> AuditPage:
    events, next_offset = await list_audit_events(uow, caller, institution=institution, action=action,
                                                  outcome=outcome, since=since, until=until, limit=limit,
                                                  offset=offset)
    return AuditPage(items=[AuditEntry.of(e) for e in events], limit=limit, offset=offset, next_offset=next_offset)
