"""The audit trail: sign-ins, failures, token issuance, client, key and directory changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bibliomesh_auth.adapters.tables import audit_events
from meshkit.unit_of_work import UnitOfWork


async def record(uow: UnitOfWork, action: str, *, outcome: str = "success", actor: str | None = None,
                 institution: str | None = None, target: str | None = None, ip: str | None = None,
                 **detail: Any) -> None:
    """Written in the caller's transaction, so the trail and the change it describes commit together."""
    await uow.session.execute(sa.insert(audit_events).values(
        at=datetime.now(UTC), action=action, outcome=outcome, actor=actor, institution=institution,
        target=target, ip=ip, detail=detail))
