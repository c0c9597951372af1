"""The live notification relay (`/live`) lasts only as long as the sign-in it was opened for: signing out or the
session idling out ends it at once, so the next person at a shared PC never sees the last one's notifications.
When notify ends its stream (as it does when the token it was opened with runs out), the relay opens a new one
with the session's refreshed token, resuming after the last event, or ends if the session cannot go on.

The web app runs on a real server (a streamed answer must reach the browser while it lasts); behind it, a small
stand-in for the platform's notify stream and token endpoint that lets each test say when an event comes and when
a stream ends, which the embedded platform cannot be made to do on cue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bibliomesh_web.sessions import Session
from meshkit.testing import eventually
from tests.support.serving import serving
from web.tests.web_fixtures import signed_in, web_app

PROMPTLY = 5.0  # seconds: much less than a heartbeat, and than any idle timeout


@dataclass
class UpstreamStream:
    authorization: str | None
    last_event_id: str | None
    events: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def send(self, event_id: int, title: str) -> None:
        self.events.put_nowait(f'id: {event_id}\nevent: notification\ndata: {{"title": "{title}"}}\n\n'.encode())

    def end(self) -> None:
        self.events.put_nowait(None)


class Platform:
    """Notify's stream and the token endpoint, as the web app uses them."""

    def __init__(self) -> None:
        self.streams: list[UpstreamStream] = []
        self.refresh_allowed = True
        self.issued = 0
        self.app = Starlette(routes=[
            Route("/notify/stream", self._stream), Route("/auth/token", self._token, methods=["POST"]),
            Route("/auth/revoke", self._revoke, methods=["POST"]), Route("/auth/institutions", self._directory),
            Route("/notify/notifications", self._notifications)])

    async def opened(self, count: int) -> UpstreamStream:
        async def enough() -> bool:
            return len(self.streams) >= count

        await eventually(enough, within=PROMPTLY)
        return self.streams[count - 1]

    async def _stream(self, request: Request) -> Response:
        stream = UpstreamStream(request.headers.get("authorization"), request.headers.get("last-event-id"))
        self.streams.append(stream)

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n"
                while (event := await stream.events.get()) is not None:
                    yield event
            finally:
                stream.closed.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _token(self, request: Request) -> Response:
        if not self.refresh_allowed:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.issued += 1
        return JSONResponse({"access_token": f"refreshed-{self.issued}", "refresh_token": f"r-{self.issued}",
                             "expires_in": 300, "token_type": "Bearer"})

    async def _revoke(self, request: Request) -> Response:
        return Response(status_code=200)

    async def _directory(self, request: Request) -> Response:
        return JSONResponse([])

    async def _notifications(self, request: Request) -> Response:
        return JSONResponse({"items": [], "unread": 0})


@asynccontextmanager
async def running(idle_seconds: float | None = None) -> AsyncIterator[tuple[Platform, str, Session]]:
    """The stand-in platform, the web app in front of it on a real server, and a signed-in session there
    (`idle_seconds`: it runs out that long after its last use, rather than after minutes)."""
    platform = Platform()
    async with serving(platform.app) as platform_url:
        app = web_app(platform_url)
        if idle_seconds is not None:
            app.state.sessions.idle_seconds = idle_seconds
        person = signed_in(app)
        async with serving(app) as web_url:
            yield platform, web_url, person


class Browser:
    """A browser's open `/live`, read as it comes."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.seen: list[str] = []

    async def next_event(self) -> str:
        async with asyncio.timeout(PROMPTLY):
            async for line in self.lines:
                if line.startswith("data:"):
                    self.seen.append(line)
                    return line
        raise AssertionError("the stream ended")

    async def until_closed(self) -> list[str]:
        """What else arrives before the relay ends the stream; fails if it goes on."""
        async with asyncio.timeout(PROMPTLY):
            return [line async for line in self.lines if line.startswith("data:")]


@asynccontextmanager
async def live(web_url: str, person: Session) -> AsyncIterator[Browser]:
    async with httpx.AsyncClient(base_url=web_url, cookies={"bm_session": person.id}, timeout=30) as client, \
            client.stream("GET", "/live", headers={"accept": "text/event-stream"}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        yield Browser(response)


async def test_signing_out_ends_the_open_relay_at_once() -> None:
    async with running() as (platform, web_url, person), live(web_url, person) as browser:
        upstream = await platform.opened(1)
        assert upstream.authorization == "Bearer an-access-token"
        upstream.send(1, "Your book has shipped")
        assert "Your book has shipped" in await browser.next_event()
        async with httpx.AsyncClient(base_url=web_url, cookies={"bm_session": person.id}) as other_tab:
            signed_out = await other_tab.post("/signout", data={"csrf": person.csrf})
        assert signed_out.status_code == 303
        upstream.send(2, "For the person who signed out")
        assert await browser.until_closed() == []
        async with asyncio.timeout(PROMPTLY):
            await upstream.closed.wait()  # and notify's stream is let go
        assert len(platform.streams) == 1


async def test_a_session_that_idles_out_ends_its_relay() -> None:
    # Left alone at the PC with a page open: the session runs out two seconds after the page asked for `/live`.
    async with running(idle_seconds=2) as (platform, web_url, person), live(web_url, person) as browser:
        upstream = await platform.opened(1)
        upstream.send(1, "Before")
        await browser.next_event()
        assert await browser.until_closed() == []
        assert person.user is None and person.tokens is None
        async with httpx.AsyncClient(base_url=web_url, cookies={"bm_session": person.id}) as client:
            assert (await client.get("/live")).status_code == 204  # the browser's retry: nobody is signed in


async def test_a_stream_notify_ends_is_reopened_with_the_refreshed_token_and_resumed() -> None:
    async with running() as (platform, web_url, person), live(web_url, person) as browser:
        first = await platform.opened(1)
        first.send(7, "First")
        await browser.next_event()
        assert person.tokens is not None
        person.tokens.expires_at = time.time()  # the token the stream was opened with runs out: notify ends it
        first.end()
        second = await platform.opened(2)
        assert second.authorization == "Bearer refreshed-1" and second.last_event_id == "7"
        second.send(8, "Second")
        assert "Second" in await browser.next_event()  # on the same connection: the browser saw no break

        person.tokens.expires_at = time.time()
        platform.refresh_allowed = False  # this time the sign-in is over (refresh refused)
        second.end()
        assert await browser.until_closed() == []
        assert person.user is None and len(platform.streams) == 2


async def test_a_head_of_the_relay_answers_at_once_without_a_body() -> None:
    async with running() as (platform, web_url, person), \
            httpx.AsyncClient(base_url=web_url, cookies={"bm_session": person.id}) as client:
        async with asyncio.timeout(PROMPTLY):
            answer = await client.head("/live")
            assert answer.status_code == 200 and answer.content == b""
            assert answer.headers["content-type"].startswith("text/event-stream")
            await (await platform.opened(1)).closed.wait()


async def test_a_browser_that_goes_away_lets_go_of_notifys_stream() -> None:
    async with running() as (platform, web_url, person):
        async with live(web_url, person) as browser:
            upstream = await platform.opened(1)
            upstream.send(1, "Seen")
            await browser.next_event()
        async with asyncio.timeout(PROMPTLY):
            await upstream.closed.wait()
        assert person.user is not None  # only the page went: the person is still signed in
