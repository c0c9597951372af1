"""The platform's public API, called with the signed-in person's access token (refreshed when it runs out)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from bibliomesh_web.sessions import Session, Tokens
from bibliomesh_web.settings import WebSettings
from meshkit import context
from meshkit.telemetry import current_traceparent

EARLY_REFRESH_SECONDS = 30


class ApiError(Exception):
    """The platform said no (4xx/5xx); `detail`, `field` (the first one named) and `fields` (each field named, with
    its message) come from its problem+json answer."""

    def __init__(self, status: int, detail: str, field: str | None = None,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.fields = fields or {}


class SignInRequired(Exception):
    """No one is signed in, or the sign-in ran out (refresh refused): send the browser to sign in."""


class PlatformUnavailable(Exception):
    """The token endpoint neither gave tokens nor refused the grant (a 5xx from it or from a proxy before it, or a
    4xx about something else): the "try again shortly" page (503), and nobody is signed out for it."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the token endpoint answered {status}")
        self.status = status


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified: only for tokens we just received from the token endpoint over the back channel."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def tokens_from(answer: Mapping[str, Any]) -> Tokens:
    return Tokens(access_token=str(answer["access_token"]), refresh_token=answer.get("refresh_token"),
                  expires_at=time.time() + float(answer.get("expires_in", 300)))


def oauth_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """An OAuth error answer's `error` and `error_description` (RFC 6749 5.2); Nones for a body that is not one
    (a proxy's HTML error page)."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    error, description = body.get("error"), body.get("error_description")
    return (error if isinstance(error, str) else None), (description if isinstance(description, str) else None)


def grant_is_dead(response: httpx.Response) -> bool:
    """The token endpoint says the grant (or this client) is no good any more: signing in again is the only way."""
    error, _ = oauth_error(response)
    return (response.status_code, error) in ((400, "invalid_grant"), (401, "invalid_client"))


def problem_of(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = body.get("errors")
    if not isinstance(errors, list):
        errors = []
    field = errors[0].get("field") if errors and isinstance(errors[0], dict) else None
    fields: dict[str, str] = {}
    for error in errors:
        if isinstance(error, dict) and error.get("field"):
            fields.setdefault(str(error["field"]), str(error.get("message") or ""))
    detail = str(body.get("detail") or body.get("error_description") or body.get("error") or response.reason_phrase)
    return ApiError(response.status_code, detail, field, fields)


class Platform:
    def __init__(self, http: httpx.AsyncClient, settings: WebSettings, session: Session,
                 browser_address: str | None = None) -> None:
        self.http = http
        self.settings = settings
        self.session = session
        self.browser_address = browser_address

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Request id and trace context, and the browser's address: the gateway limits anonymous callers per
        address and auth records it, so calls made for a browser must not all look like this server's."""
        headers = dict(extra or {})
        if self.browser_address:
            headers["x-forwarded-for"] = self.browser_address
        if request_id := context.request_id.get():
            headers["x-request-id"] = request_id
        if traceparent := current_traceparent():
            headers["traceparent"] = traceparent
        return headers

    async def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        """An OAuth form post (token, revoke): the client authenticates by id, no bearer token."""
        return await self.http.post(f"{self.settings.api_base}{path}", data=data, headers=self._headers())

    async def _bearer(self, force_refresh: bool = False) -> str:
        async with self.session.lock:
            tokens = self.session.tokens
            if tokens is None or self.session.user is None:
                raise SignInRequired
            if force_refresh or tokens.expires_at - EARLY_REFRESH_SECONDS < time.time():
                await self._refresh(tokens)
            assert self.session.tokens is not None
            return self.session.tokens.access_token

    async def _refresh(self, tokens: Tokens) -> None:
        if not tokens.refresh_token:
            self.session.sign_out()
            raise SignInRequired
        answer = await self.post_form("/auth/token", {
            "grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": self.settings.client_id})
        if answer.status_code == 200:
            self.session.tokens = tokens_from(answer.json())
        elif grant_is_dead(answer):
            self.session.sign_out()
            raise SignInRequired
        elif answer.status_code == 429:
            raise problem_of(answer)
        else:  # a failure, not a refusal: the refresh token may still be good, so the session stays
            raise PlatformUnavailable(answer.status_code)

    async def call(self, method: str, path: str, *, anonymous: bool = False, **kwargs: Any) -> httpx.Response:
        """One API call; a 401 gets one refresh and retry (not for streamed bodies); any error raises ApiError."""
        url = f"{self.settings.api_base}{path}"
        headers = self._headers(kwargs.pop("headers", None))
        signed_in = not anonymous and self.session.user is not None
        if signed_in:
            headers["authorization"] = f"Bearer {await self._bearer()}"
        elif not anonymous:
            raise SignInRequired
        response = await self.http.request(method, url, headers=headers, **kwargs)
        if response.status_code == 401 and signed_in and not isinstance(kwargs.get("content"), AsyncIterator):
            headers["authorization"] = f"Bearer {await self._bearer(force_refresh=True)}"
            response = await self.http.request(method, url, headers=headers, **kwargs)
        if response.status_code == 401 and signed_in:
            self.session.sign_out()
            raise SignInRequired
        if response.status_code >= 400:
            raise problem_of(response)
        return response

    async def get(self, path: str, *, anonymous: bool = False, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v not in (None, "", [])}
        return (await self.call("GET", path, anonymous=anonymous, params=clean)).json()

    async def post(self, path: str, body: Any = None) -> Any:
        response = await self.call("POST", path, json=body)
        return response.json() if response.content else None

    async def patch(self, path: str, body: Any) -> Any:
        return (await self.call("PATCH", path, json=body)).json()

    async def put(self, path: str, body: Any) -> Any:
        return (await self.call("PUT", path, json=body)).json()

    async def delete(self, path: str) -> None:
        await self.call("DELETE", path)

    async def open_stream(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A streamed answer (downloads, the live notification stream) with the session's token; a 401 gets one
        refresh and retry, as for `call`. The caller closes it."""
        headers = self._headers(kwargs.pop("headers", None))
        response = await self._send_streamed(method, path, headers, False, **kwargs)
        if response.status_code == 401:
            await response.aclose()
            response = await self._send_streamed(method, path, headers, True, **kwargs)
        if response.status_code == 401:
            await response.aclose()
            self.session.sign_out()
            raise SignInRequired
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise problem_of(response)
        return response

    async def _send_streamed(self, method: str, path: str, headers: dict[str, str], force_refresh: bool,
                             **kwargs: Any) -> httpx.Response:
        headers["authorization"] = f"Bearer {await self._bearer(force_refresh)}"
        request = self.http.build_request(method, f"{self.settings.api_base}{path}", headers=headers, **kwargs)
        return await self.http.send(request, stream=True)
