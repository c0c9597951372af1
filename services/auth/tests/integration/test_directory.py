import json

import httpx
import pytest
import sqlalchemy as sa

from bibliomesh_auth.adapters.tables import messaging
from meshkit.db import create_engine

from .conftest import admin_headers

UNIVERSITY = {"code": "CN-DL-U1", "name_en": "Test University", "name_zh": "测试大学", "kind": "university",
              "regions": ["CN-LN-DL"], "ill_email": "ill@u1.example.edu"}
BRANCH = {"code": "CN-DL-U1-ENG", "name_en": "Engineering Library", "kind": "branch-library",
          "parent_code": "CN-DL-U1", "regions": ["CN-LN-DL"]}


async def test_platform_admin_registers_a_university_and_its_branch(client: httpx.AsyncClient, settings) -> None:
    headers = await admin_headers(client)
    created = await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["status"] == "active"
    branch = await client.post("/auth/institutions", json=BRANCH, headers=headers)
    assert branch.status_code == 201, branch.text
    listed = (await client.get("/auth/institutions", params={"region": "CN-LN-DL"})).json()
    assert [i["code"] for i in listed] == ["CN-DL-U1", "CN-DL-U1-ENG"]

    engine = create_engine(settings.effective_database_url())
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(messaging.outbox.c.event_type, messaging.outbox.c.body)
                                   .order_by(messaging.outbox.c.id))).all()
    await engine.dispose()
    assert [r.event_type for r in rows] == ["directory.institution.created"] * 2
    assert json.loads(rows[0].body)["payload"]["institution"]["name_zh"] == "测试大学"


async def test_duplicates_bad_parents_and_bad_fields_are_refused_clearly(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    assert (await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)).status_code == 201
    again = await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    assert again.status_code == 409
    orphan = await client.post("/auth/institutions", json={**BRANCH, "parent_code": "CN-NOPE"}, headers=headers)
    assert orphan.status_code == 422 and orphan.json()["errors"][0]["field"] == "parent_code"
    bad = await client.post("/auth/institutions", json={**UNIVERSITY, "code": "lowercase", "ill_email": "nope"},
                            headers=headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"code", "ill_email"}


async def test_only_platform_admins_register_and_suspend(client: httpx.AsyncClient) -> None:
    without_scope = await admin_headers(client, scope="catalog:read")
    refused = await client.post("/auth/institutions", json=UNIVERSITY, headers=without_scope)
    assert refused.status_code == 403
    anonymous = await client.post("/auth/institutions", json=UNIVERSITY)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    suspended = await client.post("/auth/institutions/CN-DL-U1/suspend", json={"reason": "audit"}, headers=headers)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert suspended.json()["version"] == 2
    reinstated = await client.post("/auth/institutions/CN-DL-U1/reinstate", headers=headers)
    assert reinstated.json()["status"] == "active" and reinstated.json()["version"] == 3


