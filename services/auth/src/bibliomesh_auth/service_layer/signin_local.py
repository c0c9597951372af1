"""Sign-in with a local account, for institutions without an identity provider of their own."""

from __future__ import annotations

from bibliomesh_auth.adapters.signin_state_repository import PendingSignin, SigninStateRepository
from bibliomesh_auth.service_layer import signin
from bibliomesh_auth.service_layer.grants import GrantContext
from bibliomesh_auth.service_layer.local_login import AddressLimit, authenticate
from bibliomesh_auth.service_layer.signin import AuthorizationRequest, SigninRefused
from bibliomesh_auth.service_layer.signin_federated import provider_for


async def pending_local_signin(ctx: GrantContext, state: str | None) -> PendingSignin:
    """The pending sign-in the login form belongs to; its state id is the form's CSRF token."""
    pending = await signin.pending_signin(ctx.uow, state)
    # Suspended since the form was shown: refused before the password, which then counts against nobody.
    await signin.signing_in_institution(ctx.uow, pending.institution)
    if pending.upstream_nonce is not None or await provider_for(ctx.uow, pending.institution) is not None:
        raise SigninRefused("use_provider", f"{pending.institution} signs in through its identity provider")
    return pending


async def finish_locally(ctx: GrantContext, pending: PendingSignin, username: str, password: str) -> str:
    """Check the password (LoginFailed, with the failure counted and audited, if wrong or locked: the caller
    commits and shows the form again); then use up the pending sign-in and return the redirect to the client."""
    user = await authenticate(ctx.uow, pending.institution, username, password, ctx.ip, AddressLimit.of(ctx.settings))
    if not await SigninStateRepository(ctx.uow.session).claim(pending.state):
        raise SigninRefused("signin_expired", "sign-in state used by a concurrent request")
    return await signin.issue_code(ctx, AuthorizationRequest.from_stored(pending.request), user)
