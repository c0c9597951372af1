"""The gateway app: routes `/auth`, `/catalog`, `/ill`, `/notify` and `/.well-known` to the services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bibliomesh_gateway.proxy import forward
from bibliomesh_gateway.settings import GatewaySettings, load_settings
from meshkit.logs import configure_logging
from meshkit.metrics import ServiceMetrics
from meshkit.problems import install_problem_handlers, problem_response
from meshkit.telemetry import configure_tracing
from meshkit.web import RequestContextMiddleware, metrics_endpoint

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    configure_tracing(settings.otel_exporter)
    upstreams = settings.upstreams()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(timeout=settings.upstream_timeout_seconds, limits=limits) as client:
            app.state.client = client
            yield

    app = FastAPI(title="Bibliomesh", description="One front door to the Bibliomesh services.", version="0.1.0",
                  lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    install_problem_handlers(app)
    metrics = ServiceMetrics("gateway")
    app.add_middleware(RequestContextMiddleware, service="gateway", metrics=metrics)
    app.add_api_route("/metrics", metrics_endpoint(metrics), include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        client: httpx.AsyncClient = request.app.state.client
        states = await asyncio.gather(*(_ready(client, url, settings.readiness_timeout_seconds)
                                        for url in upstreams.values()))
        services = dict(zip(upstreams, states, strict=True))
        ready = all(state == "ready" for state in services.values())
        return JSONResponse({"status": "ready" if ready else "unready", "services": services},
                            status_code=200 if ready else 503)

    @app.api_route("/.well-known/{path:path}", methods=METHODS, include_in_schema=False)
    async def well_known(request: Request, path: str) -> Response:
        return await forward(request.app.state.client, "auth", upstreams["auth"], request)

    @app.api_route("/{service}/{path:path}", methods=METHODS, include_in_schema=False)
    async def route(request: Request, service: str, path: str) -> Response:
        base = upstreams.get(service)
        if base is None:
            return problem_response(404, f"no route for /{service}")
        return await forward(request.app.state.client, service, base, request)

    return app


async def _ready(client: httpx.AsyncClient, base_url: str, wait_seconds: float) -> str:
    try:
        response = await client.get(f"{base_url.rstrip('/')}/readyz", timeout=wait_seconds)
    except httpx.HTTPError:
        return "unreachable"
    if response.status_code == 200:
        return "ready"
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        checks = {}
    failing = [name for name, state in checks.items() if state != "ok"]
    return f"unready: {', '.join(failing)}" if failing else f"unready: HTTP {response.status_code}"
