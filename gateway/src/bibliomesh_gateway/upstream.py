"""The one HTTP client the gateway calls services with (aiohttp: chosen by measurement, see bench/README.md),
and what is forwarded each way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from starlette.types import Receive, Scope, Send

from meshkit import context
from meshkit.telemetry import current_traceparent
from meshkit.web import SERVER_SPAN

# Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded; nor is what the gateway sets itself.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
                        b"trailer", b"transfer-encoding", b"upgrade"})
# `expect: 100-continue` is answered to the caller by the gateway's own server, not passed on.
NOT_FORWARDED = HOP_BY_HOP | {b"host", b"traceparent", b"x-request-id", b"x-forwarded-for", b"x-forwarded-proto",
                              b"x-forwarded-host", b"expect"}
# The gateway sets these itself (its server `date` and `server`, its middleware the request id, the same value).
NOT_RETURNED = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}
# uvicorn closes idle connections after 5 s: let ours go first, so a call never lands on one it is closing.
KEEPALIVE_SECONDS = 4.0
# The longest header line and field of a service's answer the client reads (aiohttp's default is 8 KiB): a sign-in
# redirect may legitimately carry a long `Location`. Beyond it the answer is unreadable: a 502 (see proxy.py).
MAX_ANSWER_HEADER_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    pass


class CallerLeft(Exception):
    pass


def open_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS, ttl_dns_cache=60)
    # Bodies pass through as they are (compressed stays compressed), and no headers are added on the way. No
    # cookie jar: the session is shared by every caller, so a cookie one caller was given must never ride along
    # on another's call (the callers' own `Cookie` headers pass through as they are).
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                                    skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
                                    max_line_size=MAX_ANSWER_HEADER_BYTES, max_field_size=MAX_ANSWER_HEADER_BYTES)
    # aiohttp would resend GET/PUT/DELETE once on a dropped connection by itself, outside the retry budget:
    # the proxy's own retries are the only ones (test_resilience checks that a GET is sent exactly twice).
    session._retry_connection = False
    return session


class Incoming:
    """What the gateway reads from the caller's request head in one pass."""

    __slots__ = ("authorization", "body_length", "chunked", "forwarded", "origin")

    def __init__(self, scope: Scope) -> None:
        self.authorization: str | None = None
        self.body_length = 0
        self.chunked = False
        headers: list[tuple[str, str]] = []
        for name, value in scope["headers"]:
            if name in NOT_FORWARDED:
                if name == b"transfer-encoding":
                    self.chunked = True
                continue
            if name == b"authorization":
                self.authorization = value.decode("latin-1")
            elif name == b"content-length":
                self.body_length = int(value) if value.isdigit() else 0
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        client = scope.get("client")
        self.origin = client[0] if client else "unknown"
        # Only the address the gateway's server settled on (from its trusted proxies' X-Forwarded-For): the caller's
        # own X-Forwarded-For is not passed on, or a service taking the first address would believe a forged one.
        headers.append(("x-forwarded-for", self.origin))
        headers.append(("x-forwarded-proto", scope.get("scheme", "http")))
        if request_id := context.request_id.get():
            headers.append(("x-request-id", request_id))
        span = scope.get(SERVER_SPAN)
        if traceparent := (span.traceparent if span is not None else current_traceparent()):
            headers.append(("traceparent", traceparent))
        self.forwarded = headers

    @property
    def has_body(self) -> bool:
        return self.chunked or self.body_length > 0


class RequestBody:
    """The caller's body as it arrives, never held whole; stops at `limit` bytes (0: no limit)."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.too_large = False
        self.caller_left = False
        self.complete = False

    async def chunks(self) -> AsyncIterator[bytes]:
        received = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.caller_left = True
                raise CallerLeft
            chunk = message.get("body", b"")
            received += len(chunk)
            if self.limit and received > self.limit:
                self.too_large = True
                raise BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                self.complete = True
                return


def response_headers(response: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value) for name, value in response.raw_headers if name.lower() not in NOT_RETURNED]


async def stream_body(response: aiohttp.ClientResponse, send: Send, length: int | None = None) -> None:
    """The answer's body to the caller in the pieces it arrives in; the piece that completes an announced
    `Content-Length` (`length`, if the caller read it already) goes out as the last (one ASGI message fewer than an
    empty closing one)."""
    left = response.content_length if length is None else length
    async for chunk in response.content.iter_any():
        if left is not None:
            left -= len(chunk)
            if left <= 0:
                await send({"type": "http.response.body", "body": chunk, "more_body": False})
                return
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def close_when_caller_leaves(receive: Receive, response: aiohttp.ClientResponse) -> None:
    """Closes `response` once the caller disconnects: for answers that may never end by themselves."""
    while (await receive())["type"] != "http.disconnect":
        pass
    response.close()
