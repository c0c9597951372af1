"""Who may write: no token 401, another institution 403, no `catalog:write` 403; reading a cluster is public."""

from __future__ import annotations

from pathlib import Path

from services.catalog.tests.catalog_fixtures import catalog, marc_record

RECORD = marc_record("s1", "Secured book", isbns=("0306406152",), items=(("p", "S-1"),))


async def test_writes_need_a_token_with_catalog_write_for_the_institution(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        marc = {"content-type": "application/marc"}
        anonymous = await cat.client.post("/catalog/records", content=RECORD, headers=marc)
        assert anonymous.status_code == 401
        patron = cat.headers("LIB-A", scopes=("catalog:read",), roles=("patron",))
        refused = await cat.client.post("/catalog/records", content=RECORD, headers={**patron, **marc})
        assert refused.status_code == 403
        other = await cat.client.post("/catalog/records", content=RECORD, params={"institution": "LIB-B"},
                                      headers={**cat.headers("LIB-A"), **marc})
        assert other.status_code == 403
        assert other.headers["content-type"].startswith("application/problem+json")
        admin = cat.headers("PLATFORM", roles=("platform-admin",))
        as_admin = await cat.client.post("/catalog/records", content=RECORD, params={"institution": "LIB-B"},
                                         headers={**admin, **marc})
        assert as_admin.status_code == 200 and as_admin.json()["institution"] == "LIB-B"
        nothing_written = await cat.events("catalog.record.upserted")
        assert [e["institution"] for e in nothing_written] == ["LIB-B"]


async def test_deletes_and_holdings_updates_are_for_the_own_institution_only(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", RECORD)
        body = {"status": "missing"}
        assert (await cat.client.put("/catalog/holdings/LIB-A/S-1", json=body)).status_code == 401
        assert (await cat.client.put("/catalog/holdings/LIB-A/S-1", json=body,
                                     headers=cat.headers("LIB-B"))).status_code == 403
        assert (await cat.client.put("/catalog/holdings/LIB-A/S-1", json=body, headers=cat.headers(
            "LIB-A", scopes=("catalog:read",), roles=("patron",)))).status_code == 403
        assert (await cat.client.delete("/catalog/records/LIB-A/s1")).status_code == 401
        assert (await cat.client.delete("/catalog/records/LIB-A/s1", headers=cat.headers("LIB-B"))).status_code == 403
        extra = await cat.client.put("/catalog/holdings/LIB-A/S-1", json={**body, "extra": 1},
                                     headers=cat.headers("LIB-A"))
        assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "extra"
        assert (await cat.client.put("/catalog/holdings/LIB-A/S-1", json=body,
                                     headers=cat.headers("LIB-A"))).status_code == 200


async def test_link_and_split_need_staff_of_an_institution_concerned(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("a1", "One book"))
        await cat.upload("LIB-B", marc_record("b1", "Another book"))
        pair = {"a": {"institution": "LIB-A", "local_id": "a1"}, "b": {"institution": "LIB-B", "local_id": "b1"}}
        assert (await cat.client.post("/catalog/clusters/link", json=pair)).status_code == 401
        client_without_role = cat.headers("LIB-A", roles=())
        assert (await cat.client.post("/catalog/clusters/link", json=pair,
                                      headers=client_without_role)).status_code == 403
        bystander = cat.headers("LIB-C")
        refused = await cat.client.post("/catalog/clusters/split", json=pair, headers=bystander)
        assert refused.status_code == 403 and "at least one of its own records" in refused.json()["detail"]
        patron = cat.headers("LIB-A", scopes=("catalog:read",), roles=("staff",))
        assert (await cat.client.post("/catalog/clusters/link", json=pair, headers=patron)).status_code == 403
        done = await cat.client.post("/catalog/clusters/link", json=pair,
                                     headers=cat.headers("LIB-B", roles=("institution-admin",)))
        assert done.status_code == 200 and done.json()["a_cluster_id"] == done.json()["b_cluster_id"]


async def test_reading_a_cluster_needs_no_token(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        report = await cat.upload("LIB-A", RECORD)
        response = await cat.client.get(f"/catalog/clusters/{report['results'][0]['cluster_id']}")
        assert response.status_code == 200
        assert response.json()["holdings"][0]["items"][0]["available"] is True
        assert (await cat.client.get("/catalog/clusters/999999")).status_code == 404
