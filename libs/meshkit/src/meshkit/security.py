"""Access-token verification against the auth service's JWKS (cached, refetched on an unknown key id).

Every service checks every token itself, even behind the gateway: defence in depth, never a shared secret.
"""

from __future__ import annotations

import asyncio
import logging
import math
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

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is calling: one institution, its roles and the scopes the token grants."""

    subject: str
    institution: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    client_id: str | None = None
    token_id: str | None = None
    issued_at: int | None = None
    """The token's `iat` (Unix time), for rules about tokens issued before some moment."""
    expires_at: int | None = None
    """The token's `exp` (Unix time): what lives as long as the token (a live stream) ends then."""

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


class KeysUnavailable(httpx.HTTPError):
    """No signing keys can be used: none were fetched yet, or the last good ones are older than allowed.

    An `httpx.HTTPError`, as the failed fetch itself used to be, so callers that tell "keys unavailable" from "bad
    token" by the cause (the gateway answers 503 instead of 401) keep working.
    """


class RemoteJwks:
    """Fetches and caches a JWKS over HTTP; refetches on an unknown kid, at most once every few seconds.

    While the auth service cannot be reached, the last keys fetched stay in use for up to `max_stale_seconds`
    (stale-if-error), and a refetch is tried at most once every `retry_after_failure_seconds`, so requests neither
    fail nor queue behind fetch timeouts during an outage of the auth service.
    """

    def __init__(
        self,
        url: str,
        ttl_seconds: float = 300,
        min_refresh_seconds: float = 5,
        *,
        max_stale_seconds: float = 3_600,
        retry_after_failure_seconds: float = 30,
        timeout_seconds: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.ttl = ttl_seconds
        self.min_refresh = min_refresh_seconds
        self.max_stale = max_stale_seconds
        self.retry_after_failure = retry_after_failure_seconds
        self.timeout = timeout_seconds
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = 0.0  # last successful fetch
        self._attempted_at = -math.inf  # last fetch, successful or not
        self._attempts = 0  # attempts finished
        self._failing = False
        self._lock = asyncio.Lock()

    async def __call__(self, refresh: bool) -> KeySet:
        if self._due(refresh):
            if self._lock.locked() and not refresh and self._usable():
                return self._current()  # someone is refreshing already: the keys we have are still good
            attempts = self._attempts
            async with self._lock:
                # Whoever held the lock may have tried meanwhile (and failed, or brought other keys): their attempt
                # answers this caller too, so callers queued behind a slow fetch do not each fetch again in turn.
                if self._attempts == attempts and self._due(refresh):
                    await self._fetch()
        elif self._lock.locked() and (refresh or not self._usable()):
            # A fetch is in flight and it is what this caller needs (the first keys, or a new key id): wait for
            # it instead of refusing a valid token because the answer is a few milliseconds away.
            async with self._lock:
                pass
        return self._current()

    def _usable(self) -> bool:
        return self._keys is not None and self._clock() - self._fetched_at <= self.max_stale

    def _due(self, refresh: bool) -> bool:
        now = self._clock()
        # After a failure, back off longer while good keys can still be served; with none, recover sooner.
        pause = self.retry_after_failure if self._failing and self._usable() else self.min_refresh
        if now - self._attempted_at < pause:
            return False
        # Keys too old to use are due whatever the TTL: a maximum staleness set below it must not refuse tokens
        # while the auth service answers.
        return refresh or not self._usable() or now - self._fetched_at > self.ttl

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        try:
            await self._fetch_keys()
        finally:
            self._attempts += 1  # finished, either way: whoever waited for this attempt takes its outcome

    async def _fetch_keys(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(self.url)
                response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, JoseError, ValueError, TypeError) as exc:
            # Attempts are spaced by the back-off, so this logs once per back-off period, not once per request.
            self._failing = True
            log.warning("could not refresh signing keys; %s", "using the cached keys" if self._usable()
                        else "no usable keys", extra={"jwks_url": self.url, "error": repr(exc)[:300]})
            return
        if self._failing:
            log.info("signing keys refreshed again", extra={"jwks_url": self.url})
        self._keys, self._fetched_at, self._failing = keys, self._clock(), False

    def _current(self) -> KeySet:
        if self._keys is None:
            raise KeysUnavailable(f"signing keys could not be fetched from {self.url}")
        if not self._usable():
            raise KeysUnavailable(f"signing keys from {self.url} are older than {self.max_stale:.0f} s")
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
        except httpx.HTTPError as exc:  # KeysUnavailable included
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
        issued_at=_whole_seconds(claims.get("iat")),
        expires_at=_whole_seconds(claims.get("exp")),
    )


def _whole_seconds(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def forbid_unless(condition: bool, detail: str) -> None:
    if not condition:
        raise Forbidden(detail)
