"""The live notification relay: notify's event stream (`GET /notify/stream`) passed on to one browser with its
session's token, which never reaches the browser.

It lasts only as long as the sign-in it was opened for: signing out, a refused refresh, the session idling out or
being forgotten end it at once (on a shared library PC the next person must not see the last one's notifications).
Notify ends a stream with an `end` event naming why. When its token ran out (`token_expired`) the relay opens a
new one at once with the session's current token (refreshed if need be), resuming after the last event passed on,
for as long as the session is signed in. It reconnects itself rather than letting the browser do it: a browser's
reconnection would count as using the session, and an unattended page would keep it from ever idling out. When
the person's newer streams pushed this one out (`superseded`: notify keeps a few per person) or the account was
disabled (`account_disabled`), reconnecting would only push out another of theirs, so the relay ends the page's
stream with an `end` event of its own, on which the page stops listening (static/app.js). Notify's `retry:` lines
are never passed on: how soon the browser reconnects is the web server's to say."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from bibliomesh_web.platform import ApiError, Platform, PlatformUnavailable, SignInRequired
from bibliomesh_web.sessions import Session, SessionStore

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0
HEARTBEAT = b": keep-alive\n\n"
RECONNECT_SECONDS = (1.0, 10.0)  # the first pause and the longest (below the heartbeat: no proxy times out)
STEADY_SECONDS = 30.0  # a stream that lasted this long and ended without saying why: reconnect at once
MAX_EVENT_BYTES = 256 * 1024
RECONNECT_NOW = frozenset({"token_expired"})  # notify's `end` reasons after which a new stream is opened at once
GIVE_UP = frozenset({"superseded", "account_disabled"})  # ... and those after which the page's stream ends too
BROWSER_RETRY_AFTER_END_MS = 300_000  # a page whose script does not close its EventSource on `end` waits this long
STREAM_FAILED = (ApiError, PlatformUnavailable, SignInRequired, httpx.HTTPError)


class EventSplitter:
    """Whole events out of a byte stream (so a stream cut short never passes on half an event), noting the last
    event id, to resume after."""

    def __init__(self, last_event_id: str | None) -> None:
        self.last_event_id = last_event_id
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        self._pending = (self._pending + chunk).replace(b"\r\n", b"\n")
        *events, self._pending = self._pending.split(b"\n\n")
        if len(self._pending) > MAX_EVENT_BYTES:
            raise ValueError("an event without end")
        for event in events:
            for line in event.split(b"\n"):
                if line.startswith(b"id:") and b"\0" not in line:
                    self.last_event_id = line[3:].removeprefix(b" ").decode("utf-8", "replace")
        return [event + b"\n\n" for event in events]

    def forget_partial(self) -> None:
        self._pending = b""


def _fields(event: bytes) -> list[tuple[bytes, bytes]]:
    """An event's lines as (field, value); a comment's field is empty."""
    fields = []
    for line in event.rstrip(b"\n").split(b"\n"):
        name, _, value = line.partition(b":")
        fields.append((name, value.removeprefix(b" ")))
    return fields


def end_reason(event: bytes) -> str | None:
    """Why notify ends its stream, if `event` is its `end` event (an unreadable reason is ""); else None."""
    fields = _fields(event)
    if (b"event", b"end") not in fields:
        return None
    data = b"\n".join(value for name, value in fields if name == b"data")
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError):
        return ""
    return reason if isinstance(reason, str) else ""


def without_retry(event: bytes) -> bytes:
    """`event` without its `retry:` line (b"" if nothing else is left): notify's advice is for its own clients."""
    lines = [line for line in event.rstrip(b"\n").split(b"\n") if not line.startswith(b"retry:")]
    return b"\n".join(lines) + b"\n\n" if lines else b""


def page_end(reason: str) -> bytes:
    """The `end` event the page's script closes its EventSource on (`retry:` for a page without that script)."""
    return (f"retry: {BROWSER_RETRY_AFTER_END_MS}\nevent: end\ndata: {json.dumps({'reason': reason})}\n\n"
            .encode())