async def test_updates_bump_the_version_and_refuse_unknown_fields(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    changed = await client.patch("/auth/institutions/CN-DL-U1", json={"policy": {"loan_period_days": 21}},
                                 headers=headers)
    assert changed.status_code == 200 and changed.json()["policy"]["loan_period_days"] == 21
    assert changed.json()["version"] == 2
    unchanged = await client.patch("/auth/institutions/CN-DL-U1", json={"name_zh": "测试大学"}, headers=headers)
    assert unchanged.json()["version"] == 2
    unknown = await client.patch("/auth/institutions/CN-DL-U1", json={"status": "active"}, headers=headers)
    assert unknown.status_code == 422
    missing = await client.patch("/auth/institutions/CN-NOPE", json={"name_zh": "x"}, headers=headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(("field", "value"), [("answer_within_hours", 10**12), ("max_active_loans", 10**12),
                                              ("loan_period_days", 366)])
async def test_a_lending_policy_beyond_its_bounds_is_refused_naming_the_field(client: httpx.AsyncClient, field: str,
                                                                                value: int) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)

    refused = await client.patch("/auth/institutions/CN-DL-U1", json={"policy": {field: value}}, headers=headers)

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert field in refused.text
    assert (await client.get("/auth/institutions/CN-DL-U1")).json()["version"] == 1


async def test_a_closed_period_that_ends_before_it_starts_is_refused_naming_the_field(
        client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    reversed_period = {"closed_periods": [{"start": "2026-12-01", "end": "2026-12-31"},
                                          {"start": "2026-12-10", "end": "2026-12-01"}]}

    created = await client.post("/auth/institutions", json={**UNIVERSITY, "policy": reversed_period},
                                headers=headers)
    assert created.status_code == 422
    assert "closed_periods" in created.text and "closed period 1 ends" in created.text
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    patched = await client.patch("/auth/institutions/CN-DL-U1", json={"policy": reversed_period}, headers=headers)
    assert patched.status_code == 422 and "closed_periods" in patched.text
    one_day = {"closed_periods": [{"start": "2026-12-25", "end": "2026-12-25", "reason": "Christmas"}]}
    assert (await client.patch("/auth/institutions/CN-DL-U1", json={"policy": one_day},
                               headers=headers)).status_code == 200


@pytest.mark.parametrize("field", ["name_en", "kind", "regions", "open_sharing", "pickup_locations", "language",
                                   "policy"])
async def test_an_explicit_null_for_a_required_field_is_refused_naming_it(client: httpx.AsyncClient,
                                                                          field: str) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    response = await client.patch("/auth/institutions/CN-DL-U1", json={field: None, "name_zh": "新名"},
                                  headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    current = (await client.get("/auth/institutions/CN-DL-U1")).json()
    assert current["name_zh"] == UNIVERSITY["name_zh"] and current["version"] == 1


async def test_a_patch_changes_what_it_names_and_clears_what_may_be_empty(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    changed = await client.patch("/auth/institutions/CN-DL-U1", json={"ill_email": None, "name_zh": None},
                                 headers=headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["ill_email"], changed.json()["name_zh"]) == (None, None)
    assert changed.json()["name_en"] == UNIVERSITY["name_en"] and changed.json()["regions"] == UNIVERSITY["regions"]


@pytest.mark.parametrize(("change", "field"), [
    ({"regions": [""]}, "regions.0"), ({"regions": ["CN-LN-DL", "CN-LN-DL"]}, "regions"),
    ({"pickup_locations": ["  "]}, "pickup_locations.0"), ({"pickup_locations": ["Desk", "Desk"]}, "pickup_locations"),
    ({"code": "CN-DL-A/B"}, "code")])
async def test_blank_or_repeated_regions_and_pickup_locations_and_a_slash_in_a_code_are_refused(
        client: httpx.AsyncClient, change: dict[str, object], field: str) -> None:
    # A blank region put the library in the broker's "open" tier; a code with `/` could never be named in a path.
    headers = await admin_headers(client)
    created = await client.post("/auth/institutions", json={**UNIVERSITY, **change}, headers=headers)
    assert created.status_code == 422 and [e["field"] for e in created.json()["errors"]] == [field], created.text
    if "code" not in change:
        await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
        patched = await client.patch("/auth/institutions/CN-DL-U1", json=change, headers=headers)
        assert patched.status_code == 422 and [e["field"] for e in patched.json()["errors"]] == [field]
    colon = await client.post("/auth/institutions", json={**UNIVERSITY, "code": "CN-DL-A:B"}, headers=headers)
    assert colon.status_code == 201 and (await client.get("/auth/institutions/CN-DL-A:B")).status_code == 200


async def test_a_partial_policy_changes_only_the_policy_fields_sent(client: httpx.AsyncClient) -> None:
    # The broker routes loans by the whole policy: a change of one field must not reopen closed periods.
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    closures = [{"start": "2026-12-24", "end": "2027-01-02", "reason": "Winter break"}]
    policy = {"loan_period_days": 14, "max_active_loans": 5, "lends_copies": False, "closed_periods": closures}
    assert (await client.patch("/auth/institutions/CN-DL-U1", json={"policy": policy},
                               headers=headers)).status_code == 200

    changed = await client.patch("/auth/institutions/CN-DL-U1", json={"policy": {"answer_within_hours": 24}},
                                 headers=headers)

    assert changed.status_code == 200, changed.text
    kept = (await client.get("/auth/institutions/CN-DL-U1")).json()["policy"]
    assert kept["answer_within_hours"] == 24
    assert {k: kept[k] for k in policy} == policy


async def test_an_unknown_policy_field_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    await client.patch("/auth/institutions/CN-DL-U1", json={"policy": {"loan_period_days": 14}}, headers=headers)

    refused = await client.patch("/auth/institutions/CN-DL-U1", json={"policy": {"loan_dayz": 30}}, headers=headers)

    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["policy.loan_dayz"]
    assert (await client.get("/auth/institutions/CN-DL-U1")).json()["policy"]["loan_period_days"] == 14
    null = await client.patch("/auth/institutions/CN-DL-U1", json={"policy": {"lends_copies": None}}, headers=headers)
    assert null.status_code == 422 and null.json()["errors"][0]["field"] == "policy.lends_copies"
    created = await client.post("/auth/institutions", headers=headers, json={
        **UNIVERSITY, "code": "CN-DL-U9", "policy": {"loan_dayz": 30}})
    assert created.status_code == 422 and created.json()["errors"][0]["field"] == "policy.loan_dayz"


async def test_an_unknown_status_or_kind_in_the_list_filter_is_refused(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    await client.post("/auth/institutions", json=UNIVERSITY, headers=headers)
    assert (await client.get("/auth/institutions", params={"status": "x"})).status_code == 422
    assert (await client.get("/auth/institutions", params={"kind": "x"})).status_code == 422
    assert [i["code"] for i in (await client.get("/auth/institutions", params={"status": "active"})).json()] == [
        "CN-DL-U1"]
