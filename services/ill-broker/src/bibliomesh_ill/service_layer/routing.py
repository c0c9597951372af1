"""Asking lenders in rota order: build the rota once, then move to the next lender until one supplies.

A lender placed on the rota when the request was submitted may have closed, been suspended or reached its
lending limit since; that is checked again when its turn comes, and it is skipped with the reason.
"""

from __future__ import annotations

from datetime import datetime

from bibliomesh_ill.adapters.holding_repository import HoldingRepository
from bibliomesh_ill.adapters.lender_records import lender_records
from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.deadlines import answer_deadline
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.rota import Holding, Rota, build_rota
from bibliomesh_ill.domain.states import RequesterState, SupplierState
from bibliomesh_ill.domain.tiers import Member
from bibliomesh_ill.service_layer.steps import record_step
from meshkit.problems import InvalidField
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

SYSTEM_ACTOR = "system"


async def plan_rota(uow: UnitOfWork, request: IllRequest, borrower: Member, holdings: list[Holding],
                    now: datetime, exclude: frozenset[str] = frozenset()) -> Rota:
    """Build the rota for `request` and store every placement and skip with its reason."""
    members = await MemberRepository(uow.session).by_codes({h.institution for h in holdings})
    records = await lender_records(uow.session, set(members), now)
    rota = build_rota(borrower, request.service_type, holdings, members, records, now.date(), exclude)
    await RequestRepository(uow.session).add_rota(request.id, [
        {"position": n, "lender": e.lender, "tier": e.tier.label, "on_shelf": e.on_shelf, "reason": e.reason,
         "status": "waiting"} for n, e in enumerate(rota.entries, 1)] + [
        {"position": None, "lender": s.lender, "tier": None, "on_shelf": None, "reason": s.reason,
         "status": "skipped"} for s in rota.skipped])
    return rota


async def ask_next_lender(uow: UnitOfWork, request: IllRequest, now: datetime,
                          actor: Principal | str = SYSTEM_ACTOR, only: str | None = None,
                          just_planned: bool = False) -> None:
    """Send the request to the next waiting lender on its rota (or to `only`, chosen by staff), or end it as
    unfilled when nobody is left. `just_planned`: the rota was built in this transaction, so the first lender's
    eligibility need not be read again."""
    repository = RequestRepository(uow.session)
    members = MemberRepository(uow.session)
    borrower = await members.get(request.borrower)
    for entry in await repository.rota(request.id):
        if entry["status"] != "waiting" or (only is not None and entry["lender"] != only):
            continue
        lender = await members.get(entry["lender"])
        reason = None if just_planned else await _no_longer_eligible(uow, lender, borrower, now)
        if reason is not None and only is not None:  # staff named this lender: tell them, rather than end unfilled
            raise InvalidField("lender", f"{only} cannot be asked now: {reason}")
        if reason is not None:
            await repository.update_rota(request.id, entry["lender"], ["waiting"], status="skipped", outcome=reason)
            continue
        assert lender is not None
        await repository.update_rota(request.id, lender.code, ["waiting"], status="asked", asked_at=now)
        request.set(lender=lender.code, supplier_state=SupplierState.NEW, rota_position=entry["position"],
                    requester_state=RequesterState.SENT_TO_SUPPLIER, conditions=None, renewal_pending=False,
                    answer_due_at=answer_deadline(now, lender.policy, request.service_level))
        await record_step(uow, request, "routed", actor=actor, party=Party.SYSTEM, now=now, tier=entry["tier"],
                          reason=entry["reason"])
        return
    request.set(requester_state=RequesterState.UNFILLED, supplier_state=None, lender=None, answer_due_at=None,
                rota_position=None)
    await record_step(uow, request, "unfilled", actor=actor, party=Party.SYSTEM, now=now,
                      reason="no lender on the rota could supply")


async def _no_longer_eligible(uow: UnitOfWork, lender: Member | None, borrower: Member | None,
                              now: datetime) -> str | None:
    if lender is None or borrower is None:
        return "no longer in the directory"
    if not lender.active:
        return "suspended"
    closed = lender.closed_on(now.date())
    if closed is not None:
        return f"closed until {closed['end']}"
    record = (await lender_records(uow.session, {lender.code}, now))[lender.code]
    limit = int(lender.policy.get("max_active_loans", 100))
    if record.active_loans >= limit:
        return f"at its lending limit ({record.active_loans} of {limit} items out)"
    return None


async def holdings_for(uow: UnitOfWork, cluster_id: int) -> list[Holding]:
    return await HoldingRepository(uow.session).matching(cluster_id=cluster_id)