class LiveRelay:
    """One browser's relay: `open` it, pass on `stream`, and `close` it once the response is over."""

    def __init__(self, api: Platform, store: SessionStore, last_event_id: str | None) -> None:
        self.api = api
        self.store = store
        self.session: Session = api.session
        self.events = EventSplitter(last_event_id)
        self.upstream: httpx.Response | None = None
        self.opened_at = 0.0
        self.delay = RECONNECT_SECONDS[0]
        self.ended_upstream: str | None = None  # the reason of notify's `end` event for the last stream
        self.stream = self._stream()

    async def open(self, *, head: bool = False) -> bool:
        """Open notify's stream for the session; False when there is none to be had now. `head`: only ask whether
        there would be one (a HEAD, which opens no stream in notify, so none of the person's gives way)."""
        headers = {"accept": "text/event-stream"}
        if self.events.last_event_id:
            headers["last-event-id"] = self.events.last_event_id
        try:
            self.upstream = await self.api.open_stream("HEAD" if head else "GET", "/notify/stream",
                                                       headers=headers, timeout=httpx.Timeout(10.0, read=None))
        except STREAM_FAILED as exc:
            log.info("no live notifications", extra={"reason": repr(exc)})
            return False
        self.opened_at = time.monotonic()
        return True

    def signed_in(self) -> bool:
        """Whether the session the relay is for still has its person; one idle past its time is forgotten now."""
        if self.session.signed_out.is_set() or self.session.user is None:
            return False
        if time.time() > self.store.idle_until(self.session):
            self.store.drop(self.session.id)
            return False
        return True

    async def _stream(self) -> AsyncGenerator[bytes, None]:
        """The events as they come, a comment line whenever it is quiet for a while (so no proxy on the way takes
        the quiet for a dead connection), until the sign-in ends or no stream can be had."""
        ended = asyncio.ensure_future(self.session.signed_out.wait())
        try:
            while self.upstream is not None and self.signed_in():
                self.ended_upstream = None
                async with contextlib.aclosing(self._relay(self.upstream, ended)) as blocks:
                    async for block in blocks:
                        yield block
                await self._let_go()
                reason = self.ended_upstream
                if reason is not None and reason in GIVE_UP and self.signed_in():
                    log.info("live notifications ended by notify", extra={"reason": reason})
                    yield page_end(reason)
                    return
                if not self.signed_in() or not await self._reopen(ended, reason in RECONNECT_NOW):
                    return
        finally:
            ended.cancel()
            await self._let_go()

    async def _relay(self, upstream: httpx.Response, ended: asyncio.Future[Any]) -> AsyncGenerator[bytes, None]:
        """One upstream stream, until it ends or the sign-in does."""
        source = aiter(upstream.aiter_bytes())
        waiting: asyncio.Future[bytes] = asyncio.ensure_future(anext(source))
        quiet_since = time.monotonic()
        try:
            while True:
                wake = min(quiet_since + HEARTBEAT_SECONDS - time.monotonic(),
                           self.store.idle_until(self.session) - time.time())
                await asyncio.wait({waiting, ended}, timeout=max(wake, 0.0), return_when=asyncio.FIRST_COMPLETED)
                if ended.done() or not self.signed_in():
                    return
                if not waiting.done():
                    if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
                        quiet_since = time.monotonic()
                        yield HEARTBEAT
                    continue
                try:
                    blocks = self.events.feed(waiting.result())
                except (StopAsyncIteration, httpx.HTTPError, ValueError) as exc:
                    log.info("live notifications ended upstream", extra={"reason": repr(exc)})
                    self.events.forget_partial()
                    return
                for block in blocks:
                    if (reason := end_reason(block)) is not None:
                        self.ended_upstream = reason
                        return
                    if block := without_retry(block):
                        yield block
                quiet_since = time.monotonic()
                waiting = asyncio.ensure_future(anext(source))
        finally:
            waiting.cancel()
            await asyncio.wait({waiting})  # settled before the response is closed under it
            if not waiting.cancelled():
                waiting.exception()  # seen: not logged as never retrieved

    async def _reopen(self, ended: asyncio.Future[Any], at_once: bool) -> bool:
        """A new stream for the session, at once after one whose token ran out or one that lasted (notify without
        `end` events), else after a pause that doubles while streams keep ending soon."""
        if at_once or time.monotonic() - self.opened_at >= STEADY_SECONDS:
            self.delay = RECONNECT_SECONDS[0]
        else:
            await asyncio.wait({ended}, timeout=self.delay)
            self.delay = min(self.delay * 2, RECONNECT_SECONDS[1])
        return not ended.done() and self.signed_in() and await self.open()

    async def close(self) -> None:
        """Let go of notify's stream after the browser has gone. The stream was then cancelled (its own clean-up
        with it, which the cancellation interrupts) or left paused at a yield, never to be resumed."""
        await self.stream.aclose()
        await self._let_go()

    async def _let_go(self) -> None:
        if self.upstream is not None:
            upstream, self.upstream = self.upstream, None
            await upstream.aclose()
