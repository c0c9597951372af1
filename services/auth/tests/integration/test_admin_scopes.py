"""Account administration needs the `accounts:manage` scope as well as an admin role: an admin's token narrowed to
what a third-party app asked for (`catalog:read`) manages nothing, the same admin's full token everything."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers
from .people import PASSWORD, UNI, bearer, make_user, password_app, register, sign_in


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def admin_calls(client: httpx.AsyncClient, headers: dict[str, str], reader: dict[str, Any],
                      tag: str) -> dict[str, httpx.Response]:
    """One call to each kind of account administration, as `headers`."""
    return {
        "create user": await client.post("/auth/users", headers=headers, json={
            "username": f"new.{tag}", "roles": ["institution-admin"], "password": PASSWORD}),
        "change user": await client.patch(f"/auth/users/{reader['id']}", headers=headers, json={
            "version": reader["version"], "display_name": f"Reader {tag}"}),
        "register client": await client.post("/auth/clients", headers=headers, json={
            "name": f"Sync {tag}", "scopes": ["catalog:read"]}),
        "read audit": await client.get("/auth/audit", headers=headers),
        "change institution": await client.patch("/auth/institutions/CN-DL-U1", headers=headers, json={
            "name_en": f"Test University {tag}"}),
    }


async def test_an_admins_token_narrowed_to_catalog_read_manages_nothing(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "boss", ["institution-admin"])
    reader = await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])

    narrowed = await sign_in(client, app, "CN-DL-U1", "boss", scope="catalog:read")
    assert narrowed["scope"] == "catalog:read"
    for call, answer in (await admin_calls(client, bearer(narrowed), reader, "narrow")).items():
        assert answer.status_code == 403, (call, answer.text)
        assert answer.json()["required_scope"] == "accounts:manage", call
        assert "`accounts:manage`" in answer.json()["detail"], call

    full = await sign_in(client, app, "CN-DL-U1", "boss")  # no scope asked: everything the roles give
    assert "accounts:manage" in full["scope"].split()
    expected = {"create user": 201, "change user": 200, "register client": 201, "read audit": 200,
                "change institution": 200}
    answers = await admin_calls(client, bearer(full), reader, "full")
    assert {call: answer.status_code for call, answer in answers.items()} == expected, \
        {call: answer.text for call, answer in answers.items()}

    asked = await sign_in(client, app, "CN-DL-U1", "boss", scope="accounts:manage")
    reader = (await client.get(f"/auth/users/{reader['id']}", headers=bearer(full))).json()
    answers = await admin_calls(client, bearer(asked), reader, "asked")
    assert {call: answer.status_code for call, answer in answers.items()} == expected, \
        {call: answer.text for call, answer in answers.items()}


async def test_a_person_changes_their_own_password_with_any_scope(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "boss", ["institution-admin"])
    narrowed = bearer(await sign_in(client, app, "CN-DL-U1", "boss", scope="catalog:read"))
    changed = await client.post("/auth/users/me/password", headers=narrowed, json={
        "old_password": PASSWORD, "new_password": "another-long-passphrase"})
    assert changed.status_code == 204, changed.text


async def test_a_platform_admin_token_without_accounts_manage_manages_no_accounts(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    directory_only = await admin_headers(client, scope="directory:admin")
    refused = await client.post("/auth/users", headers=directory_only, json={
        "institution": "CN-DL-U1", "username": "someone", "roles": ["patron"], "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["required_scope"] == "accounts:manage"
    edited = await client.patch("/auth/institutions/CN-DL-U1", headers=directory_only, json={"name_en": "Renamed"})
    assert edited.status_code == 200, edited.text  # the directory is `directory:admin`'s
