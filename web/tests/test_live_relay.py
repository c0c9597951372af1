"""The live notification relay (`/live`) lasts only as long as the sign-in it was opened for: signing out or the
session idling out ends it at once, so the next person at a shared PC never sees the last one's notifications.
When notify ends its stream because the token it was opened with ran out, the relay opens a new one at once with
the session's refreshed token, resuming after the last event, or ends if the session cannot go on. When notify
ends it because the person's newer streams took its place (it keeps five per person) or the account was
disabled, the relay ends the page's stream with an `end` event the page's script closes its EventSource on,
rather than reconnecting and pushing out another of the person's streams in turn.

The web app runs on a real server (a streamed answer must reach the browser while it lasts); behind it, a small
stand-in for the platform's notify stream and token endpoint that lets each test say when an event comes and when
a stream ends, which the embedded platform cannot be made to do on cue; and, for the cap on streams per person,
the real notify service."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bibliomesh_notify.bootstrap import create_app as notify_app
from bibliomesh_notify.settings import NotifySettings
from bibliomesh_web import live as live_module
from bibliomesh_web.sessions import Session
from meshkit.testing import TokenFactory, eventually, trust
from meshkit.testing import running as service_running
from tests.support.serving import serving
from web.tests.web_fixtures import signed_in, web_app

PROMPTLY = 5.0  # seconds: much less than a heartbeat, and than any idle timeout
CHROMIUM = os.environ.get("BIBLIOMESH_CHROMIUM", "/usr/bin/chromium")  # as tests/web drives it
# notify's `end` events, as its stream route sends them (services/notify/.../routes/stream.py `_end`)
NOTIFY_END = {"token_expired": b'event: end\ndata: {"reason": "token_expired"}\n\n',
              "account_disabled": b'event: end\ndata: {"reason": "account_disabled"}\n\n',
              "superseded": b'retry: 30000\nevent: end\ndata: {"reason": "superseded"}\n\n'}


@dataclass
class UpstreamStream:
    authorization: str | None
    last_event_id: str | None
    events: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def send(self, event_id: int, title: str) -> None:
        self.events.put_nowait(f'id: {event_id}\nevent: notification\ndata: {{"title": "{title}"}}\n\n'.encode())

    def end(self, reason: str | None = None) -> None:
        """Notify ends the stream, with its `end` event naming `reason` (None: cut off without one)."""
        if reason is not None:
            self.events.put_nowait(NOTIFY_END[reason])
        self.events.put_nowait(None)


class Platform:
    """Notify's stream and the token endpoint, as the web app uses them."""

    def __init__(self) -> None:
        self.streams: list[UpstreamStream] = []
        self.heads = 0
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
        if request.method == "HEAD":  # as notify answers one: the headers, no stream opened
            self.heads += 1
            return StreamingResponse(iter(()), media_type="text/event-stream")
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
        self.lines = self._lines(response)
        self.seen: list[str] = []
        self.all_lines: list[str] = []

    async def _lines(self, response: httpx.Response) -> AsyncIterator[str]:
        async for line in response.aiter_lines():
            self.all_lines.append(line)
            yield line

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


async def test_a_stream_notify_ends_is_reopened_with_the_refreshed_token_and_resumed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Pauses between reconnections far longer than the test waits: the token's end is answered at once.
    monkeypatch.setattr(live_module, "RECONNECT_SECONDS", (60.0, 60.0))
    async with running() as (platform, web_url, person), live(web_url, person) as browser:
        first = await platform.opened(1)
        first.send(7, "First")
        await browser.next_event()
        assert person.tokens is not None
        person.tokens.expires_at = time.time()  # the token the stream was opened with runs out: notify ends it
        first.end("token_expired")
        second = await platform.opened(2)
        assert second.authorization == "Bearer refreshed-1" and second.last_event_id == "7"
        second.send(8, "Second")
        assert "Second" in await browser.next_event()  # on the same connection: the browser saw no break
        # notify's advice on reconnecting is for its own clients; its `end` is the relay's business
        assert not [line for line in browser.all_lines if line.startswith("retry:") or line == "event: end"]

        person.tokens.expires_at = time.time()
        platform.refresh_allowed = False  # this time the sign-in is over (refresh refused)
        second.end("token_expired")
        assert await browser.until_closed() == []
        assert person.user is None and len(platform.streams) == 2


