"""A real gateway on a loopback port in front of four fake services (real HTTP servers too), and access tokens
signed by the key the fake auth service publishes."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bibliomesh_gateway.app import GatewayApp, create_app
from bibliomesh_gateway.settings import GatewaySettings

ISSUER = "http://gateway.test"
KEY = ECKey.generate_key("P-256", parameters={"kid": "gateway-test"})
FOREIGN_KEY = ECKey.generate_key("P-256", parameters={"kid": "gateway-test"})  # same key id, not published
SERVICES = ("auth", "catalog", "ill", "notify")


def token(subject: str = "client:koha", institution: str = "CN-DL-LHU", *, key: ECKey = KEY,
          expires_in: int = 300, issuer: str = ISSUER, typ: str = "at+jwt") -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": "bibliomesh", "sub": subject, "institution": institution, "iat": now,
              "exp": now + expires_in, "scope": "ill:request", "roles": ["staff"], "jti": f"{subject}-{now}"}
    return jwt.encode({"alg": "ES256", "kid": "gateway-test", "typ": typ}, claims, key)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@dataclass
class FakeService:
    """What reached one fake service, and knobs a test turns."""

    name: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    upload_started: asyncio.Event = field(default_factory=asyncio.Event)
    events: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    stream_closed: asyncio.Event = field(default_factory=asyncio.Event)
    readiness: tuple[int, dict[str, Any]] = (200, {"status": "ready", "checks": {"database": "ok", "bus": "ok"}})

    def app(self) -> Starlette:
        async def record(request: Request) -> Response:
            self.calls.append({"method": request.method, "path": request.url.path, "query": request.url.query,
                               "headers": dict(request.headers)})
            # Like a real service (meshkit's middleware), it answers with the request id it was given.
            return JSONResponse({"service": self.name, "path": request.url.path},
                                headers={"X-Request-ID": request.headers.get("x-request-id", "")})

        async def slow(request: Request) -> Response:
            self.calls.append({"method": request.method, "path": request.url.path, "headers": {}})
            await asyncio.sleep(float(request.query_params.get("seconds", "1")))
            return JSONResponse({"slept": True})

        async def trickle(request: Request) -> Response:
            """`pieces` pieces `every` seconds apart, then silence for `stall` seconds before the last."""
            pieces, every = int(request.query_params["pieces"]), float(request.query_params["every"])
            stall = float(request.query_params.get("stall", "0"))

            async def body() -> AsyncIterator[bytes]:
                for n in range(pieces):
                    if n:
                        await asyncio.sleep(every)
                    yield f"piece {n}\n".encode()
                await asyncio.sleep(stall)
                yield b"end\n"

            return StreamingResponse(body(), media_type="text/plain")

        async def upload(request: Request) -> Response:
            size = 0
            async for chunk in request.stream():
                if chunk and not self.upload_started.is_set():
                    self.upload_started.set()
                size += len(chunk)
            self.calls.append({"method": request.method, "path": request.url.path, "headers": {}, "size": size})
            return JSONResponse({"received": size})

        async def stream(request: Request) -> Response:
            async def events() -> AsyncIterator[bytes]:
                try:
                    while (event := await self.events.get()) is not None:
                        yield f"data: {event}\n\n".encode()
                finally:
                    self.stream_closed.set()

            return StreamingResponse(events(), media_type="text/event-stream")

        async def openapi(request: Request) -> Response:
            return JSONResponse(openapi_document(self.name))

        async def jwks(request: Request) -> Response:
            return JSONResponse({"keys": [KEY.as_dict(private=False)]})

        async def sign_in(request: Request) -> Response:
            self.calls.append({"method": request.method, "path": request.url.path, "headers": dict(request.headers)})
            response = JSONResponse({"signed_in": True})
            response.set_cookie("session", "alice-session", httponly=True)
            return response

        async def ready(request: Request) -> Response:
            status, body = self.readiness
            return JSONResponse(body, status_code=status)

        prefix = f"/{self.name}"
        return Starlette(routes=[
            Route(f"{prefix}/openapi.json", openapi), Route("/auth/jwks", jwks), Route("/readyz", ready),
            Route(f"{prefix}/slow", slow), Route(f"{prefix}/trickle", trickle),
            Route(f"{prefix}/upload", upload, methods=["POST"]),
            Route(f"{prefix}/events", stream), Route(f"{prefix}/sign-in", sign_in, methods=["POST"]),
            Route("/{path:path}", record, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])])


def openapi_document(name: str) -> dict[str, Any]:
    """A small OpenAPI document, with the component names every FastAPI service has (so they would clash)."""
    problem = {"$ref": "#/components/schemas/Problem"}
    return {
        "openapi": "3.1.0", "info": {"title": name, "version": "1", "description": f"The {name} service."},
        "paths": {
            f"/{name}/things": {"get": {"operationId": "list_things", "security": [{"HTTPBearer": []}],
                                        "responses": {"200": {"description": "ok", "content": {
                                            "application/json": {"schema": problem}}}}}},
            "/healthz": {"get": {"operationId": "healthz", "responses": {"200": {"description": "ok"}}}},
        },
        "components": {"schemas": {"Problem": {"type": "object", "title": f"{name} problem"}},
                       "securitySchemes": {"HTTPBearer": {"type": "http", "scheme": "bearer"}}},
    }


class RestartableServer:
    """A uvicorn server on a fixed loopback port that a test can stop and start again (a service going away)."""

    def __init__(self, app: Any, lifespan: str = "off") -> None:
        self.app = app
        self.lifespan = lifespan
        # Bound now and kept for the first start: a port probed and bound later can be taken meanwhile by anything
        # else on the machine asking for a free port (it happened). Only a restart binds it again.
        self._unused: socket.socket | None = self._bound(0)
        self.port = int(self._unused.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _bound(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    async def start(self) -> None:
        sock, self._unused = self._unused or self._bound(self.port), None
        self._server = uvicorn.Server(uvicorn.Config(self.app, lifespan=self.lifespan, log_level="warning",
                                                     access_log=False))
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        async with asyncio.timeout(30):  # generous: the machine may be busy with other work
            while not self._server.started:
                if self._task.done():  # it failed to start: say why instead of waiting out the timeout
                    self._task.result()
                    raise RuntimeError(f"the server on port {self.port} stopped before it started")
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            # A service going away drops what it was doing; the gateway (with a lifespan) shuts down in order.
            self._server.force_exit = self.lifespan == "off"
            await asyncio.wait_for(self._task, 10)
            self._server = self._task = None


@dataclass
class Platform:
    url: str
    app: GatewayApp
    services: dict[str, FakeService]
    servers: dict[str, RestartableServer]

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10, **kwargs)


@asynccontextmanager
async def platform(service_host: str = "127.0.0.1", **settings: Any) -> AsyncIterator[Platform]:
    """The gateway (embedded mode: limits in memory) in front of four fake services; `settings` override.
    `service_host`: the host name the gateway calls the services by (`localhost`: a name, as in a cluster)."""
    services = {name: FakeService(name) for name in SERVICES}
    servers = {name: RestartableServer(service.app()) for name, service in services.items()}
    await asyncio.gather(*(server.start() for server in servers.values()))
    values: dict[str, Any] = {"mode": "embedded", "token_issuer": ISSUER, "log_json": True,
                              **{f"{name}_url": servers[name].url.replace("127.0.0.1", service_host)
                                 for name in SERVICES},
                              **settings}
    app = create_app(GatewaySettings(**values))
    front = RestartableServer(app, lifespan="on")
    try:
        await front.start()
        yield Platform(front.url, app, services, servers)
    finally:
        await asyncio.gather(front.stop(), *(server.stop() for server in servers.values()))


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = json.loads(response.text)
    return body
