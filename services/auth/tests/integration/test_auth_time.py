"""`auth_time` (OpenID Connect Core §2, §12.2) is when the person actually signed in: an ID token from a refresh, or
from a code redeemed a while after the sign-in, carries that moment, not the moment it was issued. On SQLite and
PostgreSQL, and for the refresh tokens that existed before migration 0009."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from bibliomesh_auth.bootstrap import MIGRATIONS, create_app
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine
from meshkit.migrations import upgrade
from meshkit.testing import running
from services.auth.tests.idp.signin_flow import (
    PASSWORD,
    PUBLIC_URL,
    TOWN,
    add_app_client,
    add_local_user,
    answer_of,
    authorize_query,
    claims_of,
    pkce_pair,
    redeem,
    register_institutions,
    submit_login,
)
from tests.support.infra import database_on

from .conftest import admin_headers, settings_on

LATER = 1.1  # seconds: `iat` and `auth_time` count whole seconds


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuthSettings]:
    async with settings_on(request.param, tmp_path, "bm_auth_time", public_url=PUBLIC_URL,
                           password_grant_enabled=True) as settings:
        yield settings


@pytest.fixture
async def auth(settings: AuthSettings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(settings=settings, migrate=True)
    async with running(app) as client:
        await register_institutions(client, await admin_headers(client), TOWN)
        await add_app_client(app, grant_types=("authorization_code", "refresh_token", "password"))
        await add_local_user(app, TOWN["code"], "reader")
        yield client, app


async def refreshed(client: httpx.AsyncClient, refresh_token: str) -> dict[str, str]:
    response = await client.post("/auth/token", data={"grant_type": "refresh_token", "client_id": "library-app",
                                                      "refresh_token": refresh_token})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


async def test_a_refresh_keeps_the_time_the_person_signed_in_with_their_password(
        auth: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, _app = auth
    signed_in = await client.post("/auth/token", data={
        "grant_type": "password", "client_id": "library-app", "institution": TOWN["code"], "username": "reader",
        "password": PASSWORD, "scope": "openid catalog:read"})
    assert signed_in.status_code == 200, signed_in.text
    first = claims_of(signed_in.json()["id_token"])
    assert first["auth_time"] == first["iat"]
    await asyncio.sleep(LATER)

    second = await refreshed(client, signed_in.json()["refresh_token"])
    await asyncio.sleep(LATER)
    third = await refreshed(client, second["refresh_token"])

    for tokens in (second, third):
        identity = claims_of(tokens["id_token"])
        assert identity["auth_time"] == first["auth_time"] < identity["iat"]


async def test_a_browser_sign_in_carries_its_auth_time_through_the_code_and_refreshes(
        auth: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, _app = auth
    verifier, challenge = pkce_pair()
    page = await client.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    before = int(datetime.now(UTC).timestamp())
    code = answer_of(await submit_login(client, page, "reader", PASSWORD))["code"]
    after = int(datetime.now(UTC).timestamp())
    await asyncio.sleep(LATER)  # the app redeems the code a moment later

    redeemed = await redeem(client, code, verifier)
    assert redeemed.status_code == 200, redeemed.text
    await asyncio.sleep(LATER)
    refreshed_tokens = await refreshed(client, redeemed.json()["refresh_token"])

    for tokens in (redeemed.json(), refreshed_tokens):
        identity = claims_of(tokens["id_token"])
        assert before <= identity["auth_time"] <= after < identity["iat"]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_refresh_tokens_from_before_0009_get_the_time_their_family_began(engine: str, tmp_path: Path) -> None:
    async with database_on(engine, tmp_path, "bm_auth_0009") as url:
        await _check_backfill(url)


async def _check_backfill(url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0008")
    signed_in = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    rows = [("first", "family-a", signed_in), ("rotated", "family-a", signed_in + timedelta(days=2)),
            ("other", "family-b", signed_in + timedelta(days=5))]
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for token_hash, family, issued_at in rows:
                await conn.execute(sa.text(
                    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, institution, scopes, "
                    "issued_at, expires_at) VALUES (:token_hash, :family, 'app', 'u', 'CN-X', '[]', :issued_at, "
                    ":expires_at)"), {"token_hash": token_hash, "family": family, "issued_at": issued_at,
                                      "expires_at": issued_at + timedelta(days=30)})
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        async with engine.connect() as conn:
            stored = {row.token_hash: row.auth_time for row in await conn.execute(
                sa.text("SELECT token_hash, auth_time FROM refresh_tokens"))}
    finally:
        await engine.dispose()
    as_utc = {token: _utc(moment) for token, moment in stored.items()}
    assert as_utc == {"first": signed_in, "rotated": signed_in, "other": signed_in + timedelta(days=5)}


def _utc(moment: datetime | str) -> datetime:
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment  # SQLite: text, no zone
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
