"""Bulk import: every row gets its own outcome, a bad row never sinks the batch, a second run changes nothing."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bibliomesh_auth.settings import AuthSettings

from .conftest import admin_headers, settings_on
from .people import OTHER, PASSWORD, UNI, register


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuthSettings]:
    """On both engines: PostgreSQL isolates each row in a savepoint, SQLite checks every rule before writing."""
    async with settings_on(request.param, tmp_path, "bm_auth_import") as settings:
        yield settings

CSV = (
    "username,email,display_name,roles,pickup_location,language,password\n"
    f"li.wei,li.wei@u1.example.edu,Li Wei,patron,Main Desk,zh,{PASSWORD}\n"
    "zhang.min,zhang.min@u1.example.edu,Zhang Min,staff;patron,,en,\n"
    "broken,too,many,cells,Main Desk,en,x,y\n"
    "bad.mail,not-an-email,Bad Mail,patron,,,\n"
    "bad.place,bad.place@u1.example.edu,,patron,Front Desk,,\n"
    "bad.role,,,wizard,,,\n"
    "weak,,,patron,,,weak\n"
)


async def test_csv_import_reports_each_row_and_is_idempotent(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    response = await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, content=CSV,
                                 headers={**admin, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    outcome = {r["username"] or r["row"]: (r["result"], r["field"]) for r in report["rows"]}
    assert outcome == {
        "li.wei": ("created", None), "zhang.min": ("created", None), 3: ("rejected", "row"),
        "bad.mail": ("rejected", "email"), "bad.place": ("rejected", "pickup_location"),
        "bad.role": ("rejected", "roles.0"), "weak": ("rejected", "password"),
    }
    assert (report["created"], report["rejected"]) == (2, 5)
    assert all(r["reason"] for r in report["rows"] if r["result"] == "rejected")

    again = (await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, content=CSV,
                               headers={**admin, "Content-Type": "text/csv"})).json()
    assert (again["created"], again["unchanged"], again["updated"]) == (0, 2, 0)

    changed = CSV.replace("Zhang Min,staff;patron", "Zhang Min,staff")
    third = (await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, content=changed,
                               headers={**admin, "Content-Type": "text/csv; charset=utf-8"})).json()
    assert [r["result"] for r in third["rows"][:2]] == ["unchanged", "updated"]
    zhang = (await client.get("/auth/users", params={"q": "zhang"}, headers=admin)).json()["items"][0]
    assert zhang["roles"] == ["staff"] and zhang["version"] == 2 and not zhang["has_password"]


async def test_json_import_goes_to_the_callers_institution_and_follows_the_same_rules(
        client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    rows = [{"username": "a.one", "roles": ["patron"], "password": PASSWORD},
            {"username": "a.two", "roles": ["platform-admin"]},
            {"username": "a.three", "nickname": "x"},
            "not an object",
            {"username": "a.four", "display_name": "x" * 301}]
    report = (await client.post("/auth/users/import", params={"institution": "CN-DL-U2"}, json=rows,
                                headers=admin)).json()
    assert [r["result"] for r in report["rows"]] == ["created", "created", "rejected", "rejected", "rejected"]
    assert [r["field"] for r in report["rows"][2:]] == ["nickname", "row", "display_name"]
    listed = (await client.get("/auth/users", params={"institution": "CN-DL-U2"}, headers=admin)).json()["items"]
    assert {u["username"] for u in listed} == {"a.one", "a.two"}


async def test_whole_file_problems_are_clear_4xx(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    url, params = "/auth/users/import", {"institution": "CN-DL-U1"}
    too_big = "username\n" + "someone.with.a.long.name\n" * 50_000
    big = await client.post(url, params=params, content=too_big, headers={**admin, "Content-Type": "text/csv"})
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    many = "username\n" + "".join(f"u{i}\n" for i in range(2001))
    rows = await client.post(url, params=params, content=many, headers={**admin, "Content-Type": "text/csv"})
    assert rows.status_code == 413 and "2000" in rows.json()["detail"]
    plain = await client.post(url, params=params, content="username\nx\n",
                              headers={**admin, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    header = await client.post(url, params=params, content="user,mail\nx,y\n",
                               headers={**admin, "Content-Type": "text/csv"})
    assert header.status_code == 422 and {e["field"] for e in header.json()["errors"]} >= {"user", "username"}
    quote = await client.post(url, params=params, content='username\n"unterminated\n',
                              headers={**admin, "Content-Type": "text/csv"})
    assert quote.status_code == 400
    not_json = await client.post(url, params=params, content="{", headers={**admin, "Content-Type": "application/json"})
    assert not_json.status_code == 400
    latin = await client.post(url, params=params, content="username\nm\xfcller\n".encode("latin-1"),
                              headers={**admin, "Content-Type": "text/csv"})
    assert latin.status_code == 400 and "UTF-8" in latin.json()["detail"]
