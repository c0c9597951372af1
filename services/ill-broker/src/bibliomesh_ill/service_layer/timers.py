"""The broker's clock: lenders that let their answer time pass are skipped, loans past due become overdue.

Deadlines live on the requests themselves, so they survive restarts. Two replicas may both see a request due;
the transition's version check lets exactly one of them fire it, and the other's attempt is a conflict that is
dropped quietly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from bibliomesh_ill.adapters.request_repository import RequestRepository
from bibliomesh_ill.service_layer.actions import ActionInput, perform
from meshkit.problems import Conflict
from meshkit.runtime import ServiceRuntime
from meshkit.security import SYSTEM_PRINCIPAL

log = logging.getLogger(__name__)
BATCH = 200


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
    return fired


async def _fire(runtime: ServiceRuntime, request_id: str, action: str, now: datetime) -> int:
    try:
        async with runtime.unit_of_work() as uow:
            await perform(uow, SYSTEM_PRINCIPAL, request_id, action, ActionInput(), now)
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
