"""Pure ASGI middleware: the session cookie and the security headers every page carries, body limits."""

from __future__ import annotations

import re

from python_multipart.multipart import parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bibliomesh_web.sessions import Session, SessionStore
from bibliomesh_web.settings import WebSettings
from meshkit.numbers import whole_number
from meshkit.spool import SpoolBudget

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
# The pages that take files from staff (pages/imports.py, pages/requests.py `deliver_file`).
UPLOAD_PAGES = re.compile(r"/staff/imports|/requests/[^/]+/delivery")
SPOOL_RETRY_AFTER_SECONDS = 30
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def session_cookie_name(settings: WebSettings) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless Secure, Path=/ and without Domain.
    return "__Host-bm_session" if settings.secure_cookies else "bm_session"


class SessionMiddleware:
    def __init__(self, app: ASGIApp, store: SessionStore, settings: WebSettings) -> None:
        self.app = app
        self.store = store
        self.name = session_cookie_name(settings)
        self.secure = settings.secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        # Starlette's lenient parser: `SimpleCookie.load` silently stops at the first cookie it cannot parse (say
        # another app's `prefs={"theme":"dark"}`) and would lose ours behind it.
        header = "; ".join(value.decode("latin-1") for key, value in scope["headers"] if key == b"cookie")
        sent = cookie_parser(header).get(self.name)
        found = self.store.get(sent)
        scope.setdefault("state", {})["session"] = found or self.store.new()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                current: Session = scope["state"]["session"]
                if current.keep and (found is None or current.id != found.id):
                    self.store.save(current)
                    headers.append((b"set-cookie", self._cookie(current.id).encode("latin-1")))
                if not any(k == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, session_id: str) -> str:
        return f"{self.name}={session_id}; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")


class BodyTooLarge(HTTPException):
    """A body over its limit (`limit` bytes), refused before it is parsed: the 413 page."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413)
        self.limit = limit


class SpoolFull(HTTPException):
    """Other staff file forms hold the process's spool budget: the 503 page, with `Retry-After`."""

    def __init__(self) -> None:
        super().__init__(status_code=503, headers={"Retry-After": str(SPOOL_RETRY_AFTER_SECONDS)})


class BodyLimitMiddleware:
    """Every body is limited to `max_form_bytes`, except on the pages that take files from signed-in staff: a form
    upload there (multipart) may reach `max_upload_form_bytes`, and a script upload to `/staff/imports` (a body no
    form parser reads) streams on unspooled (the catalogue caps it). The gateway in front caps bodies by path only
    (`GATEWAY_ROUTE_BODY_LIMITS`, which names these pages too) and cannot tell staff from anyone; here the caller is
    known. A form is parsed, its files spooled to /tmp and its fields held in memory, before its CSRF token can be
    checked, so the limit comes first; what is decided here is what Starlette's form parser would make of the body.
    The file forms spooled at once share `spool` (503 beyond it). Needs the session (runs inside
    `SessionMiddleware`)."""

    def __init__(self, app: ASGIApp, settings: WebSettings, spool: SpoolBudget) -> None:
        self.app = app
        self.form_limit = settings.max_form_bytes
        self.upload_limit = settings.max_upload_form_bytes
        self.spool = spool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._limit(scope) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        limit, spooled = rule
        header = next((value for key, value in scope["headers"] if key == b"content-length"), None)
        declared = whole_number(header.decode("latin-1"), low=0) if header is not None else None
        received = reserved = 0
        started = False

        async def limited() -> Message:
            nonlocal received, reserved, started
            if header is not None and (declared is None or declared > limit):
                raise BodyTooLarge(limit)
            if spooled and not started and declared is not None:
                reserved = self.spool.reserve(declared)
            started = True
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                if spooled and received > reserved:  # a body without a length, reserved as it comes
                    self.spool.reserve(received - reserved)
                    reserved = received
            return message

        try:
            await self.app(scope, limited, send)
        finally:
            self.spool.release(reserved)

    def _limit(self, scope: Scope) -> tuple[int, bool] | None:
        """The body's limit and whether it is a file form (spooled), or None: a script upload, not limited here."""
        session: Session | None = scope.get("state", {}).get("session")
        if session is None or session.user is None or not session.user.is_staff \
                or not UPLOAD_PAGES.fullmatch(scope["path"]):
            return self.form_limit, False
        header = next((value for key, value in scope["headers"] if key == b"content-type"), b"")
        # Starlette's own reading of the header (case and spaces ignored): only these two are ever parsed.
        content_type, _ = parse_options_header(header)
        if content_type == b"multipart/form-data":
            return self.upload_limit, True
        if content_type == b"application/x-www-form-urlencoded" or scope["path"] != "/staff/imports":
            return self.form_limit, False  # urlencoded fields are held in memory; the delivery page takes only forms
        return None
