"""The token endpoint's grants (RFC 6749, PKCE RFC 7636, refresh rotation per OAuth 2.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from bibliomesh_auth.adapters.client_repository import Client, ClientRepository
from bibliomesh_auth.adapters.grant_repository import GrantRepository, StoredRefreshToken
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.domain.scopes import narrow, scopes_for_roles
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.institution_standing import suspended_among
from bibliomesh_auth.service_layer.local_login import AddressLimit, LoginFailed, authenticate, verify_secret
from bibliomesh_auth.service_layer.token_signing import IssuedToken, sign_access_token, sign_id_token
from bibliomesh_auth.settings import AuthSettings
from meshkit.secret_box import SecretBox
from meshkit.unit_of_work import UnitOfWork


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class GrantContext:
    uow: UnitOfWork
    settings: AuthSettings
    box: SecretBox
    ip: str | None = None


async def authenticate_client(ctx: GrantContext, client_id: str | None, client_secret: str | None) -> Client:
    """Confidential clients prove their secret; public (browser) clients only name themselves and must use PKCE."""
    client = await ClientRepository(ctx.uow.session).get(client_id) if client_id else None
    if client is not None and client.is_public and client_secret is None and not client.disabled:
        return client
    if client is None or client.disabled or not verify_secret(client.secret_hash, client_secret or ""):
        await audit.record(ctx.uow, "client-authentication", outcome="failure", actor=client_id, ip=ctx.ip)
        raise OAuthError("invalid_client", "client authentication failed", status=401)
    return client


def _require_grant(client: Client, grant: str) -> None:
    if grant not in client.grant_types:
        raise OAuthError("unauthorized_client", f"this client may not use the {grant} grant")


async def client_credentials(ctx: GrantContext, client: Client, scope: str | None) -> IssuedToken:
    _require_grant(client, "client_credentials")
    if client.is_public:
        raise OAuthError("unauthorized_client", "a public client cannot use client credentials")
    await _require_not_suspended(ctx, client, client.institution, grant="client_credentials",
                                 actor=f"client:{client.client_id}")
    granted = narrow(client.scopes, scope)
    if granted is None:
        raise OAuthError("invalid_scope", "a requested scope is not granted to this client")
    token, scopes = await sign_access_token(ctx.uow, ctx.settings, ctx.box, subject=f"client:{client.client_id}",
                                            institution=client.institution, roles=client.roles, scopes=granted,
                                            client_id=client.client_id)
    await audit.record(ctx.uow, "token-issued", actor=f"client:{client.client_id}", institution=client.institution,
                       ip=ctx.ip, grant="client_credentials", scope=scopes)
    return IssuedToken(access_token=token, expires_in=ctx.settings.access_token_ttl_seconds, scope=scopes)


async def password(ctx: GrantContext, client: Client, institution: str | None, username: str | None,
                   secret: str | None, scope: str | None) -> IssuedToken:
    if not ctx.settings.password_grant_enabled:
        raise OAuthError("unsupported_grant_type", "the password grant is disabled on this platform")
    _require_grant(client, "password")
    if not (institution and username and secret):
        raise OAuthError("invalid_request", "institution, username and password are required")
    # Before the password is checked: a partner's client must not count failures against another's accounts.
    _require_serves(ctx, client, institution)
    await _require_not_suspended(ctx, client, institution, grant="password", actor=f"{institution}/{username}")
    try:
        user = await authenticate(ctx.uow, institution, username, secret, ctx.ip, AddressLimit.of(ctx.settings))
    except LoginFailed as exc:
        await ctx.uow.commit()  # the failure count and the audit entry must persist
        if exc.retry_after is not None:
            raise OAuthError("invalid_grant", f"{exc}; try again in {exc.retry_after} s", status=429,
                             retry_after=exc.retry_after) from exc
        raise OAuthError("invalid_grant", str(exc)) from exc
    return await tokens_for_user(ctx, client, user, scope, grant="password", auth_time=datetime.now(UTC))


async def tokens_for_user(ctx: GrantContext, client: Client, user: User, scope: str | None, *, grant: str,
                          auth_time: datetime | None, nonce: str | None = None, family_id: str | None = None,
                          allowed: frozenset[str] | None = None, token_id: str | None = None) -> IssuedToken:
    """An access token (and refresh token, and ID token for `openid`) for a person, limited by their roles and by
    what the client holds now (a refresh's `allowed` scopes may predate an edit that narrowed the client).
    `auth_time`: when the person signed in (kept with the refresh token for the ID tokens of later refreshes);
    None only for sessions begun before it was recorded."""
    _require_serves(ctx, client, user.institution)
    granted = _granted(client, user, scope, allowed)
    token, scopes = await sign_access_token(ctx.uow, ctx.settings, ctx.box, subject=user.subject,
                                            institution=user.institution, roles=user.roles, scopes=granted,
                                            client_id=client.client_id, token_id=token_id)
    refresh = await GrantRepository(ctx.uow.session).new_refresh_token(
        client_id=client.client_id, user_id=user.id, institution=user.institution, scopes=granted,
        ttl=timedelta(days=ctx.settings.refresh_token_ttl_days), family_id=family_id, auth_time=auth_time)
    id_token = None
    if "openid" in granted:
        id_token = await sign_id_token(ctx.uow, ctx.settings, ctx.box, subject=user.subject,
                                       client_id=client.client_id, nonce=nonce, auth_time=auth_time,
                                       claims=user_claims(user))
    await audit.record(ctx.uow, "token-issued", actor=user.subject, institution=user.institution, ip=ctx.ip,
                       grant=grant, client=client.client_id, scope=scopes)
    return IssuedToken(access_token=token, expires_in=ctx.settings.access_token_ttl_seconds, scope=scopes,
                       refresh_token=refresh, id_token=id_token)


def _granted(client: Client, user: User, scope: str | None, allowed: frozenset[str] | None) -> frozenset[str]:
    limit = client.scopes if allowed is None else client.scopes & allowed
    granted = narrow(scopes_for_roles(user.roles) & limit, scope)
    if granted is None:
        raise OAuthError("invalid_scope", "a requested scope is not granted to this account")
    return granted


def serves(client: Client, institution: str, platform_institution: str) -> bool:
    """A client of an institution signs in only that institution's people; the platform's own clients serve every
    institution."""
    return client.institution in (institution, platform_institution)


def _require_serves(ctx: GrantContext, client: Client, institution: str) -> None:
    """`unauthorized_client` (RFC 6749 §5.2): the client may not use this grant for these people."""
    if not serves(client, institution, ctx.settings.platform_institution):
        raise OAuthError("unauthorized_client", f"this client signs in only people of {client.institution}")


async def _require_not_suspended(ctx: GrantContext, client: Client, institution: str, *, grant: str,
                                 actor: str) -> None:
    """No tokens while the client's institution or the person's (`institution`) is suspended; refused before
    anything is checked or used up, so that nothing counts against the person and a refresh token works again
    once the institution is reinstated."""
    suspended = await suspended_among(ctx.uow, ctx.settings.platform_institution, client.institution, institution)
    if suspended is None:
        return
    await audit.record(ctx.uow, "token-refused", outcome="refused", actor=actor, institution=suspended, ip=ctx.ip,
                       grant=grant, client=client.client_id, reason=f"institution {suspended} is suspended")
    if suspended == client.institution:
        raise OAuthError("unauthorized_client", f"this client's institution {suspended} is suspended")
    raise OAuthError("invalid_grant", f"institution {suspended} is suspended: its people get no tokens")


def user_claims(user: User) -> dict[str, object]:
    claims: dict[str, object] = {"institution": user.institution, "roles": sorted(user.roles),
                                 "preferred_username": user.username, "locale": user.language}
    if user.display_name:
        claims["name"] = user.display_name
    if user.email:
        claims["email"] = user.email
    if user.pickup_location:
        claims["pickup_location"] = user.pickup_location
    return claims


async def refresh(ctx: GrantContext, client: Client, token: str | None, scope: str | None) -> IssuedToken:
    """Rotation on every use; a refresh token used twice revokes its whole family (it was stolen or leaked). A refresh
    refused for what it asks (a scope beyond what it holds, a client that may not serve the person) does not use the
    token up, so that the client's corrected retry is not taken for a replay."""
    _require_grant(client, "refresh_token")
    grants = GrantRepository(ctx.uow.session)
    stored = await grants.refresh_token(token or "")
    if stored is None or stored.client_id != client.client_id:
        raise OAuthError("invalid_grant", "unknown refresh token")
    _require_serves(ctx, client, stored.institution)
    if stored.revoked_at is not None or stored.used_at is not None:
        await _reused(ctx, stored)
    if stored.expires_at < datetime.now(UTC):
        raise OAuthError("invalid_grant", "refresh token expired")
    await _require_not_suspended(ctx, client, stored.institution, grant="refresh_token",
                                 actor=f"user:{stored.user_id}")
    user = await UserRepository(ctx.uow.session).get(stored.user_id or "")
    if user is None or not user.active:
        await grants.revoke_family(stored.family_id)
        await ctx.uow.commit()
        raise OAuthError("invalid_grant", "the account is no longer active")
    _granted(client, user, scope, stored.scopes)
    if not await grants.mark_refresh_used(token or ""):
        await _reused(ctx, stored)  # used by a concurrent request meanwhile
    return await tokens_for_user(ctx, client, user, scope, grant="refresh_token", auth_time=stored.auth_time,
                                 family_id=stored.family_id, allowed=stored.scopes)


async def _reused(ctx: GrantContext, stored: StoredRefreshToken) -> NoReturn:
    await GrantRepository(ctx.uow.session).revoke_family(stored.family_id)
    await audit.record(ctx.uow, "refresh-token-reuse", outcome="refused", actor=f"user:{stored.user_id}",
                       institution=stored.institution, ip=ctx.ip, family=stored.family_id)
    await ctx.uow.commit()
    raise OAuthError("invalid_grant", "refresh token already used or revoked; sign in again")


async def authorization_code(ctx: GrantContext, client: Client, code: str | None, redirect_uri: str | None,
                             code_verifier: str | None) -> IssuedToken:
    _require_grant(client, "authorization_code")
    if not (code and redirect_uri and code_verifier):
        raise OAuthError("invalid_request", "code, redirect_uri and code_verifier are required")
    grants = GrantRepository(ctx.uow.session)
    stored, claimed = await grants.claim_code(code)
    if stored is None or stored.client_id != client.client_id:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if not claimed:
        # OAuth 2.1 §4.1.3: a code redeemed twice was intercepted; what it was redeemed for is not to be trusted.
        await grants.revoke_code_tokens(code)
        await audit.record(ctx.uow, "authorization-code-reuse", outcome="refused", actor=f"user:{stored.user_id}",
                           ip=ctx.ip, client=client.client_id)
        await ctx.uow.commit()
        raise OAuthError("invalid_grant", "authorization code already used")
    if stored.expires_at < datetime.now(UTC):
        raise OAuthError("invalid_grant", "authorization code expired")
    if stored.redirect_uri != redirect_uri or redirect_uri not in client.redirect_uris:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request, or is no longer "
                         "registered")
    if not pkce_matches(code_verifier, stored.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code challenge")
    user = await UserRepository(ctx.uow.session).get(stored.user_id)
    if user is None or not user.active:
        raise OAuthError("invalid_grant", "the account is no longer active")
    await _require_not_suspended(ctx, client, user.institution, grant="authorization_code", actor=user.subject)
    family_id, token_id = str(uuid.uuid4()), uuid.uuid4().hex
    issued = await tokens_for_user(ctx, client, user, " ".join(sorted(stored.scopes)), grant="authorization_code",
                                   auth_time=stored.auth_time, nonce=stored.nonce, family_id=family_id,
                                   token_id=token_id)
    await grants.remember_code_tokens(code, family_id=family_id, access_token_id=token_id,
                                      access_token_expires_at=datetime.now(UTC) + timedelta(
                                          seconds=ctx.settings.access_token_ttl_seconds))
    return issued


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str) -> bool:
    if not 43 <= len(verifier) <= 128:
        return False
    return hmac.compare_digest(pkce_challenge(verifier), challenge)
