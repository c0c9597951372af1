"""Who learns what a token is (RFC 7662 §2.1, §4): a refresh token only to the client it was issued to; an access
token to that client and to the platform's own confidential clients (its resource servers). Anyone else is told
`{"active": false}`, as for a token that does not exist."""

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers
from .people import OTHER, UNI, make_user, password_app, register, sign_in

INACTIVE = {"active": False}


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def partner_client(client: httpx.AsyncClient, admin: dict[str, str], institution: str) -> tuple[str, str]:
    made = await client.post("/auth/clients", headers=admin, json={
        "name": f"Koha at {institution}", "institution": institution, "scopes": ["catalog:read"]})
    assert made.status_code == 201, made.text
    return made.json()["client_id"], made.json()["client_secret"]


async def introspect(client: httpx.AsyncClient, token: str, auth: tuple[str, str]) -> dict[str, object]:
    response = await client.post("/auth/introspect", data={"token": token}, auth=auth)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer: dict[str, object] = response.json()
    return answer


async def test_a_refresh_token_is_described_only_to_the_client_it_was_issued_to(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    partner, neighbour = await partner_client(client, admin, "CN-DL-U1"), await partner_client(client, admin,
                                                                                                "CN-DL-U2")
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    tokens = await sign_in(client, app, "CN-DL-U1", "reader")

    own = await introspect(client, tokens["refresh_token"], app)

    assert own["active"] is True and own["client_id"] == app[0]
    for other in (ADMIN, partner, neighbour):  # the platform's own client included
        assert await introspect(client, tokens["refresh_token"], other) == INACTIVE, other[0]


async def test_an_access_token_is_described_to_its_client_and_the_platforms_resource_servers_only(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    partner, neighbour = await partner_client(client, admin, "CN-DL-U1"), await partner_client(client, admin,
                                                                                                "CN-DL-U2")
    resource_server = await client.post("/auth/clients", headers=admin, json={
        "name": "A platform resource server", "institution": "PLATFORM", "scopes": ["catalog:read"]})
    assert resource_server.status_code == 201, resource_server.text
    platform_service = (resource_server.json()["client_id"], resource_server.json()["client_secret"])
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    person = (await sign_in(client, app, "CN-DL-U1", "reader"))["access_token"]
    partners_own = (await client.post("/auth/token", auth=partner,
                                      data={"grant_type": "client_credentials"})).json()["access_token"]

    for caller in (app, ADMIN, platform_service):
        answer = await introspect(client, person, caller)
        assert answer["active"] is True and answer["client_id"] == app[0], caller[0]
    for caller in (partner, neighbour):  # not theirs, and they are no resource server for it
        assert await introspect(client, person, caller) == INACTIVE, caller[0]
    assert (await introspect(client, partners_own, partner))["active"] is True
    assert await introspect(client, partners_own, neighbour) == INACTIVE
    assert (await introspect(client, partners_own, ADMIN))["active"] is True
