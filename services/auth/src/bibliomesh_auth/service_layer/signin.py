"""Browser sign-in (OAuth 2.1 authorization code with PKCE): checking the request, remembering it while the person
signs in (locally or at their institution), and answering the client with our authorization code.

Two kinds of refusal: `SigninRefused` is shown as a page and never redirects (the client or its redirect_uri cannot
be trusted, or the pending sign-in is gone); `RedirectError` goes back to the verified redirect_uri as
`error=...&state=...` (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from bibliomesh_auth.adapters.client_repository import Client, ClientRepository
from bibliomesh_auth.adapters.grant_repository import GrantRepository
from bibliomesh_auth.adapters.institution_repository import InstitutionRepository
from bibliomesh_auth.adapters.signin_state_repository import PendingSignin, SigninStateRepository
from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.domain.scopes import SCOPES, scopes_for_roles
from bibliomesh_auth.domain.text import has_control_character
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.grants import GrantContext, serves
from bibliomesh_auth.service_layer.institution_standing import suspended_among
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from meshkit.unit_of_work import UnitOfWork

SIGNIN_TTL = timedelta(minutes=10)
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_MAX_STATE, _MAX_NONCE, _MAX_LOGIN_HINT = 500, 200, 200
PROMPTS = frozenset({"none", "login", "consent", "select_account"})


class SigninRefused(Exception):
    """Shown to the person as a page; `message` names the text, `reason` goes to the audit trail and logs."""

    def __init__(self, message: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.status = status


class RedirectError(Exception):
    """An error for the client, delivered at its registered redirect_uri."""

    def __init__(self, location: str, error: str) -> None:
        super().__init__(error)
        self.location = location
        self.error = error


@dataclass(frozen=True)
class AuthorizationRequest:
    """What the client asked for, checked; kept in the pending sign-in until our code is issued."""

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    state: str | None
    nonce: str | None
    lang: str
    prompt: str | None = None
    """OpenID Connect's `prompt` (Core §3.1.2.1), checked: `none`, or any of `login`, `consent`, `select_account`."""
    max_age: int | None = None
    """Seconds since the person last actively authenticated beyond which they must do so again."""
    login_hint: str | None = None

    def as_stored(self) -> dict[str, str | int | None]:
        return asdict(self)

    @classmethod
    def from_stored(cls, stored: Mapping[str, str | int | None]) -> AuthorizationRequest:
        max_age = stored.get("max_age")
        return cls(client_id=str(stored["client_id"]), redirect_uri=str(stored["redirect_uri"]),
                   scope=str(stored["scope"]), code_challenge=str(stored["code_challenge"]),
                   state=_text_or_none(stored.get("state")), nonce=_text_or_none(stored.get("nonce")),
                   lang=str(stored.get("lang") or "en"), prompt=_text_or_none(stored.get("prompt")),
                   max_age=max_age if isinstance(max_age, int) else None,
                   login_hint=_text_or_none(stored.get("login_hint")))

    @property
    def silent(self) -> bool:
        """`prompt=none`: the client wants an answer without anyone being asked anything."""
        return self.prompt == "none"

    def answer(self, issuer: str, **params: str) -> str:
        """The redirect_uri with our answer, the client's state and our issuer (RFC 9207) appended."""
        answer = {**params, **({"state": self.state} if self.state is not None else {}), "iss": issuer}
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(answer)}"


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _checked_prompt(value: str | None) -> str | None:
    """The `prompt` values as a set in a fixed order; ValueError naming what is wrong."""
    if value is None:
        return None
    values = set(value.split())
    if not values:
        return None
    unknown = values - PROMPTS
    if unknown:
        raise ValueError(f"prompt: unknown value {sorted(unknown)[0][:40]!r} (use none, login, consent, "
                         "select_account)")
    if "none" in values and len(values) > 1:
        raise ValueError("prompt: `none` cannot be combined with another value")
    return " ".join(sorted(values))


