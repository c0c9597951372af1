"""`GET /notify/stream`: the caller's new notifications as Server-Sent Events, live.

Each event's id is the notification's per-recipient sequence number; a client that reconnects with
`Last-Event-ID` gets everything after it. The stream reads the database (woken at once by commits in this
replica, and every `stream_poll_seconds` for those of others), so it works behind any replica.

A stream lives no longer than the access token that opened it, and no longer than its person is enabled; a person
has at most `stream_max_per_person` open in all replicas together (one more ends the oldest: at once in the same
replica, within `stream_recheck_seconds` in another; every stream is registered in the database). An ending
stream sends an `end` event naming why (`token_expired`, `account_disabled`, `superseded`) and closes; an
EventSource reconnects with `Last-Event-ID` (a superseded one after 30 s, so two clients past the cap do not take
turns every two seconds).
A HEAD is answered with the stream's headers alone: it opens no stream (`meshkit.head`)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_notify.adapters.live_stream_repository import LiveStreamRepository
from bibliomesh_notify.adapters.notification_repository import NotificationRepository
from bibliomesh_notify.adapters.people_repository import PeopleRepository
from bibliomesh_notify.entrypoints.api.deps import ServicesDep
from bibliomesh_notify.entrypoints.api.schemas import Notification
from bibliomesh_notify.service_layer.services import NotifyServices
from bibliomesh_notify.service_layer.streams import OpenStream
from meshkit.head import answering_head
from meshkit.numbers import whole_number
from meshkit.problems import Forbidden, InvalidField, Unauthorized
from meshkit.runtime import ServiceRuntime
from meshkit.web import MAX_ID, CurrentPrincipal

router = APIRouter(prefix="/notify", tags=["notifications"])
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/stream", response_class=StreamingResponse, summary="Live stream (SSE) of the caller's new "
            "notifications, resuming after `Last-Event-ID` (any signed-in person, no scope needed; own "
            "notifications only).", description="The stream ends (an `end` event naming the reason, then the "
            "connection closes) when the access token that opened it expires, when the person is disabled, and "
            "when the person opens more than `NOTIFY_STREAM_MAX_PER_PERSON` (5) streams (the oldest ends). "
            "Reconnect with a current token and `Last-Event-ID`: nothing is lost.",
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(request: Request, caller: CurrentPrincipal, services: ServicesDep,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                 since: Annotated[int | None, Query(
                     ge=0, le=MAX_ID, description="Start after this sequence number when there is no "
                     "`Last-Event-ID` (0: everything).")] = None,
                 ) -> StreamingResponse:
    runtime: ServiceRuntime = request.app.state.runtime
    start = _start(last_event_id, since)
    expires_at = float(caller.expires_at or 0)  # the verifier requires `exp`
    if expires_at <= time.time():  # within the verifier's leeway, but there is no time left to stream in
        raise Unauthorized("the access token has expired",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    async with runtime.unit_of_work() as uow:
        if await _disabled(uow.session, caller.subject):
            raise Forbidden("the account is disabled")
        if answering_head(request):  # a monitor's HEAD: no stream, so none of the person's is superseded
            return StreamingResponse(iter(()), media_type="text/event-stream", headers=STREAM_HEADERS)
        if start is None:
            start = await NotificationRepository(uow.session).last_seq(caller.subject)
    return StreamingResponse(_events(request, runtime, services, caller.subject, start, expires_at),
                             media_type="text/event-stream", headers=STREAM_HEADERS)


async def _disabled(session: AsyncSession, subject: str) -> bool:
    person = await PeopleRepository(session).get(subject)
    return person is not None and person["status"] == "disabled"


def _start(last_event_id: str | None, since: int | None) -> int | None:
    if last_event_id is None or last_event_id == "":
        return since
    event_id = whole_number(last_event_id, low=0)
    if event_id is None:
        raise InvalidField("Last-Event-ID", "must be the id of an event this stream sent (a number)")
    return event_id


async def _events(request: Request, runtime: ServiceRuntime, services: NotifyServices, recipient: str,
                  cursor: int, expires_at: float) -> AsyncIterator[str]:
    settings = services.settings
    registered = await _register(runtime, services, recipient)
    stream = services.streams.open(recipient)
    try:
        yield "retry: 2000\n\n"
        quiet = 0.0
        recheck_at = time.monotonic() + settings.stream_recheck_seconds
        while not await request.is_disconnected():
            if time.monotonic() >= recheck_at:
                await _recheck(runtime, services, stream, registered)
                recheck_at = time.monotonic() + settings.stream_recheck_seconds
            if expires_at <= time.time():
                stream.end("token_expired")
            if stream.ended is not None:
                yield _end(stream)
                return
            async with runtime.unit_of_work() as uow:
                rows = await NotificationRepository(uow.session).after(recipient, cursor)
            for row in rows:
                cursor = row["seq"]
                data = Notification.model_validate(row).model_dump_json()
                yield f"id: {cursor}\nevent: notification\ndata: {data}\n\n"
            if rows:
                quiet = 0.0
                continue
            pause = max(0.0, min(settings.stream_poll_seconds, expires_at - time.time()))
            await services.signals.notifications.wait(pause)
            quiet += pause
            if quiet >= settings.stream_heartbeat_seconds:  # keeps proxies from closing an idle connection
                quiet = 0.0
                yield f": keep-alive {json.dumps(cursor)}\n\n"
    finally:
        services.streams.close(stream)
        with anyio.CancelScope(shield=True):  # the caller left: the task is being cancelled, the row must go
            async with runtime.unit_of_work() as uow:
                await LiveStreamRepository(uow.session).remove(registered)
                await uow.commit()


def _stale_before(services: NotifyServices) -> datetime:
    """Streams not seen for three rechecks belong to a replica that stopped: they no longer count."""
    return services.clock() - timedelta(seconds=3 * services.settings.stream_recheck_seconds)


async def _register(runtime: ServiceRuntime, services: NotifyServices, recipient: str) -> int:
    async with runtime.unit_of_work() as uow:
        registered = await LiveStreamRepository(uow.session).register(recipient, services.clock(),
                                                                      _stale_before(services))
        await uow.commit()
    return registered


async def _recheck(runtime: ServiceRuntime, services: NotifyServices, stream: OpenStream, registered: int) -> None:
    """Ends the stream if its person was disabled, or opened more than the cap since, in any replica."""
    async with runtime.unit_of_work() as uow:
        if await _disabled(uow.session, stream.subject):
            stream.end("account_disabled")
        elif not await LiveStreamRepository(uow.session).still_within_cap(
                registered, stream.subject, services.clock(), _stale_before(services),
                services.settings.stream_max_per_person):
            stream.end("superseded")
        await uow.commit()


def _end(stream: OpenStream) -> str:
    retry = "retry: 30000\n" if stream.ended == "superseded" else ""
    return f"{retry}event: end\ndata: {json.dumps({'reason': stream.ended})}\n\n"
