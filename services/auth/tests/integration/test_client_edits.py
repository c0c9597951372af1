"""Changing an API client after registration, by registration's own rules; and enabling a disabled one again."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bibliomesh_auth.bootstrap import create_app
from bibliomesh_auth.domain.scopes import SCOPES
from bibliomesh_auth.settings import AuthSettings
from meshkit.testing import running
from services.auth.tests.idp.signin_flow import (
    APP_CLIENT,
    APP_REDIRECT,
    PASSWORD,
    TOWN,
    add_app_client,
    add_local_user,
    answer_of,
    authorize_query,
    pkce_pair,
    redeem,
    register_institutions,
    submit_login,
)

from .conftest import ADMIN, admin_headers
from .people import OTHER, UNI, make_user, password_app, person, register, sign_in

PARTNER = {"name": "Koha at U1", "institution": "CN-DL-U1", "scopes": ["catalog:write", "ill:lend"]}
DISCOVERY = {"name": "Discovery", "institution": "PLATFORM", "is_public": True, "client_id": "discovery",
             "redirect_uris": ["https://old.example.org/callback"]}


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def _new(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post("/auth/clients", json=body, headers=headers)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def _token(client: httpx.AsyncClient, made: dict[str, Any], secret: str | None = None) -> httpx.Response:
    return await client.post("/auth/token", data={"grant_type": "client_credentials"},
                             auth=(made["client_id"], secret or made["client_secret"]))


async def _trail(client: httpx.AsyncClient, admin: dict[str, str], target: str) -> list[dict[str, Any]]:
    items = (await client.get("/auth/audit", params={"limit": 500}, headers=admin)).json()["items"]
    return [e for e in items if e["target"] == target]


async def test_a_platform_admin_changes_a_partner_clients_name_scopes_and_grants(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    made = await _new(client, admin, PARTNER)
    path = f"/auth/clients/{made['client_id']}"

    changed = await client.patch(path, headers=admin, json={
        "name": "Folio at U1", "scopes": ["catalog:read", "catalog:write", "directory:admin"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Folio at U1" and body["scopes"] == ["catalog:read", "catalog:write", "directory:admin"]
    assert body["roles"] == ["staff"] and body["grant_types"] == ["client_credentials"] and not body["disabled"]
    token = await _token(client, made)
    assert token.status_code == 200 and token.json()["scope"] == "catalog:read catalog:write directory:admin"
    assert (await client.get(path, headers=admin)).json() == body

    unchanged = await client.patch(path, headers=admin, json={"name": "Folio at U1"})
    assert unchanged.status_code == 200 and unchanged.json() == body
    no_own_tokens = await client.patch(path, headers=admin, json={"grant_types": ["password", "refresh_token"]})
    assert no_own_tokens.status_code == 200 and no_own_tokens.json()["roles"] == []  # roles are for its own tokens
    refused = await _token(client, made)
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"

    updates = [e for e in await _trail(client, admin, made["client_id"]) if e["action"] == "client-updated"]
    assert [e["detail"]["fields"] for e in updates] == [["grant_types"], ["name", "scopes"]]
    assert updates[1]["detail"]["scopes"] == ["catalog:read", "catalog:write", "directory:admin"]
    assert updates[1]["actor"] == "client:platform-admin" and updates[1]["institution"] == "CN-DL-U1"


async def test_an_institution_admin_changes_its_own_client_within_what_it_may_grant(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    boss = await person(client, admin, await password_app(client, admin), "CN-DL-U1", "boss", ["institution-admin"])
    given = await _new(client, admin, {**PARTNER, "scopes": ["catalog:read", "directory:admin"],
                                       "grant_types": ["client_credentials", "password"]})
    path = f"/auth/clients/{given['client_id']}"

    # What a platform admin gave may stay; what the institution's staff may hold may be added.
    kept = await client.patch(path, headers=boss, json={
        "name": "Renamed", "scopes": ["catalog:read", "directory:admin", "ill:lend"],
        "grant_types": ["client_credentials", "password", "refresh_token"]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["scopes"] == ["catalog:read", "directory:admin", "ill:lend"]
    assert kept.json()["grant_types"] == ["client_credentials", "password", "refresh_token"]
    dropped = await client.patch(path, headers=boss, json={"scopes": ["catalog:read"], "grant_types": [
        "client_credentials"]})
    assert dropped.status_code == 200 and dropped.json()["scopes"] == ["catalog:read"]
    for change, field in (({"scopes": ["catalog:read", "directory:admin"]}, "scopes"),
                          ({"grant_types": ["client_credentials", "password"]}, "grant_types")):
        again = await client.patch(path, headers=boss, json=change)
        assert again.status_code == 422 and again.json()["errors"][0]["field"] == field, again.text
    assert (await client.get(path, headers=boss)).json() == dropped.json()


async def test_who_may_not_change_or_enable_a_client(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])
    other_boss = await person(client, admin, app, "CN-DL-U2", "boss", ["institution-admin"])
    staff = await person(client, admin, app, "CN-DL-U1", "clerk", ["staff"])
    patron = await person(client, admin, app, "CN-DL-U1", "reader", ["patron"])
    ours = await _new(client, admin, PARTNER)
    public_of_u1 = await _new(client, admin, {**DISCOVERY, "institution": "CN-DL-U1"})
    await client.post(f"/auth/clients/{ours['client_id']}/disable", headers=admin)

    for headers, expected in ((other_boss, 403), (staff, 403), (patron, 403), ({}, 401)):
        for method, suffix in (("PATCH", ""), ("POST", "/enable")):
            refused = await client.request(method, f"/auth/clients/{ours['client_id']}{suffix}", headers=headers,
                                           json={"name": "mine now"} if method == "PATCH" else None)
            assert refused.status_code == expected, (method, suffix, refused.text)
    # Public clients and clients of the platform itself are the platform admin's, as at registration.
    await client.post(f"/auth/clients/{public_of_u1['client_id']}/disable", headers=admin)
    for client_id in (public_of_u1["client_id"], app[0]):
        refused = await client.patch(f"/auth/clients/{client_id}", headers=boss, json={"name": "mine now"})
        assert refused.status_code == 403, client_id
    not_enabled = await client.post(f"/auth/clients/{public_of_u1['client_id']}/enable", headers=boss)
    assert not_enabled.status_code == 403, not_enabled.text
    assert (await client.patch("/auth/clients/no-such-client", headers=admin, json={"name": "x"})).status_code == 404
    assert (await client.post("/auth/clients/no-such-client/enable", headers=admin)).status_code == 404
    after = (await client.get(f"/auth/clients/{ours['client_id']}", headers=admin)).json()
    assert after["name"] == PARTNER["name"] and after["disabled"]


async def test_bad_changes_are_refused_naming_the_field_and_change_nothing(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    partner = await _new(client, admin, PARTNER)
    await _new(client, admin, DISCOVERY)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (partner["client_id"], {"scopes": ["catalog:read", "root"]}, "scopes"),
        (partner["client_id"], {"scopes": []}, "scopes"),
        (partner["client_id"], {"scopes": ["NOT A SCOPE"]}, "scopes.0"),
        (partner["client_id"], {"name": ""}, "name"),
        (partner["client_id"], {"name": None}, "name"),
        (partner["client_id"], {"grant_types": ["authorization_code"]}, "grant_types"),
        (partner["client_id"], {"redirect_uris": ["https://u1.example.edu/cb"]}, "redirect_uris"),
        (partner["client_id"], {"is_public": True}, "is_public"),
        (partner["client_id"], {"institution": "CN-DL-U2"}, "institution"),
        ("discovery", {"redirect_uris": ["https://new.example.org/cb#fragment"]}, "redirect_uris.0"),
        ("discovery", {"redirect_uris": ["https://*.example.org/cb"]}, "redirect_uris.0"),
        ("discovery", {"redirect_uris": ["https://new.example.org/cb", "javascript:alert(1)"]}, "redirect_uris.1"),
        ("discovery", {"redirect_uris": []}, "redirect_uris"),
        ("discovery", {"grant_types": ["client_credentials"]}, "grant_types"),
    ]
    before = {c: (await client.get(f"/auth/clients/{c}", headers=admin)).json() for c in (partner["client_id"],
                                                                                         "discovery")}
    for client_id, change, field in cases:
        refused = await client.patch(f"/auth/clients/{client_id}", headers=admin, json=change)
        assert refused.status_code == 422, (change, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in refused.json()["errors"]}, (change, refused.json())
    for client_id, seen in before.items():
        assert (await client.get(f"/auth/clients/{client_id}", headers=admin)).json() == seen
    registered = await client.post("/auth/clients", headers=admin, json={
        **PARTNER, "redirect_uris": ["https://u1.example.edu/cb"]})
    assert registered.status_code == 422 and registered.json()["errors"][0]["field"] == "redirect_uris"


async def test_a_browser_client_moves_to_a_new_host(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await _new(client, admin, DISCOVERY)
    new = "https://new.example.org/callback"
    moved = await client.patch("/auth/clients/discovery", headers=admin, json={"redirect_uris": [new, new]})
    assert moved.status_code == 200 and moved.json()["redirect_uris"] == [new]

    def authorize(redirect_uri: str) -> dict[str, str]:
        return {"response_type": "code", "client_id": "discovery", "redirect_uri": redirect_uri, "scope": "openid",
                "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256"}

    assert (await client.get("/auth/authorize", params=authorize(new))).status_code == 200
    old = await client.get("/auth/authorize", params=authorize(DISCOVERY["redirect_uris"][0]))
    assert old.status_code == 400 and "location" not in old.headers
    (update,) = [e for e in await _trail(client, admin, "discovery") if e["action"] == "client-updated"]
    assert update["detail"]["redirect_uris"] == [new] and update["detail"]["fields"] == ["redirect_uris"]


async def test_enabling_a_disabled_client_lets_it_get_tokens_again_with_its_secret(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    boss = await person(client, admin, await password_app(client, admin), "CN-DL-U1", "boss", ["institution-admin"])
    made = await _new(client, boss, {k: v for k, v in PARTNER.items() if k != "institution"})
    path = f"/auth/clients/{made['client_id']}"
    assert (await client.post(f"{path}/disable", headers=boss)).status_code == 200
    assert (await _token(client, made)).status_code == 401

    enabled = await client.post(f"{path}/enable", headers=boss)
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert (await _token(client, made)).status_code == 200  # no new secret needed
    assert (await client.post(f"{path}/enable", headers=boss)).json()["disabled"] is False
    actions = [e["action"] for e in await _trail(client, admin, made["client_id"])]
    assert actions == ["client-enabled", "client-disabled", "client-created"]

    # A leaked secret is replaced while the client is disabled, before anything can use it again.
    await client.post(f"{path}/disable", headers=boss)
    rotated = await client.post(f"{path}/secret", headers=boss)
    assert rotated.status_code == 200 and rotated.json()["disabled"]
    await client.post(f"{path}/enable", headers=boss)
    assert (await _token(client, made)).status_code == 401
    assert (await _token(client, made, rotated.json()["client_secret"])).status_code == 200


async def test_refresh_tokens_revoked_by_a_disable_stay_revoked_after_enabling(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    before = await sign_in(client, app, "CN-DL-U1", "reader")
    await client.post(f"/auth/clients/{app[0]}/disable", headers=admin)
    assert (await client.post(f"/auth/clients/{app[0]}/enable", headers=admin)).status_code == 200

    stale = await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                             "refresh_token": before["refresh_token"]})
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    after = await sign_in(client, app, "CN-DL-U1", "reader")
    fresh = await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                             "refresh_token": after["refresh_token"]})
    assert fresh.status_code == 200, fresh.text


async def test_narrowed_scopes_reach_peoples_sessions_at_their_next_refresh(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "clerk", ["staff"])
    tokens = await sign_in(client, app, "CN-DL-U1", "clerk")
    assert "ill:lend" in tokens["scope"].split()
    narrowed = await client.patch(f"/auth/clients/{app[0]}", headers=admin,
                                  json={"scopes": sorted(set(SCOPES) - {"ill:lend"})})
    assert narrowed.status_code == 200, narrowed.text

    introspected = await client.post("/auth/introspect", auth=app, data={"token": tokens["refresh_token"]})
    assert "ill:lend" not in introspected.json()["scope"].split()
    refreshed = await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                                 "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert set(refreshed.json()["scope"].split()) == set(tokens["scope"].split()) - {"ill:lend"}
    clerk = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    access = await client.post("/auth/introspect", auth=app, data={"token": refreshed.json()["access_token"]})
    assert "ill:lend" not in access.json()["scope"].split()

    # Giving the scope back does not widen sessions that lost it: their people sign in again for it.
    await client.patch(f"/auth/clients/{app[0]}", headers=admin, json={"scopes": sorted(SCOPES)})
    again = await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                             "refresh_token": refreshed.json()["refresh_token"]})
    assert again.status_code == 200 and "ill:lend" not in again.json()["scope"].split()
    asking = await client.post("/auth/token", auth=app, data={
        "grant_type": "refresh_token", "refresh_token": again.json()["refresh_token"], "scope": "ill:lend"})
    assert asking.status_code == 400 and asking.json()["error"] == "invalid_scope"
    assert (await client.get("/auth/userinfo", headers=clerk)).status_code == 200  # access tokens run their course


async def test_taking_the_refresh_grant_away_ends_sessions_for_good(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    tokens = await sign_in(client, app, "CN-DL-U1", "reader")
    taken = await client.patch(f"/auth/clients/{app[0]}", headers=admin, json={"grant_types": ["password"]})
    assert taken.status_code == 200 and taken.json()["grant_types"] == ["password"]
    refused = await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                               "refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"

    await client.patch(f"/auth/clients/{app[0]}", headers=admin, json={"grant_types": ["password", "refresh_token"]})
    ended = await client.post("/auth/token", auth=app, data={"grant_type": "refresh_token",
                                                             "refresh_token": tokens["refresh_token"]})
    assert ended.status_code == 400 and ended.json()["error"] == "invalid_grant"


@pytest.fixture
async def auth(settings: AuthSettings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(settings=settings.model_copy(update={"public_url": "http://auth.test"}), migrate=True)
    async with running(app) as client:
        await register_institutions(client, await admin_headers(client), TOWN)
        await add_app_client(app)
        yield client, app


async def test_a_code_issued_for_a_redirect_uri_removed_since_is_refused(
        auth: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, app = auth
    await add_local_user(app, TOWN["code"], "reader")
    verifier, challenge = pkce_pair()
    page = await client.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    code = answer_of(await submit_login(client, page, "reader", PASSWORD))["code"]
    moved = await client.patch(f"/auth/clients/{APP_CLIENT}", headers=await admin_headers(client),
                               json={"redirect_uris": ["https://app.example/new-home"]})
    assert moved.status_code == 200
    refused = await redeem(client, code, verifier, redirect_uri=APP_REDIRECT)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_a_code_issued_before_a_disable_is_refused_after_enabling(
        auth: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, app = auth
    admin = await admin_headers(client)
    await add_local_user(app, TOWN["code"], "reader")
    verifier, challenge = pkce_pair()
    page = await client.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    code = answer_of(await submit_login(client, page, "reader", PASSWORD))["code"]
    assert (await client.post(f"/auth/clients/{APP_CLIENT}/disable", headers=admin)).status_code == 200
    assert (await client.post(f"/auth/clients/{APP_CLIENT}/enable", headers=admin)).status_code == 200

    refused = await redeem(client, code, verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    page = await client.get("/auth/authorize", params=authorize_query(challenge, institution=TOWN["code"]))
    fresh = answer_of(await submit_login(client, page, "reader", PASSWORD))["code"]
    assert (await redeem(client, fresh, verifier)).status_code == 200


async def test_access_tokens_issued_before_a_disable_stay_refused_after_enabling(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    robot = await _new(client, admin, {"name": "Ops robot", "institution": "PLATFORM", "client_id": "ops-robot",
                                       "scopes": ["directory:admin"]})
    robot_before = (await _token(client, robot)).json()["access_token"]
    reader_before = (await sign_in(client, app, "CN-DL-U1", "reader"))["access_token"]
    for client_id in ("ops-robot", app[0]):
        assert (await client.post(f"/auth/clients/{client_id}/disable", headers=admin)).status_code == 200
        assert (await client.post(f"/auth/clients/{client_id}/enable", headers=admin)).status_code == 200

    robot_after = (await _token(client, robot)).json()["access_token"]
    reader_after = (await sign_in(client, app, "CN-DL-U1", "reader"))["access_token"]
    for before, after in ((robot_before, robot_after), (reader_before, reader_after)):
        stale = await client.post("/auth/introspect", data={"token": before}, auth=ADMIN)
        assert stale.json() == {"active": False}
        assert (await client.post("/auth/introspect", data={"token": after}, auth=ADMIN)).json()["active"] is True
    refused = await client.get("/auth/keys", headers={"Authorization": f"Bearer {robot_before}"})
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"], refused.text
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert (await client.get("/auth/keys", headers={"Authorization": f"Bearer {robot_after}"})).status_code == 200
    assert (await client.get("/auth/userinfo", headers={"Authorization": f"Bearer {reader_before}"})).status_code == 401
    assert (await client.get("/auth/userinfo", headers={"Authorization": f"Bearer {reader_after}"})).status_code == 200
