"""Our side of a browser sign-in in tests: an app registered for the authorization code grant, institutions,
local accounts, PKCE, and the steps a browser takes through `/auth/authorize`, `/auth/login` and `/auth/token`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from bibliomesh_auth.adapters.client_repository import ClientRepository
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.domain.scopes import SCOPES
from bibliomesh_auth.service_layer.local_login import hasher
from meshkit.runtime import ServiceRuntime

from .harness import forms_in

APP_CLIENT = "library-app"
APP_REDIRECT = "https://app.example/signed-in"
PUBLIC_URL = "http://auth.test"  # settings.public_url: the IdP sends people back to PUBLIC_URL/auth/callback
CALLBACK = f"{PUBLIC_URL}/auth/callback"
PASSWORD = "a-long-enough-password"
UNI = {"code": "CN-FED-UNI", "name_en": "Federated University", "name_zh": "联邦大学", "kind": "university"}
TOWN = {"code": "CN-LOCAL-LIB", "name_en": "Town Public Library", "name_zh": "城市公共图书馆",
        "kind": "public-library"}


def runtime_of(app: FastAPI) -> ServiceRuntime:
    runtime: ServiceRuntime = app.state.runtime
    return runtime


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_query(challenge: str | None, *, institution: str | None = None, state: str = "client-state",
                    nonce: str = "client-nonce", **overrides: str | None) -> dict[str, str]:
    query: dict[str, str | None] = {
        "response_type": "code", "client_id": APP_CLIENT, "redirect_uri": APP_REDIRECT,
        "scope": "openid catalog:read ill:request", "state": state, "nonce": nonce, "code_challenge": challenge,
        "code_challenge_method": "S256", "institution": institution, **overrides}
    return {name: value for name, value in query.items() if value is not None}


async def add_app_client(app: FastAPI, *, client_id: str = APP_CLIENT, redirect_uris: tuple[str, ...] = (APP_REDIRECT,),
                         grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
                         institution: str = "PLATFORM") -> None:
    """A public browser app (PKCE, no secret), as the clients API would register it: the platform's own (it signs
    in people of every institution), or an institution's."""
    async with runtime_of(app).unit_of_work() as uow:
        await ClientRepository(uow.session).add(
            client_id, "Library app", institution, hasher.hash(secrets.token_urlsafe(16)), set(SCOPES), set(),
            redirect_uris=list(redirect_uris), grant_types=list(grant_types), is_public=True)
        await uow.commit()


async def add_local_user(app: FastAPI, institution: str, username: str, roles: tuple[str, ...] = ("patron",),
                         password: str = PASSWORD) -> User:
    async with runtime_of(app).unit_of_work() as uow:
        user = await UserRepository(uow.session).add(institution=institution, username=username,
                                                     password_hash=hasher.hash(password), roles=list(roles))
        await uow.commit()
    return user


async def run_sql(app: FastAPI, statement: str, **params: Any) -> list[Any]:
    """Reach into the database, for what only time or an attacker would change (expiry, a stored nonce)."""
    async with runtime_of(app).unit_of_work() as uow:
        result = await uow.session.execute(sa.text(statement), params)
        rows = list(result) if result.returns_rows else []
        await uow.commit()
    return rows


async def register_institutions(auth: httpx.AsyncClient, admin: dict[str, str], *bodies: dict[str, Any]) -> None:
    for body in bodies:
        response = await auth.post("/auth/institutions", json=body, headers=admin)
        assert response.status_code == 201, response.text


def answer_of(response: httpx.Response) -> dict[str, str]:
    """The query the app receives at its redirect_uri (asserting we redirect there and nowhere else)."""
    assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:500]}"
    location = response.headers["location"]
    assert location.startswith(APP_REDIRECT + "?"), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def redeem(auth: httpx.AsyncClient, code: str, verifier: str, *, redirect_uri: str = APP_REDIRECT,
                 client_id: str = APP_CLIENT) -> httpx.Response:
    return await auth.post("/auth/token", data={"grant_type": "authorization_code", "client_id": client_id,
                                                "code": code, "code_verifier": verifier,
                                                "redirect_uri": redirect_uri})


async def submit_login(auth: httpx.AsyncClient, page: httpx.Response, username: str, password: str
                       ) -> httpx.Response:
    """Fill the login form of `page` as a person would and send it."""
    assert page.status_code == 200, page.text[:500]
    (form,) = forms_in(page.text)
    assert form.method == "post" and form.action == "/auth/login"
    return await auth.post(form.action, data={**form.fields, "username": username, "password": password})


async def local_sign_in(auth: httpx.AsyncClient, institution: str, username: str, password: str = PASSWORD,
                        scope: str | None = None) -> dict[str, Any]:
    """The whole browser flow with a local account, ending with the app's tokens."""
    verifier, challenge = pkce_pair()
    page = await auth.get("/auth/authorize", params=authorize_query(challenge, institution=institution,
                                                                    **({"scope": scope} if scope else {})))
    answer = answer_of(await submit_login(auth, page, username, password))
    response = await redeem(auth, answer["code"], verifier)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (the services verify; tests look)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
