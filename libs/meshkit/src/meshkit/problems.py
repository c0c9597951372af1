"""RFC 9457 problem details: one mapping from errors to `application/problem+json` responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 413: "Content too large", 415: "Unsupported media type", 422: "Invalid request",
           429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}


class Problem(Exception):
    """Raise from any layer; domain errors subclass it with their own status so an expected 409 is never a 500."""

    status = 400
    type = "about:blank"
    title: str | None = None

    def __init__(self, detail: str, *, status: int | None = None, title: str | None = None,
                 headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.headers = headers or {}
        self.extensions = extensions


class NotFound(Problem):
    status = 404


class Conflict(Problem):
    status = 409


class NotInDirectoryCopy(Conflict):
    """409: a write names an institution the service's copy of the directory (kept from auth's events) does not
    hold. Auth announces a new institution within seconds, so the caller may retry after `Retry-After`; a code auth
    never registered stays refused. Services ask their copy, never auth, so a write does not depend on auth."""

    RETRY_AFTER_SECONDS = 2

    def __init__(self, institution: str, service: str) -> None:
        message = (f"{institution} is not (yet) in the {service}'s directory; a newly registered institution is "
                   f"announced within seconds: try again after {self.RETRY_AFTER_SECONDS} s")
        super().__init__(message, headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)},
                         errors=[{"field": "institution", "message": message}])


class Forbidden(Problem):
    status = 403


class Unauthorized(Problem):
    status = 401


class ContentTooLarge(Problem):
    """413: a body or an uploaded file over its limit."""

    status = 413


class InvalidField(Problem):
    """422 naming the one field that is wrong, in the same `errors` shape as request validation."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"Invalid value for: {field}: {message}", errors=[{"field": field, "message": message}])


def problem_response(status: int, detail: str, *, title: str | None = None, type_: str = "about:blank",
                     instance: str | None = None, headers: dict[str, str] | None = None,
                     **extensions: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title or _TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _error(error: dict[str, Any]) -> dict[str, str]:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":  # its location is a character position in the body, not a field
        reason = (error.get("ctx") or {}).get("error", "JSON decode error")
        at = f" at character {loc[-1]}" if len(loc) > 1 else ""
        return {"field": "body", "message": f"not valid JSON{at}: {reason}"}
    return {"field": _field(loc), "message": error.get("msg", "invalid")}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] or [str(p) for p in loc]
    return ".".join(parts)


# FastAPI's bare 400 for a body `json.loads` raised on with something other than a JSON syntax error.
_BODY_UNDECODABLE = "There was an error parsing the body"


def _undecodable_body(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return f"not valid JSON: not UTF-8 (byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "not valid JSON here: nested too deeply"
    return "not valid JSON"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, title=exc.title, type_=exc.type,
                                instance=request.url.path, headers=exc.headers, **exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e) for e in exc.errors()]
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return problem_response(422, f"Invalid value for: {fields}", instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _BODY_UNDECODABLE:
            message = _undecodable_body(exc.__cause__)
            return problem_response(422, f"Invalid value for: body: {message}", instance=request.url.path,
                                    errors=[{"field": "body", "message": message}])
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=dict(exc.headers or {}))

    # Handled here, by class, rather than in the catch-all below: Starlette re-raises what reaches that one, so an
    # outage would also be logged as a crash with its traceback on every request.
    @app.exception_handler(sa_exc.DBAPIError)
    @app.exception_handler(sa_exc.TimeoutError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("database unavailable", extra={"path": request.url.path, "error": repr(exc)[:300]})
            return problem_response(503, "the service's database is unavailable; try again shortly",
                                    instance=request.url.path, headers={"Retry-After": "5"})
        if _text_postgresql_cannot_store(exc):
            # The request's fault, found only when PostgreSQL refused it (SQLite stores a NUL as it is).
            return problem_response(422, "text may not contain the NUL character (U+0000)",
                                    instance=request.url.path)
        log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
        return problem_response(500, "The server could not complete the request.", instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, "The server could not complete the request.", instance=request.url.path)


# SQLSTATE classes of a server that cannot serve now (connection exception, insufficient resources, operator
# intervention such as a shutdown or failover) and "database not accepting connections".
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
_UNAVAILABLE_SQLSTATES = ("55000",)
# SQLite says so in words only: a lock held too long, a file it cannot open.
_UNAVAILABLE_SQLITE = ("database is locked", "unable to open database", "disk i/o error")


def _text_postgresql_cannot_store(exc: BaseException) -> bool:
    """PostgreSQL's text holds no NUL: SQLSTATE 22021 (character_not_in_repertoire) naming byte 0x00, or 22P05
    for `\u0000` in jsonb. Other invalid byte sequences under 22021 stay 500s: they are not the caller's."""
    orig = getattr(exc, "orig", None)
    for cause in (orig, getattr(orig, "__cause__", None)):
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if state == "22P05" or (state == "22021" and "0x00" in str(cause)):
            return True
    return False


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or cannot serve now (a 503 the caller may retry), as
    opposed to a fault in the request or the code (a 500)."""
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):  # the pool waited in vain
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    causes = [exc.orig, getattr(exc.orig, "__cause__", None)]
    for cause in causes:
        if isinstance(cause, OSError):  # refused, reset, unreachable, timed out
            return True
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(state, str) and (state[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or state in _UNAVAILABLE_SQLSTATES):
            return True
    return str(exc.orig).lower().startswith(_UNAVAILABLE_SQLITE)
