"""The FastAPI pieces every service shares: app factory, request context middleware, health, dependencies."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshkit import context
from meshkit.head import HeadAsGetMiddleware
from meshkit.heap import settle_heap
from meshkit.logs import flush_access_log, log_request
from meshkit.metrics import ServiceMetrics
from meshkit.numbers import MAX_ID as MAX_ID  # re-exported: the bound of ids in paths and queries
from meshkit.problems import Unauthorized, install_problem_handlers, problem_response
from meshkit.runtime import ServiceRuntime
from meshkit.security import Principal
from meshkit.telemetry import ServerSpan
from meshkit.unit_of_work import UnitOfWork

# FastAPI's own OpenTelemetry instrumentation would record a second server span for every call (and its own
# metrics): `RequestContextMiddleware` makes the one span, the metrics and the access log.
FASTAPI_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
# The request's `ServerSpan`, in the ASGI scope: a proxy passes its `traceparent` on without looking it up.
SERVER_SPAN = "meshkit.server_span"
# Probes and scrapes, called every few seconds: counted in the metrics, never in the access log.
UNLOGGED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# What a service cannot answer without. The event bus is reported but not required: a write keeps its events in
# the outbox until the bus is back, so a RabbitMQ outage must not take every service out of its Kubernetes
# Service (its readiness probe) and turn a delay of events into an outage of the whole API.
REQUIRED_FOR_READINESS = frozenset({"database"})
# A caller's `X-Request-ID` is kept only if it is short and plain; any other is replaced by one made here. It goes
# back in the answer, into every log line and event, and on to the next service, which answers with it too: a
# 9,000-character one made that answer unreadable to the gateway, and with a few calls opened the service's
# circuit breaker for everyone. One rule for the gateway and every service (they all run this middleware).
MAX_REQUEST_ID = 128
PLAIN_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]+")

log = logging.getLogger(__name__)


class RequestContextMiddleware:
    """Request id, W3C trace context, JSON access log and metrics for every request (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, service: str, metrics: ServiceMetrics) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = traceparent = tracestate = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                tracestate = value.decode("latin-1")
        if not request_id:
            # As unique as uuid4, at an eighth of its cost (and `hex` at half of a `032x` format).
            request_id = random.getrandbits(128).to_bytes(16, "big").hex()
        elif len(request_id) > MAX_REQUEST_ID or PLAIN_REQUEST_ID.fullmatch(request_id) is None:
            request_id = self._replace_request_id(request_id)
        tokens = (context.request_id.set(request_id), context.service.set(self.service))
        method, path = scope["method"], scope["path"]
        span = scope[SERVER_SPAN] = ServerSpan(method, path, traceparent, tracestate)
        started = time.perf_counter()
        request_id_header = (b"x-request-id", request_id.encode("latin-1"))

        def send_with_id(message: Message) -> Awaitable[None]:
            # Not a coroutine itself: the server's `send` is awaited directly (no coroutine per message).
            if message["type"] == "http.response.start":
                span.status_code = message["status"]
                message["headers"] = [*message.get("headers", ()), request_id_header]
            return send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            span.failed(exc)
            raise
        finally:
            elapsed = time.perf_counter() - started
            status = span.status_code or 500  # no answer started: the server answers 500
            span.status_code = status
            # Named by its route, as the semantic conventions ask (few distinct names, bounded metric labels).
            route = getattr(scope.get("route"), "path", None)
            span.route = route
            self.metrics.http.observe(method, route or "unmatched", status, elapsed)
            if path not in UNLOGGED_PATHS:
                log_request(method, path, status, elapsed, span.hex_ids if span.trace_id else None,
                            self.service, request_id)
            span.end()
            context.service.reset(tokens[1])
            context.request_id.reset(tokens[0])

    def _replace_request_id(self, sent: str) -> str:
        request_id = random.getrandbits(128).to_bytes(16, "big").hex()
        # Bounded: the length and a short start of what was sent, never all of it.
        log.warning("the caller's request id (%d characters, beginning %r) is not up to %d letters, digits or "
                    "`._:-`: replaced", len(sent), sent[:16], MAX_REQUEST_ID,
                    extra={"request_id": request_id, "service": self.service})
        return request_id


def health_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get("/readyz", summary="Readiness: 503 naming the database if it cannot be reached; 200 `degraded` "
                "while only the event bus cannot (events wait in the outbox); public.")
    async def readyz() -> Response:
        checks = await runtime.readiness()
        failing = [name for name, state in checks.items() if state != "ok"]
        if any(name in REQUIRED_FOR_READINESS for name in failing):
            return problem_response(503, f"not ready: {', '.join(failing)} unreachable", checks=checks,
                                    service=runtime.name)
        if failing:
            return JSONResponse({"status": "degraded", "service": runtime.name, "checks": checks,
                                 "detail": f"{', '.join(failing)} unreachable: events wait in the outbox"})
        return JSONResponse({"status": "ready", "service": runtime.name, "checks": checks})

    router.add_api_route("/metrics", metrics_endpoint(runtime.metrics), include_in_schema=False)
    return router


def metrics_endpoint(metrics: ServiceMetrics) -> Callable[[], Awaitable[Response]]:
    async def serve_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return serve_metrics


def create_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for step in on_startup:
            await step()
        await runtime.start()
        settle_heap()
        try:
            yield
        finally:
            await runtime.stop()
            flush_access_log()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan,
                  openapi_url=f"/{runtime.name}/openapi.json" if runtime.name != "gateway" else "/openapi.json",
                  docs_url=None, redoc_url=None, telemetry=FASTAPI_TELEMETRY_OFF)
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(health_router(runtime))
    if runtime.consumers:
        from meshkit.admin import admin_router  # admin.py builds on this module's dependencies

        app.include_router(admin_router(runtime))
    for router in routers:
        app.include_router(router)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(RequestContextMiddleware, service=runtime.name, metrics=runtime.metrics)
    return app


def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    async with get_runtime(request).unit_of_work() as uow:
        yield uow


_bearer = HTTPBearer(auto_error=False, description="An access token from `POST /auth/token`.")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("an access token is required", headers={"WWW-Authenticate": "Bearer"})
    principal = await get_runtime(request).verifier.verify(credentials.credentials)
    context.institution.set(principal.institution)
    return principal


def require_scope(scope: str) -> Any:
    """A dependency that yields the caller if its token carries `scope`, else 403."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        principal.require_scope(scope)
        return principal

    return Depends(dependency)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(unit_of_work)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A stored id.")]
"""An id in a URL path: out of the database's range is a 422, not a driver error (a 500)."""
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