@pytest.mark.parametrize("reason", ["superseded", "account_disabled"])
async def test_a_stream_notify_ends_for_good_ends_the_page_s_stream_and_is_not_reopened(
        reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The person's newer pages took this one's place, or the account was disabled: reconnecting would only push
    # out another page's stream (which would do the same), so the page is told, and stops listening.
    monkeypatch.setattr(live_module, "RECONNECT_SECONDS", (0.05, 0.05))  # a reconnection would come at once
    async with running() as (platform, web_url, person), live(web_url, person) as browser:
        upstream = await platform.opened(1)
        upstream.send(1, "Before")
        await browser.next_event()
        upstream.end(reason)
        assert await browser.until_closed() == [f'data: {{"reason": "{reason}"}}']
        end = browser.all_lines[browser.all_lines.index("event: end") - 1:]
        # the page's script closes its EventSource on `end`; one without it waits minutes, not notify's 30 s
        assert end[:3] == [f"retry: {live_module.BROWSER_RETRY_AFTER_END_MS}", "event: end",
                           f'data: {{"reason": "{reason}"}}']
        assert [line for line in browser.all_lines if line.startswith("retry:")] == [end[0]]
        await asyncio.sleep(0.5)
        assert len(platform.streams) == 1 and upstream.closed.is_set()
        assert person.user is not None  # the person is still signed in: only this page's stream ended


@pytest.mark.web
@pytest.mark.e2e
async def test_a_page_whose_stream_gave_way_stops_listening_until_it_is_looked_at_again() -> None:
    # In Chromium, with the page's own script (static/app.js): no reconnection into the loop the relay avoids.
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    async with running() as (platform, web_url, person), async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await chromium.new_context()
            await context.add_cookies([{"name": "bm_session", "value": person.id, "url": web_url}])
            page = await context.new_page()
            await page.goto(f"{web_url}/notifications")
            body = page.locator("body")
            await expect(body).to_have_attribute("data-live-state", "open")
            (await platform.opened(1)).end("superseded")
            await expect(body).to_have_attribute("data-live-state", "ended")
            await asyncio.sleep(1.5)  # past any reconnection the browser would make on its own
            assert len(platform.streams) == 1
            await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the reader is back
            await expect(body).to_have_attribute("data-live-state", "open")
            assert len(platform.streams) == 2
        finally:
            await chromium.close()


async def test_a_head_of_the_relay_answers_at_once_without_a_body_or_a_stream() -> None:
    # Notify is asked with a HEAD too: a monitor's HEAD opens no stream, so none of the person's gives way.
    async with running() as (platform, web_url, person), \
            httpx.AsyncClient(base_url=web_url, cookies={"bm_session": person.id}) as client:
        async with asyncio.timeout(PROMPTLY):
            answer = await client.head("/live")
            assert answer.status_code == 200 and answer.content == b""
            assert answer.headers["content-type"].startswith("text/event-stream")
        assert platform.heads == 1 and platform.streams == []
        async with httpx.AsyncClient(base_url=web_url) as nobody:
            assert (await nobody.head("/live")).status_code == 204


async def test_a_browser_that_goes_away_lets_go_of_notifys_stream() -> None:
    async with running() as (platform, web_url, person):
        async with live(web_url, person) as browser:
            upstream = await platform.opened(1)
            upstream.send(1, "Seen")
            await browser.next_event()
        async with asyncio.timeout(PROMPTLY):
            await upstream.closed.wait()
        assert person.user is not None  # only the page went: the person is still signed in


class CountingStreams:
    """The real notify service behind the stand-in's token endpoints, counting the streams asked of it."""

    def __init__(self, notify: Starlette, platform: Platform) -> None:
        self.notify = notify
        self.platform = platform
        self.opened = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/notify/stream":
            self.opened += scope["method"] == "GET"
            await self.notify(scope, receive, send)
        else:
            await self.platform.app(scope, receive, send)


async def test_six_pages_of_one_person_do_not_keep_pushing_each_other_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Notify keeps five streams per person; the sixth page's pushes out the first page's, for good: the first page
    # is told so and its relay does not reconnect (which would push out the second's, and so on, each time a
    # database poll and a token check).
    monkeypatch.setattr(live_module, "RECONNECT_SECONDS", (0.1, 0.1))  # a loop would show within a second
    tokens = TokenFactory()
    notify = notify_app(settings=NotifySettings(data_dir=tmp_path, log_json=False, stream_poll_seconds=0.1,
                                                delivery_poll_seconds=3600, digest_poll_seconds=3600), migrate=True)
    trust(notify, tokens)
    streams = notify.state.notify.streams
    upstream = CountingStreams(notify, Platform())
    async with service_running(notify), serving(upstream) as platform_url, AsyncExitStack() as pages:
        app = web_app(platform_url)
        person = signed_in(app)
        assert person.tokens is not None and person.user is not None
        person.tokens.access_token = tokens.token(person.user.institution, roles=["patron"],
                                                  subject=person.user.subject)
        async with serving(app) as web_url:
            browsers = []
            for count in range(1, 7):
                browsers.append(await pages.enter_async_context(live(web_url, person)))

                async def registered(count: int = count) -> bool:
                    return upstream.opened == count and (count == 6 or streams.running(person.user.subject) == count)

                await eventually(registered, within=PROMPTLY)
            first, *others = browsers
            assert await first.until_closed() == ['data: {"reason": "superseded"}']
            reading = [asyncio.create_task(browser.until_closed()) for browser in others]
            try:
                await asyncio.sleep(1.5)
                assert upstream.opened == 6  # no page's relay reconnected
                assert streams.running(person.user.subject) == 5
                assert not any(task.done() for task in reading)  # and the five other pages still listen
            finally:
                for task in reading:
                    task.cancel()
                await asyncio.gather(*reading, return_exceptions=True)
