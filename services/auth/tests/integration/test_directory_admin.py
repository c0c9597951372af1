"""Institution admins edit their own institution with real tokens; ISO 18626 peers get credentials."""

import json
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from pydantic import SecretStr

from bibliomesh_auth.adapters.tables import messaging
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine
from meshkit.testing import eventually

from .conftest import ADMIN, admin_headers
from .people import OTHER, UNI, bearer, make_user, password_app, person, register, sign_in

PEER = {"code": "DE-KOHA-1", "name_en": "A Koha library abroad", "kind": "external-peer", "open_sharing": True,
        "iso18626": {"endpoint_url": "https://koha.example.de/iso18626", "schema_version": "2021"}}


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def published(settings: AuthSettings) -> list[dict]:
    engine = create_engine(settings.effective_database_url())
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(messaging.outbox.c.body).order_by(messaging.outbox.c.id))).all()
    await engine.dispose()
    return [json.loads(r.body) for r in rows]


async def test_an_institution_admin_edits_their_own_institution_only(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])
    patron = await person(client, admin, app, "CN-DL-U1", "reader", ["patron"])
    staff = await person(client, admin, app, "CN-DL-U1", "clerk", ["staff"])

    own = await client.patch("/auth/institutions/CN-DL-U1", headers=boss,
                             json={"pickup_locations": ["Main Desk", "Night Desk"], "ill_email": "ill@u1.example.edu"})
    assert own.status_code == 200, own.text
    assert own.json()["pickup_locations"] == ["Main Desk", "Night Desk"] and own.json()["version"] == 2
    other = await client.patch("/auth/institutions/CN-DL-U2", headers=boss, json={"name_en": "Mine now"})
    assert other.status_code == 403
    regions = await client.patch("/auth/institutions/CN-DL-U1", headers=boss, json={"regions": ["ELSEWHERE"]})
    assert regions.status_code == 403  # set by the platform admin
    for outsider in (patron, staff):
        refused = await client.patch("/auth/institutions/CN-DL-U1", headers=outsider, json={"name_en": "Hijacked"})
        assert refused.status_code == 403
    suspend = await client.post("/auth/institutions/CN-DL-U1/suspend", headers=boss, json={})
    assert suspend.status_code == 403
    current = (await client.get("/auth/institutions/CN-DL-U1")).json()
    assert current["name_en"] == UNI["name_en"] and current["version"] == 2


async def test_directory_changes_refuse_tokens_of_disabled_people_and_revoked_tokens(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    boss = await make_user(client, admin, "CN-DL-U1", "boss", ["institution-admin"])
    still_valid = bearer(await sign_in(client, app, "CN-DL-U1", "boss"))
    assert (await client.post(f"/auth/users/{boss['id']}/disable", headers=admin)).status_code == 200
    refused = await client.patch("/auth/institutions/CN-DL-U1", headers=still_valid, json={"name_en": "Hijacked"})
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"], refused.text

    tokens = (await client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)).json()
    await client.post("/auth/revoke", auth=ADMIN, data={"token": tokens["access_token"]})
    revoked = bearer(tokens)
    for method, path, body in (("POST", "/auth/institutions", OTHER),
                               ("PATCH", "/auth/institutions/CN-DL-U1", {"name_en": "X"}),
                               ("POST", "/auth/institutions/CN-DL-U1/suspend", {}),
                               ("POST", "/auth/institutions/CN-DL-U1/reinstate", None)):
        assert (await client.request(method, path, headers=revoked, json=body)).status_code == 401, path
    current = (await client.get("/auth/institutions/CN-DL-U1")).json()
    assert (current["name_en"], current["status"], current["version"]) == (UNI["name_en"], "active", 1)
    assert (await client.get("/auth/institutions/CN-DL-U2")).status_code == 404


async def test_a_platform_admin_issues_peer_credentials_published_only_as_a_hash(
        client: httpx.AsyncClient, settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, PEER)
    issued = await client.post("/auth/institutions/DE-KOHA-1/peer-credentials", headers=admin)
    assert issued.status_code == 201, issued.text
    secret = issued.json()["secret"]
    stored_hash = issued.json()["institution"]["iso18626"]["credential_hash"]
    assert stored_hash.startswith("$argon2id$") and secret not in stored_hash

    event = (await published(settings))[-1]
    assert event["type"] == "directory.institution.updated"
    assert event["payload"]["changed_fields"] == ["iso18626"]
    assert PasswordHasher().verify(event["payload"]["institution"]["iso18626"]["credential_hash"], secret)
    assert secret not in json.dumps(await published(settings))

    moved = await client.patch("/auth/institutions/DE-KOHA-1", headers=admin, json={"iso18626": {
        "endpoint_url": "https://koha2.example.de/iso18626", "schema_version": "2021", "credential_hash": "forged"}})
    assert moved.status_code == 200
    assert moved.json()["iso18626"]["credential_hash"] == stored_hash  # an endpoint edit keeps the credential
    public = (await client.get("/auth/institutions/DE-KOHA-1")).json()
    assert public["iso18626"]["credential_hash"] is None  # the public directory does not show it

    again = (await client.post("/auth/institutions/DE-KOHA-1/peer-credentials", headers=admin)).json()
    assert again["secret"] != secret and again["institution"]["iso18626"]["credential_hash"] != stored_hash
    assert (await client.post("/auth/institutions/CN-DL-U1/peer-credentials", headers=admin)).status_code == 409
    assert (await client.post("/auth/institutions/XX-NONE/peer-credentials", headers=admin)).status_code == 404
    narrow = await admin_headers(client, scope="catalog:read")
    assert (await client.post("/auth/institutions/DE-KOHA-1/peer-credentials", headers=narrow)).status_code == 403
    trail = (await client.get("/auth/audit", params={"action": "peer-credentials-issued"}, headers=admin)).json()
    assert [e["detail"]["replaced"] for e in trail["items"]] == [True, False]


