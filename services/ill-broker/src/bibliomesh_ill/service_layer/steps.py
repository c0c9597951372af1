"""Recording a step: the audit row and the event go into the same transaction as the state change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_contracts.events.ill import STEP_EVENTS
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.requests import IllRequest
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


async def record_step(uow: UnitOfWork, request: IllRequest, step: str, *, actor: Principal | str, party: Party,
                      now: datetime, action: str | None = None, reason: str | None = None, note: str | None = None,
                      details: dict[str, Any] | None = None, tier: str | None = None) -> None:
    """Save the request (version-checked), append the step to its audit trail and publish `ill.request.<step>`
    (steps without an event type, such as `validated`, are kept in the audit trail only)."""
    request.set(updated_at=now)
    await RequestRepository(uow.session).save(request)
    await note_step(uow.session, request, step, actor=actor, party=party, now=now, action=action, reason=reason,
                    note=note, details=details)
    subject = actor if isinstance(actor, str) else actor.subject
    if step not in STEP_EVENTS:
        return
    uow.publish(STEP_EVENTS[step](
        request_id=request.id, step=step, borrower=request.borrower, lender=request.lender,
        patron_id=request.patron_id, service_type=request.service_type, service_level=request.service_level,
        title=request.title, requester_state=request.requester_state.value,
        supplier_state=request.supplier_state.value if request.supplier_state else None, tier=tier,
        rota_position=request.rota_position, reason=reason, note=note, due_date=request.due_date, actor=subject,
        approved=(details or {}).get("approved") if step == "renewal_answered" else None,
        occurred_at=now), aggregate_id=f"ill-request:{request.id}", aggregate_version=request.version,
        institution=request.borrower)


async def note_step(session: AsyncSession, request: IllRequest, step: str, *, actor: Principal | str, party: Party,
                    now: datetime, action: str | None = None, reason: str | None = None, note: str | None = None,
                    details: dict[str, Any] | None = None) -> None:
    """Append a step to the request's audit trail only: for what happens around a request without changing it
    (its messages to peers), so neither its version nor its events move."""
    await RequestRepository(session).add_step({
        "request_id": request.id, "step": step, "action": action,
        "actor": actor if isinstance(actor, str) else actor.subject,
        "actor_institution": None if isinstance(actor, str) else actor.institution, "party": party.value,
        "lender": request.lender, "requester_state": request.requester_state.value,
        "supplier_state": request.supplier_state.value if request.supplier_state else None,
        "reason": reason, "note": note, "details": details, "occurred_at": now})
