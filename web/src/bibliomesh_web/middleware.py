"""Pure ASGI middleware: the session cookie and the security headers every page carries."""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bibliomesh_web.sessions import Session, SessionStore
from bibliomesh_web.settings import WebSettings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
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