def _checked_max_age(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        raise ValueError("max_age: must be a whole number of seconds")
    return int(value)


async def check_authorization_request(uow: UnitOfWork, params: Mapping[str, str], lang: str, issuer: str,
                                      platform_institution: str) -> AuthorizationRequest:
    """The checked request. Client and redirect_uri first: until both are known good, nothing redirects. An
    institution's client is refused for another institution (`params["institution"]`) here, before anyone is asked
    for a username, so that it learns nothing about that institution's people."""
    client = await ClientRepository(uow.session).get(params.get("client_id", ""))
    if client is None or client.disabled:
        raise SigninRefused("unknown_client", f"unknown or disabled client {params.get('client_id')!r}")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise SigninRefused("unregistered_redirect_uri", f"redirect_uri not registered for {client.client_id}")
    state = params.get("state")
    # A state too long is not echoed: the answer's Location would outgrow what proxies accept.
    state_too_long = state is not None and len(state) > _MAX_STATE
    partial = AuthorizationRequest(client_id=client.client_id, redirect_uri=redirect_uri, scope="",
                                   code_challenge="", state=None if state_too_long else state,
                                   nonce=params.get("nonce"), lang=lang)

    def refuse(error: str, description: str) -> RedirectError:
        return RedirectError(partial.answer(issuer, error=error, error_description=description), error)

    if state_too_long:
        raise refuse("invalid_request", f"state is too long (at most {_MAX_STATE} characters)")
    if "authorization_code" not in client.grant_types:
        raise refuse("unauthorized_client", "this client may not use the authorization code grant")
    if await suspended_among(uow, platform_institution, client.institution):
        raise refuse("unauthorized_client", f"this client's institution {client.institution} is suspended")
    chosen = params.get("institution")
    if chosen and not serves(client, chosen, platform_institution):
        raise refuse("unauthorized_client", f"this client signs in only people of {client.institution}")
    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "only response_type=code is supported")
    if not params.get("code_challenge"):
        raise refuse("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
    if params.get("code_challenge_method") != "S256":
        raise refuse("invalid_request", "only code_challenge_method=S256 is supported")
    if not _S256_CHALLENGE.match(params["code_challenge"]):
        raise refuse("invalid_request", "code_challenge must be 43 base64url characters")
    nonce = params.get("nonce")
    if nonce is not None and len(nonce) > _MAX_NONCE:
        raise refuse("invalid_request", "nonce is too long")
    scopes = (params.get("scope") or "").split()
    if not set(scopes) <= SCOPES.keys() & client.scopes:
        raise refuse("invalid_scope", "a requested scope is unknown or not allowed for this client")
    try:
        prompt, max_age = _checked_prompt(params.get("prompt")), _checked_max_age(params.get("max_age"))
    except ValueError as exc:
        raise refuse("invalid_request", str(exc)) from None
    login_hint = params.get("login_hint") or None
    if login_hint is not None and (len(login_hint) > _MAX_LOGIN_HINT or has_control_character(login_hint)):
        raise refuse("invalid_request", f"login_hint: at most {_MAX_LOGIN_HINT} characters, no control characters")
    return AuthorizationRequest(client_id=client.client_id, redirect_uri=redirect_uri, scope=" ".join(scopes),
                                code_challenge=params["code_challenge"], state=state, nonce=nonce, lang=lang,
                                prompt=prompt, max_age=max_age, login_hint=login_hint)


def silent_refusal(request: AuthorizationRequest, issuer: str, error: str) -> RedirectError:
    """The answer to `prompt=none` when someone would have to be asked (Core §3.1.2.6)."""
    return RedirectError(request.answer(issuer, error=error, error_description="prompt=none, but the person would "
                                        "have to sign in or choose their institution"), error)


async def institutions_to_choose(uow: UnitOfWork, search: str | None, platform_institution: str
                                 ) -> list[InstitutionSnapshot]:
    """Active institutions whose people can sign in, filtered by code or name (either language)."""
    found = await InstitutionRepository(uow.session).list(status="active")
    wanted = (search or "").strip().casefold()
    return [i for i in found
            if i.kind != "external-peer" and i.code != platform_institution
            and (not wanted or any(wanted in (text or "").casefold() for text in (i.code, i.name_en, i.name_zh)))]


async def institution_served(uow: UnitOfWork, request: AuthorizationRequest, platform_institution: str
                             ) -> str | None:
    """The one institution whose people the client signs in, or None for the platform's own clients (every
    institution's, chosen by the person)."""
    client = await ClientRepository(uow.session).get(request.client_id)
    if client is None or client.institution == platform_institution:
        return None
    return client.institution


async def signing_in_institution(uow: UnitOfWork, code: str) -> InstitutionSnapshot:
    """The institution a person says they belong to, if people can sign in there now."""
    institution = await InstitutionRepository(uow.session).get(code)
    if institution is None or institution.kind == "external-peer":
        raise SigninRefused("unknown_institution", f"no institution {code!r} to sign in at", status=404)
    if institution.status != "active":
        raise SigninRefused("unknown_institution", f"institution {code} is {institution.status}", status=404)
    return institution


async def remember(uow: UnitOfWork, request: AuthorizationRequest, institution: str, *,
                   upstream_nonce: str | None = None, upstream_verifier: str | None = None) -> str:
    """Keep the pending sign-in (and clear out expired ones); returns its state id."""
    states = SigninStateRepository(uow.session)
    await states.purge_expired()
    return await states.add(institution=institution, request=request.as_stored(), ttl=SIGNIN_TTL,
                            upstream_nonce=upstream_nonce, upstream_verifier=upstream_verifier)


async def pending_signin(uow: UnitOfWork, state: str | None) -> PendingSignin:
    """The pending sign-in named by `state`, if it exists and has not expired (an expired one is removed)."""
    states = SigninStateRepository(uow.session)
    pending = await states.get(state) if state else None
    if pending is None:
        raise SigninRefused("signin_expired", "unknown or already used sign-in state")
    if pending.expired(datetime.now(UTC)):
        await states.claim(pending.state)
        raise SigninRefused("signin_expired", "sign-in state expired")
    return pending


async def claim_pending_signin(uow: UnitOfWork, state: str | None) -> PendingSignin:
    """Use up the pending sign-in: from here on, the same state is refused (replay)."""
    pending = await pending_signin(uow, state)
    if not await SigninStateRepository(uow.session).claim(pending.state):
        raise SigninRefused("signin_expired", "sign-in state already used")
    return pending


async def issue_code(ctx: GrantContext, request: AuthorizationRequest, user: User,
                     authenticated_at: datetime | None = None) -> str:
    """Our authorization code for `user`, who has just signed in (so now is their `auth_time`, unless their
    institution's identity provider says they authenticated there before: `authenticated_at`), as the redirect to
    the client. Scopes: what was asked, narrowed to what the person's roles and the client allow (everything they
    allow when nothing was asked)."""
    client = await ClientRepository(ctx.uow.session).get(request.client_id)
    if client is None or client.disabled or request.redirect_uri not in client.redirect_uris:
        raise SigninRefused("unknown_client", "the client was disabled or changed during sign-in")
    if not user.active:
        raise SigninRefused("account_disabled", f"account {user.id} is not active", status=403)
    await _require_not_suspended(ctx, client, user)
    scopes = _granted_scopes(client, user, request.scope)
    if not scopes:
        error = request.answer(ctx.settings.token_issuer, error="invalid_scope",
                               error_description="none of the requested scopes is available to this account")
        raise RedirectError(error, "invalid_scope")
    code = await GrantRepository(ctx.uow.session).new_code(
        client_id=client.client_id, user_id=user.id, redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge, scopes=scopes, nonce=request.nonce,
        ttl=timedelta(seconds=ctx.settings.authorization_code_ttl_seconds),
        auth_time=authenticated_at or datetime.now(UTC))
    await audit.record(ctx.uow, "authorization-code-issued", actor=user.subject, institution=user.institution,
                       ip=ctx.ip, client=client.client_id, scope=" ".join(sorted(scopes)))
    return request.answer(ctx.settings.token_issuer, code=code)


async def _require_not_suspended(ctx: GrantContext, client: Client, user: User) -> None:
    """The last check before a code: the institution may have been suspended while the person signed in."""
    suspended = await suspended_among(ctx.uow, ctx.settings.platform_institution, client.institution,
                                      user.institution)
    if suspended is not None:
        await audit.record(ctx.uow, "authorization-code-refused", outcome="refused", actor=user.subject,
                           institution=suspended, ip=ctx.ip, client=client.client_id,
                           reason=f"institution {suspended} is suspended")
        raise SigninRefused("unknown_institution", f"institution {suspended} is suspended", status=403)


def _granted_scopes(client: Client, user: User, requested: str) -> frozenset[str]:
    allowed = scopes_for_roles(user.roles) & client.scopes
    return allowed & frozenset(requested.split()) if requested else allowed
