"""The web front end: server-rendered pages behind the gateway at `/`, talking to the platform only through its
public API with the signed-in person's token."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from bibliomesh_web.directory import DirectoryCache
from bibliomesh_web.middleware import (
    BodyLimitMiddleware,
    BodyTooLarge,
    SessionMiddleware,
    SpoolFull,
)
from bibliomesh_web.pages import (
    admin,
    clients,
    dashboard,
    harvest,
    imports,
    notification_settings,
    notifications,
    peers,
    record,
    requests,
    search,
    signin,
    staff,
    webhooks,
)
from bibliomesh_web.platform import ApiError, PlatformUnavailable, SignInRequired
from bibliomesh_web.sessions import SessionStore
from bibliomesh_web.settings import WebSettings, load_settings
from bibliomesh_web.titles import ClusterTitles
from bibliomesh_web.views import BadInput, CsrfFailed, Forbidden, page_of
from meshkit.head import HeadAsGetMiddleware
from meshkit.logs import configure_logging
from meshkit.metrics import ServiceMetrics
from meshkit.problems import problem_response
from meshkit.spool import SpoolBudget
from meshkit.telemetry import configure_tracing
from meshkit.web import FASTAPI_TELEMETRY_OFF, RequestContextMiddleware, metrics_endpoint

log = logging.getLogger(__name__)
ROUTERS = (signin, search, record, requests, staff, imports, harvest, dashboard, notifications, notification_settings,
           clients, webhooks, peers, admin)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging("web", settings.log_level, settings.log_json)
    configure_tracing(settings.otel_exporter, "web")

    upstream = Upstream(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield  # a mounted app gets no lifespan: nothing here may be needed, only tidied
        await upstream.close()

    app = FastAPI(title="Bibliomesh web", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  telemetry=FASTAPI_TELEMETRY_OFF)
    app.state.settings = settings
    app.state.upstream = upstream
    app.state.sessions = SessionStore(settings.session_idle_minutes * 60, settings.max_sessions)
    app.state.directory = DirectoryCache()
    app.state.titles = ClusterTitles()
    # Staff file forms spooled to /tmp at once (`WEB_UPLOAD_SPOOL_BYTES`); beyond it the 503 page.
    app.state.upload_spool = SpoolBudget(settings.upload_spool_bytes, SpoolFull)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_api_route("/web/healthz", _healthz, include_in_schema=False)
    _install_error_pages(app)
    app.add_middleware(HeadAsGetMiddleware)  # innermost: every page and error page, seen as HEAD outside it
    # Inside the session's middleware, which it reads.
    app.add_middleware(BodyLimitMiddleware, settings=settings, spool=app.state.upload_spool)
    app.add_middleware(SessionMiddleware, store=app.state.sessions, settings=settings)
    metrics = app.state.metrics = ServiceMetrics("web")
    if not settings.metrics_port:  # otherwise `serve` serves them on that port
        app.add_api_route("/web/metrics", metrics_endpoint(metrics), include_in_schema=False)
    app.add_middleware(RequestContextMiddleware, service="web", metrics=metrics)
    return app


class Upstream:
    """The HTTP client to the platform's API, made on first use inside the serving event loop, so the app works
    alone or mounted in another app (mounted apps get no lifespan)."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # No cookie is ever kept: every call carries one person's token, and nothing of one may reach another.
            self._client = httpx.AsyncClient(
                timeout=self.settings.upstream_timeout_seconds, cookies=CookieJar(DefaultCookiePolicy(
                    allowed_domains=[])), limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def _healthz() -> dict[str, str]:
    return {"status": "ok", "service": "web"}


def _install_error_pages(app: FastAPI) -> None:
    async def sign_in(request: Request, _: Exception) -> Response:
        if request.method == "GET":
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={quote(here, safe='')}", status_code=303)
        return RedirectResponse("/signin", status_code=303)

    async def platform_said_no(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        status = exc.status if exc.status in (400, 403, 404, 409, 422, 429) else 502
        return await _error(request, status, exc.detail)

    async def unreachable(request: Request, exc: Exception) -> Response:
        log.warning("platform unreachable", extra={"error": type(exc).__name__})
        return await _error(request, 503, None)

    async def bad_input(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadInput)
        return await _error(request, 400, exc.detail)

    async def forbidden(request: Request, _: Exception) -> Response:
        return await _error(request, 403, None)

    async def csrf(request: Request, _: Exception) -> Response:
        return await _error(request, 403, None, "error.csrf")

    async def too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyTooLarge)
        page = await page_of(request)
        return await _error(request, 413, page.t("error.too_large", size=f"{exc.limit / (1024 * 1024):g}"))

    async def spool_full(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SpoolFull)
        response = await _error(request, 503, None, "error.uploads_busy")
        response.headers.update(exc.headers or {})
        return response

    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("web page failed", exc_info=exc)
        return await _error(request, 500, None)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if "text/html" not in request.headers.get("accept", ""):  # API clients get what the gateway would say
            detail = (f"{request.method} is not allowed for {request.url.path}" if exc.status_code == 405
                      else f"no route for {request.url.path}")
            return problem_response(exc.status_code, detail, instance=request.url.path,
                                    headers=dict(exc.headers or {}))
        response = await _error(request, exc.status_code, None)
        response.headers.update(exc.headers or {})  # a 405's Allow
        return response

    app.add_exception_handler(SignInRequired, sign_in)
    app.add_exception_handler(ApiError, platform_said_no)
    app.add_exception_handler(httpx.HTTPError, unreachable)
    app.add_exception_handler(PlatformUnavailable, unreachable)
    app.add_exception_handler(BadInput, bad_input)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfFailed, csrf)
    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(SpoolFull, spool_full)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, crash)


async def _error(request: Request, status: int, detail: str | None, key: str | None = None) -> Response:
    page = await page_of(request)
    message = page.t(key or f"error.{status}") if page.t.has(key or f"error.{status}") else page.t("error.other")
    return await page.render("error.html", status=status, message=message, detail=detail)
