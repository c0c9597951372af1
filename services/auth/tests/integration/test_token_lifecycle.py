"""Revocation (RFC 7009), introspection (RFC 7662) and userinfo, with real tokens from the token endpoint."""

from pathlib import Path

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


async def setup_person(client: httpx.AsyncClient) -> tuple[dict[str, str], tuple[str, str], dict[str, str]]:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    user = await make_user(client, admin, "CN-DL-U1", "li.wei", ["patron"], email="li.wei@u1.example.edu",
                           display_name="Li Wei", pickup_location="Main Desk", language="zh")
    return admin, app, user


async def introspect(client: httpx.AsyncClient, token: str, auth: tuple[str, str] = ADMIN) -> httpx.Response:
    return await client.post("/auth/introspect", data={"token": token}, auth=auth)


async def test_revoking_a_refresh_token_ends_its_whole_family(client: httpx.AsyncClient) -> None:
    _, app, _ = await setup_person(client)
    first = await sign_in(client, app, "CN-DL-U1", "li.wei")
    second = (await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                               "refresh_token": first["refresh_token"]})).json()
    assert (await introspect(client, second["refresh_token"], app)).json()["active"] is True

    revoked = await client.post("/auth/revoke", auth=app,
                                data={"token": second["refresh_token"], "token_type_hint": "refresh_token"})
    assert revoked.status_code == 200 and revoked.headers["cache-control"] == "no-store"
    assert (await introspect(client, second["refresh_token"], app)).json() == {"active": False}
    again = await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                             "refresh_token": second["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    other_session = await sign_in(client, app, "CN-DL-U1", "li.wei")  # a new sign-in is a new family
    assert (await introspect(client, other_session["refresh_token"], app)).json()["active"] is True


async def test_a_revoked_access_token_is_refused_here_until_it_expires(client: httpx.AsyncClient) -> None:
    admin, app, _ = await setup_person(client)
    tokens = await sign_in(client, app, "CN-DL-U1", "li.wei")
    assert (await client.get("/auth/userinfo", headers=bearer(tokens))).status_code == 200
    revoked = await client.post("/auth/revoke", auth=app, data={"token": tokens["access_token"]})
    assert revoked.status_code == 200
    assert (await introspect(client, tokens["access_token"])).json() == {"active": False}
    assert (await client.get("/auth/userinfo", headers=bearer(tokens))).status_code == 401
    trail = (await client.get("/auth/audit", params={"action": "token-revoked"}, headers=admin)).json()["items"]
    assert trail[0]["detail"]["kind"] == "access_token"

    admin_tokens = (await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)).json()
    await client.post("/auth/revoke", auth=ADMIN, data={"token": admin_tokens["access_token"]})
    refused = await client.get("/auth/users", headers=bearer(admin_tokens))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


async def test_revocation_is_for_the_client_the_token_was_issued_to(client: httpx.AsyncClient) -> None:
    _, app, _ = await setup_person(client)
    tokens = await sign_in(client, app, "CN-DL-U1", "li.wei")
    for unknown in ("no-such-token", "a.b.c", ""):
        response = await client.post("/auth/revoke", auth=app, data={"token": unknown})
        assert response.status_code in (200, 400), unknown  # 400: invalid_request (an empty token is none)
    assert (await client.post("/auth/revoke", auth=app, data={"token": "no-such-token"})).status_code == 200
    anonymous = await client.post("/auth/revoke", data={"token": tokens["refresh_token"]})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    wrong = await client.post("/auth/revoke", auth=(app[0], "wrong"), data={"token": tokens["refresh_token"]})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    not_yours = await client.post("/auth/revoke", auth=ADMIN, data={"token": tokens["refresh_token"]})
    assert not_yours.status_code == 400 and not_yours.json()["error"] == "unauthorized_client"
    assert (await introspect(client, tokens["refresh_token"], app)).json()["active"] is True


async def test_introspection_tells_confidential_clients_what_a_token_grants(client: httpx.AsyncClient,
                                                                             settings: AuthSettings) -> None:
    _, app, user = await setup_person(client)
    tokens = await sign_in(client, app, "CN-DL-U1", "li.wei")
    answer = (await introspect(client, tokens["access_token"], app)).json()
    assert answer["active"] is True and answer["token_type"] == "Bearer"
    assert answer["sub"] == f"user:{user['id']}" and answer["institution"] == "CN-DL-U1"
    assert answer["client_id"] == "test-app" and answer["roles"] == ["patron"]
    assert answer["scope"] == "catalog:read ill:request openid"
    assert answer["iss"] == settings.token_issuer and answer["aud"] == settings.token_audience
    assert answer["exp"] > answer["iat"]
    refresh = (await introspect(client, tokens["refresh_token"], app)).json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert refresh["sub"] == f"user:{user['id']}"
    assert (await introspect(client, tokens["id_token"], app)).json() == {"active": False}  # not an access token
    for garbage in ("garbage", "x.y.z", "eyJhbGciOiJub25lIn0.e30."):
        assert (await introspect(client, garbage, app)).json() == {"active": False}

    web = await client.post("/auth/clients", headers=await admin_headers(client), json={
        "name": "web", "client_id": "web-app", "institution": "PLATFORM", "is_public": True,
        "redirect_uris": ["https://example.org/cb"]})
    assert web.status_code == 201
    public = await client.post("/auth/introspect", data={"token": tokens["access_token"], "client_id": "web-app"})
    assert public.status_code == 401 and public.json()["error"] == "invalid_client"
    anonymous = await client.post("/auth/introspect", data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401


async def test_userinfo_is_for_a_persons_token(client: httpx.AsyncClient) -> None:
    _, app, user = await setup_person(client)
    tokens = await sign_in(client, app, "CN-DL-U1", "li.wei")
    info = await client.get("/auth/userinfo", headers=bearer(tokens))
    assert info.status_code == 200
    assert info.json() == {"sub": f"user:{user['id']}", "institution": "CN-DL-U1", "roles": ["patron"],
                           "preferred_username": "li.wei", "locale": "zh", "name": "Li Wei",
                           "email": "li.wei@u1.example.edu", "pickup_location": "Main Desk"}
    assert (await client.post("/auth/userinfo", headers=bearer(tokens))).json() == info.json()

    anonymous = await client.get("/auth/userinfo")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_token"
    assert anonymous.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    machine = await client.get("/auth/userinfo", headers=await admin_headers(client))
    assert machine.status_code == 401
    narrow = await sign_in(client, app, "CN-DL-U1", "li.wei", scope="catalog:read")
    no_openid = await client.get("/auth/userinfo", headers=bearer(narrow))
    assert no_openid.status_code == 403 and no_openid.json()["error"] == "insufficient_scope"
