"""Browser sign-in: `/auth/authorize` (OAuth 2.1 authorization code with PKCE), `/auth/callback` (back from an
institution's identity provider) and `/auth/login` (local accounts). Answers are pages or redirects, never JSON."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bibliomesh_auth.adapters.signin_state_repository import PendingSignin
from bibliomesh_auth.entrypoints.api.deps import GrantContextDep, auth_settings
from bibliomesh_auth.entrypoints.templates import NO_STORE, page
from bibliomesh_auth.federation.client import Federation
from bibliomesh_auth.service_layer import signin, signin_federated, signin_local
from bibliomesh_auth.service_layer.grants import GrantContext
from bibliomesh_auth.service_layer.local_login import LoginFailed
from bibliomesh_auth.service_layer.signin import AuthorizationRequest, RedirectError, SigninRefused
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from meshkit.languages import choose_language
from meshkit.web import get_runtime

router = APIRouter(tags=["sign-in"])
OAUTH_PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
                    "code_challenge_method", "prompt", "max_age", "login_hint")


def federation_of(request: Request) -> Federation:
    """The process's upstream-OIDC client (its caches live as long as the app)."""
    extra = get_runtime(request).extra
    if "federation" not in extra:
        extra["federation"] = Federation(allow_private=auth_settings(request).identity_provider_allow_private)
    federation = extra["federation"]
    assert isinstance(federation, Federation)
    return federation


FederationDep = Annotated[Federation, Depends(federation_of)]


@router.get("/auth/authorize", response_class=HTMLResponse,
            summary="Start a browser sign-in (public): OAuth 2.1 authorization code with PKCE S256. Without "
                    "`institution`, a page to choose one; then the institution's identity provider or a login form.")
async def authorize(request: Request, ctx: GrantContextDep, federation: FederationDep, institution: str | None = None,
                    q: str | None = None, lang: str | None = None) -> Response:
    language = choose_language(lang, request.headers.get("accept-language"))
    params = dict(request.query_params)
    carried = {name: params[name] for name in OAUTH_PARAMETERS if name in params} | {"lang": language}
    try:
        checked = await signin.check_authorization_request(ctx.uow, params, language, ctx.settings.token_issuer,
                                                           ctx.settings.platform_institution)
        institution = institution or await signin.institution_served(ctx.uow, checked,
                                                                     ctx.settings.platform_institution)
        if not institution:
            if checked.silent:  # someone would have to choose an institution
                raise signin.silent_refusal(checked, ctx.settings.token_issuer, "interaction_required")
            choices = await signin.institutions_to_choose(ctx.uow, q, ctx.settings.platform_institution)
            return _chooser(carried, choices, q or "", language)
        chosen = await signin.signing_in_institution(ctx.uow, institution)
        provider = await signin_federated.provider_for(ctx.uow, chosen.code)
        if provider is not None:  # the provider may have a session of its own: `prompt` goes on to it
            location = await signin_federated.start_at_provider(ctx, federation, checked, provider)
            await ctx.uow.commit()
            return _redirect(location)
        if checked.silent:  # we keep no session: a local account always types its password
            raise signin.silent_refusal(checked, ctx.settings.token_issuer, "login_required")
        state = await signin.remember(ctx.uow, checked, chosen.code)
        await ctx.uow.commit()
        return _login_page(chosen, state, checked, username=checked.login_hint or "")
    except SigninRefused as exc:
        await ctx.uow.commit()  # refusals leave an audit trail
        return _error_page(exc, language)
    except RedirectError as exc:
        return _redirect(exc.location)


@router.post("/auth/login", response_class=HTMLResponse,
             summary="Sign in with a local account (public; the form of `/auth/authorize`). Wrong passwords count "
                     "towards a temporary lockout.")
async def login(request: Request, ctx: GrantContextDep, signin_state: Annotated[str, Form(alias="signin")] = "",
                username: Annotated[str, Form(max_length=200)] = "",
                password: Annotated[str, Form(max_length=1024)] = "") -> Response:
    language = choose_language(None, request.headers.get("accept-language"))
    try:
        pending = await signin_local.pending_local_signin(ctx, signin_state)
        language = AuthorizationRequest.from_stored(pending.request).lang
        try:
            location = await signin_local.finish_locally(ctx, pending, username, password)
        except LoginFailed as exc:
            await ctx.uow.commit()  # the failure count and the audit entry must persist
            return await _login_again(ctx, pending, username, exc.retry_after)
        await ctx.uow.commit()
        return _redirect(location, status=303)
    except SigninRefused as exc:
        await ctx.uow.commit()
        return _error_page(exc, language)
    except RedirectError as exc:
        await ctx.uow.commit()
        return _redirect(exc.location, status=303)


