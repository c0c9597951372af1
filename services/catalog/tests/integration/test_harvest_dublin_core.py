"""Harvesting an oai_dc source over HTTP: 100 real records (Caltech's OAI-PMH response from Debian's idzebra
examples) paged with resumption tokens, incremental harvests at day granularity, deletions, a harvest stopped
half-way and resumed, retries on 503, and sources that fail (404, bad XML, OAI error codes, nobody listening)
recorded on the source without harm to the catalogue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.responses import Response

from bibliomesh_catalog.adapters.tables import clusters, records
from meshkit.testing import free_port
from services.catalog.tests.catalog_fixtures import Catalog, catalog
from services.catalog.tests.oai_fixtures import (
    LOOPBACK_SOURCES,
    StaticProvider,
    caltech_records,
    datestamp_of,
    finished,
    harvest_now,
    identifier_of,
    oai_error,
    register,
    serving,
)
from tests.support.infra import postgres_database

pytestmark = pytest.mark.integration
FAST_RETRIES = {"harvest_retry_seconds": 0.01, "harvest_attempts": 3, **LOOPBACK_SOURCES}


@dataclass
class Setup:
    cat: Catalog
    provider: StaticProvider
    url: str


@pytest.fixture(params=["sqlite", "postgresql"])
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    async with AsyncExitStack() as stack:
        url = "" if request.param == "sqlite" else await stack.enter_async_context(postgres_database("bm_harvest"))
        cat = await stack.enter_async_context(catalog(tmp_path, database_url=url, **FAST_RETRIES))
        provider = StaticProvider(caltech_records())
        base = await stack.enter_async_context(serving(provider.app(), "/oai"))
        yield Setup(cat, provider, base)


async def stored(cat: Catalog, institution: str = "LIB-C") -> dict[str, str]:
    """The institution's live records: local id -> title."""
    async with cat.app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(sa.select(records.c.local_id, records.c.title).where(
            records.c.institution == institution, records.c.deleted_at.is_(None)))
        return dict(rows.all())


async def test_pages_then_only_what_changed_then_deletions(setup: Setup) -> None:
    cat, provider = setup.cat, setup.provider
    await register(cat, "LIB-C", setup.url)
    run = await harvest_now(cat, "LIB-C")
    assert run["status"] == "succeeded", run
    assert run["metadata_prefix"] == "oai_dc" and run["harvested_from"] is None
    assert (run["pages"], run["records_read"], run["created"], run["rejected"]) == (3, 100, 100, 0)
    tokens = [r["resumptionToken"] for r in provider.list_requests() if "resumptionToken" in r]
    assert len(tokens) == 2, "both resumption tokens were followed"
    titles = await stored(cat)
    assert len(titles) == 100
    assert titles["oai:caltechcstr.library.caltech.edu:4"] == "A Language Processor and a Sample Language"
    source = (await cat.client.get("/catalog/harvest-sources/LIB-C", headers=cat.headers("LIB-C"))).json()
    assert source["last_datestamp"] == "2005-12-20", "the next harvest starts from the first responseDate's day"
    assert source["last_status"] == "succeeded" and source["last_error"] is None and source["running"] is False
    assert source["last_run"]["id"] == run["id"] and source["next_run_at"] > source["last_run_at"]

    first, second, third = (identifier_of(r) for r in provider.records[:3])
    provider.change_title(first, "A Language Processor, revised", "2006-01-05")
    provider.delete(second, "2006-01-05")
    provider.add_copy(third, "oai:caltechcstr.library.caltech.edu:new-1", "A New Report", "2006-01-06")
    provider.response_date = "2006-01-10T00:00:00Z"
    provider.requests.clear()
    again = await harvest_now(cat, "LIB-C")
    assert again["status"] == "succeeded", again
    assert again["harvested_from"] == "2005-12-20"
    assert provider.list_requests()[0]["from"] == "2005-12-20"
    assert (again["records_read"], again["created"], again["updated"], again["deleted"], again["unchanged"]) == \
        (3, 1, 1, 1, 0)
    titles = await stored(cat)
    assert len(titles) == 100 and second not in titles
    assert titles[first] == "A Language Processor, revised"
    assert titles["oai:caltechcstr.library.caltech.edu:new-1"] == "A New Report"

    provider.requests.clear()
    quiet = await harvest_now(cat, "LIB-C")
    assert quiet["status"] == "succeeded" and quiet["records_read"] == 0, "noRecordsMatch is a success"
    assert provider.list_requests()[0]["from"] == "2006-01-10"


