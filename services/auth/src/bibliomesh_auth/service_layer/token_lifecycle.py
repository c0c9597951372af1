"""After issuance: revocation (RFC 7009), introspection (RFC 7662) and the OpenID Connect userinfo endpoint.

Access tokens are JWTs checked against this service's own published keys; revoked ones are remembered by `jti`
until they expire. Other services verify tokens locally and cannot see revocations: access tokens live minutes,
and a resource server that must know at once asks `/auth/introspect`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from bibliomesh_auth.adapters.client_repository import Client, ClientRepository
from bibliomesh_auth.adapters.grant_repository import GrantRepository
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.grants import GrantContext, OAuthError, user_claims
from bibliomesh_auth.service_layer.token_signing import key_store
from meshkit.problems import Unauthorized
from meshkit.security import Principal

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT `typ` of access tokens (RFC 9068), not a secret
INACTIVE: dict[str, Any] = {"active": False}


async def access_token_claims(ctx: GrantContext, token: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired, unrevoked access token issued here; None for anything else."""
    try:
        keys = await key_store(ctx.uow, ctx.settings, ctx.box).public_key_set()
        decoded = jwt.decode(token, keys, algorithms=["ES256"])
        if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
            return None  # an ID token is not an access token, whatever its audience
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ctx.settings.token_issuer},
            aud={"essential": True, "value": ctx.settings.token_audience},
            exp={"essential": True}, sub={"essential": True}, jti={"essential": True},
            institution={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    claims = decoded.claims
    client_id = claims.get("client_id")
    if await refusal(ctx, subject=str(claims["sub"]), client_id=str(client_id) if client_id else None,
                     token_id=str(claims["jti"]), issued_at=claims.get("iat")):
        return None
    return claims


async def refusal(ctx: GrantContext, *, subject: str, client_id: str | None, token_id: str | None,
                  issued_at: object) -> str | None:
    """Why a verified access token issued here is no longer good, or None: it was revoked, or its person's account
    or the API client it was issued to is disabled, or was disabled after it was issued (and enabled again since)."""
    if token_id and await GrantRepository(ctx.uow.session).access_token_revoked(token_id):
        return "the access token was revoked"
    if subject.startswith("user:"):
        person = await _person(ctx, subject)
        if person is None:
            return "the account is disabled"
        if not person.accepts_token_issued_at(issued_at):
            return "the account was disabled after this token was issued; sign in again"
    issued_to = client_id or (subject.removeprefix("client:") if subject.startswith("client:") else None)
    if issued_to is not None:
        client = await ClientRepository(ctx.uow.session).get(issued_to)
        if client is None or client.disabled:
            return "the client is disabled"
        if not client.accepts_token_issued_at(issued_at):
            return "the client was disabled after this token was issued; get a new one"
    return None


async def revoke(ctx: GrantContext, client: Client, token: str | None, hint: str | None) -> None:
    """Revoke a refresh token (its whole family) or an access token; unknown tokens are ignored (RFC 7009 2.2)."""
    token = _required(token)
    grants = GrantRepository(ctx.uow.session)
    kinds = ["access_token", "refresh_token"] if hint == "access_token" else ["refresh_token", "access_token"]
    for kind in kinds:
        if kind == "refresh_token":
            stored = await grants.refresh_token(token)
            if stored is None:
                continue
            _require_own(client, stored.client_id)
            await grants.revoke_family(stored.family_id)
            await audit.record(ctx.uow, "token-revoked", actor=f"client:{client.client_id}",
                               institution=stored.institution, target=f"user:{stored.user_id}", ip=ctx.ip,
                               kind=kind, family=stored.family_id)
            return
        claims = await access_token_claims(ctx, token)
        if claims is None:
            continue
        _require_own(client, claims.get("client_id"))
        await grants.revoke_access_token(str(claims["jti"]), datetime.fromtimestamp(int(claims["exp"]), UTC))
        await grants.forget_expired_revocations()
        await audit.record(ctx.uow, "token-revoked", actor=f"client:{client.client_id}",
                           institution=str(claims["institution"]), target=str(claims["sub"]), ip=ctx.ip,
                           kind=kind, jti=claims["jti"])
        return


def _required(token: str | None) -> str:
    """The token asked about: the caller may be told it is missing once it is known to be allowed to ask."""
    if not token:
        raise OAuthError("invalid_request", "the token parameter is required")
    return token


def _require_own(client: Client, issued_to: object) -> None:
    if issued_to != client.client_id:
        raise OAuthError("unauthorized_client", "the token was not issued to this client")


async def introspect(ctx: GrantContext, caller: Client, token: str | None, hint: str | None) -> dict[str, Any]:
    """RFC 7662: `active` and, for an active token, what it grants. Only confidential clients may ask, and learn
    only about tokens they may see (`may_see`); any other token is `{"active": false}`, like one that does not
    exist (§2.2, §4), so that asking tells nothing about other clients' tokens."""
    if caller.is_public:
        raise OAuthError("invalid_client", "only confidential clients may introspect tokens", status=401)
    token = _required(token)
    del hint  # the shape tells: access tokens are JWTs, refresh tokens are opaque
    claims = await access_token_claims(ctx, token) if token.count(".") == 2 else None
    if claims is not None:
        if not may_see(ctx, caller, issued_to=claims.get("client_id"), access_token=True):
            return INACTIVE
        fields = ("scope", "client_id", "sub", "institution", "roles", "exp", "iat", "nbf", "iss", "aud", "jti")
        return {"active": True, "token_type": "Bearer", **{k: claims[k] for k in fields if k in claims}}
    stored = await GrantRepository(ctx.uow.session).refresh_token(token)
    now = datetime.now(UTC)
    if stored is None or not may_see(ctx, caller, issued_to=stored.client_id, access_token=False):
        return INACTIVE
    if stored.revoked_at or stored.used_at or stored.expires_at <= now:
        return INACTIVE
    user = await UserRepository(ctx.uow.session).get(stored.user_id or "")
    issued_to = await ClientRepository(ctx.uow.session).get(stored.client_id)
    if user is None or not user.active or issued_to is None or issued_to.disabled:
        return INACTIVE
    scopes = stored.scopes & issued_to.scopes  # what its next refresh can still grant
    return {"active": True, "token_type": "refresh_token", "scope": " ".join(sorted(scopes)),
            "client_id": stored.client_id, "sub": user.subject, "institution": stored.institution,
            "roles": sorted(user.roles), "exp": int(stored.expires_at.timestamp()),
            "iss": ctx.settings.token_issuer}


def may_see(ctx: GrantContext, caller: Client, *, issued_to: object, access_token: bool) -> bool:
    """Whether `caller` may learn what a token issued to `issued_to` is. A refresh token is the business of the
    client it was issued to alone (RFC 7662 §4). An access token is also shown to the platform's own confidential
    clients: they are the resource servers tokens are meant for (the audience is the whole platform). An
    institution's client is no resource server for other clients' tokens, and would learn who has accounts where."""
    if issued_to == caller.client_id:
        return True
    return access_token and caller.institution == ctx.settings.platform_institution


async def userinfo(ctx: GrantContext, token: str | None) -> dict[str, Any]:
    """The signed-in person's claims (OpenID Connect Core 5.3); only for a person's token with `openid`."""
    claims = await access_token_claims(ctx, token) if token else None
    if claims is None:
        raise OAuthError("invalid_token", "the access token is missing, invalid, expired or revoked", status=401)
    user = await _person(ctx, str(claims["sub"]))
    if user is None:
        raise OAuthError("invalid_token", "userinfo is for a person's token, not an API client's", status=401)
    if "openid" not in str(claims.get("scope", "")).split():
        raise OAuthError("insufficient_scope", "the token lacks the `openid` scope", status=403)
    return {"sub": user.subject, **user_claims(user)}


async def ensure_active(ctx: GrantContext, principal: Principal, issued_at: object) -> Principal:
    """Refuse a verified token that was revoked, or whose person or API client was disabled, since it was issued
    (`issued_at`: its `iat`)."""
    reason = await refusal(ctx, subject=principal.subject, client_id=principal.client_id,
                           token_id=principal.token_id, issued_at=issued_at)
    if reason:
        raise Unauthorized(reason, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return principal


async def _person(ctx: GrantContext, subject: str) -> User | None:
    if not subject.startswith("user:"):
        return None
    user = await UserRepository(ctx.uow.session).get(subject.removeprefix("user:"))
    return user if user is not None and user.active else None
