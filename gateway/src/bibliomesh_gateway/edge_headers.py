"""Security headers on every answer the gateway gives, its own and the services' alike; CORS.

A header a service set itself is kept (the sign-in pages send their own Content-Security-Policy).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshkit.problems import problem_response


def security_headers(hsts_seconds: int, cors: bool) -> list[tuple[bytes, bytes]]:
    headers = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"content-security-policy", b"frame-ancestors 'none'"), (b"referrer-policy", b"no-referrer")]
    if cors:  # answers differ by Origin: shared caches must know, also for calls without one
        headers.append((b"vary", b"Origin"))
    if hsts_seconds:
        headers.append((b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode()))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers
        self.names = frozenset(name for name, _ in headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ()) if name.lower() in self.names}
                added = [header for header in self.headers if header[0] not in present]
                if added:
                    message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class CorsSettings:
    origins: list[str]
    allow_headers: list[str]
    expose_headers: list[str]


class EdgeCors(CORSMiddleware):
    """Starlette's CORS, whose answer to a preflight carries the security headers too (a preflight for a service's
    path is answered here, before the proxy that adds them), and whose refusal is a problem+json 400 like every
    other error of the gateway instead of Starlette's plain text."""

    def __init__(self, app: ASGIApp, cors: CorsSettings, edge_headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(app, allow_origins=cors.origins, allow_methods=["*"], allow_headers=cors.allow_headers,
                         expose_headers=cors.expose_headers, max_age=600)
        self.edge_headers = [(name.decode(), value.decode()) for name, value in edge_headers]

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code == 400:  # "Disallowed CORS origin" (or method, headers)
            cors_headers = {name: value for name, value in answer.headers.items()
                            if name not in ("content-type", "content-length")}
            answer = problem_response(400, bytes(answer.body).decode(), headers=cors_headers)
        for name, value in self.edge_headers:
            if name not in answer.headers:
                answer.headers[name] = value
        return answer