async def test_a_harvest_stopped_half_way_resumes_from_the_last_page_applied(setup: Setup) -> None:
    cat, provider = setup.cat, setup.provider
    provider.records.sort(key=datestamp_of)  # a source that lists in datestamp order, as most do
    await register(cat, "LIB-C", setup.url)
    # Identify, ListMetadataFormats and the first page are answered; then the source fails for good.
    provider.faults = [None, None, None, *[Response("boom", status_code=500)] * 5]
    stopped = await harvest_now(cat, "LIB-C")
    assert stopped["status"] == "failed" and "HTTP 500" in stopped["failure"]
    assert (stopped["pages"], stopped["created"]) == (1, 40), "the first page stays applied"
    source = (await cat.client.get("/catalog/harvest-sources/LIB-C", headers=cat.headers("LIB-C"))).json()
    last_of_page_one = datestamp_of(provider.records[39])
    assert source["last_datestamp"] == last_of_page_one and source["last_status"] == "failed"
    assert "HTTP 500" in source["last_error"]

    provider.faults = []
    resumed = await harvest_now(cat, "LIB-C")
    assert resumed["status"] == "succeeded", resumed
    assert resumed["harvested_from"] == last_of_page_one
    same_day = sum(1 for r in provider.records[:40] if datestamp_of(r) == last_of_page_one)
    assert resumed["unchanged"] == same_day and resumed["created"] == 60, "nothing applied twice, nothing lost"
    assert len(await stored(cat)) == 100
    source = (await cat.client.get("/catalog/harvest-sources/LIB-C", headers=cat.headers("LIB-C"))).json()
    assert source["last_status"] == "succeeded" and source["last_error"] is None


async def test_out_of_order_lists_move_the_cursor_only_when_complete(setup: Setup) -> None:
    cat, provider = setup.cat, setup.provider  # the Caltech file lists 2003 before 2001
    await register(cat, "LIB-C", setup.url)
    provider.faults = [None, None, None, *[Response("boom", status_code=500)] * 5]
    stopped = await harvest_now(cat, "LIB-C")
    assert stopped["status"] == "failed" and stopped["created"] == 40
    source = (await cat.client.get("/catalog/harvest-sources/LIB-C", headers=cat.headers("LIB-C"))).json()
    assert source["last_datestamp"] is None, "a later page may still hold older records"
    provider.faults = []
    resumed = await harvest_now(cat, "LIB-C")
    assert (resumed["unchanged"], resumed["created"]) == (40, 60)


async def test_503_with_retry_after_is_waited_out(setup: Setup) -> None:
    cat, provider = setup.cat, setup.provider
    await register(cat, "LIB-C", setup.url, metadata_prefix="oai_dc")
    busy = Response("busy", status_code=503, headers={"Retry-After": "0"})
    provider.faults = [None, busy, None, busy, busy]  # Identify, page 1 (twice), page 2 (three times)
    run = await harvest_now(cat, "LIB-C")
    assert run["status"] == "succeeded" and run["created"] == 100, run
    assert sum(1 for r in provider.requests if r.get("verb") == "ListMetadataFormats") == 0, \
        "a configured prefix is used as it is"
    assert len(provider.list_requests()) == 3 + 3


