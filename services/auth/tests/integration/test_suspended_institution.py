"""A suspended institution's people and API clients get no new tokens at the token endpoint, by any grant, until it
is reinstated; each refusal is in OAuth's error format and in the audit trail."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers
from .people import OTHER, PASSWORD, UNI, make_user, password_app, register, sign_in


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def suspend(client: httpx.AsyncClient, admin: dict[str, str], code: str) -> None:
    response = await client.post(f"/auth/institutions/{code}/suspend", headers=admin, json={"reason": "unpaid"})
    assert response.status_code == 200 and response.json()["status"] == "suspended", response.text


async def reinstate(client: httpx.AsyncClient, admin: dict[str, str], code: str) -> None:
    response = await client.post(f"/auth/institutions/{code}/reinstate", headers=admin)
    assert response.status_code == 200 and response.json()["status"] == "active", response.text


async def refusals(client: httpx.AsyncClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    trail = await client.get("/auth/audit", params={"action": "token-refused"}, headers=admin)
    assert trail.status_code == 200, trail.text
    items: list[dict[str, Any]] = trail.json()["items"]
    return items


def password_grant(username: str, institution: str = "CN-DL-U1", password: str = PASSWORD) -> dict[str, str]:
    return {"grant_type": "password", "institution": institution, "username": username, "password": password}


async def test_a_suspended_institutions_people_get_no_tokens_by_the_password_grant(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    await make_user(client, admin, "CN-DL-U2", "neighbour", ["patron"])
    await suspend(client, admin, "CN-DL-U1")

    refused = await client.post("/auth/token", auth=app, data=password_grant("reader"))
    wrong_password = await client.post("/auth/token", auth=app, data=password_grant("reader", password="nope"))

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert "suspended" in refused.json()["error_description"]
    assert refused.headers["cache-control"] == "no-store"
    assert wrong_password.json() == refused.json()  # refused before the password is looked at
    (entry, _again) = await refusals(client, admin)
    assert (entry["outcome"], entry["institution"], entry["actor"]) == ("refused", "CN-DL-U1", "CN-DL-U1/reader")
    assert entry["detail"]["grant"] == "password" and entry["detail"]["client"] == app[0]
    logins = (await client.get("/auth/audit", params={"action": "login"}, headers=admin)).json()["items"]
    assert [e for e in logins if e["actor"] == "CN-DL-U1/reader"] == []  # no failure counted against the account
    assert (await client.post("/auth/token", auth=app, data=password_grant("neighbour", "CN-DL-U2"))).status_code == 200

    await reinstate(client, admin, "CN-DL-U1")
    assert (await client.post("/auth/token", auth=app, data=password_grant("reader"))).status_code == 200


async def test_a_refresh_is_refused_while_suspended_and_works_again_once_reinstated(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    tokens = await sign_in(client, app, "CN-DL-U1", "reader")
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    await suspend(client, admin, "CN-DL-U1")

    refused = await client.post("/auth/token", auth=app, data=refresh)

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert "suspended" in refused.json()["error_description"]
    (entry,) = await refusals(client, admin)
    assert entry["detail"]["grant"] == "refresh_token" and entry["institution"] == "CN-DL-U1"
    # Not used up: the person's session goes on once the institution is back.
    await reinstate(client, admin, "CN-DL-U1")
    assert (await client.post("/auth/token", auth=app, data=refresh)).status_code == 200
    reuse = (await client.get("/auth/audit", params={"action": "refresh-token-reuse"}, headers=admin)).json()
    assert reuse["items"] == []


async def test_a_suspended_institutions_api_client_gets_no_token_of_its_own(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    made = await client.post("/auth/clients", headers=admin, json={
        "name": "Koha at U1", "institution": "CN-DL-U1", "scopes": ["catalog:read"]})
    assert made.status_code == 201, made.text
    koha = (made.json()["client_id"], made.json()["client_secret"])
    assert (await client.post("/auth/token", auth=koha, data={"grant_type": "client_credentials"})).status_code == 200
    await suspend(client, admin, "CN-DL-U1")

    refused = await client.post("/auth/token", auth=koha, data={"grant_type": "client_credentials"})

    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client", refused.text
    assert "suspended" in refused.json()["error_description"]
    (entry,) = await refusals(client, admin)
    assert (entry["actor"], entry["institution"]) == (f"client:{koha[0]}", "CN-DL-U1")
    assert entry["detail"]["grant"] == "client_credentials"
    await suspend(client, admin, "CN-DL-U2")  # the platform's own clients still work
    assert (await client.post("/auth/token", auth=ADMIN, data={"grant_type": "client_credentials"})).status_code == 200
