"""The web front end behind `/` (issue 8): a path that no service prefix and none of the gateway's own routes claim
goes to `GATEWAY_WEB_URL` as it is. The pages are public (they sign people in themselves and call the API through
this gateway with each person's token), so there is no edge authentication here; bodies stream both ways."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from bibliomesh_gateway.routing import longest_prefix_value
from bibliomesh_gateway.upstream import (
    BodyTooLarge,
    CallerLeft,
    Incoming,
    RequestBody,
    close_when_caller_leaves,
    open_session,
    response_headers,
    stream_body,
)
from meshkit.problems import problem_response

log = logging.getLogger(__name__)


class WebFront:
    def __init__(self, base_url: str, connect_seconds: float, read_seconds: float, body_limit: int = 0,
                 route_body_limits: dict[str, int] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.body_limit = body_limit
        self.route_body_limits = route_body_limits or {}  # the services' own prefixes never reach this app
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect_seconds, sock_read=read_seconds)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Its own client (the proxy's kind), which keeps no cookies: the pages' session cookies belong to each
        # browser, and a shared cookie jar would hand one person's session to the next caller.
        if self._session is None:
            self._session = open_session()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = Incoming(scope)
        query = scope["query_string"].decode("latin-1")
        url = URL(self.base_url + scope["raw_path"].decode("latin-1") + (f"?{query}" if query else ""), encoded=True)
        limit = self.limit_for(scope["path"])
        if limit and incoming.body_length > limit:
            await self._too_large(limit, scope, receive, send)
            return
        body = RequestBody(receive, limit) if incoming.has_body else None
        try:
            response = await self.session.request(
                scope["method"], url, headers=incoming.forwarded, data=body.chunks() if body else None,
                allow_redirects=False, timeout=self.timeout)
        except (aiohttp.ClientError, TimeoutError, BodyTooLarge, CallerLeft) as exc:
            if body is not None and body.caller_left:
                return
            if body is not None and body.too_large:
                await self._too_large(limit, scope, receive, send)
                return
            log.warning("web front end unreachable", extra={"error": type(exc).__name__})
            await problem_response(503, "the web front end is unavailable; try again shortly",
                                   headers={"Retry-After": "5"})(scope, receive, send)
            return
        # A live stream (notifications) may never end by itself: stop reading it when the browser goes away.
        watcher = asyncio.create_task(close_when_caller_leaves(receive, response)) if body is None else None
        try:
            await send({"type": "http.response.start", "status": response.status,
                        "headers": response_headers(response)})
            await stream_body(response, send)
        except aiohttp.ClientError as exc:
            log.warning("web front end broke off its answer", extra={"error": type(exc).__name__})
        finally:
            if watcher is not None:
                watcher.cancel()
            response.release()

    def limit_for(self, path: str) -> int:
        """The largest body for `path` (0: none): its longest configured prefix, else the default."""
        limit = longest_prefix_value(self.route_body_limits, path)
        return self.body_limit if limit is None else int(limit)

    @staticmethod
    async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(413, f"the body is larger than {limit} bytes",
                               instance=scope["path"])(scope, receive, send)
