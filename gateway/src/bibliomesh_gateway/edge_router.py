"""Which part of the gateway answers a call: the proxy for paths under a service prefix, FastAPI for the rest."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from bibliomesh_gateway.edge_headers import CorsSettings, EdgeCors
from bibliomesh_gateway.proxy import Proxy


@dataclass(frozen=True)
class ServiceRoute:
    """What metrics and traces name a proxied call by: its service, never the raw path (unbounded labels)."""

    path: str


class EdgeRouter:
    """Paths under a service prefix go to the proxy (with CORS for browsers' cross-origin calls); the gateway's
    own routes (`own`, a FastAPI stack) get everything else."""

    def __init__(self, own: ASGIApp, proxy: Proxy, cors: CorsSettings) -> None:
        self.own = own
        self.proxy = proxy
        self.cors = EdgeCors(self._proxied, cors, proxy.edge_headers)
        self.labels = {name: ServiceRoute(f"/{name}/*") for name in proxy.routes.services}

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: the one it picks is awaited directly (a frame fewer on every resume).
        route = self.proxy.routes.match(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            return self.own(scope, receive, send)
        scope["route"] = self.labels[route.service]
        for name, _ in scope["headers"]:
            if name == b"origin":
                return self.cors(scope, receive, send)
        return self.proxy.handle(route, scope, receive, send)

    async def _proxied(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.proxy.routes.match(scope["path"])
        assert route is not None
        await self.proxy.handle(route, scope, receive, send)
