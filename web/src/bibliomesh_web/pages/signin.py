"""Sign-in with the authorization code flow and PKCE (S256) as the public client `bibliomesh-web`; the auth
service's own pages let a person choose their institution and sign in there (locally or at its identity provider).
Also sign-out and the language switch."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bibliomesh_web.i18n import LANG_COOKIE
from bibliomesh_web.platform import PlatformUnavailable, claims_of, oauth_error, problem_of, tokens_from
from bibliomesh_web.sessions import PendingSignin, User
from bibliomesh_web.views import FormPage, Page, PageDep, safe_next
from meshkit.languages import LANGUAGES

router = APIRouter()
PENDING_SECONDS = 600
MAX_PENDING = 5


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@router.get("/signin")
async def signin(page: PageDep, next_path: Annotated[str | None, Query(alias="next")] = None,
                 institution: str | None = None) -> RedirectResponse:
    pending = page.session.pending
    for stale in [s for s, p in pending.items() if time.time() - p.created > PENDING_SECONDS]:
        del pending[stale]
    while len(pending) >= MAX_PENDING:
        del pending[next(iter(pending))]
    verifier, state, nonce = secrets.token_urlsafe(64), secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    pending[state] = PendingSignin(verifier=verifier, nonce=nonce, next_path=safe_next(next_path))
    page.session.keep = True
    params = {"response_type": "code", "client_id": page.settings.client_id,
              "redirect_uri": page.settings.redirect_uri, "code_challenge": _challenge(verifier),
              "code_challenge_method": "S256", "state": state, "nonce": nonce, "lang": page.t.lang}
    if institution:
        params["institution"] = institution
    return RedirectResponse(f"{page.settings.public_base}/auth/authorize?{urlencode(params)}", status_code=303)


@router.get("/callback", response_class=HTMLResponse)
async def callback(request: Request, page: PageDep, code: str | None = None, state: str | None = None,
                   error: str | None = None, error_description: str | None = None,
                   iss: str | None = None) -> Response:
    pending = page.session.pending.pop(state or "", None)
    if pending is None or time.time() - pending.created > PENDING_SECONDS:
        return await _failed(page, page.t("signin.expired"))
    if error:
        return await _failed(page, page.t("signin.refused"), error_description or error)
    if iss is not None and iss != page.settings.public_base:
        return await _failed(page, page.t("signin.untrusted"))
    answer = await page.api.post_form("/auth/token", {
        "grant_type": "authorization_code", "code": code or "", "redirect_uri": page.settings.redirect_uri,
        "client_id": page.settings.client_id, "code_verifier": pending.verifier})
    if answer.status_code >= 500:  # from auth, or from a proxy before it (whose body is its own HTML page)
        raise PlatformUnavailable(answer.status_code)
    if answer.status_code == 429:  # too many sign-ins from here: the 429 page, as for a refresh, not a refusal
        raise problem_of(answer)
    if answer.status_code != 200:
        return await _failed(page, page.t("signin.refused"), oauth_error(answer)[1])
    tokens = answer.json()
    identity = claims_of(tokens["id_token"]) if tokens.get("id_token") else {}
    if identity and (identity.get("nonce") != pending.nonce or page.settings.client_id not in _audience(identity)):
        return await _failed(page, page.t("signin.untrusted"))
    access = claims_of(tokens["access_token"])
    username = str(identity.get("preferred_username") or access["sub"])
    user = User(subject=str(access["sub"]), username=username, name=str(identity.get("name") or username),
                institution=str(access.get("institution", "")), roles=tuple(access.get("roles") or ()),
                scopes=frozenset(str(access.get("scope", "")).split()),
                pickup_location=identity.get("pickup_location"))
    fresh = request.app.state.sessions.renew(page.session, user=user, tokens=tokens_from(tokens))
    request.state.session = fresh
    fresh.flash("ok", page.t("signin.welcome", name=user.name))
    return RedirectResponse(pending.next_path, status_code=303)


def _audience(claims: dict[str, Any]) -> list[str]:
    audience = claims.get("aud")
    return [audience] if isinstance(audience, str) else list(audience or [])


async def _failed(page: Page, message: str, detail: str | None = None) -> HTMLResponse:
    return await page.render("signin_failed.html", status=400, message=message, detail=detail)


@router.post("/signout")
async def signout(request: Request, page: FormPage) -> RedirectResponse:
    tokens = page.session.tokens
    if tokens is not None and tokens.refresh_token:
        await page.api.post_form("/auth/revoke", {
            "token": tokens.refresh_token, "token_type_hint": "refresh_token", "client_id": page.settings.client_id})
    fresh = request.app.state.sessions.renew(page.session)
    request.state.session = fresh
    fresh.flash("ok", page.t("signin.signed_out"))
    return RedirectResponse("/", status_code=303)


@router.post("/language")
async def language(page: FormPage, lang: Annotated[str, Form()],
                   next_path: Annotated[str, Form(alias="next")] = "/") -> RedirectResponse:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=page.settings.secure_cookies)
    return response
