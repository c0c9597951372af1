"""Passwords with control characters (a NUL above all) or only spaces are refused wherever a password is set, naming
the field; signing in with one is an ordinary refusal, never a crash. On both engines: PostgreSQL refuses a NUL in
text, SQLite stores it."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers, settings_on
from .people import PASSWORD, UNI, bearer, make_user, password_app, register, sign_in

PROBLEM = "application/problem+json"
UNACCEPTABLE = ["\x00" * 10, "correct-horse\x00battery", "tab\tinside-the-password", "a-line\nbreak-in-it",
                "delete\x7f-character", "next-line\x85-c1-control", "\ud800" * 10, " " * 12]


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuthSettings]:
    async with settings_on(request.param, tmp_path, "bm_auth_passwords", password_grant_enabled=True) as settings:
        yield settings


async def send(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: object,
               **params: str) -> httpx.Response:
    # Encoded here: httpx writes JSON as UTF-8, which has no lone surrogates; JSON's escapes have.
    return await client.request(method, path, params=params, content=json.dumps(body),
                                headers={**headers, "Content-Type": "application/json"})


def names_only(response: httpx.Response, field: str) -> bool:
    return (response.status_code == 422 and response.headers["content-type"] == PROBLEM
            and [e["field"] for e in response.json()["errors"]] == [field])


async def test_a_password_with_control_characters_or_only_spaces_is_refused_naming_the_field(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    reader = await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    own = bearer(await sign_in(client, app, "CN-DL-U1", "reader"))

    for number, password in enumerate(UNACCEPTABLE):
        body = {"institution": "CN-DL-U1", "username": f"person{number}", "password": password}
        created = await send(client, "POST", "/auth/users", admin, body)
        assert names_only(created, "password"), (password, created.text)
        reset = await send(client, "PATCH", f"/auth/users/{reader['id']}", admin,
                           {"version": reader["version"], "password": password})
        assert names_only(reset, "password"), (password, reset.text)
        changed = await send(client, "POST", "/auth/users/me/password", own,
                             {"old_password": PASSWORD, "new_password": password})
        assert names_only(changed, "new_password"), (password, changed.text)
    listed = (await client.get("/auth/users", params={"institution": "CN-DL-U1"}, headers=admin)).json()["items"]
    assert [u["username"] for u in listed] == ["reader"]
    assert (await sign_in(client, app, "CN-DL-U1", "reader"))["access_token"]  # the password stayed as it was


async def test_an_import_refuses_such_a_password_in_its_row(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    rows = [{"username": "good", "password": PASSWORD}, {"username": "nul", "password": "\x00" * 10},
            {"username": "surrogate", "password": "\udfff" * 10}]
    report = (await send(client, "POST", "/auth/users/import", admin, rows, institution="CN-DL-U1")).json()
    assert [(r["result"], r["field"]) for r in report["rows"]] == [
        ("created", None), ("rejected", "password"), ("rejected", "password")]
    csv = f"username,password\ncsv.good,{PASSWORD}\ncsv.tab,\"tab\there-in-the-password\"\n"
    report = (await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, content=csv,
                                headers={**admin, "Content-Type": "text/csv"})).json()
    assert [(r["row"], r["result"], r["field"]) for r in report["rows"]] == [
        (1, "created", None), (2, "rejected", "password")]


async def test_signing_in_with_control_characters_is_an_ordinary_refusal(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    app = await password_app(client, admin)
    await make_user(client, admin, "CN-DL-U1", "reader", ["patron"])
    own = bearer(await sign_in(client, app, "CN-DL-U1", "reader"))

    for password in ("\x00" * 10, f"{PASSWORD}\x00", "\t\r\n\x7f" * 3):
        refused = await client.post("/auth/token", auth=app, data={
            "grant_type": "password", "institution": "CN-DL-U1", "username": "reader", "password": password})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    for field, value in (("username", "reader\x00"), ("username", "\x00"), ("institution", "CN-DL-U1\x00"),
                         ("scope", "openid\x00")):
        # PostgreSQL cannot even be asked for such a name: refused in OAuth's format, naming the field.
        refused = await client.post("/auth/token", auth=app, data={
            "grant_type": "password", "institution": "CN-DL-U1", "username": "reader", "password": "\x00",
            field: value})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request", refused.text
        assert refused.json()["error_description"] == f"{field}: must not contain control characters", refused.text
    for data in ({"token": "a-refresh-token\x00"}, {"token": "x", "token_type_hint": "refresh_token\x00"}):
        refused = await client.post("/auth/introspect", auth=ADMIN, data=data)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request", refused.text
    nul_client = httpx.BasicAuth("bibliomesh-cli\x00", "x")
    refused = await client.post("/auth/token", auth=nul_client, data={"grant_type": "client_credentials"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request", refused.text
    for old in ("\x00" * 10, "\ud800" * 10):
        wrong = await send(client, "POST", "/auth/users/me/password", own,
                           {"old_password": old, "new_password": "another-long-password"})
        assert names_only(wrong, "old_password"), wrong.text
    assert (await sign_in(client, app, "CN-DL-U1", "reader"))["access_token"]
