"""The gateway app: the one front door to `/auth`, `/catalog`, `/ill`, `/notify` and `/.well-known`.

Every call first passes meshkit's `RequestContextMiddleware` (request id, W3C trace context, JSON access log,
metrics). Calls under a service prefix then go straight to the proxy (the hot path: pure ASGI, no body
buffered, security headers and CORS added there); the gateway's own routes (`/healthz`, `/readyz`, `/openapi.json`,
`/docs`, and `/metrics` in embedded mode) get the rest, through FastAPI's usual stack. In distributed mode the
metrics are served on a port of their own (`GATEWAY_METRICS_PORT`, by `serve`), never on this public one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from bibliomesh_gateway.edge_auth import EdgeAuthenticator
from bibliomesh_gateway.edge_headers import CorsSettings, EdgeCors, SecurityHeadersMiddleware, security_headers
from bibliomesh_gateway.edge_router import EdgeRouter
from bibliomesh_gateway.openapi_merge import OpenApiCache, merge
from bibliomesh_gateway.proxy import Proxy
from bibliomesh_gateway.rate_limits import RateLimits
from bibliomesh_gateway.readiness import answers, breaker_states, service_states
from bibliomesh_gateway.routing import RouteTable
from bibliomesh_gateway.settings import GatewaySettings, load_settings
from bibliomesh_gateway.web_front import WebFront
from meshkit.heap import settle_heap
from meshkit.logs import configure_logging, flush_access_log
from meshkit.metrics import ServiceMetrics
from meshkit.problems import install_problem_handlers
from meshkit.telemetry import configure_tracing
from meshkit.web import FASTAPI_TELEMETRY_OFF, RequestContextMiddleware, metrics_endpoint

CORS_HEADERS = ["Authorization", "Content-Type", "Accept", "Accept-Language", "X-Request-ID", "traceparent",
                "Last-Event-ID", "If-Match"]
CORS_EXPOSED = ["X-Request-ID", "Location", "Retry-After", "RateLimit", "RateLimit-Policy", "ETag"]
# The gateway's metrics and the web front end's, which Prometheus scrapes on their own ports in distributed mode.
METRICS_PATHS = ("/metrics", "/web/metrics")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class GatewayApp(FastAPI):
    """FastAPI for the gateway's own routes; calls to a service never enter its stack."""

    proxy: Proxy
    metrics: ServiceMetrics
    cors: CorsSettings

    def build_middleware_stack(self) -> ASGIApp:
        edge = EdgeRouter(super().build_middleware_stack(), self.proxy, self.cors)
        return RequestContextMiddleware(edge, service="gateway", metrics=self.metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """What FastAPI's and Starlette's entries do for an HTTP call, in one coroutine frame instead of two (a
        proxied call is resumed through every frame above it, several times over)."""
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        scope["app"] = self
        if self.root_path:
            scope["root_path"] = self.root_path
        await self.middleware_stack(scope, receive, send)


def create_app(settings: GatewaySettings | None = None) -> GatewayApp:
    settings = settings or load_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    configure_tracing(settings.otel_exporter, "gateway")
    routes = RouteTable(settings)
    hsts = settings.hsts_seconds if settings.mode == "distributed" else 0
    edge_headers = security_headers(hsts, bool(settings.cors_origins))
    proxy = Proxy(settings, routes, EdgeAuthenticator.for_jwks(
        settings.effective_jwks_url(), settings.token_issuer, settings.token_audience,
        settings.jwks_max_stale_seconds), _rate_limits(settings),
        edge_headers)
    openapi = OpenApiCache(routes.services, settings.openapi_cache_seconds)
    web = WebFront(settings.web_url, settings.connect_timeout_seconds, settings.upstream_timeout_seconds,
                   settings.max_body_bytes, settings.route_body_limits) if settings.web_url else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settle_heap()
        try:
            yield
        finally:
            await proxy.close()
            if web is not None:
                await web.close()
            flush_access_log()

    app = GatewayApp(title="Bibliomesh", description="One front door to the Bibliomesh services.", version="0.1.0",
                  lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  telemetry=FASTAPI_TELEMETRY_OFF)
    app.proxy, app.metrics = proxy, ServiceMetrics("gateway")
    app.cors = CorsSettings(settings.cors_origins, CORS_HEADERS, CORS_EXPOSED)
    install_problem_handlers(app)
    if settings.mode == "embedded":  # one process, on loopback: its metrics on its one port
        app.add_api_route("/metrics", metrics_endpoint(app.metrics), include_in_schema=False)
    else:  # answered here, so neither reaches the web front end behind `/`
        for path in METRICS_PATHS:
            app.add_api_route(path, _not_public, methods=ALL_METHODS, include_in_schema=False)

    @app.get("/healthz", tags=["gateway"], summary="Liveness: the gateway answers (public).")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", tags=["gateway"], summary="Readiness of every service, and each one's circuit breaker; "
             "503 unless all answer, `degraded` while one waits for its event bus (public).")
    async def readyz() -> JSONResponse:
        services = await service_states(proxy.session, routes.services, settings.readiness_timeout_seconds)
        answering = all(answers(state) for state in services.values())
        status = "unready" if not answering else \
            "ready" if all(state == "ready" for state in services.values()) else "degraded"
        return JSONResponse({"status": status, "services": services, "breakers": breaker_states(proxy.breakers)},
                            status_code=200 if answering else 503)

    @app.get("/openapi.json", tags=["gateway"], summary="The whole platform's API in one OpenAPI document: "
             "every service's, merged (public).")
    async def openapi_document() -> dict[str, Any]:
        return merge(app.openapi(), await openapi.documents(proxy.session))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Bibliomesh API")

    _answer_head_as_get(app)
    if web is not None:  # last: only what nothing above claims (issue 8)
        app.mount("/", web)
    app.add_middleware(EdgeCors, cors=app.cors, edge_headers=edge_headers)
    app.add_middleware(SecurityHeadersMiddleware, headers=edge_headers)
    return app


def _answer_head_as_get(app: FastAPI) -> None:
    """HEAD on each of the gateway's own GET routes, answered by the same endpoint (the server sends no body). A
    route of its own, left out of the OpenAPI document: `methods=["GET", "HEAD"]` would document a second
    operation. Without it HEAD would fall through to the web front end behind `/` (a 404), or be a 405."""
    for route in list(app.routes):
        if isinstance(route, APIRoute) and route.methods and "GET" in route.methods and "HEAD" not in route.methods:
            app.add_api_route(route.path, route.endpoint, methods=["HEAD"], include_in_schema=False)


async def _not_public() -> None:
    raise HTTPException(404)  # the gateway's answer to a path it does not serve


def _rate_limits(settings: GatewaySettings) -> RateLimits:
    limits = {"anonymous": settings.rate_limit_anonymous, "caller": settings.rate_limit_caller,
              "institution": settings.rate_limit_institution}
    if settings.mode == "embedded":
        return RateLimits.in_memory(**limits)
    return RateLimits.in_redis(settings.redis_url, settings.rate_limit_key_prefix, **limits)
