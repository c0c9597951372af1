"""In-app notifications from the notify service, listed and live (Server-Sent Events relayed with the person's
token, which never reaches the browser). Where notify does not offer them, the pages say so and nothing breaks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from bibliomesh_web.platform import ApiError, PlatformUnavailable, SignInRequired
from bibliomesh_web.views import FormPage, PageDep

router = APIRouter()
log = logging.getLogger(__name__)
MISSING = (404, 405, 501, 502, 503, 504)
HEARTBEAT_SECONDS = 15.0


@router.get("/notifications", response_class=HTMLResponse)
async def notifications(page: PageDep) -> HTMLResponse:
    page.require_user()
    try:
        found = await page.api.get("/notify/notifications", limit=50)
    except ApiError as exc:
        if exc.status not in MISSING:
            raise
        return await page.render("notifications.html", available=False, items=[], unread=None)
    page.session.unread = None
    return await page.render("notifications.html", available=True, items=found.get("items", []),
                             unread_count=found.get("unread", 0))


@router.post("/notifications/read")
async def mark_all_read(page: FormPage) -> RedirectResponse:
    page.require_user()
    try:
        await page.api.post("/notify/notifications/read-all")
    except ApiError as exc:
        if exc.status not in MISSING:
            raise
    page.session.unread = None
    return page.redirect("/notifications")


async def _with_heartbeat(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The stream as it comes, plus a comment line whenever it is quiet for a while, so no proxy on the way
    (the gateway's read timeout included) takes the quiet for a dead connection."""
    source = aiter(chunks)
    waiting: asyncio.Future[bytes] = asyncio.ensure_future(anext(source))
    try:
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=HEARTBEAT_SECONDS)
            if not done:
                yield b": keep-alive\n\n"
                continue
            try:
                yield waiting.result()
            except StopAsyncIteration:
                return
            waiting = asyncio.ensure_future(anext(source))
    finally:
        waiting.cancel()


@router.get("/live")
async def live(request: Request, page: PageDep) -> Response:
    """The person's notification stream; 204 (the browser stops asking) when no one is signed in or notify has no
    stream."""
    if page.user is None:
        return Response(status_code=204)
    headers = {"accept": "text/event-stream"}
    if last := request.headers.get("last-event-id"):
        headers["last-event-id"] = last
    try:
        upstream = await page.api.open_stream("GET", "/notify/stream", headers=headers,
                                              timeout=httpx.Timeout(10.0, read=None))
    except (ApiError, PlatformUnavailable, SignInRequired, httpx.HTTPError) as exc:
        log.info("no live notifications", extra={"reason": repr(exc)})
        return Response(status_code=204)
    return StreamingResponse(_with_heartbeat(upstream.aiter_raw()), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
                             background=BackgroundTask(upstream.aclose))