@pytest.mark.parametrize(("fault", "message"), [
    (Response("<html>gone</html>", status_code=404), "HTTP 404"),
    (Response(b"<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'><ListRecords>", media_type="text/xml"),
     "malformed XML"),
    (Response(b"<html><body>maintenance</body></html>", media_type="text/html"), "not an OAI-PMH response"),
    (oai_error("badArgument", "from is not a date"), "badArgument: from is not a date"),
    (Response(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
              b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">&e;</OAI-PMH>', media_type="text/xml"),
     "document type declaration"),
])
async def test_a_failing_source_is_recorded_and_harms_nothing(setup: Setup, fault: Response, message: str) -> None:
    cat, provider = setup.cat, setup.provider
    await register(cat, "LIB-C", setup.url)
    provider.faults = [None, None, fault]  # Identify and ListMetadataFormats answer, ListRecords fails
    run = await harvest_now(cat, "LIB-C")
    assert run["status"] == "failed" and message in run["failure"], run
    source = (await cat.client.get("/catalog/harvest-sources/LIB-C", headers=cat.headers("LIB-C"))).json()
    assert source["last_status"] == "failed" and message in source["last_error"] and source["running"] is False
    assert source["last_datestamp"] is None
    assert (await cat.client.get("/readyz")).status_code == 200
    healthy = await harvest_now(cat, "LIB-C")
    assert healthy["status"] == "succeeded" and healthy["created"] == 100


async def test_a_missing_endpoint_and_a_host_nobody_listens_on(setup: Setup) -> None:
    cat = setup.cat
    await register(cat, "LIB-C", setup.url.replace("/oai", "/missing"))
    run = await harvest_now(cat, "LIB-C")
    assert run["status"] == "failed" and run["failure"] == "HTTP 404 from the source for verb Identify"
    closed_port = free_port()
    await register(cat, "LIB-C", f"http://127.0.0.1:{closed_port}/oai")
    run = await harvest_now(cat, "LIB-C")
    assert run["status"] == "failed" and run["failure"].startswith("could not reach the source: ConnectError")


async def test_records_that_cannot_be_used_are_rejected_one_by_one(setup: Setup) -> None:
    cat, provider = setup.cat, setup.provider
    untitled = provider.records[5]
    untitled.find("{http://www.openarchives.org/OAI/2.0/}metadata")[0].remove(
        untitled.find(".//{http://purl.org/dc/elements/1.1/}title"))
    foreign = provider.records[6].find("{http://www.openarchives.org/OAI/2.0/}metadata")
    foreign.remove(foreign[0])
    foreign.append(foreign.makeelement("{urn:example:mods}mods"))
    await register(cat, "LIB-C", setup.url)
    run = await harvest_now(cat, "LIB-C")
    assert run["status"] == "succeeded" and (run["created"], run["rejected"]) == (98, 2)
    reasons = {e["identifier"]: e["reason"] for e in run["errors"]}
    assert "no title" in reasons[identifier_of(untitled)]
    assert "unsupported metadata format" in reasons[identifier_of(provider.records[6])]
    assert [e["position"] for e in run["errors"]] == [6, 7]


async def test_harvested_dublin_core_is_searchable_and_clustered(setup: Setup) -> None:
    cat = setup.cat
    await register(cat, "LIB-C", setup.url)
    assert (await harvest_now(cat, "LIB-C"))["status"] == "succeeded"
    found = (await cat.client.get("/catalog/search", params={"q": "language processor"})).json()
    assert found["total"] >= 1
    async with cat.app.state.runtime.engine.connect() as conn:
        live = await conn.scalar(sa.select(sa.func.count()).select_from(clusters)
                                 .where(clusters.c.deleted_at.is_(None)))
        formats = set((await conn.execute(sa.select(records.c.format))).scalars())
    assert live and live <= 100
    assert formats == {"electronic"}, "reports offered as PDF/PostScript files are electronic"


async def test_removing_a_source_stops_its_harvest_and_keeps_what_it_brought(setup: Setup) -> None:
    cat, provider = setup.cat, setup.provider
    provider.delay = 0.3
    await register(cat, "LIB-C", setup.url)
    headers = cat.headers("LIB-C")
    run_id = (await cat.client.post("/catalog/harvest-sources/LIB-C/runs", headers=headers)).json()["id"]
    path = f"/catalog/harvest-sources/LIB-C/runs/{run_id}"
    for _ in range(200):
        if (await cat.client.get(path, headers=headers)).json()["pages"] >= 1:
            break
        await asyncio.sleep(0.05)
    queued = (await cat.client.post("/catalog/harvest-sources/LIB-C/runs", headers=headers)).json()
    assert queued["status"] == "queued" and queued["id"] != run_id
    assert (await cat.client.delete("/catalog/harvest-sources/LIB-C", headers=headers)).status_code == 204
    run = await finished(cat.client, headers, "LIB-C", run_id)
    assert run["status"] == "failed" and "source was removed" in run["failure"] and run["pages"] < 3
    assert len(await stored(cat)) == run["created"] > 0
    never = (await cat.client.get(f"/catalog/harvest-sources/LIB-C/runs/{queued['id']}", headers=headers)).json()
    assert never["status"] == "failed" and never["failure"] == "the harvest source was removed"
