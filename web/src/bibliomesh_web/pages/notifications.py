"""In-app notifications from the notify service, listed and live (Server-Sent Events relayed with the person's
token, which never reaches the browser: `live.py`). Where notify does not offer them, the pages say so and nothing
breaks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from bibliomesh_web.live import LiveRelay
from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import FormPage, PageDep
from meshkit.head import answering_head

router = APIRouter()
MISSING = (404, 405, 501, 502, 503, 504)


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


@router.get("/live")
async def live(request: Request, page: PageDep) -> Response:
    """The person's notification stream, for as long as they stay signed in; 204 (the browser stops asking) when
    no one is signed in or notify has no stream. A HEAD asks notify with a HEAD too: it opens no stream there, so
    none of the person's open pages loses its stream to a monitor."""
    if page.user is None:
        return Response(status_code=204)
    head = answering_head(request)
    relay = LiveRelay(page.api, request.app.state.sessions, request.headers.get("last-event-id"))
    if not await relay.open(head=head):
        return Response(status_code=204)
    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    if head:
        await relay.close()
        return StreamingResponse(iter(()), media_type="text/event-stream", headers=headers)
    return StreamingResponse(relay.stream, media_type="text/event-stream", headers=headers,
                             background=BackgroundTask(relay.close))
