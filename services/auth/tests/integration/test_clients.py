"""API clients: partner systems get a secret once and at most their staff's scopes; browser apps are public."""

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bibliomesh_auth.cli import commands
from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers
from .people import OTHER, UNI, password_app, person, register

PARTNER = {"name": "Koha at U1", "scopes": ["catalog:write", "ill:lend"]}


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def token_for(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


async def test_an_institution_admin_registers_a_partner_system_and_sees_its_secret_once(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])

    created = await client.post("/auth/clients", json=PARTNER, headers=boss)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["institution"] == "CN-DL-U1" and body["roles"] == ["staff"] and body["client_secret"]
    assert body["grant_types"] == ["client_credentials"] and not body["is_public"]
    token = await token_for(client, body["client_id"], body["client_secret"])
    assert token.status_code == 200 and token.json()["scope"] == "catalog:write ill:lend"

    listed = await client.get("/auth/clients", headers=boss)
    assert [c["client_id"] for c in listed.json()] == [body["client_id"]]
    assert "secret" not in listed.text and "argon2" not in listed.text
    one = await client.get(f"/auth/clients/{body['client_id']}", headers=boss)
    assert one.status_code == 200 and "client_secret" not in one.json()

    rotated = await client.post(f"/auth/clients/{body['client_id']}/secret", headers=boss)
    assert rotated.status_code == 200 and rotated.json()["client_secret"] != body["client_secret"]
    assert (await token_for(client, body["client_id"], body["client_secret"])).status_code == 401
    assert (await token_for(client, body["client_id"], rotated.json()["client_secret"])).status_code == 200

    disabled = await client.post(f"/auth/clients/{body['client_id']}/disable", headers=boss)
    assert disabled.status_code == 200 and disabled.json()["disabled"]
    assert (await token_for(client, body["client_id"], rotated.json()["client_secret"])).status_code == 401

    trail = (await client.get("/auth/audit", params={"institution": "CN-DL-U1"}, headers=boss)).json()["items"]
    actions = [e["action"] for e in trail if e["target"] == body["client_id"]]
    assert actions == ["client-disabled", "client-secret-rotated", "client-created"]


async def test_what_an_institution_admin_may_not_give_or_touch(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])
    patron = await person(client, admin, app, "CN-DL-U1", "reader", ["patron"])
    theirs = (await client.post("/auth/clients", json={**PARTNER, "institution": "CN-DL-U2"}, headers=admin)).json()

    directory = await client.post("/auth/clients", json={**PARTNER, "scopes": ["directory:admin"]}, headers=boss)
    assert directory.status_code == 422 and directory.json()["errors"][0]["field"] == "scopes"
    public = await client.post("/auth/clients", headers=boss, json={
        "name": "web", "is_public": True, "redirect_uris": ["https://u1.example.edu/cb"]})
    assert public.status_code == 403
    password = await client.post("/auth/clients", json={**PARTNER, "grant_types": ["password"]}, headers=boss)
    assert password.status_code == 422 and password.json()["errors"][0]["field"] == "grant_types"
    assert (await client.post("/auth/clients", json={**PARTNER, "institution": "CN-DL-U2"},
                              headers=boss)).status_code == 403
    assert (await client.get(f"/auth/clients/{theirs['client_id']}", headers=boss)).status_code == 403
    assert (await client.post(f"/auth/clients/{theirs['client_id']}/disable", headers=boss)).status_code == 403
    assert (await client.post("/auth/clients", json=PARTNER, headers=patron)).status_code == 403
    assert (await client.get("/auth/clients", headers=patron)).status_code == 403
    platform = await client.post("/auth/clients", json={**PARTNER, "institution": "PLATFORM"}, headers=boss)
    assert platform.status_code == 403

    by_platform = await client.post("/auth/clients", json={**PARTNER, "scopes": ["catalog:read", "directory:admin"]},
                                    headers=admin)
    assert by_platform.status_code == 422  # a platform admin names the institution: no platform client by accident
    assert by_platform.json()["errors"][0]["field"] == "institution"
    granted = await client.post("/auth/clients", json={**PARTNER, "institution": "CN-DL-U1",
                                                       "scopes": ["catalog:read", "directory:admin"]}, headers=admin)
    assert granted.status_code == 201


