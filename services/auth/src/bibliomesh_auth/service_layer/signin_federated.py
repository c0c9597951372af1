"""Federated sign-in through the institution's OpenID Connect provider: out with our own state, nonce and PKCE;
back with a code we exchange, an ID token we check, and claims we map to an account and roles."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bibliomesh_auth.adapters.identity_provider_repository import IdentityProvider, IdentityProviderRepository
from bibliomesh_auth.adapters.signin_state_repository import PendingSignin
from bibliomesh_auth.federation.client import Federation, authorization_url
from bibliomesh_auth.federation.discovery import ProviderMetadata
from bibliomesh_auth.federation.errors import FederationError, NoRoleGranted, ProviderUnavailable, UntrustedAnswer
from bibliomesh_auth.federation.id_token import LEEWAY_SECONDS, verify_id_token
from bibliomesh_auth.federation.mapping import FederatedIdentity, map_identity
from bibliomesh_auth.service_layer import audit, signin
from bibliomesh_auth.service_layer.grants import GrantContext
from bibliomesh_auth.service_layer.signin import AuthorizationRequest, RedirectError, SigninRefused
from bibliomesh_auth.service_layer.signin_accounts import federated_account
from bibliomesh_auth.settings import AuthSettings
from meshkit.unit_of_work import UnitOfWork

# What the provider may tell the client about a sign-in it ended; anything else becomes server_error.
_PASSED_ON_ERRORS = {"access_denied", "temporarily_unavailable", "login_required", "interaction_required"}


@dataclass(frozen=True)
class ProviderCallback:
    """The query of `GET /auth/callback`."""

    state: str | None
    code: str | None
    error: str | None
    iss: str | None


def callback_url(settings: AuthSettings) -> str:
    """Our redirect URI at every institution's provider (what their administrators register)."""
    return settings.public_url.rstrip("/") + "/auth/callback"


async def provider_for(uow: UnitOfWork, institution: str) -> IdentityProvider | None:
    """The institution's enabled OpenID Connect provider, if it has one."""
    provider = await IdentityProviderRepository(uow.session).enabled_for(institution)
    return provider if provider is not None and provider.protocol == "oidc" else None


async def start_at_provider(ctx: GrantContext, federation: Federation, request: AuthorizationRequest,
                            provider: IdentityProvider) -> str:
    """Remember the sign-in with a fresh nonce and PKCE verifier; returns where to send the browser."""
    metadata = await _metadata(ctx, federation, provider)
    nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    state = await signin.remember(ctx.uow, request, provider.institution, upstream_nonce=nonce,
                                  upstream_verifier=verifier)
    return authorization_url(metadata, client_id=provider.client_id, redirect_uri=callback_url(ctx.settings),
                             scopes=provider.scopes, state=state, nonce=nonce, code_verifier=verifier,
                             prompt=request.prompt, max_age=request.max_age, login_hint=request.login_hint)


