"""Signing keys over HTTP: platform admins list, rotate and purge them; nobody else may."""

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers
from .people import UNI, bearer, password_app, person, register


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def test_platform_admins_rotate_list_and_purge_keys_over_http(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    before = {k["kid"] for k in (await client.get("/auth/jwks")).json()["keys"]}
    rotated = await client.post("/auth/keys/rotate", headers=admin, params={"publish_ahead": 60})
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["new_kid"]
    assert new_kid not in before and new_kid in {k["kid"] for k in (await client.get("/auth/jwks")).json()["keys"]}
    listed = (await client.get("/auth/keys", headers=admin)).json()
    assert {k["kid"]: k["state"] for k in listed}[new_kid] == "pending"
    assert (await client.post("/auth/keys/purge", headers=admin)).json() == {"purged": 0}
    audit = (await client.get("/auth/audit", headers=admin, params={"action": "signing-key-rotated"})).json()
    assert audit["items"][0]["target"] == new_kid

    await register(client, admin, UNI)
    staff = await person(client, admin, await password_app(client, admin), UNI["code"], "keeper", ["institution-admin"])
    for method, path in (("GET", "/auth/keys"), ("POST", "/auth/keys/rotate"), ("POST", "/auth/keys/purge")):
        assert (await client.request(method, path, headers=staff)).status_code == 403
        assert (await client.request(method, path)).status_code == 401


async def test_key_rotation_refuses_a_revoked_admin_token_and_one_without_directory_admin(
        client: httpx.AsyncClient) -> None:
    kids = {k["kid"] for k in (await client.get("/auth/jwks")).json()["keys"]}
    revoked = (await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)).json()
    assert (await client.post("/auth/revoke", auth=ADMIN, data={"token": revoked["access_token"]})).status_code == 200
    narrow = await admin_headers(client, scope="catalog:read")
    for method, path in (("GET", "/auth/keys"), ("POST", "/auth/keys/rotate"), ("POST", "/auth/keys/purge")):
        refused = await client.request(method, path, headers=bearer(revoked))
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"], (path, refused.text)
        assert (await client.request(method, path, headers=narrow)).status_code == 403, path
    assert {k["kid"] for k in (await client.get("/auth/jwks")).json()["keys"]} == kids  # nothing rotated
