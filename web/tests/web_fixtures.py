"""What the web tests stand on: the web app itself, its own session store, and real servers behind it: the embedded
platform (the launcher's, as the browser tests and `make run` use it) and, for the one answer no service of ours
gives, a plain HTTP server answering as ingress-nginx does when the gateway behind it is down."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bibliomesh_web.app import create_app
from bibliomesh_web.platform import claims_of, tokens_from
from bibliomesh_web.sessions import Session, Tokens, User
from bibliomesh_web.settings import WebSettings
from tests.e2e.platform import ADMIN
from tests.e2e.platform import embedded_platform as shared_platform

WEB = "http://web.test"
SCRIPT_CLIENT = "web-tests-cli"
PASSWORD = "Web-tests-pass-123"
NOWHERE = "http://127.0.0.1:9"  # nothing listens there: every API call fails to connect
NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
             b"</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def web_app(api_url: str = NOWHERE, **settings: Any) -> FastAPI:
    return create_app(WebSettings(public_url=WEB, api_url=api_url, log_json=False, **settings))


def browser(app: FastAPI, session: Session | None = None) -> httpx.AsyncClient:
    """A browser without cookies, or with the cookie of `session`."""
    cookies = {"bm_session": session.id} if session else None
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WEB, cookies=cookies)


def signed_in(app: FastAPI, *, expired: bool = False) -> Session:
    """A session as the sign-in callback leaves it (the person and their tokens, kept on the server), put into the
    app's own store; `expired`: its access token has run out, so the next API call refreshes it first."""
    store = app.state.sessions
    session: Session = store.new()
    session.user = User(subject="user:reader", username="reader", name="Rea Der", institution="CN-DL-LHU",
                        roles=("patron",), scopes=frozenset({"ill:request"}))
    session.tokens = Tokens(access_token="an-access-token", refresh_token="a-refresh-token",
                            expires_at=time.time() + (-60 if expired else 300))
    store.save(session)
    return session


@asynccontextmanager
async def embedded_platform(data_dir: Path, service_settings: dict[str, Any] | None = None,
                            **gateway_settings: Any) -> AsyncIterator[str]:
    """The embedded platform (every service, the gateway) on free ports; `gateway_settings` as the launcher takes
    them (`auth_url` elsewhere: the auth service is down for the gateway), `service_settings` for every service
    (`harvest_allow_private=False`: the catalogue refuses harvest sources inside, as in production). Yields the
    platform's URL."""
    async with shared_platform(data_dir, gateway_settings=gateway_settings, **(service_settings or {})) as platform:
        yield platform.public_url


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    answer = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@asynccontextmanager
async def platform_for_web(data_dir: Path, **service_settings: Any) -> AsyncIterator[str]:
    """The embedded platform as `make run`'s demo data leaves it, in small: our web app (`bibliomesh-web` at `WEB`)
    registered as its public client, the password-grant client for scripts, and the institution CN-DL-LHU with its
    institution admin `admin` (password `PASSWORD`); `service_settings` as for `embedded_platform`."""
    platform = embedded_platform(data_dir, service_settings)
    async with platform as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        headers = await admin_headers(client)
        platform_code = claims_of(headers["Authorization"].removeprefix("Bearer "))["institution"]
        for body in ({"client_id": "bibliomesh-web", "name": "Bibliomesh web front end", "is_public": True,
                      "redirect_uris": [f"{WEB}/callback"]},
                     {"client_id": SCRIPT_CLIENT, "name": "scripts", "is_public": True,
                      "grant_types": ["password", "refresh_token"]}):
            (await client.post("/auth/clients", headers=headers,
                               json={**body, "institution": platform_code})).raise_for_status()
        (await client.post("/auth/institutions", headers=headers, json={
            "code": "CN-DL-LHU", "name_en": "Liaohai University", "name_zh": "辽海大学", "kind": "university",
            "pickup_locations": ["Main Library Circulation Desk"], "ill_email": "ill@lhu.example.edu",
        })).raise_for_status()
        (await client.post("/auth/users/import", params={"institution": "CN-DL-LHU"}, headers=headers, json=[{
            "username": "admin", "roles": ["institution-admin"], "display_name": "Rea Der",
            "email": "admin@lhu.example.edu", "password": PASSWORD}])).raise_for_status()
        yield url


async def signed_in_at(app: FastAPI, platform: str, institution: str = "CN-DL-LHU",
                       username: str = "admin") -> Session:
    """A session holding a person's real tokens from the platform (through the password grant, not the browser's
    sign-in), as the sign-in callback would keep them."""
    async with httpx.AsyncClient(base_url=platform, timeout=30) as client:
        answer = await client.post("/auth/token", data={
            "grant_type": "password", "client_id": SCRIPT_CLIENT, "institution": institution, "username": username,
            "password": PASSWORD})
        answer.raise_for_status()
    tokens = answer.json()
    access = claims_of(tokens["access_token"])
    store = app.state.sessions
    session: Session = store.new()
    session.user = User(subject=str(access["sub"]), username=username, name="Rea Der",
                        institution=str(access["institution"]), roles=tuple(access.get("roles") or ()),
                        scopes=frozenset(str(access.get("scope", "")).split()))
    session.tokens = tokens_from(tokens)
    store.save(session)
    return session


@contextmanager
def answering(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """An HTTP server that answers every request with `status` and `body`; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="answering", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