async def finish_at_provider(ctx: GrantContext, federation: Federation, pending: PendingSignin,
                             callback: ProviderCallback) -> str:
    """After the provider sent the person back (the pending sign-in already used up): our code, as the redirect
    to the client. Refusals are audited; the caller commits either way."""
    request = AuthorizationRequest.from_stored(pending.request)
    provider = await provider_for(ctx.uow, pending.institution)
    if provider is None or pending.upstream_nonce is None or pending.upstream_verifier is None:
        raise SigninRefused("provider_unavailable", f"no provider sign-in pending for {pending.institution}", 502)
    try:  # suspended while the person was at the provider: no account is made or updated, no code issued
        await signin.signing_in_institution(ctx.uow, pending.institution)
    except SigninRefused as exc:
        await _refused(ctx, provider, exc.reason)
        raise
    if callback.error:
        await _refused(ctx, provider, f"the provider answered {callback.error[:100]!r}")
        error = callback.error if callback.error in _PASSED_ON_ERRORS else "server_error"
        raise RedirectError(request.answer(ctx.settings.token_issuer, error=error,
                                           error_description="sign-in at the institution did not complete"), error)
    try:
        identity = await _identity(ctx, federation, provider, pending, callback)
    except FederationError as exc:
        await _refused(ctx, provider, exc.reason)
        message, status = _PAGES.get(type(exc), ("provider_unavailable", 502))
        raise SigninRefused(message, exc.reason, status) from exc
    if request.max_age is not None and not _authenticated_within(identity, request.max_age):
        # Core §3.1.2.1: the provider was asked to re-authenticate anyone who last did so longer ago; it did not.
        await _refused(ctx, provider, f"auth_time {identity.authenticated_at} is older than max_age "
                                      f"{request.max_age} s")
        raise RedirectError(request.answer(ctx.settings.token_issuer, error="login_required",
                                           error_description="the institution did not sign the person in again "
                                                             "within max_age"), "login_required")
    try:
        user = await federated_account(ctx.uow, provider.institution, provider.issuer, identity, request.lang)
    except SigninRefused as exc:
        await _refused(ctx, provider, exc.reason)
        raise
    await audit.record(ctx.uow, "federated-signin", actor=user.subject, institution=provider.institution,
                       target=provider.issuer, ip=ctx.ip, roles=sorted(user.roles),
                       affiliations=list(identity.affiliations), out_of_scope=list(identity.out_of_scope))
    return await signin.issue_code(ctx, request, user, identity.authenticated_at)


_PAGES: dict[type[FederationError], tuple[str, int]] = {
    ProviderUnavailable: ("provider_unavailable", 502),
    UntrustedAnswer: ("untrusted_answer", 502),
    NoRoleGranted: ("no_role", 403),
}


def _authenticated_within(identity: FederatedIdentity, max_age: int) -> bool:
    at = identity.authenticated_at
    return at is not None and datetime.now(UTC) - at <= timedelta(seconds=max_age + LEEWAY_SECONDS)


async def _identity(ctx: GrantContext, federation: Federation, provider: IdentityProvider, pending: PendingSignin,
                    callback: ProviderCallback) -> FederatedIdentity:
    if callback.iss is not None and callback.iss != provider.issuer:
        raise UntrustedAnswer(f"the callback names issuer {callback.iss!r} (mix-up?)")  # RFC 9207
    if not callback.code:
        raise UntrustedAnswer("the callback carries neither a code nor an error")
    metadata = await _metadata(ctx, federation, provider)
    try:
        secret = ctx.box.open(provider.sealed_client_secret)
    except ValueError as exc:
        raise ProviderUnavailable("the stored client secret cannot be decrypted") from exc
    tokens = await federation.exchange_code(
        metadata, client_id=provider.client_id, client_secret=secret, code=callback.code,
        redirect_uri=callback_url(ctx.settings), code_verifier=str(pending.upstream_verifier))
    claims = await verify_id_token(tokens.id_token, federation.key_source(metadata.jwks_uri), issuer=provider.issuer,
                                   client_id=provider.client_id, nonce=str(pending.upstream_nonce))
    if tokens.access_token and any(name not in claims for name in provider.claim_names.all()):
        # Many providers put profile claims only in userinfo when an access token is issued (Core §5.4).
        extra = await federation.userinfo(metadata, tokens.access_token)
        if extra and extra.get("sub") != claims["sub"]:
            raise UntrustedAnswer("userinfo describes another subject than the ID token")
        claims = {**extra, **claims}  # the signed ID token wins where both speak
    return map_identity(claims, provider.claim_names, provider.role_rules)


async def _metadata(ctx: GrantContext, federation: Federation, provider: IdentityProvider) -> ProviderMetadata:
    try:
        return await federation.metadata(provider.issuer, require_https=ctx.settings.environment == "production")
    except ProviderUnavailable as exc:
        await _refused(ctx, provider, exc.reason)
        raise SigninRefused("provider_unavailable", exc.reason, 502) from exc


async def _refused(ctx: GrantContext, provider: IdentityProvider, reason: str) -> None:
    await audit.record(ctx.uow, "federated-signin", outcome="refused", institution=provider.institution,
                       target=provider.issuer, ip=ctx.ip, reason=reason)
