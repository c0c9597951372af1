"""Signing access and ID tokens with the current key."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from joserfc import jwt

from bibliomesh_auth.adapters.key_store import KeyStore
from bibliomesh_auth.settings import AuthSettings
from meshkit.secret_box import SecretBox
from meshkit.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret

    def as_response(self) -> dict[str, object]:
        body: dict[str, object] = {"access_token": self.access_token, "token_type": self.token_type,
                                   "expires_in": self.expires_in, "scope": self.scope}
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        if self.id_token:
            body["id_token"] = self.id_token
        return body


def key_store(uow: UnitOfWork, settings: AuthSettings, box: SecretBox) -> KeyStore:
    # Retired keys stay published for one token lifetime plus clock leeway.
    return KeyStore(uow.session, box, timedelta(seconds=settings.access_token_ttl_seconds + 300))


async def sign_access_token(uow: UnitOfWork, settings: AuthSettings, box: SecretBox, *, subject: str,
                            institution: str, roles: frozenset[str], scopes: frozenset[str],
                            client_id: str | None, token_id: str | None = None) -> tuple[str, str]:
    """Returns the token and its scope string; `token_id` is its `jti` (a new one if not given)."""
    key = await key_store(uow, settings, box).signing_key()
    now = int(time.time())
    scope = " ".join(sorted(scopes))
    claims: dict[str, object] = {
        "iss": settings.token_issuer, "aud": settings.token_audience, "sub": subject, "iat": now, "nbf": now,
        "exp": now + settings.access_token_ttl_seconds, "jti": token_id or uuid.uuid4().hex, "institution": institution,
        "roles": sorted(roles), "scope": scope,
    }
    if client_id:
        claims["client_id"] = client_id
    return jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, claims, key), scope


async def sign_id_token(uow: UnitOfWork, settings: AuthSettings, box: SecretBox, *, subject: str,
                        client_id: str, nonce: str | None, auth_time: datetime | None,
                        claims: dict[str, object]) -> str:
    """`auth_time` is when the person signed in, which a refresh does not change (OpenID Connect Core §12.2)."""
    key = await key_store(uow, settings, box).signing_key()
    now = int(time.time())
    body: dict[str, object] = {"iss": settings.token_issuer, "aud": client_id, "sub": subject, "iat": now,
                               "exp": now + settings.access_token_ttl_seconds, **claims}
    if auth_time is not None:
        body["auth_time"] = int(auth_time.timestamp())
    if nonce:
        body["nonce"] = nonce
    return jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "JWT"}, body, key)
