"""The FastAPI pieces every service shares: app factory, request context middleware, health, dependencies."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshkit import context
from meshkit.heap import settle_heap
from meshkit.metrics import ServiceMetrics
from meshkit.problems import Unauthorized, install_problem_handlers, problem_response
from meshkit.runtime import ServiceRuntime
from meshkit.security import Principal
from meshkit.telemetry import context_from, tracer
from meshkit.unit_of_work import UnitOfWork

access_log = logging.getLogger("bibliomesh.access")
_TRACE_HEADERS = (b"traceparent", b"tracestate")


class RequestContextMiddleware:
    """Request id, W3C trace context, JSON access log and metrics for every request (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, service: str, metrics: ServiceMetrics) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.tracer = tracer("meshkit.http")
        self._counted: dict[tuple[str, str, int], Any] = {}  # labelled metric children, looked up once
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id: str | None = None
        carrier: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name in _TRACE_HEADERS:
                carrier[name.decode("latin-1")] = value.decode("latin-1")
        request_id = request_id or os.urandom(16).hex()  # as random as uuid4, a fifth of its cost
        tokens = (context.request_id.set(request_id), context.service.set(self.service))
        method, path = scope["method"], scope["path"]
        parent = context_from(carrier) if carrier else None
        span = self.tracer.start_span(f"{method} {path}", context=parent, kind=trace.SpanKind.SERVER,
                                      attributes={"http.request.method": method, "url.path": path})
        otel_token = otel_context.attach(trace.set_span_in_context(span, parent))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            span.set_attribute("http.response.status_code", status)
            # While the span is current, so the access log line carries the trace id even when the caller sent none.
            self._record(scope, method, path, status, time.perf_counter() - started)
            span.end()
            otel_context.detach(otel_token)
            context.service.reset(tokens[1])
            context.request_id.reset(tokens[0])

    def _record(self, scope: Scope, method: str, path: str, status: int, elapsed: float) -> None:
        route = _route_template(scope)
        counted = self._counted.get((method, route, status))
        if counted is None:
            counted = self._counted[method, route, status] = self.metrics.http_requests.labels(method, route,
                                                                                               str(status))
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self._timed[method, route] = self.metrics.http_duration.labels(method, route)
        counted.inc()
        timed.observe(elapsed)
        if path not in ("/healthz", "/readyz", "/metrics"):
            access_log.info("request", extra={"method": method, "path": path, "status": status,
                                              "duration_ms": round(elapsed * 1000, 2)})


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def health_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get("/readyz", summary="Readiness: database and event bus reachable (503 names what is not).")
    async def readyz() -> Response:
        checks = await runtime.readiness()
        failing = [name for name, state in checks.items() if state != "ok"]
        if failing:
            return problem_response(503, f"not ready: {', '.join(failing)} unreachable", checks=checks,
                                    service=runtime.name)
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

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan,
                  openapi_url=f"/{runtime.name}/openapi.json" if runtime.name != "gateway" else "/openapi.json",
                  docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(health_router(runtime))
    if runtime.consumers:
        from meshkit.admin import admin_router  # admin.py builds on this module's dependencies

        app.include_router(admin_router(runtime))
    for router in routers:
        app.include_router(router)
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
MAX_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A stored id.")]
"""An id in a URL path: out of the database's range is a 422, not a driver error (a 500)."""
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
