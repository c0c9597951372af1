"""HEAD answered as GET, for every service, the gateway's web front end and any ASGI app: FastAPI routes declared
for GET alone would say 405, and monitors, link checkers and HTTP caches ask with HEAD.

The GET a HEAD becomes is marked: its scope holds `HEAD_SCOPE_KEY` (`"bibliomesh.head"`) set to True. A route
whose GET has a cost or a side effect beyond its answer (opening a live stream, reading a stored file) asks
`answering_head(request)` and sends only the headers its GET would send, without doing the work behind the body."""

from __future__ import annotations

import asyncio

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEAD_SCOPE_KEY = "bibliomesh.head"


def answering_head(connection: HTTPConnection) -> bool:
    """Whether this GET is answering a HEAD (only the status and headers reach the client)."""
    return connection.scope.get(HEAD_SCOPE_KEY) is True


class HeadAsGetMiddleware:
    """A HEAD of any page answers as its GET would (status and headers, Content-Length included), without the
    body: monitors and link checkers ask with HEAD, and FastAPI routes declared for GET alone would say 405. Once
    the headers are out the app is told the client has gone, so a streamed page (the live relay) ends at once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        answered = asyncio.Event()

        async def headers_only(message: Message) -> None:
            if answered.is_set():
                return
            if message["type"] != "http.response.start":  # the body, however it would come: none for HEAD
                message = {"type": "http.response.body", "body": b"", "more_body": False}
                answered.set()
            await send(message)

        async def until_answered() -> Message:
            if answered.is_set():
                return {"type": "http.disconnect"}
            asked = asyncio.ensure_future(receive())
            done = asyncio.ensure_future(answered.wait())
            try:
                await asyncio.wait({asked, done}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                done.cancel()
                if not asked.done():
                    asked.cancel()
            return asked.result() if asked.done() and not asked.cancelled() else {"type": "http.disconnect"}

        # A scope of its own: the server's must still say HEAD, or it would wait for the body Content-Length names.
        inner = {**scope, "method": "GET", HEAD_SCOPE_KEY: True}
        try:
            await self.app(inner, until_answered, headers_only)
        finally:
            if "route" in inner:  # what routing found, for the metrics and logs outside
                scope["route"] = inner["route"]
