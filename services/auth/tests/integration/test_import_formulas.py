"""Cells a spreadsheet would run as formulas (OWASP "CSV injection") are refused in the row and column they are in,
whichever way an account arrives; a password may start with anything."""

import httpx
import pytest

from .conftest import admin_headers
from .people import PASSWORD, UNI, register

CSV = (
    "username,email,display_name,roles,password\n"
    "li.wei,li.wei@u1.example.edu,Li Wei,patron,\n"
    'formula,,"=HYPERLINK(""https://evil.example"",""Click"")",patron,\n'
    "plus,,+1+1,patron,\n"
    "minus,,-2+3,patron,\n"
    "at,,@SUM(A1:A9),patron,\n"
    'tab.then.formula,,"\t=1+1",patron,\n'
    'carriage,,"\r=1+1",patron,\n'
    "mail,=1+1@u1.example.edu,Mail Formula,patron,\n"
    "control,,\"Li\x07Wei\",patron,\n"
    f"dash.password,,Dash Password,patron,-{PASSWORD}\n"
)


async def test_formula_cells_are_refused_naming_row_and_column(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)

    report = (await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, content=CSV,
                                headers={**admin, "Content-Type": "text/csv"})).json()

    outcome = [(r["row"], r["username"], r["result"], r["field"]) for r in report["rows"]]
    assert outcome == [
        (1, "li.wei", "created", None), (2, "formula", "rejected", "display_name"),
        (3, "plus", "rejected", "display_name"), (4, "minus", "rejected", "display_name"),
        (5, "at", "rejected", "display_name"), (6, "tab.then.formula", "rejected", "display_name"),
        (7, "carriage", "rejected", "display_name"), (8, "mail", "rejected", "email"),
        (9, "control", "rejected", "display_name"), (10, "dash.password", "created", None)]
    assert "formula" in report["rows"][1]["reason"]
    names = {u["username"]: u["display_name"]
             for u in (await client.get("/auth/users", params={"institution": "CN-DL-U1"}, headers=admin)).json()[
                 "items"]}
    assert names == {"li.wei": "Li Wei", "dash.password": "Dash Password"}


@pytest.mark.parametrize(("field", "value"), [("display_name", "=1+1"), ("display_name", "@me"),
                                              ("email", "+1@u1.example.edu"), ("display_name", "Li\x00Wei")])
async def test_the_same_cells_are_refused_when_an_account_is_created_or_changed(client: httpx.AsyncClient,
                                                                               field: str, value: str) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    created = await client.post("/auth/users", headers=admin, json={
        "institution": "CN-DL-U1", "username": "li.wei", "password": PASSWORD, field: value})
    assert created.status_code == 422 and [e["field"] for e in created.json()["errors"]] == [field], created.text
    made = (await client.post("/auth/users", headers=admin, json={
        "institution": "CN-DL-U1", "username": "li.wei", "display_name": "Li Wei - Reader"})).json()
    changed = await client.patch(f"/auth/users/{made['id']}", headers=admin, json={"version": 1, field: value})
    assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == field
    rows = await client.post("/auth/users/import", params={"institution": "CN-DL-U1"}, headers=admin,
                             json=[{"username": "a.b", field: value}])
    assert [(r["result"], r["field"]) for r in rows.json()["rows"]] == [("rejected", field)]
