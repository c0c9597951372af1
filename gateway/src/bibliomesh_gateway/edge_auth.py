"""Edge authentication: bearer tokens checked against the auth service's JWKS before a call reaches a service.

The check itself is meshkit's `TokenVerifier` (the one every service uses). A token that passed is remembered
until it expires, so a client's next calls cost a dictionary lookup instead of a signature check; the services
still verify every token themselves.
"""

from __future__ import annotations

import base64
import json
import time

import httpx

from meshkit.problems import Problem, Unauthorized
from meshkit.security import Principal, RemoteJwks, TokenVerifier

BEARER = "bearer "


class KeysUnavailable(Problem):
    """The signing keys cannot be fetched: the caller is not at fault, so not a 401."""

    status = 503


class EdgeAuthenticator:
    def __init__(self, verifier: TokenVerifier, cache_size: int = 10_000) -> None:
        self.verifier = verifier
        self.cache_size = cache_size
        self._verified: dict[str, tuple[Principal, float]] = {}

    @classmethod
    def for_jwks(cls, jwks_url: str, issuer: str, audience: str, max_stale_seconds: float) -> EdgeAuthenticator:
        keys = RemoteJwks(jwks_url, max_stale_seconds=max_stale_seconds)
        return cls(TokenVerifier(keys, issuer=issuer, audience=audience))

    def remembered(self, authorization: str) -> Principal | None:
        """The caller of a token that passed before and has not expired yet (no await: most calls end here)."""
        remembered = self._verified.get(authorization[7:].strip())
        if remembered is not None and remembered[1] > time.time() and authorization[:7].lower() == BEARER:
            return remembered[0]
        return None

    async def authenticate(self, authorization: str) -> Principal:
        """The caller named by an `Authorization: Bearer ...` header value; raises a 401 (or 503) problem."""
        if authorization[:7].lower() != BEARER or not authorization[7:].strip():
            raise Unauthorized("the Authorization header must be `Bearer <access token>`",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_request"'})
        remembered = self.remembered(authorization)
        if remembered is not None:
            return remembered
        token = authorization[7:].strip()
        try:
            principal = await self.verifier.verify(token)
        except Unauthorized as exc:
            if isinstance(exc.__cause__, httpx.HTTPError):
                raise KeysUnavailable("access tokens cannot be checked right now; try again shortly",
                                      headers={"Retry-After": "5"}) from exc
            raise
        self._remember(token, principal)
        return principal

    def _remember(self, token: str, principal: Principal) -> None:
        expires = _expiry(token)
        if expires is None:
            return
        if len(self._verified) >= self.cache_size:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (principal, expires)


def _expiry(token: str) -> float | None:
    """`exp` of a token already verified (so its payload is well-formed JSON)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else None
