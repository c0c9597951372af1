"""The audit trail: everything for a platform admin, one institution for its admin, nothing for others."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bibliomesh_auth.settings import AuthSettings

from .conftest import ADMIN, admin_headers
from .people import OTHER, PASSWORD, UNI, make_user, password_app, person, register


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(data_dir=tmp_path, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=SecretStr(ADMIN[1]),
                        log_json=False, password_grant_enabled=True)


async def test_each_admin_sees_the_trail_they_are_entitled_to(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI, OTHER)
    app = await password_app(client, admin)
    boss = await person(client, admin, app, "CN-DL-U1", "boss", ["institution-admin"])
    patron = await person(client, admin, app, "CN-DL-U1", "reader", ["patron"])
    await make_user(client, admin, "CN-DL-U2", "someone", ["patron"])
    await client.post("/auth/token", auth=app, data={"grant_type": "password", "institution": "CN-DL-U1",
                                                     "username": "boss", "password": "wrong-wrong-wrong"})

    response = await client.get("/auth/audit", params={"limit": 500}, headers=admin)
    for secret in (PASSWORD, "wrong-wrong-wrong", app[1], ADMIN[1]):
        assert secret not in response.text  # never a password or a secret in the trail
    everything = response.json()["items"]
    assert {"CN-DL-U1", "CN-DL-U2", None} <= {e["institution"] for e in everything}
    assert {"institution-created", "client-created", "user-created", "login", "token-issued"} <= {
        e["action"] for e in everything}

    own = (await client.get("/auth/audit", params={"limit": 500}, headers=boss)).json()["items"]
    assert own and {e["institution"] for e in own} == {"CN-DL-U1"}
    assert (await client.get("/auth/audit", params={"institution": "CN-DL-U2"}, headers=boss)).status_code == 403
    assert (await client.get("/auth/audit", headers=patron)).status_code == 403
    assert (await client.get("/auth/audit")).status_code == 401

    failures = (await client.get("/auth/audit", params={"action": "login", "outcome": "failure"},
                                 headers=boss)).json()["items"]
    assert [(e["actor"], e["outcome"]) for e in failures] == [("CN-DL-U1/boss", "failure")]


async def test_filters_by_time_and_pages_newest_first(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    for name in ("a.one", "a.two", "a.three"):
        await make_user(client, admin, "CN-DL-U1", name, ["patron"])
    params = {"action": "user-created", "limit": 2}
    first = (await client.get("/auth/audit", params=params, headers=admin)).json()
    assert [e["detail"]["username"] for e in first["items"]] == ["a.three", "a.two"] and first["next_offset"] == 2
    rest = (await client.get("/auth/audit", params={**params, "offset": 2}, headers=admin)).json()
    assert [e["detail"]["username"] for e in rest["items"]] == ["a.one"] and rest["next_offset"] is None

    now = datetime.now(UTC)
    later = (await client.get("/auth/audit", params={"since": (now + timedelta(minutes=1)).isoformat()},
                              headers=admin)).json()
    assert later["items"] == []
    beijing = now.astimezone(UTC).replace(tzinfo=None).isoformat() + "+08:00"  # same wall time, 8 hours earlier
    window = (await client.get("/auth/audit", params={"action": "user-created", "until": beijing},
                               headers=admin)).json()
    assert window["items"] == []
    earlier = (await client.get("/auth/audit", params={"action": "user-created",
                                                       "since": (now - timedelta(minutes=5)).isoformat(),
                                                       "until": (now + timedelta(seconds=5)).isoformat()},
                                headers=admin)).json()
    assert len(earlier["items"]) == 3
    bad = await client.get("/auth/audit", params={"since": "yesterday"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.since"


async def test_directory_changes_are_audited(client: httpx.AsyncClient) -> None:
    admin = await admin_headers(client)
    await register(client, admin, UNI)
    await client.patch("/auth/institutions/CN-DL-U1", json={"name_en": "Renamed"}, headers=admin)
    await client.post("/auth/institutions/CN-DL-U1/suspend", json={"reason": "review"}, headers=admin)
    await client.post("/auth/institutions/CN-DL-U1/reinstate", headers=admin)
    trail = (await client.get("/auth/audit", params={"institution": "CN-DL-U1"}, headers=admin)).json()["items"]
    assert [e["action"] for e in trail] == ["institution-reinstated", "institution-suspended",
                                            "institution-updated", "institution-created"]
    assert trail[2]["detail"]["fields"] == ["name_en"] and trail[1]["detail"]["reason"] == "review"
    assert all(e["actor"] == f"client:{ADMIN[0]}" for e in trail)
