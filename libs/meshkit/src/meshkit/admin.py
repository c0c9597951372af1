"""`/<service>/admin/dead-letters`: what a service's consumers gave up on, and replaying it (platform admins).

The same operations as `bibliomesh <service> dead-letters list|replay`, over HTTP, so operators and the web admin
pages need no shell on the service's pod.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from meshkit.problems import Forbidden, InvalidField
from meshkit.runtime import ServiceRuntime
from meshkit.security import Principal
from meshkit.web import CurrentPrincipal


class DeadLetterView(BaseModel):
    message_id: str
    queue: str
    routing_key: str
    error: str
    attempts: int
    failed_at: str | None


class Replay(BaseModel):
    queue: str | None = Field(default=None, description="Only this queue (default: every queue of the service).")
    message_ids: list[str] | None = Field(default=None, max_length=1000, description="Only these (default: all).")


def _admin(caller: Principal) -> None:
    if not caller.is_platform_admin:
        raise Forbidden("dead letters are for platform admins")


def admin_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix=f"/{runtime.name}/admin", tags=["operations"])
    subscriptions = {consumer.subscription.queue: consumer.subscription for consumer in runtime.consumers}

    @router.get("/dead-letters", response_model=list[DeadLetterView],
                summary="Messages this service's consumers gave up on (platform admins).")
    async def dead_letters(caller: CurrentPrincipal,
                           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeadLetterView]:
        _admin(caller)
        found = []
        for subscription in subscriptions.values():
            for letter in await runtime.bus.dead_letters(subscription, limit):
                found.append(DeadLetterView(
                    message_id=letter.message_id, queue=letter.queue, routing_key=letter.routing_key,
                    error=letter.error, attempts=letter.attempts,
                    failed_at=letter.failed_at.isoformat() if letter.failed_at else None))
        return found[:limit]

    @router.post("/dead-letters/replay", summary="Put dead letters back on their queues (platform admins).")
    async def replay(body: Replay, caller: CurrentPrincipal) -> dict[str, int]:
        _admin(caller)
        if body.queue is not None and body.queue not in subscriptions:
            raise InvalidField("queue", f"not a queue of this service: {', '.join(sorted(subscriptions))}")
        chosen = [s for q, s in subscriptions.items() if body.queue in (None, q)]
        return {s.queue: await runtime.bus.replay(s, body.message_ids) for s in chosen}

    return router