async def test_a_platform_admin_registers_a_public_browser_client(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    web = {"name": "Bibliomesh web", "client_id": "web-app", "institution": "PLATFORM", "is_public": True,
           "redirect_uris": ["https://bibliomesh.example.org/callback", "http://127.0.0.1:8000/callback"]}
    created = await client.post("/auth/clients", json=web, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_secret"] is None and body["is_public"] and body["roles"] == []
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["redirect_uris"] == web["redirect_uris"]
    assert (await client.post("/auth/clients", json=web, headers=admin)).status_code == 409
    cannot = await client.post("/auth/token", data={"grant_type": "client_credentials", "client_id": "web-app"})
    assert cannot.status_code == 400 and cannot.json()["error"] == "unauthorized_client"
    rotate = await client.post("/auth/clients/web-app/secret", headers=admin)
    assert rotate.status_code == 409

    for uris, field in ((["https://x.example.org/cb#frag"], "redirect_uris.0"), (["javascript:alert(1)"],
                        "redirect_uris.0"), ([], "redirect_uris"), (["https://*.example.org/cb"], "redirect_uris.0")):
        refused = await client.post("/auth/clients", json={**web, "client_id": "web-two", "redirect_uris": uris},
                                    headers=admin)
        assert refused.status_code == 422, uris
        assert refused.json()["errors"][0]["field"] == field
    reserved = await client.post("/auth/clients", json={**web, "client_id": "bibliomesh"}, headers=admin)
    assert reserved.status_code == 422 and reserved.json()["errors"][0]["field"] == "client_id"


async def test_the_cli_registers_a_client_and_prints_its_secret_once(client: httpx.AsyncClient,
                                                                     settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    runner = CliRunner()
    env = {"DATA_DIR": str(settings.data_dir), "AUTH_DATABASE_URL": settings.effective_database_url()}
    result = await asyncio.to_thread(runner.invoke, commands, [
        "create-client", "--institution", "CN-DL-U1", "--name", "Folio", "--scope", "catalog:write",
        "--scope", "catalog:read"], env=env)
    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    token = await token_for(client, lines["client_id"], lines["client_secret"])
    assert token.status_code == 200 and token.json()["scope"] == "catalog:read catalog:write"
    listed = (await client.get("/auth/clients", params={"institution": "CN-DL-U1"}, headers=admin)).json()
    assert [c["created_by"] for c in listed] == ["operator:cli"]

    refused = await asyncio.to_thread(runner.invoke, commands, [
        "create-client", "--institution", "CN-DL-U1", "--name", "Bad", "--scope", "root"], env=env)
    assert refused.exit_code == 1 and "unknown scope" in refused.stderr


async def test_the_cli_registers_the_web_front_end_as_a_public_client(client: httpx.AsyncClient,
                                                                      settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    runner = CliRunner()
    env = {"DATA_DIR": str(settings.data_dir), "AUTH_DATABASE_URL": settings.effective_database_url()}
    callback = "https://library.example.org/callback"
    result = await asyncio.to_thread(runner.invoke, commands, [
        "create-client", "--public", "--client-id", "bibliomesh-web", "--name", "Bibliomesh web front end",
        "--redirect-uri", callback], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["client_id=bibliomesh-web"]
    web = (await client.get("/auth/clients/bibliomesh-web", headers=admin)).json()
    assert web["is_public"] and web["institution"] == "PLATFORM" and web["redirect_uris"] == [callback]
    assert web["grant_types"] == ["authorization_code", "refresh_token"] and web["created_by"] == "operator:cli"
    page = await client.get("/auth/authorize", params={
        "response_type": "code", "client_id": "bibliomesh-web", "redirect_uri": callback, "scope": "openid",
        "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"})
    assert page.status_code == 200, page.headers.get("location")

    again = await asyncio.to_thread(runner.invoke, commands, [
        "create-client", "--public", "--client-id", "bibliomesh-web", "--name", "again", "--redirect-uri", callback],
        env=env)
    assert again.exit_code == 1 and "already exists" in again.stderr
    no_redirect = await asyncio.to_thread(runner.invoke, commands, [
        "create-client", "--public", "--client-id", "web-two", "--name", "web"], env=env)
    assert no_redirect.exit_code == 1 and "redirect URI" in no_redirect.stderr
    confidential = await asyncio.to_thread(runner.invoke, commands, [
        "create-client", "--name", "web", "--redirect-uri", callback], env=env)
    assert confidential.exit_code == 1 and "--public" in confidential.stderr


async def test_a_disabled_clients_access_token_is_refused_at_once(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    platform = {"name": "Ops robot", "institution": "PLATFORM", "scopes": ["directory:admin"]}
    robot = (await client.post("/auth/clients", json={**platform, "client_id": "ops-robot"}, headers=admin)).json()
    spare = (await client.post("/auth/clients", json={**platform, "client_id": "ops-spare"}, headers=admin)).json()
    robot_token = (await token_for(client, "ops-robot", robot["client_secret"])).json()["access_token"]
    spare_token = (await token_for(client, "ops-spare", spare["client_secret"])).json()["access_token"]
    robot_headers = {"Authorization": f"Bearer {robot_token}"}
    spare_headers = {"Authorization": f"Bearer {spare_token}"}
    assert (await client.post("/auth/keys/rotate", headers=robot_headers)).status_code == 200

    assert (await client.post("/auth/clients/ops-robot/disable", headers=admin)).status_code == 200
    for method, path, body in (("POST", "/auth/keys/rotate", None), ("GET", "/auth/keys", None),
                               ("POST", "/auth/institutions", UNI)):
        refused = await client.request(method, path, headers=robot_headers, json=body)
        assert refused.status_code == 401 and "disabled" in refused.json()["detail"], (path, refused.text)
        assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    introspected = await client.post("/auth/introspect", data={"token": robot_token}, auth=ADMIN)
    assert introspected.json() == {"active": False}

    assert (await client.post("/auth/keys/rotate", headers=spare_headers)).status_code == 200
    assert (await client.post("/auth/institutions", json=UNI, headers=spare_headers)).status_code == 201
    assert (await client.post("/auth/introspect", data={"token": spare_token}, auth=ADMIN)).json()["active"] is True


async def test_an_empty_list_of_grant_types_is_refused_not_taken_for_the_default(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    refused = await client.post("/auth/clients", headers=admin, json={
        "name": "No grants", "institution": "CN-DL-U1", "scopes": ["catalog:read"], "grant_types": []})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "grant_types"
