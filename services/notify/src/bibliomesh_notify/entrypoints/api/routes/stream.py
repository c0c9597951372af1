"""`GET /notify/stream`: the caller's new notifications as Server-Sent Events, live.

Each event's id is the notification's per-recipient sequence number; a client that reconnects with
`Last-Event-ID` gets everything after it. The stream reads the database (woken at once by commits in this
replica, and every `stream_poll_seconds` for those of others), so it works behind any replica."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from bibliomesh_notify.adapters.notification_repository import NotificationRepository
from bibliomesh_notify.entrypoints.api.deps import ServicesDep
from bibliomesh_notify.entrypoints.api.schemas import Notification
from bibliomesh_notify.service_layer.services import NotifyServices
from meshkit.numbers import whole_number
from meshkit.problems import InvalidField
from meshkit.runtime import ServiceRuntime
from meshkit.web import MAX_ID, CurrentPrincipal

router = APIRouter(prefix="/notify", tags=["notifications"])


@router.get("/stream", response_class=StreamingResponse, summary="Live stream (SSE) of the caller's new "
            "notifications, resuming after `Last-Event-ID` (any signed-in person, no scope needed; own "
            "notifications only).", responses={200: {"content": {"text/event-stream": {}}}})
async def stream(request: Request, caller: CurrentPrincipal, services: ServicesDep,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                 since: Annotated[int | None, Query(
                     ge=0, le=MAX_ID, description="Start after this sequence number when there is no "
                     "`Last-Event-ID` (0: everything).")] = None,
                 ) -> StreamingResponse:
    runtime: ServiceRuntime = request.app.state.runtime
    start = _start(last_event_id, since)
    if start is None:
        async with runtime.unit_of_work() as uow:
            start = await NotificationRepository(uow.session).last_seq(caller.subject)
    return StreamingResponse(_events(request, runtime, services, caller.subject, start),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _start(last_event_id: str | None, since: int | None) -> int | None:
    if last_event_id is None or last_event_id == "":
        return since
    event_id = whole_number(last_event_id, low=0)
    if event_id is None:
        raise InvalidField("Last-Event-ID", "must be the id of an event this stream sent (a number)")
    return event_id


async def _events(request: Request, runtime: ServiceRuntime, services: NotifyServices, recipient: str,
                  cursor: int) -> AsyncIterator[str]:
    settings = services.settings
    yield "retry: 2000\n\n"
    quiet = 0.0
    while not await request.is_disconnected():
        async with runtime.unit_of_work() as uow:
            rows = await NotificationRepository(uow.session).after(recipient, cursor)
        for row in rows:
            cursor = row["seq"]
            data = Notification.model_validate(row).model_dump_json()
            yield f"id: {cursor}\nevent: notification\ndata: {data}\n\n"
        if rows:
            quiet = 0.0
            continue
        await services.signals.notifications.wait(settings.stream_poll_seconds)
        quiet += settings.stream_poll_seconds
        if quiet >= settings.stream_heartbeat_seconds:  # keeps proxies from closing an idle connection
            quiet = 0.0
            yield f": keep-alive {json.dumps(cursor)}\n\n"
