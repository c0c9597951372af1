"""Taking an action on a request: who may, whether the state allows it, what it changes, what comes next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.codes import CONDITIONS, REASONS_UNFILLED
from bibliomesh_ill.domain.parties import Party, parties_of
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import RequesterState, SupplierState
from bibliomesh_ill.domain.transitions import ACTIONS, Transition, find
from bibliomesh_ill.service_layer.routing import ask_next_lender
from bibliomesh_ill.service_layer.steps import record_step
from meshkit.problems import Conflict, Forbidden, InvalidField, NotFound
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

# Furthest a due date given by staff may lie ahead: a year is longer than any loan period a library sets, and a
# date in year 9999 left a renewal no room to add one (a date past `date.max`).
MAX_DUE_DAYS = 366
# What happens to the current lender's rota entry when the lender side ends or changes.
_ROTA_OUTCOME = {"cannot_supply": "declined", "no_answer": "no_answer", "reject_conditions": "conditions_rejected",
                 "reroute": "rerouted", "will_supply": "supplying", "conditional": "conditional",
                 "expect_to_supply": "expecting", "accept_conditions": "supplying", "cancel": "cancelled",
                 "accept_cancel": "cancelled"}


@dataclass
class ActionInput:
    """What an action may carry; each action says which fields it needs (`Transition.needs`)."""

    reason: str | None = None
    note: str | None = None
    conditions: dict[str, Any] | None = None
    delivery: dict[str, Any] | None = None
    due_date: date | None = None
    approve: bool | None = None
    lender: str | None = None
    origin: str = "platform"   # `iso18626`: a peer outside the platform reports what it did; its dates are facts


async def load_for(uow: UnitOfWork, caller: Principal, request_id: str) -> tuple[IllRequest, frozenset[Party]]:
    """The request and the parts `caller` plays in it; 404 if it does not exist, 403 if the caller plays none."""
    request = await RequestRepository(uow.session).get(request_id)
    if request is None:
        raise NotFound(f"no request {request_id}")
    parties = parties_of(caller, borrower=request.borrower, lender=request.lender, patron_id=request.patron_id)
    if not parties:
        if caller.institution == request.borrower:
            raise Forbidden(f"only the request's patron and {request.borrower}'s interlibrary-loan staff "
                            f"(`ill:manage`) may see request {request_id}")
        raise Forbidden(f"{caller.institution} is neither the borrower nor the current lender of request "
                        f"{request_id}, and the caller is not its patron")
    return request, parties


async def perform(uow: UnitOfWork, caller: Principal, request_id: str, action: str, given: ActionInput,
                  now: datetime | None = None, *,
                  precondition: Callable[[IllRequest], bool] | None = None) -> IllRequest:
    """Take `action`; `precondition` is checked on the request exactly as loaded here (the save is guarded by that
    version), so a caller that decided to act on an older read cannot act on a newer state by mistake."""
    now = now or datetime.now(UTC)
    if action not in ACTIONS:
        raise InvalidField("action", f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    request, parties = await load_for(uow, caller, request_id)
    if precondition is not None and not precondition(request):
        raise Conflict(f"request {request_id} changed since it was found due for {action.replace('_', ' ')}")
    found = find(action, parties, request.situation())
    if isinstance(found, str):
        raise Forbidden(found) if found.startswith("only the") else Conflict(found)
    _check_inputs(found, given, request, now)
    details = await _apply(uow, request, found, given, now)
    party = next(p for p in (Party.SYSTEM, Party.LENDER, Party.BORROWER, Party.PATRON)
                 if p in parties and p in found.parties)
    reason = given.reason if found.action != "no_answer" else "NoAnswer"
    await record_step(uow, request, found.step, actor=caller, party=party, now=now, action=action, reason=reason,
                      note=given.note, details=details)
    if found.next_lender:
        await ask_next_lender(uow, request, now, actor=caller, only=given.lender if action == "reroute" else None)
    return request


def _check_inputs(t: Transition, given: ActionInput, request: IllRequest, now: datetime) -> None:
    if given.origin == "platform":  # a peer outside the platform reports what it did: its dates are facts
        _check_dates(t, given, request, now)
    if "reason" in t.needs and given.reason not in REASONS_UNFILLED:
        raise InvalidField("reason", f"must be an ISO 18626 reasonUnfilled code: {', '.join(REASONS_UNFILLED)}")
    if "conditions" in t.needs and (given.conditions or {}).get("code") not in CONDITIONS:
        raise InvalidField("conditions.code", f"must be an ISO 18626 reasonRetry code: {', '.join(CONDITIONS)}")
    delivery = given.delivery or {}
    if "delivery" in t.needs and not delivery.get("url") and not delivery.get("file"):
        raise InvalidField("delivery.url", "a copy is delivered with a URL (or an uploaded file)")
    if "approve" in t.needs and given.approve is None:
        raise InvalidField("approve", "true or false is required to answer a renewal")


def _check_dates(t: Transition, given: ActionInput, request: IllRequest, now: datetime) -> None:
    due, current = given.due_date, request.due_date
    if due is not None:
        if due < now.date():
            raise InvalidField("due_date", "is in the past")
        if due > now.date() + timedelta(days=MAX_DUE_DAYS):
            raise InvalidField("due_date", f"is more than {MAX_DUE_DAYS} days ahead")
        if t.action == "recall" and current is not None and due > current:
            raise InvalidField("due_date", f"a recall brings the due date forward: on or before {current}")
        if t.action == "answer_renewal" and given.approve and current is not None and due <= current:
            raise InvalidField("due_date", f"a renewal moves the due date later than {current}")
    if t.action == "mark_overdue" and (current is None or current >= now.date()):
        raise Conflict(f"the loan is not overdue: it is due {current}" if current else
                       "the loan has no due date to be overdue from")


async def _apply(uow: UnitOfWork, request: IllRequest, t: Transition, given: ActionInput,
                 now: datetime) -> dict[str, Any] | None:
    """Change the request as the transition says, plus what the action itself carries; returns audit details."""
    lender = request.lender
    changes: dict[str, Any] = {}
    if t.requester_to is not None:
        changes["requester_state"] = t.requester_to
    if t.supplier_to is not None:
        changes["supplier_state"] = t.supplier_to
    details: dict[str, Any] | None = None
    if t.action in ("will_supply", "conditional", "expect_to_supply", "cannot_supply", "no_answer", "reroute",
                    "cancel", "reject_conditions"):
        changes["answer_due_at"] = None
    if t.action == "conditional":
        conditions = dict(given.conditions or {})
        conditions["label"] = CONDITIONS[conditions["code"]]
        changes["conditions"] = details = conditions
    elif t.action == "ship":
        changes["due_date"] = given.due_date or now.date() + await _loan_period(uow, lender)
        details = {"due_date": changes["due_date"].isoformat()}
    elif t.action == "deliver_copy":
        changes["delivery"] = details = dict(given.delivery or {})
    elif t.action == "request_renewal":
        changes["renewal_pending"] = True
    elif t.action == "answer_renewal":
        changes["renewal_pending"] = False
        details = {"approved": bool(given.approve)}
        if given.approve:
            changes["due_date"] = given.due_date or await _renewed_due_date(uow, request, now)
            details["due_date"] = changes["due_date"].isoformat()
            if request.requester_state == RequesterState.OVERDUE:  # back to where the loan was before it
                checked_out = any(step["step"] == "checked_out"
                                  for step in await RequestRepository(uow.session).steps(request.id))
                changes.update(requester_state=RequesterState.CHECKED_OUT if checked_out else RequesterState.RECEIVED,
                               supplier_state=SupplierState.SHIPPED)
    elif t.action == "recall":
        changes["renewal_pending"] = False  # a recall answers any renewal request: no
        if given.due_date is not None:
            changes["due_date"] = given.due_date
    elif t.action == "reroute" and given.lender is not None:
        await _require_waiting(uow, request, given.lender)
    outcome = _rota_outcome(t.action, given, request)
    request.set(**changes)
    if t.step != "cancel_requested":  # only asked to cancel: the lender may refuse and still ship
        await _update_rota(uow, request.id, lender, t.action, outcome, now)
    return details


def _rota_outcome(action: str, given: ActionInput, request: IllRequest) -> str | None:
    """The code the lender's rota entry keeps: its reasonUnfilled, `NoAnswer`, or the reasonRetry of the
    conditions it set or that were accepted or rejected. Never the free text of a note: statistics count by it."""
    if action == "no_answer":
        return "NoAnswer"
    if given.reason:
        return given.reason
    if action == "conditional":
        return (given.conditions or {}).get("code")
    if action in ("accept_conditions", "reject_conditions"):
        return (request.conditions or {}).get("code")
    return None


async def _renewed_due_date(uow: UnitOfWork, request: IllRequest, now: datetime) -> date:
    """One more loan period, from the current due date (or today, if that is earlier)."""
    try:
        return max(request.due_date or now.date(), now.date()) + await _loan_period(uow, request.lender)
    except OverflowError:  # a peer's due date near the end of the calendar
        raise InvalidField("due_date", f"the loan is due {request.due_date}: give the new due date") from None


async def _loan_period(uow: UnitOfWork, lender: str | None) -> timedelta:
    member = await MemberRepository(uow.session).get(lender or "")
    return timedelta(days=int(member.policy.get("loan_period_days", 28)) if member else 28)


async def _require_waiting(uow: UnitOfWork, request: IllRequest, lender: str) -> None:
    rota = await RequestRepository(uow.session).rota(request.id)
    if not any(e["lender"] == lender and e["status"] == "waiting" for e in rota):
        raise InvalidField("lender", f"{lender} is not waiting on this request's rota")


async def _update_rota(uow: UnitOfWork, request_id: str, lender: str | None, action: str, outcome: str | None,
                       now: datetime) -> None:
    if lender is None:
        return
    repository = RequestRepository(uow.session)
    open_statuses = ["asked", "expecting", "conditional", "supplying"]
    if action in _ROTA_OUTCOME:
        values: dict[str, Any] = {"status": _ROTA_OUTCOME[action], "outcome": outcome}
        if action in ("will_supply", "conditional", "expect_to_supply", "cannot_supply"):
            values["answered_at"] = now
        await repository.update_rota(request_id, lender, open_statuses, **values)
    elif action in ("ship", "deliver_copy"):
        await repository.update_rota(request_id, lender, open_statuses, shipped_at=now)
    elif action == "receive":
        await repository.update_rota(request_id, lender, open_statuses, received_at=now)
