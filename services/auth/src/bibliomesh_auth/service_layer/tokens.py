"""Issuing access tokens. Secrets are compared through argon2; failures say as little as the RFCs allow."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt

from bibliomesh_auth.adapters.client_repository import ClientRepository
from bibliomesh_auth.adapters.key_store import KeyStore
from bibliomesh_auth.domain.scopes import PLATFORM_ADMIN_SCOPES
from bibliomesh_auth.settings import AuthSettings
from meshkit.unit_of_work import UnitOfWork

hasher = PasswordHasher()
# A hash to verify against when the client is unknown, so timing does not reveal which ids exist.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def key_store(uow: UnitOfWork, settings: AuthSettings) -> KeyStore:
    return KeyStore(uow.session, timedelta(seconds=settings.access_token_ttl_seconds + 300))


async def client_credentials(uow: UnitOfWork, settings: AuthSettings, client_id: str, client_secret: str,
                             requested_scope: str | None) -> IssuedToken:
    client = await ClientRepository(uow.session).get(client_id)
    try:
        hasher.verify(client.secret_hash if client else _DUMMY_HASH, client_secret)
    except (VerificationError, InvalidHashError):
        client = None
    if client is None or client.disabled:
        raise OAuthError("invalid_client", "client authentication failed", status=401)
    granted = client.scopes
    if requested_scope:
        requested = frozenset(requested_scope.split())
        if not requested <= client.scopes:
            raise OAuthError("invalid_scope", f"not granted to this client: {' '.join(sorted(requested - granted))}")
        granted = requested
    token = await sign_access_token(uow, settings, subject=f"client:{client.client_id}",
                                    institution=client.institution, roles=client.roles, scopes=granted,
                                    client_id=client.client_id)
    return token


async def sign_access_token(uow: UnitOfWork, settings: AuthSettings, *, subject: str, institution: str,
                            roles: frozenset[str], scopes: frozenset[str], client_id: str | None) -> IssuedToken:
    key = await key_store(uow, settings).signing_key()
    now = int(time.time())
    scope = " ".join(sorted(scopes))
    claims: dict[str, object] = {
        "iss": settings.token_issuer, "aud": settings.token_audience, "sub": subject, "iat": now, "nbf": now,
        "exp": now + settings.access_token_ttl_seconds, "jti": uuid.uuid4().hex, "institution": institution,
        "roles": sorted(roles), "scope": scope,
    }
    if client_id:
        claims["client_id"] = client_id
    encoded = jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, claims, key)
    return IssuedToken(access_token=encoded, expires_in=settings.access_token_ttl_seconds, scope=scope)


async def ensure_bootstrap(uow: UnitOfWork, settings: AuthSettings) -> None:
    """First start: a signing key, and the platform-admin client named by the settings, if any."""
    keys = key_store(uow, settings)
    if not await keys.has_active_key():
        await keys.create()
    if settings.bootstrap_client_id and settings.bootstrap_client_secret:
        repo = ClientRepository(uow.session)
        secret = settings.bootstrap_client_secret.get_secret_value()
        existing = await repo.get(settings.bootstrap_client_id)
        if existing is None:
            await repo.add(settings.bootstrap_client_id, "Platform bootstrap client", settings.platform_institution,
                           hasher.hash(secret), set(PLATFORM_ADMIN_SCOPES), {"platform-admin"})
        elif not _matches(existing.secret_hash, secret):
            await repo.update_secret(existing.client_id, hasher.hash(secret))
    await uow.commit()


def _matches(secret_hash: str, secret: str) -> bool:
    try:
        return hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