@router.get("/auth/callback", response_class=HTMLResponse,
            summary="Where institutions' identity providers send people back (public). Checks the state, exchanges "
                    "the code, validates the ID token, then redirects to the application with our code.")
async def callback(request: Request, ctx: GrantContextDep, federation: FederationDep, state: str | None = None,
                   code: str | None = None, error: str | None = None, iss: str | None = None) -> Response:
    language = choose_language(None, request.headers.get("accept-language"))
    try:
        pending = await signin.claim_pending_signin(ctx.uow, state)
        language = AuthorizationRequest.from_stored(pending.request).lang
        await ctx.uow.commit()  # used up before we talk to the provider, and no write lock held meanwhile
        location = await signin_federated.finish_at_provider(
            ctx, federation, pending, signin_federated.ProviderCallback(state=state, code=code, error=error, iss=iss))
        await ctx.uow.commit()
        return _redirect(location)
    except SigninRefused as exc:
        await ctx.uow.commit()
        return _error_page(exc, language)
    except RedirectError as exc:
        await ctx.uow.commit()
        return _redirect(exc.location)


def _redirect(location: str, status: int = 302) -> RedirectResponse:
    return RedirectResponse(location, status_code=status, headers=NO_STORE)


def _authorize_url(params: dict[str, str]) -> str:
    return "/auth/authorize?" + urlencode(params)


def _other_language(language: str) -> str:
    return "zh" if language == "en" else "en"


def _display_name(institution: InstitutionSnapshot, language: str) -> str:
    return (institution.name_zh if language == "zh" and institution.name_zh else None) or institution.name_en


def _chooser(carried: dict[str, str], choices: list[InstitutionSnapshot], search: str, language: str) -> Response:
    listed = [{"code": i.code, "name": _display_name(i, language),
               "url": _authorize_url({**carried, "institution": i.code})} for i in choices]
    switch = {**carried, "lang": _other_language(language), **({"q": search} if search else {})}
    return page("choose_institution.html", language, carried=sorted(carried.items()), search=search,
                institutions=listed, clear_search_url=_authorize_url(carried),
                switch_language_url=_authorize_url(switch))


def _carried(request: AuthorizationRequest) -> dict[str, str]:
    params: dict[str, Any] = {"response_type": "code", "client_id": request.client_id,
                              "redirect_uri": request.redirect_uri, "scope": request.scope, "state": request.state,
                              "nonce": request.nonce, "code_challenge": request.code_challenge,
                              "code_challenge_method": "S256", "lang": request.lang, "prompt": request.prompt,
                              "max_age": request.max_age, "login_hint": request.login_hint}
    return {name: str(value) for name, value in params.items() if value is not None and value != ""}


def _login_page(institution: InstitutionSnapshot, state: str, request: AuthorizationRequest, *,
                failed: bool = False, username: str = "", retry_after: int | None = None) -> Response:
    carried = _carried(request)
    switch = {**carried, "lang": _other_language(request.lang), "institution": institution.code}
    answer = page("login.html", request.lang, status=429 if retry_after is not None else 200,
                  redirects_to=[request.redirect_uri], signin=state, failed=failed, username=username,
                  retry_minutes=math.ceil(retry_after / 60) if retry_after is not None else None,
                  institution_name=_display_name(institution, request.lang), choose_url=_authorize_url(carried),
                  switch_language_url=_authorize_url(switch))
    if retry_after is not None:
        answer.headers["Retry-After"] = str(retry_after)
    return answer


async def _login_again(ctx: GrantContext, pending: PendingSignin, username: str,
                       retry_after: int | None = None) -> Response:
    institution = await signin.signing_in_institution(ctx.uow, pending.institution)
    return _login_page(institution, pending.state, AuthorizationRequest.from_stored(pending.request), failed=True,
                       username=username, retry_after=retry_after)


def _error_page(refusal: SigninRefused, language: str) -> Response:
    return page("error.html", language, status=refusal.status, message=refusal.message)
