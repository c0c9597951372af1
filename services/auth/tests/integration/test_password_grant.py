"""The password grant, seen by someone guessing: every refusal looks alike, and a client serves only its own people."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.adapters.grant_repository import GrantRepository
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.service_layer import local_login
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine, session_factory

from .conftest import ADMIN, admin_headers
from .people import OTHER, PASSWORD, UNI, make_user, password_app, register


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def password_grant(client: httpx.AsyncClient, app: tuple[str, str], username: str, password: str,
                         institution: str = "CN-DL-U1", **extra: str) -> httpx.Response:
    return await client.post("/auth/token", auth=app, data={
        "grant_type": "password", "institution": institution, "username": username, "password": password, **extra})


async def test_unknown_disabled_locked_and_wrong_password_get_the_same_answer(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "locked", ["patron"])
    await make_user(client, admin, "CN-DL-U1", "wrong", ["patron"])
    gone = await make_user(client, admin, "CN-DL-U1", "gone", ["patron"])
    assert (await client.post(f"/auth/users/{gone['id']}/disable", headers=admin)).status_code == 200
    for _ in range(5):
        await password_grant(client, app, "locked", "not-the-password")

    answers = [await password_grant(client, app, "nobody", "not-the-password"),
               await password_grant(client, app, "gone", PASSWORD),
               await password_grant(client, app, "locked", PASSWORD),
               await password_grant(client, app, "wrong", "not-the-password")]

    assert {(a.status_code, a.text) for a in answers} == {(400, answers[0].text)}
    assert answers[0].json()["error"] == "invalid_grant"
    trail = (await client.get("/auth/audit", params={"action": "login"}, headers=admin)).json()["items"]
    told = {(e["actor"], e["outcome"], e["detail"].get("reason")) for e in trail}
    assert {("CN-DL-U1/nobody", "failure", "unknown account"), ("CN-DL-U1/gone", "failure", "account disabled"),
            ("CN-DL-U1/locked", "locked", None), ("CN-DL-U1/wrong", "failure", "wrong password")} <= told


async def test_the_password_is_hashed_also_for_an_unknown_or_disabled_account(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # Skipping argon2 for accounts that do not exist made them answer five times faster.
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    gone = await make_user(client, admin, "CN-DL-U1", "gone", ["patron"])
    await client.post(f"/auth/users/{gone['id']}/disable", headers=admin)
    checked: list[Any] = []
    real = local_login.verify_secret

    def spy(secret_hash: str | None, secret: str) -> bool:
        checked.append(secret_hash)
        return real(secret_hash, secret)

    monkeypatch.setattr(local_login, "verify_secret", spy)

    await password_grant(client, app, "nobody", "not-the-password")
    await password_grant(client, app, "gone", PASSWORD)

    assert checked == [None, None]  # the dummy hash: the same work, and it can never match


@pytest.mark.parametrize(("field", "length"), [
    ("username", 1_000_000), ("password", 1025), ("client_id", 101), ("institution", 65), ("scope", 1001),
    ("refresh_token", 201), ("code", 201), ("code_verifier", 201), ("grant_type", 51)])
async def test_an_overlong_field_is_an_oauth_invalid_request_and_is_not_stored(
        client: httpx.AsyncClient, field: str, length: int) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    data = {"grant_type": "password", "institution": "CN-DL-U1", "username": "someone", "password": "a-password",
            field: "x" * length}

    refused = await client.post("/auth/token", data=data, auth=None if field == "client_id" else app)

    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["error"] == "invalid_request" and field in refused.json()["error_description"]
    assert "x" * 50 not in refused.text
    trail = (await client.get("/auth/audit", headers=admin)).json()["items"]
    assert all(len(e["actor"] or "") <= 300 for e in trail)
    assert not [e for e in trail if e["action"] in ("login", "client-authentication")]


async def test_the_token_endpoint_answers_in_oauths_format_what_it_cannot_read(client: httpx.AsyncClient) -> None:
    missing = await client.post("/auth/token", data={"scope": "catalog:read"}, auth=ADMIN)
    as_json = await client.post("/auth/token", json={"grant_type": "client_credentials"}, auth=ADMIN)
    long_basic = await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=("x" * 5000, "y"))
    long_token = await client.post("/auth/revoke", data={"token": "x" * 9000}, auth=ADMIN)

    for refused in (missing, as_json, long_basic, long_token):
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/json"
        assert refused.json()["error"] == "invalid_request"
        assert refused.headers["cache-control"] == "no-store"
    assert "grant_type" in missing.json()["error_description"]


async def partner_app(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str]:
    """A partner library's own confidential client (CN-DL-U1) that a platform admin gave the password grant."""
    response = await client.post("/auth/clients", headers=admin, json={
        "name": "U1 discovery", "institution": "CN-DL-U1", "scopes": ["openid", "catalog:read", "ill:request"],
        "grant_types": ["password", "refresh_token"]})
    assert response.status_code == 201, response.text
    return response.json()["client_id"], response.json()["client_secret"]


async def test_a_partners_client_signs_in_only_its_own_institutions_people(
        client: httpx.AsyncClient, settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    partner, platform = await partner_app(client, admin), await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    await make_user(client, admin, "CN-DL-U2", "admin", ["institution-admin"])

    own = await password_grant(client, partner, "reader", PASSWORD)
    other = await password_grant(client, partner, "admin", PASSWORD, institution="CN-DL-U2")

    assert own.status_code == 200, own.text
    assert other.status_code == 400 and other.json()["error"] == "unauthorized_client"
    for _ in range(5):  # and it cannot lock the other institution's accounts either
        await password_grant(client, partner, "admin", "not-the-password", institution="CN-DL-U2")
    assert (await password_grant(client, platform, "admin", PASSWORD, institution="CN-DL-U2")).status_code == 200

    # A refresh token it got for someone else before this rule existed is refused too.
    engine = create_engine(settings.effective_database_url())
    async with session_factory(engine)() as session:
        stranger = await UserRepository(session).by_username("CN-DL-U2", "admin")
        assert stranger is not None
        stolen = await GrantRepository(session).new_refresh_token(
            client_id=partner[0], user_id=stranger.id, institution="CN-DL-U2", scopes=frozenset({"openid"}),
            ttl=timedelta(days=1))
        await session.commit()
    await engine.dispose()
    refreshed = await client.post("/auth/token", auth=partner,
                                  data={"grant_type": "refresh_token", "refresh_token": stolen})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "unauthorized_client"


async def test_a_refresh_asking_beyond_its_scope_does_not_use_the_token_up(client: httpx.AsyncClient) -> None:
    # Used up, the client's corrected retry looked like a replay: the family was revoked and a false alert raised.
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    tokens = (await password_grant(client, app, "reader", PASSWORD, scope="openid catalog:read")).json()

    def refresh(scope: str | None = None) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                **({"scope": scope} if scope else {})}

    beyond = await client.post("/auth/token", auth=app, data=refresh("openid catalog:read ill:request"))
    retried = await client.post("/auth/token", auth=app, data=refresh("catalog:read"))

    assert beyond.status_code == 400 and beyond.json()["error"] == "invalid_scope"
    assert retried.status_code == 200, retried.text
    assert retried.json()["scope"] == "catalog:read"
    reuse = (await client.get("/auth/audit", params={"action": "refresh-token-reuse"}, headers=admin)).json()
    assert reuse["items"] == []
