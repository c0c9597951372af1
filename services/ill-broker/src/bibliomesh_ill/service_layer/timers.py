"""The broker's clock: lenders that let their answer time pass are skipped, loans due within three days are
announced once per due date (`ill.request.due_soon`), loans past due become overdue.

Deadlines live on the requests themselves, so they survive restarts. Two replicas may both see a request due;
the transition's version check lets exactly one of them fire it, and the other's attempt is a conflict that is
dropped quietly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError

from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.domain.parties import Party
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.states import AWAITING_ANSWER, SupplierState
from bibliomesh_ill.service_layer.actions import ActionInput, perform
from bibliomesh_ill.service_layer.steps import record_step
from meshkit.problems import Conflict
from meshkit.runtime import ServiceRuntime
from meshkit.security import SYSTEM_PRINCIPAL

log = logging.getLogger(__name__)
BATCH = 200
REMIND_BEFORE = timedelta(days=3)


async def fire_due(runtime: ServiceRuntime, now: datetime | None = None) -> int:
    """Fire every timer due at `now`; returns how many fired here."""
    now = now or datetime.now(UTC)
    async with runtime.unit_of_work() as uow:
        repository = RequestRepository(uow.session)
        late = await repository.due_for_answer(now, BATCH)
        overdue = await repository.past_due(now.date(), BATCH)
    fired = 0
    for request_id in late:
        fired += await _fire(runtime, request_id, "no_answer", now)
    for request_id in overdue:
        fired += await _fire(runtime, request_id, "mark_overdue", now)
    async with runtime.unit_of_work() as uow:
        soon = await RequestRepository(uow.session).due_soon(now.date() + REMIND_BEFORE, BATCH)
    for request_id in soon:
        fired += await _remind(runtime, request_id, now)
    return fired


async def _remind(runtime: ServiceRuntime, request_id: str, now: datetime) -> int:
    """Announce once per due date that a loan is due soon (no state changes; notify turns it into reminders)."""
    try:
        async with runtime.unit_of_work() as uow:
            request = await RequestRepository(uow.session).get(request_id)
            if request is None or request.due_date is None or request.reminded_due_date == request.due_date or \
                    request.supplier_state != SupplierState.SHIPPED:
                return 0
            request.set(reminded_due_date=request.due_date)
            await record_step(uow, request, "due_soon", actor="system", party=Party.SYSTEM, now=now,
                              details={"due_date": request.due_date.isoformat()})
            await uow.commit()
    except (Conflict, DBAPIError) as exc:
        log.info("reminder not sent now", extra={"request_id": request_id, "why": repr(exc)})
        return 0
    return 1


def _still_due(request: IllRequest, action: str, now: datetime) -> bool:
    """The due list was read in an earlier transaction: by now another replica may have fired the timer and asked
    the next lender, whose own time has not run out, so look again, on the very read the action is taken on."""
    if action == "no_answer":
        due_at = request.answer_due_at
        if due_at is not None and due_at.tzinfo is None:  # SQLite keeps UTC without the offset
            due_at = due_at.replace(tzinfo=UTC)
        return request.supplier_state in AWAITING_ANSWER and due_at is not None and due_at <= now
    return request.supplier_state == SupplierState.SHIPPED and request.due_date is not None and \
        request.due_date < now.date()


async def _fire(runtime: ServiceRuntime, request_id: str, action: str, now: datetime) -> int:
    try:
        async with runtime.unit_of_work() as uow:
            await perform(uow, SYSTEM_PRINCIPAL, request_id, action, ActionInput(), now,
                          precondition=lambda request: _still_due(request, action, now))
            await uow.commit()
    except Conflict as exc:  # another replica or a staff answer got there first
        log.info("timer not fired", extra={"request_id": request_id, "action": action, "why": exc.detail})
        return 0
    except DBAPIError as exc:  # SQLite refuses a write from a stale snapshot: the next round tries again
        log.warning("timer deferred", extra={"request_id": request_id, "action": action, "error": repr(exc)})
        return 0
    log.info("timer fired", extra={"request_id": request_id, "action": action})
    return 1


def timer_worker(poll_seconds: Callable[[ServiceRuntime], float]) -> Callable[[ServiceRuntime],
                                                                             Awaitable[None]]:
    async def ill_timers(runtime: ServiceRuntime) -> None:
        while True:
            await fire_due(runtime)
            await asyncio.sleep(poll_seconds(runtime))

    return ill_timers
