"""A caller without the right gets 403 whatever the body or query: authorization is decided before validation."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers
from .people import UNI, bearer, make_user, password_app, register, sign_in


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def test_suspending_without_a_body_is_refused_with_403_to_a_caller_who_may_not_suspend(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "boss", ["institution-admin"])
    boss = bearer(await sign_in(client, app, "CN-DL-U1", "boss"))

    refused = await client.post("/auth/institutions/CN-DL-U1/suspend", headers=boss)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    invalid = await client.post("/auth/institutions/CN-DL-U1/suspend", headers=boss, json={"reason": 7, "x": 1})
    assert invalid.status_code == 403, invalid.text
    assert (await client.post("/auth/institutions/CN-DL-U1/suspend")).status_code == 401
    assert (await client.post("/auth/institutions/CN-DL-U1/suspend", headers=admin)).status_code == 422
    assert (await client.get("/auth/institutions/CN-DL-U1")).json()["status"] == "active"


async def caller(client: httpx.AsyncClient, admin: dict[str, str], who: str) -> dict[str, str]:
    if who == "client":
        return await admin_headers(client, scope="catalog:read")  # an API client's token, not a person's
    app = await password_app(client, admin)
    if who == "boss":
        await make_user(client, admin, "CN-DL-U1", "boss", ["institution-admin"])
    return bearer(await sign_in(client, app, "CN-DL-U1", "boss" if who == "boss" else "reader"))


async def partner_of_u1(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    made = await client.post("/auth/clients", headers=admin, json={
        "name": "Koha at U1", "institution": "CN-DL-U1", "scopes": ["catalog:read"]})
    client_id: str = made.json()["client_id"]
    return client_id


# Each: who calls, and a request whose body or query is missing or invalid. `{reader}` and `{client}` name an account
# and an API client of CN-DL-U1.
REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("boss", "POST", "/auth/institutions", {}),
    ("boss", "PATCH", "/auth/institutions/CN-DL-U2", {"json": {"name_en": ""}}),
    ("patron", "PATCH", "/auth/institutions/CN-DL-U1", {}),
    ("patron", "PUT", "/auth/institutions/CN-DL-U1/identity-provider", {}),
    ("patron", "POST", "/auth/clients", {}),
    ("patron", "GET", "/auth/clients", {"params": {"institution": "X" * 65}}),
    ("patron", "PATCH", "/auth/clients/{client}", {"json": {"scopes": "catalog:read"}}),
    ("patron", "POST", "/auth/users", {}),
    ("patron", "GET", "/auth/users", {"params": {"limit": 0}}),
    ("patron", "PATCH", "/auth/users/{reader}", {"json": {"roles": []}}),
    ("patron", "POST", "/auth/users/import", {"content": b"\xffusername", "headers": {"content-type": "text/csv"}}),
    ("client", "POST", "/auth/users/me/password", {}),
    ("patron", "GET", "/auth/audit", {"params": {"limit": 0}}),
    ("boss", "POST", "/auth/keys/rotate", {"params": {"publish_ahead": -1}}),
]


@pytest.mark.parametrize(("who", "method", "path", "request_parts"), REQUESTS,
                         ids=[f"{method} {path}" for _, method, path, _ in REQUESTS])
async def test_a_caller_without_the_right_gets_403_before_any_validation_error(
        client: httpx.AsyncClient, who: str, method: str, path: str, request_parts: dict[str, Any]) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    reader = await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    url = path.format(reader=reader["id"], client=await partner_of_u1(client, admin) if "{client}" in path else "")
    headers = {**await caller(client, admin, who), **request_parts.get("headers", {})}
    parts = {k: v for k, v in request_parts.items() if k != "headers"}

    refused = await client.request(method, url, headers=headers, **parts)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"


async def test_introspection_and_revocation_refuse_the_client_before_asking_for_the_token(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    browser = await client.post("/auth/clients", headers=admin, json={
        "name": "Discovery", "institution": "PLATFORM", "is_public": True, "client_id": "discovery",
        "redirect_uris": ["https://discovery.example.org/callback"]})
    assert browser.status_code == 201, browser.text

    for path in ("/auth/introspect", "/auth/revoke"):
        anonymous = await client.post(path, data={})
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client", anonymous.text
        wrong = await client.post(path, data={}, auth=(ADMIN[0], "not-the-secret"))
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client", wrong.text
        missing = await client.post(path, data={}, auth=ADMIN)
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request", missing.text
    public = await client.post("/auth/introspect", data={"client_id": "discovery"})
    assert public.status_code == 401 and public.json()["error"] == "invalid_client", public.text
