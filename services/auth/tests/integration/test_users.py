"""Local accounts: who may manage whom, the rules every account obeys, and what disabling one does."""

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from bibliomesh_auth.adapters.tables import users
from bibliomesh_auth.adapters.user_repository import UserRepository
from bibliomesh_auth.settings import AuthSettings
from meshkit.db import create_engine, session_factory

from .conftest import ADMIN, admin_headers
from .people import OTHER, PASSWORD, UNI, bearer, make_user, password_app, person, register, sign_in


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def test_an_institution_admin_manages_accounts_of_their_own_institution(client: httpx.AsyncClient,
                                                                              settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])

    created = await client.post("/auth/users", headers=boss, json={
        "username": "li.wei", "email": "li.wei@u1.example.edu", "display_name": "Li Wei", "roles": ["patron"],
        "pickup_location": "Science Desk", "language": "zh", "password": PASSWORD})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["institution"] == "CN-DL-U1" and body["version"] == 1 and body["has_password"]
    assert "password" not in body and "password_hash" not in body

    engine = create_engine(settings.effective_database_url())
    async with engine.connect() as conn:
        stored = await conn.scalar(sa.select(users.c.password_hash).where(users.c.id == body["id"]))
    await engine.dispose()
    assert stored.startswith("$argon2id$")

    tokens = await sign_in(client, app, "CN-DL-U1", "li.wei")  # the new person can sign in
    assert tokens["scope"].split() == ["catalog:read", "ill:request", "openid"]

    await make_user(client, boss, "CN-DL-U1", "zhang.min", ["staff"])
    staff_only = (await client.get("/auth/users", params={"role": "staff"}, headers=boss)).json()
    assert [u["username"] for u in staff_only["items"]] == ["zhang.min"]
    found = (await client.get("/auth/users", params={"q": "LI WEI"}, headers=boss)).json()
    assert [u["username"] for u in found["items"]] == ["li.wei"]
    first = (await client.get("/auth/users", params={"limit": 2}, headers=boss)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = (await client.get("/auth/users", params={"limit": 2, "offset": 2}, headers=boss)).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None

    one = await client.get(f"/auth/users/{body['id']}", headers=boss)
    assert one.status_code == 200 and one.json()["pickup_location"] == "Science Desk"


async def test_changes_use_the_version_read_and_a_stale_one_is_a_409(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    user = await make_user(client, admin, "CN-DL-U1", "li.wei", ["patron"])
    changed = await client.patch(f"/auth/users/{user['id']}", headers=admin,
                                 json={"version": 1, "display_name": "Li Wei", "roles": ["patron", "staff"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.json()["roles"] == ["patron", "staff"]
    stale = await client.patch(f"/auth/users/{user['id']}", headers=admin, json={"version": 1, "language": "zh"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    current = (await client.get(f"/auth/users/{user['id']}", headers=admin)).json()
    assert current["language"] == "en" and current["display_name"] == "Li Wei"  # nothing silently overwritten


async def test_disabling_ends_sessions_and_refuses_the_persons_tokens(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    user = await make_user(client, admin, "CN-DL-U1", "li.wei", ["patron"])
    tokens = await sign_in(client, app, "CN-DL-U1", "li.wei")
    assert (await client.get("/auth/userinfo", headers=bearer(tokens))).status_code == 200

    disabled = await client.post(f"/auth/users/{user['id']}/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"

    refreshed = await client.post("/auth/token", auth=app,
                                  data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert (await client.get("/auth/userinfo", headers=bearer(tokens))).status_code == 401
    login = await client.post("/auth/token", auth=app, data={"grant_type": "password", "institution": "CN-DL-U1",
                                                             "username": "li.wei", "password": PASSWORD})
    assert login.status_code == 400

    enabled = await client.post(f"/auth/users/{user['id']}/enable", headers=admin)
    assert enabled.json()["status"] == "active"
    assert (await sign_in(client, app, "CN-DL-U1", "li.wei"))["access_token"]


async def test_tokens_from_before_a_disable_stay_refused_once_the_person_is_enabled_again(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    user = await make_user(client, admin, "CN-DL-U1", "boss", ["institution-admin"])
    old = bearer(await sign_in(client, app, "CN-DL-U1", "boss"))
    assert (await client.get("/auth/users", headers=old)).status_code == 200

    await client.post(f"/auth/users/{user['id']}/disable", headers=admin)
    enabled = await client.post(f"/auth/users/{user['id']}/enable", headers=admin)
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"

    assert (await client.get("/auth/userinfo", headers=old)).status_code == 401
    assert (await client.get("/auth/users", headers=old)).status_code == 401
    assert (await client.post("/auth/introspect", auth=ADMIN,
                              data={"token": old["Authorization"][7:]})).json() == {"active": False}
    new = bearer(await sign_in(client, app, "CN-DL-U1", "boss"))
    assert (await client.get("/auth/userinfo", headers=new)).status_code == 200
    assert (await client.get("/auth/users", headers=new)).status_code == 200


async def test_who_may_manage_whom(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])
    staff = await person(client, admin, app, "CN-DL-U1", "clerk", ["staff"])
    patron = await person(client, admin, app, "CN-DL-U1", "reader", ["patron"])
    elsewhere = await make_user(client, admin, "CN-DL-U2", "someone", ["patron"])
    new = {"username": "x.new", "roles": ["patron"], "password": PASSWORD}

    assert (await client.post("/auth/users", json={**new, "institution": "CN-DL-U2"}, headers=boss)).status_code == 403
    assert (await client.get(f"/auth/users/{elsewhere['id']}", headers=boss)).status_code == 403
    assert (await client.get("/auth/users", params={"institution": "CN-DL-U2"}, headers=boss)).status_code == 403
    for outsider in (staff, patron):
        assert (await client.post("/auth/users", json=new, headers=outsider)).status_code == 403
        assert (await client.get("/auth/users", headers=outsider)).status_code == 403
    assert (await client.get("/auth/users")).status_code == 401

    promoted = await client.post("/auth/users", json={**new, "roles": ["platform-admin"]}, headers=boss)
    assert promoted.status_code == 422 and promoted.json()["errors"][0]["field"] == "roles"
    by_platform = await client.post("/auth/users", json={**new, "institution": "CN-DL-U2",
                                                         "roles": ["platform-admin"]}, headers=admin)
    assert by_platform.status_code == 201
    everyone = (await client.get("/auth/users", headers=admin)).json()["items"]
    assert {u["institution"] for u in everyone} == {"CN-DL-U1", "CN-DL-U2"}
    listed = (await client.get("/auth/users", headers=boss)).json()["items"]
    assert {u["institution"] for u in listed} == {"CN-DL-U1"}


async def test_account_rules_name_the_offending_field(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    base = {"institution": "CN-DL-U1", "username": "li.wei", "roles": ["patron"], "password": PASSWORD}
    cases = [({"pickup_location": "Front Desk"}, "pickup_location"), ({"password": "short"}, "password"),
             ({"password": "li.wei-is-my-password"}, "password"), ({"language": "fr"}, "language"),
             ({"roles": []}, "roles"), ({"roles": ["librarian"]}, "roles.0"), ({"institution": "CN-NOPE"},
                                                                              "institution")]
    for change, field in cases:
        response = await client.post("/auth/users", json={**base, **change}, headers=admin)
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}, (change, response.json())
    assert (await client.post("/auth/users", json=base, headers=admin)).status_code == 201
    again = await client.post("/auth/users", json=base, headers=admin)
    assert again.status_code == 409


async def test_a_person_changes_their_own_password(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "li.wei", ["patron"])
    tokens = await sign_in(client, app, "CN-DL-U1", "li.wei")
    me = bearer(tokens)

    wrong = await client.post("/auth/users/me/password", headers=me,
                              json={"old_password": "not-my-password", "new_password": "a-new-long-password"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "old_password"
    weak = await client.post("/auth/users/me/password", headers=me,
                             json={"old_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    done = await client.post("/auth/users/me/password", headers=me,
                             json={"old_password": PASSWORD, "new_password": "a-new-long-password"})
    assert done.status_code == 204

    old = await client.post("/auth/token", auth=app, data={"grant_type": "password", "institution": "CN-DL-U1",
                                                           "username": "li.wei", "password": PASSWORD})
    assert old.status_code == 400
    assert (await sign_in(client, app, "CN-DL-U1", "li.wei", "a-new-long-password"))["access_token"]
    refreshed = await client.post("/auth/token", auth=app,
                                  data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400  # other sessions end with a password change
    not_a_person = await client.post("/auth/users/me/password", headers=admin,
                                     json={"old_password": PASSWORD, "new_password": "a-new-long-password"})
    assert not_a_person.status_code == 403


async def test_wrong_old_passwords_count_towards_the_lockout(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "li.wei", ["patron"])
    me = bearer(await sign_in(client, app, "CN-DL-U1", "li.wei"))
    for _ in range(5):
        await client.post("/auth/users/me/password", headers=me,
                          json={"old_password": "guess-guess-guess", "new_password": "a-new-long-password"})
    right = await client.post("/auth/users/me/password", headers=me,
                              json={"old_password": PASSWORD, "new_password": "a-new-long-password"})
    assert right.status_code == 422  # locked now, even with the right password
    login = await client.post("/auth/token", auth=app, data={"grant_type": "password", "institution": "CN-DL-U1",
                                                             "username": "li.wei", "password": PASSWORD})
    assert login.status_code == 400 and "locked" in login.json()["error_description"]


async def test_a_federated_account_gets_no_local_password(client: httpx.AsyncClient, settings: AuthSettings) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    engine = create_engine(settings.effective_database_url())
    async with session_factory(engine)() as session:
        user = await UserRepository(session).add(institution="CN-DL-U1", username="fed", roles=["patron"],
                                                 external_issuer="https://idp.u1.example", external_subject="42")
        await session.commit()
    await engine.dispose()
    shown = (await client.get(f"/auth/users/{user.id}", headers=admin)).json()
    assert shown["federated"] and not shown["has_password"]
    refused = await client.patch(f"/auth/users/{user.id}", headers=admin, json={"version": 1, "password": PASSWORD})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "password"
    renamed = await client.patch(f"/auth/users/{user.id}", headers=admin, json={"version": 1, "display_name": "Fed"})
    assert renamed.status_code == 200


async def test_a_username_names_one_person_whatever_its_case(client: httpx.AsyncClient, settings: AuthSettings,
                                                             ) -> None:
    # `QStaff` beside `qstaff` were two accounts that staff views could not tell apart.
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    staff = await make_user(client, admin, "CN-DL-U1", "qstaff", ["staff"])
    clash = await client.post("/auth/users", headers=admin, json={
        "institution": "CN-DL-U1", "username": "QStaff", "roles": ["patron"], "password": PASSWORD})
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "username"
    signed_in = await sign_in(client, app, "CN-DL-U1", "QSTAFF")   # the same person, however it is typed
    me = await client.get("/auth/userinfo", headers=bearer(signed_in))
    assert me.status_code == 200 and me.json()["sub"] == f"user:{staff['id']}"
    elsewhere = await make_user(client, admin, "CN-DL-U2", "QStaff", ["patron"])   # another institution: its own
    assert elsewhere["username"] == "QStaff"

    engine = create_engine(settings.effective_database_url())   # the database refuses it too (two at once)
    try:
        async with session_factory(engine)() as session:
            with pytest.raises(sa.exc.IntegrityError):
                await UserRepository(session).add(institution="CN-DL-U1", username="QSTAFF", roles=["patron"],
                                                  language="en")
    finally:
        await engine.dispose()


@pytest.mark.parametrize("version", ["1", True, 1.0])
async def test_a_version_must_be_a_number(client: httpx.AsyncClient, version: object) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    user = await make_user(client, admin, "CN-DL-U1", "li.wei", ["patron"])
    refused = await client.patch(f"/auth/users/{user['id']}", headers=admin,
                                 json={"version": version, "display_name": "Li"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "version"


async def test_a_search_for_percent_or_underscore_matches_only_those_characters(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    await make_user(client, admin, "CN-DL-U1", "li_wei", ["patron"])
    await make_user(client, admin, "CN-DL-U1", "zhang", ["patron"], display_name="100% Zhang")
    await make_user(client, admin, "CN-DL-U1", "wang", ["patron"])

    def found(query: str) -> Any:
        return client.get("/auth/users", headers=admin, params={"institution": "CN-DL-U1", "q": query})

    assert [u["username"] for u in (await found("_")).json()["items"]] == ["li_wei"]
    assert [u["username"] for u in (await found("%")).json()["items"]] == ["zhang"]
    assert [u["username"] for u in (await found("wang")).json()["items"]] == ["wang"]
