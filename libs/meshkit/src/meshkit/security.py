"""Access-token verification against the auth service's JWKS (cached, refetched on an unknown key id).

Every service checks every token itself, even behind the gateway: defence in depth, never a shared secret.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from meshkit.problems import Forbidden, Unauthorized

ALGORITHMS = ["ES256", "RS256", "EdDSA"]
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
PLATFORM_ADMIN = "platform-admin"
SYSTEM = "system"


@dataclass(frozen=True)
class Principal:
    """Who is calling: one institution, its roles and the scopes the token grants."""

    subject: str
    institution: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    token_id: str | None = None

    @property
    def is_platform_admin(self) -> bool:
        return PLATFORM_ADMIN in self.roles

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"this action needs the `{scope}` scope", required_scope=scope)

    def may_act_for(self, institution: str) -> bool:
        return self.institution == institution or self.is_platform_admin

    def require_institution(self, institution: str) -> None:
        if not self.may_act_for(institution):
            raise Forbidden(f"a token for {self.institution} cannot act for {institution}")


SYSTEM_PRINCIPAL = Principal(subject="system", institution="*", roles=frozenset({SYSTEM}))

KeySource = Callable[[bool], Awaitable[KeySet]]
"""Returns the current key set; `True` asks for a fresh fetch (an unknown key id was seen)."""


class RemoteJwks:
    """Fetches and caches a JWKS over HTTP; refetches on an unknown kid, at most once every few seconds."""

    def __init__(self, url: str, ttl_seconds: float = 300, min_refresh_seconds: float = 5) -> None:
        self.url = url
        self.ttl = ttl_seconds
        self.min_refresh = min_refresh_seconds
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self, refresh: bool) -> KeySet:
        age = time.monotonic() - self._fetched_at
        stale = self._keys is None or age > self.ttl or (refresh and age > self.min_refresh)
        if stale:
            async with self._lock:
                if self._keys is None or time.monotonic() - self._fetched_at > self.min_refresh:
                    async with httpx.AsyncClient(timeout=5) as client:
                        response = await client.get(self.url)
                        response.raise_for_status()
                    self._keys = KeySet.import_key_set(response.json())
                    self._fetched_at = time.monotonic()
        assert self._keys is not None
        return self._keys


class TokenVerifier:
    def __init__(self, keys: KeySource, issuer: str, audience: str, leeway_seconds: int = 30) -> None:
        self.keys = keys
        self.claims = jwt.JWTClaimsRegistry(
            leeway=leeway_seconds,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            institution={"essential": True},
        )

    async def verify(self, token: str) -> Principal:
        try:
            header = jws.extract_compact(token.encode()).headers()
            if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
                # RFC 9068: an ID token or any other JWT signed by the same key is not an access token.
                raise ValueError("not an access token (typ must be at+jwt)")
            kid = header.get("kid")
            keys = await self.keys(False)
            if kid not in {k.kid for k in keys.keys}:
                keys = await self.keys(True)  # a key published since our last fetch
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            self.claims.validate(decoded.claims)
        except httpx.HTTPError as exc:
            raise Unauthorized("signing keys are unavailable; try again",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise Unauthorized(f"invalid access token: {_reason(exc)}",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
        return _principal(decoded.claims)


def _reason(exc: Exception) -> str:
    text = getattr(exc, "description", None) or getattr(exc, "error", None) or str(exc) or type(exc).__name__
    return str(text)[:200]


def _principal(claims: dict[str, Any]) -> Principal:
    scope = claims.get("scope", "")
    roles = claims.get("roles", [])
    if not isinstance(scope, str) or not isinstance(roles, list):
        raise Unauthorized("invalid access token: malformed scope or roles")
    return Principal(
        subject=str(claims["sub"]),
        institution=str(claims["institution"]),
        roles=frozenset(str(r) for r in roles),
        scopes=frozenset(scope.split()),
        client_id=claims.get("client_id"),
        token_id=claims.get("jti"),
    )


def forbid_unless(condition: bool, detail: str) -> None:
    if not condition:
        raise Forbidden(detail)
