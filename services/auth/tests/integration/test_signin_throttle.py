"""Password spraying: one guess for each of many accounts never trips the per-account lockout, so an address that
failed too often within the window is refused (429, Retry-After) before any password is checked, whatever account
it tries, while other addresses sign in as before."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from bibliomesh_auth.adapters.tables import audit_events
from bibliomesh_auth.bootstrap import create_app
from services.auth.tests.idp.signin_flow import (
    PASSWORD,
    PUBLIC_URL,
    TOWN,
    add_app_client,
    add_local_user,
    authorize_query,
    pkce_pair,
    register_institutions,
    run_sql,
    runtime_of,
    submit_login,
)

from .conftest import ADMIN, admin_headers, settings_on
from .people import password_app

LIMIT = 3
SPRAYER, NEIGHBOUR = "203.0.113.9", "198.51.100.7"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with settings_on(request.param, tmp_path, "bm_auth_throttle", public_url=PUBLIC_URL,
                           password_grant_enabled=True, login_failures_per_address=LIMIT) as settings:
        app = create_app(settings=settings, migrate=True)
        async with app.router.lifespan_context(app):
            yield app


def browser(app: FastAPI, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)),
                             base_url="http://testserver")


async def sign_in_from(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    _verifier, challenge = pkce_pair()
    form = await client.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    return await submit_login(client, form, username, password)


async def test_an_address_that_failed_too_often_is_refused_whatever_account_it_tries(app: FastAPI) -> None:
    async with browser(app, SPRAYER) as sprayer, browser(app, NEIGHBOUR) as neighbour:
        await register_institutions(sprayer, await admin_headers(sprayer), TOWN)
        await add_app_client(app)
        for username in ("ann", "bo", "cy", "dee"):
            await add_local_user(app, TOWN["code"], username)
        for username in ("ann", "bo", "cy"):  # one guess each: no account reaches its lockout
            guessed = await sign_in_from(sprayer, username, "Winter2026!")
            assert guessed.status_code == 200 and "location" not in guessed.headers

        refused = await sign_in_from(sprayer, "dee", PASSWORD)  # even the right password is not checked
        assert refused.status_code == 429 and "location" not in refused.headers, refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 900
        assert 'role="alert"' in refused.text and "15 minutes" in refused.text
        assert 'action="/auth/login"' in refused.text  # the form stays, for later
        (dee,) = await run_sql(app, "SELECT failed_logins FROM users WHERE username = 'dee'")
        assert dee.failed_logins == 0  # nothing counted against the account tried

        signed_in = await sign_in_from(neighbour, "dee", PASSWORD)  # another address is not affected
        assert signed_in.status_code == 303 and "code=" in signed_in.headers["location"]

        outcomes = [row.outcome for row in await run_sql(
            app, "SELECT outcome FROM audit_events WHERE action = 'login' AND ip = :ip ORDER BY id", ip=SPRAYER)]
        assert outcomes == ["failure"] * LIMIT + ["throttled"]

        async with runtime_of(app).unit_of_work() as uow:  # the failures leave the window
            await uow.session.execute(sa.update(audit_events).where(audit_events.c.ip == SPRAYER)
                                      .values(at=datetime(2000, 1, 1, tzinfo=UTC)))
            await uow.commit()
        again = await sign_in_from(sprayer, "dee", PASSWORD)
        assert again.status_code == 303 and "code=" in again.headers["location"]


async def test_the_password_grant_is_refused_the_same_way(app: FastAPI) -> None:
    async with browser(app, SPRAYER) as sprayer, browser(app, NEIGHBOUR) as neighbour:
        admin = await admin_headers(sprayer)
        await register_institutions(sprayer, admin, TOWN)
        await add_local_user(app, TOWN["code"], "dee")
        kiosk = await password_app(sprayer, admin)

        async def grant(client: httpx.AsyncClient, password: str) -> httpx.Response:
            return await client.post("/auth/token", auth=kiosk, data={
                "grant_type": "password", "institution": TOWN["code"], "username": "dee", "password": password})

        for _attempt in range(LIMIT):
            assert (await grant(sprayer, "Winter2026!")).status_code == 400
        refused = await grant(sprayer, PASSWORD)
        assert refused.status_code == 429 and refused.json()["error"] == "invalid_grant", refused.text
        assert int(refused.headers["retry-after"]) > 0 and "access_token" not in refused.text
        assert (await grant(neighbour, PASSWORD)).status_code == 200
        # A client's own credentials are not a person's password: never limited by it.
        assert (await sprayer.post("/auth/token", data={"grant_type": "client_credentials"},
                                   auth=ADMIN)).status_code == 200
