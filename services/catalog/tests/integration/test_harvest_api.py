"""`/catalog/harvest-sources`: who may register, read, run and remove a source, what a bad one gets, and sources
that are not on the public internet (server-side request forgery), refused at registration and on each run."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from pathlib import Path
from typing import Any

import pytest

import meshkit.outbound_urls
import meshkit.runtime
from meshkit.db import create_engine
from services.catalog.tests.catalog_fixtures import catalog
from services.catalog.tests.oai_fixtures import (
    LOOPBACK_SOURCES,
    StaticProvider,
    caltech_records,
    harvest_now,
    register,
    serving,
)

SOURCE = "/catalog/harvest-sources/LIB-A"
# A literal public address: registering it needs no DNS (the tests run offline).
CONFIG = {"base_url": "https://93.184.216.34/cgi-bin/koha/oai.pl", "interval_minutes": 60}


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


@pytest.mark.parametrize("base_url", [
    "http://127.0.0.1/oai", "http://169.254.169.254/latest/meta-data", "http://[::1]/oai", "http://10.0.0.5/oai",
    "http://[::ffff:192.168.0.1]/oai", "ftp://example.org/oai", "http://localhost/oai",
    "https://oai.nowhere.invalid/oai",
])
async def test_a_source_off_the_public_internet_is_refused_and_not_stored(tmp_path: Path, base_url: str) -> None:
    async with catalog(tmp_path, harvest_scheduler=False) as cat:
        response = await cat.client.put(SOURCE, json={**CONFIG, "base_url": base_url}, headers=cat.headers("LIB-A"))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["base_url"]
        assert (await cat.client.get(SOURCE, headers=cat.headers("LIB-A"))).status_code == 404


async def test_a_public_source_is_accepted_and_cannot_be_moved_inside(tmp_path: Path) -> None:
    async with catalog(tmp_path, harvest_scheduler=False) as cat:
        assert (await cat.client.put(SOURCE, json=CONFIG, headers=cat.headers("LIB-A"))).status_code == 201
        moved = await cat.client.put(SOURCE, json={**CONFIG, "base_url": "http://169.254.169.254/latest/meta-data"},
                                     headers=cat.headers("LIB-A"))
        assert moved.status_code == 422 and "non-public" in moved.json()["errors"][0]["message"]
        stored = (await cat.client.get(SOURCE, headers=cat.headers("LIB-A"))).json()
        assert stored["base_url"] == CONFIG["base_url"]


async def test_private_sources_are_accepted_when_the_setting_allows_them(tmp_path: Path) -> None:
    async with catalog(tmp_path, harvest_scheduler=False, **LOOPBACK_SOURCES) as cat:
        for base_url in ("http://127.0.0.1:8080/oai", "http://localhost/oai"):
            response = await cat.client.put(SOURCE, json={**CONFIG, "base_url": base_url},
                                            headers=cat.headers("LIB-A"))
            assert response.status_code in (200, 201), response.text


async def test_a_run_against_a_source_now_off_limits_fails_before_any_request(tmp_path: Path) -> None:
    """A source registered while private targets were allowed (the same as a name re-pointed at an internal
    address since): the run checks the address again and fails with the reason, sending the source nothing."""
    provider = StaticProvider(caltech_records())
    async with catalog(tmp_path, **LOOPBACK_SOURCES) as cat, serving(provider.app(), "/oai") as oai:
        await register(cat, "LIB-A", oai)
        assert (await harvest_now(cat, "LIB-A"))["status"] == "succeeded"
        runtime = cat.app.state.runtime
        runtime.settings = runtime.settings.model_copy(update={"harvest_allow_private": False})
        requests_so_far = len(provider.requests)

        run = await harvest_now(cat, "LIB-A")
        assert run["status"] == "failed" and run["pages"] == 0
        assert run["failure"].startswith("refused to harvest 127.0.0.1: it points at a non-public address")
        assert len(provider.requests) == requests_so_far
        source = (await cat.client.get(SOURCE, headers=cat.headers("LIB-A"))).json()
        assert source["last_status"] == "failed" and source["last_error"] == run["failure"]
        # Its URL unchanged, the source can still be changed (disabled, say) without passing the check again.
        kept = await cat.client.put(SOURCE, json={"base_url": oai, "enabled": False}, headers=cat.headers("LIB-A"))
        assert kept.status_code == 200, kept.text


async def test_registering_a_source_holds_no_database_connection_while_its_host_is_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One connection for the whole catalogue, and a resolver that answers when the test says: a registration holding
    # the connection while it resolved would stop every search (a slow DNS, a few registrations, a real pool).
    monkeypatch.setattr(meshkit.runtime, "create_engine",
                        functools.partial(create_engine, pool_size=1, max_overflow=0, pool_timeout=10))
    asked, answer = asyncio.Event(), asyncio.Event()

    async def slow_resolver(host: str, port: int) -> list[Any]:
        asked.set()
        await answer.wait()
        return [ipaddress.ip_address("93.184.216.34")]

    monkeypatch.setattr(meshkit.outbound_urls, "resolve", slow_resolver)
    async with catalog(tmp_path) as cat:
        registering = asyncio.create_task(cat.client.put(SOURCE, headers=cat.headers("LIB-A"), json={
            **CONFIG, "base_url": "https://koha.lib-a.example/cgi-bin/koha/oai.pl"}))
        await asyncio.wait_for(asked.wait(), timeout=20)
        assert (await cat.client.get("/catalog/search", params={"q": "anything"})).status_code == 200
        answer.set()
        registered = await registering
        assert registered.status_code == 201, registered.text
        assert registered.json()["base_url"] == "https://koha.lib-a.example/cgi-bin/koha/oai.pl"


async def test_a_host_that_does_not_resolve_in_time_is_refused_naming_the_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def silent_resolver(host: str, port: int) -> list[Any]:
        await asyncio.sleep(3600)
        return []

    monkeypatch.setattr(meshkit.outbound_urls, "resolve", silent_resolver)
    monkeypatch.setattr(meshkit.outbound_urls, "RESOLVE_TIMEOUT_SECONDS", 0.2)
    async with catalog(tmp_path) as cat:
        refused = await cat.client.put(SOURCE, headers=cat.headers("LIB-A"), json={
            **CONFIG, "base_url": "https://silent.lib-a.example/oai"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "base_url" and "within" in refused.text