async def all_published(settings: AuthSettings) -> bool:
    engine = create_engine(settings.effective_database_url())
    async with engine.connect() as conn:
        pending = await conn.scalar(sa.select(sa.func.count()).select_from(messaging.outbox)
                                    .where(messaging.outbox.c.published_at.is_(None)))
    await engine.dispose()
    return pending == 0


async def test_an_institution_admin_cannot_issue_peer_credentials(client: httpx.AsyncClient,
                                                                  settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, PEER)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])
    assert (await client.post("/auth/institutions/DE-KOHA-1/peer-credentials", headers=boss)).status_code == 403
    created = await client.post("/auth/institutions", headers=admin, json={
        **PEER, "code": "DE-KOHA-2", "iso18626": {**PEER["iso18626"], "credential_hash": "chosen-by-caller"}})
    assert created.status_code == 201 and created.json()["iso18626"]["credential_hash"] is None
    # Let the relay publish before the app stops: meshkit's relay can miss its cancellation if stopped mid-publish.
    await eventually(lambda: all_published(settings))


async def test_a_pickup_location_that_accounts_use_cannot_be_removed(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, {**UNI, "pickup_locations": ["Main Desk", "Science Desk", "Night Desk"]})
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])
    first = await make_user(client, admin, "CN-DL-U1", "reader.one", ["patron"], pickup_location="Science Desk")
    await make_user(client, admin, "CN-DL-U1", "reader.two", ["patron"], pickup_location="Science Desk")
    await make_user(client, admin, "CN-DL-U1", "reader.three", ["patron"], pickup_location="Night Desk")

    refused = await client.patch("/auth/institutions/CN-DL-U1", headers=boss,
                                 json={"pickup_locations": ["Main Desk", "Science Library"]})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["in_use"] == {"Night Desk": 1, "Science Desk": 2}
    assert "Science Desk (2 accounts)" in problem["detail"] and "Night Desk (1 account)" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["pickup_locations"]
    assert (await client.get("/auth/institutions/CN-DL-U1")).json()["version"] == 1

    moved = await client.patch(f"/auth/users/{first['id']}", headers=boss,
                               json={"version": first["version"], "pickup_location": "Main Desk"})
    assert moved.status_code == 200, moved.text
    still = await client.patch("/auth/institutions/CN-DL-U1", headers=boss,
                               json={"pickup_locations": ["Main Desk", "Night Desk"]})
    assert still.status_code == 409 and still.json()["in_use"] == {"Science Desk": 1}, still.text
    added = await client.patch("/auth/institutions/CN-DL-U1", headers=boss,
                               json={"pickup_locations": ["Main Desk", "Science Desk", "Night Desk", "Annex"]})
    assert added.status_code == 200 and added.json()["version"] == 2, added.text
    unused = await client.patch("/auth/institutions/CN-DL-U1", headers=boss,
                                json={"pickup_locations": ["Night Desk", "Science Desk", "Main Desk"]})
    assert unused.status_code == 200 and unused.json()["version"] == 3, unused.text


async def test_if_match_applies_a_change_only_to_the_version_read(client: httpx.AsyncClient) -> None:
    # Two admins read the institution; the second one's change must not silently undo the first one's.
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    read = await client.get("/auth/institutions/CN-DL-U1")
    tag = read.headers["etag"]
    assert tag == f'"{read.json()["version"]}"'
    first = await client.patch("/auth/institutions/CN-DL-U1", headers={**admin, "If-Match": tag},
                               json={"ill_email": "ill@u1.example.edu"})
    assert first.status_code == 200 and first.headers["etag"] == f'"{first.json()["version"]}"'
    stale = await client.patch("/auth/institutions/CN-DL-U1", headers={**admin, "If-Match": tag},
                               json={"ill_email": "other@u1.example.edu"})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current_version"] == first.json()["version"]
    for malformed in ("3", 'W/"3"', '"three"', '"1", "2"'):
        refused = await client.patch("/auth/institutions/CN-DL-U1", headers={**admin, "If-Match": malformed},
                                     json={"ill_email": "other@u1.example.edu"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "If-Match", malformed
    assert (await client.get("/auth/institutions/CN-DL-U1")).json()["ill_email"] == "ill@u1.example.edu"
    anyway = await client.patch("/auth/institutions/CN-DL-U1", headers={**admin, "If-Match": "*"},
                                json={"ill_email": "other@u1.example.edu"})
    assert anyway.status_code == 200  # `*`, like no If-Match: whatever version it is at
