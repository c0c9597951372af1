"""The HTTP side of upstream OpenID Connect: discovery and keys (cached), the code exchange, userinfo.

One `Federation` per process keeps the caches; a test may give it an httpx transport that fakes a provider.
A client is opened per call: sign-ins are rare next to API traffic, and nothing then outlives the app.

An institution admin chooses the issuer, and the discovery document names the other endpoints, so every URL fetched
is someone else's choice: unless private providers are allowed, each is refused if its host resolves to a loopback,
link-local (the cloud metadata service) or private address, and connections go only to the addresses checked
(`meshkit.outbound_urls`, as for harvest sources and webhooks).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from bibliomesh_auth.federation.discovery import ProviderMetadata, discovery_url, parse_metadata
from bibliomesh_auth.federation.errors import ProviderUnavailable, UntrustedAnswer
from meshkit.outbound_urls import public_only_transport, resolved_problem, url_problem

KeySource = Callable[[bool], Awaitable[KeySet]]
"""The provider's current keys; `True` asks for a fresh fetch (an unknown key id was seen)."""

MAX_DOCUMENT_BYTES = 512 * 1024


@dataclass(frozen=True)
class UpstreamTokens:
    id_token: str
    access_token: str | None


def s256_challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorization_url(metadata: ProviderMetadata, *, client_id: str, redirect_uri: str, scopes: str, state: str,
                      nonce: str, code_verifier: str, prompt: str | None = None, max_age: int | None = None,
                      login_hint: str | None = None) -> str:
    """Where to send the browser: the provider's authorization endpoint with our state, nonce and PKCE, and what
    the client asked of the person's sign-in: `prompt` (but `consent`, which was asked of us, not of the provider),
    `max_age` and `login_hint`."""
    forwarded = " ".join(value for value in (prompt or "").split() if value != "consent")
    asked = {"prompt": forwarded or None, "max_age": None if max_age is None else str(max_age),
             "login_hint": login_hint}
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "scope": scopes, "state": state, "nonce": nonce,
                       "code_challenge": s256_challenge(code_verifier), "code_challenge_method": "S256",
                       **{name: value for name, value in asked.items() if value is not None}})
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}"


class Federation:
    def __init__(self, *, allow_private: bool = False, transport: httpx.AsyncBaseTransport | None = None,
                 timeout_seconds: float = 10.0, cache_seconds: float = 3600.0,
                 min_key_refresh_seconds: float = 5.0) -> None:
        self._allow_private = allow_private
        self._transport = transport
        self._timeout = timeout_seconds
        self._cache_seconds = cache_seconds
        self._min_key_refresh = min_key_refresh_seconds
        self._metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    async def _http(self, url: str, what: str) -> httpx.AsyncClient:
        """A client for one call to `url`, refused at once (with the reason) if its host is not public."""
        problem = (url_problem(url, allow_private=self._allow_private, public_schemes=("https", "http"))
                   or await resolved_problem(url, allow_private=self._allow_private))
        if problem is not None:
            raise ProviderUnavailable(f"the {what} at {url} {problem}")
        transport = self._transport or public_only_transport(allow_private=self._allow_private)
        return httpx.AsyncClient(transport=transport, timeout=self._timeout, follow_redirects=False,
                                 headers={"Accept": "application/json"})

    async def metadata(self, issuer: str, *, require_https: bool, fresh: bool = False) -> ProviderMetadata:
        """The provider's checked discovery document, cached for an hour unless `fresh`."""
        cached = self._metadata.get(issuer)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        document = await self._get_json(discovery_url(issuer), "discovery document")
        metadata = parse_metadata(issuer, document, require_https=require_https)
        self._metadata[issuer] = (time.monotonic(), metadata)
        return metadata

    def forget(self, issuer: str) -> None:
        """Drop what is cached for `issuer` (its configuration changed)."""
        cached = self._metadata.pop(issuer, None)
        if cached is not None:
            self._keys.pop(cached[1].jwks_uri, None)

    def key_source(self, jwks_uri: str) -> KeySource:
        """The provider's signing keys, cached; refetched on request at most every few seconds."""

        async def keys(refresh: bool) -> KeySet:
            cached = self._keys.get(jwks_uri)
            age = time.monotonic() - cached[0] if cached is not None else float("inf")
            if cached is not None and age < self._cache_seconds and not (refresh and age >= self._min_key_refresh):
                return cached[1]
            document = await self._get_json(jwks_uri, "JWKS")
            try:
                key_set = KeySet.import_key_set(document)
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ProviderUnavailable(f"the JWKS cannot be read: {type(exc).__name__}") from exc
            self._keys[jwks_uri] = (time.monotonic(), key_set)
            return key_set

        return keys

    async def exchange_code(self, metadata: ProviderMetadata, *, client_id: str, client_secret: str, code: str,
                            redirect_uri: str, code_verifier: str) -> UpstreamTokens:
        """Trade the provider's code for its tokens, authenticating with client_secret_basic (RFC 6749 §2.3.1)."""
        credentials = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": code_verifier}
        try:
            async with await self._http(metadata.token_endpoint, "token endpoint") as http:
                response = await http.post(metadata.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from exc
        body = _json_object(response)
        if response.status_code != 200:
            raise ProviderUnavailable(f"token endpoint refused the code: {body.get('error', response.status_code)}")
        id_token, access_token = body.get("id_token"), body.get("access_token")
        if not isinstance(id_token, str):
            raise UntrustedAnswer("the token response has no ID token")
        return UpstreamTokens(id_token=id_token, access_token=access_token if isinstance(access_token, str) else None)

    async def userinfo(self, metadata: ProviderMetadata, access_token: str) -> dict[str, Any]:
        """The userinfo claims (plain JSON; signed or encrypted userinfo is not supported)."""
        if metadata.userinfo_endpoint is None:
            return {}
        try:
            async with await self._http(metadata.userinfo_endpoint, "userinfo endpoint") as http:
                response = await http.get(metadata.userinfo_endpoint,
                                          headers={"Authorization": f"Bearer {access_token}"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"userinfo endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ProviderUnavailable(f"userinfo endpoint answered {response.status_code}")
        return _json_object(response)

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            async with await self._http(url, what) as http:
                response = await http.get(url)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{what} unreachable at {url}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ProviderUnavailable(f"{what} at {url} answered {response.status_code}")
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ProviderUnavailable(f"{what} at {url} is too large")
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"{what} at {url} is not JSON") from exc


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"{response.request.url} answered {response.status_code} without a JSON object")
    return body
