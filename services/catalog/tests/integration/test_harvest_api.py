"""`/catalog/harvest-sources`: who may register, read, run and remove a source, and what a bad one gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.catalog.tests.catalog_fixtures import catalog

SOURCE = "/catalog/harvest-sources/LIB-A"
CONFIG = {"base_url": "https://koha.lib-a.example/cgi-bin/koha/oai.pl", "interval_minutes": 60}


async def test_staff_register_read_change_and_remove_their_own_source(tmp_path: Path) -> None:
    async with catalog(tmp_path, harvest_scheduler=False) as cat:
        created = await cat.client.put(SOURCE, json=CONFIG, headers=cat.headers("LIB-A"))
        assert created.status_code == 201, created.text
        source = created.json()
        assert source["base_url"] == CONFIG["base_url"] and source["metadata_prefix"] is None
        assert source["enabled"] is True and source["interval_minutes"] == 60 and source["next_run_at"]
        assert source["last_datestamp"] is None and source["last_run"] is None and source["running"] is False

        changed = await cat.client.put(SOURCE, json={**CONFIG, "set_spec": "books", "metadata_prefix": "marc21",
                                                     "enabled": False}, headers=cat.headers("LIB-A"))
        assert changed.status_code == 200
        assert changed.json()["set_spec"] == "books" and changed.json()["enabled"] is False

        run = await cat.client.post(f"{SOURCE}/runs", headers=cat.headers("LIB-A"))
        assert run.status_code == 202 and run.json()["status"] == "queued" and run.json()["trigger"] == "request"
        assert run.headers["location"] == f"{SOURCE}/runs/{run.json()['id']}"
        again = await cat.client.post(f"{SOURCE}/runs", headers=cat.headers("LIB-A"))
        assert again.json()["id"] == run.json()["id"], "a run already queued is not queued twice"
        listing = (await cat.client.get(f"{SOURCE}/runs", headers=cat.headers("LIB-A"))).json()
        assert [r["id"] for r in listing["runs"]] == [run.json()["id"]]
        assert (await cat.client.get(SOURCE, headers=cat.headers("LIB-A"))).json()["last_run"]["status"] == "queued"

        assert (await cat.client.delete(SOURCE, headers=cat.headers("LIB-A"))).status_code == 204
        assert (await cat.client.get(SOURCE, headers=cat.headers("LIB-A"))).status_code == 404
        assert (await cat.client.delete(SOURCE, headers=cat.headers("LIB-A"))).status_code == 404
        assert (await cat.client.post(f"{SOURCE}/runs", headers=cat.headers("LIB-A"))).status_code == 404


async def test_other_institutions_anonymous_callers_and_non_staff_are_refused(tmp_path: Path) -> None:
    async with catalog(tmp_path, harvest_scheduler=False) as cat:
        assert (await cat.client.put(SOURCE, json=CONFIG, headers=cat.headers("LIB-A"))).status_code == 201
        other = cat.headers("LIB-B")
        for method, path, body in (("PUT", SOURCE, CONFIG), ("GET", SOURCE, None), ("DELETE", SOURCE, None),
                                   ("POST", f"{SOURCE}/runs", None), ("GET", f"{SOURCE}/runs", None)):
            refused = await cat.client.request(method, path, json=body, headers=other)
            assert refused.status_code == 403, (method, path, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            anonymous = await cat.client.request(method, path, json=body)
            assert anonymous.status_code == 401, (method, path)
        patron = cat.headers("LIB-A", roles=("patron",))
        assert (await cat.client.get(SOURCE, headers=patron)).status_code == 403
        no_scope = cat.headers("LIB-A", scopes=("catalog:read",))
        assert (await cat.client.get(SOURCE, headers=no_scope)).status_code == 403
        admin = cat.headers("PLATFORM", roles=("platform-admin",))
        assert (await cat.client.get(SOURCE, headers=admin)).status_code == 200
        run = (await cat.client.post(f"{SOURCE}/runs", headers=admin)).json()
        assert (await cat.client.get(f"{SOURCE}/runs/{run['id']}", headers=other)).status_code == 403
        assert (await cat.client.get(f"/catalog/harvest-sources/LIB-B/runs/{run['id']}",
                                     headers=other)).status_code == 404


@pytest.mark.parametrize(("config", "field"), [
    ({"base_url": "ftp://lib-a.example/oai"}, "base_url"),
    ({"base_url": "file:///etc/passwd"}, "base_url"),
    ({"base_url": "https://user:secret@lib-a.example/oai"}, "base_url"),
    ({"base_url": "https://lib-a.example/oai#x"}, "base_url"),
    ({"base_url": "https:///oai"}, "base_url"),
    ({"base_url": "https://lib-a.example:99999/oai"}, "base_url"),
    ({"base_url": "https://lib-a.example/o ai"}, "base_url"),
    ({**CONFIG, "interval_minutes": 1}, "interval_minutes"),
    ({**CONFIG, "metadata_prefix": "marc 21"}, "metadata_prefix"),
    ({**CONFIG, "set_spec": "a&verb=Identify"}, "set_spec"),
    ({**CONFIG, "password": "x"}, "password"),
    ({"interval_minutes": 60}, "base_url"),
])
async def test_a_bad_source_is_a_422_problem_naming_the_field(tmp_path: Path, config: dict[str, Any],
                                                             field: str) -> None:
    async with catalog(tmp_path, harvest_scheduler=False) as cat:
        response = await cat.client.put(SOURCE, json=config, headers=cat.headers("LIB-A"))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in response.json()["detail"]
        assert [e["field"] for e in response.json()["errors"]] == [field]
