"""`/catalog/imports`: streamed bulk imports run in the background and report their progress."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bibliomesh_catalog.adapters.import_repository import ImportRepository
from bibliomesh_catalog.adapters.tables import clusters, imports, records
from bibliomesh_catalog.domain.merge import single_display
from bibliomesh_catalog.domain.records import ParsedRecord
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.parsing.marcxml import read_marcxml
from bibliomesh_catalog.service_layer.imports import parsing_worker, recover_interrupted
from bibliomesh_catalog.service_layer.jobs import replica_id
from services.catalog.tests.catalog_fixtures import Catalog, catalog, loc_records
from tests.support import testdata
from tests.support.infra import postgres_database


async def start(cat: Catalog, institution: str, body: bytes, content_type: str = "application/marc",
                token_for: str | None = None) -> Any:
    return await cat.client.post("/catalog/imports", params={"institution": institution, "filename": "f.mrc"},
                                 content=body,
                                 headers={**cat.headers(token_for or institution), "content-type": content_type})


async def finished(cat: Catalog, institution: str, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        response = await cat.client.get(f"/catalog/imports/{job_id}", headers=cat.headers(institution))
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def test_a_marc_file_imports_with_progress_and_reimports_unchanged(tmp_path: Path) -> None:
    body = b"".join(loc_records(300))
    async with catalog(tmp_path / "data") as cat:
        response = await start(cat, "LIB-A", body)
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["status"] == "running" and job["bytes_total"] == len(body) and job["file_sha256"]
        assert response.headers["location"] == f"/catalog/imports/{job['id']}"
        done = await finished(cat, "LIB-A", job["id"])
        assert done["status"] == "succeeded", done
        assert done["records_read"] == 300
        assert done["created"] + done["updated"] + done["rejected"] == 300 and done["unchanged"] == 0
        assert done["created"] > 250
        assert done["bytes_read"] == done["bytes_total"] == len(body)
        assert done["rate"] is not None and done["estimated_seconds_left"] == 0
        stored = await cat.scalar(sa.select(sa.func.count()).select_from(records)
                                  .where(records.c.institution == "LIB-A"))
        assert stored == done["created"]
        assert not list((tmp_path / "data" / "imports").glob("import-*")), "the spool file is removed"

        again = await finished(cat, "LIB-A", (await start(cat, "LIB-A", body)).json()["id"])
        assert again["status"] == "succeeded"
        assert again["unchanged"] == done["created"] + done["updated"] and again["created"] == again["updated"] == 0
        assert again["file_sha256"] == done["file_sha256"]

        listing = (await cat.client.get("/catalog/imports", headers=cat.headers("LIB-A"))).json()
        assert [j["id"] for j in listing["imports"]] == [again["id"], done["id"]]


async def test_rejections_are_counted_and_reasons_kept(tmp_path: Path) -> None:
    body = testdata.pymarc_sample("bad_records.mrc").read_bytes()
    async with catalog(tmp_path) as cat:
        done = await finished(cat, "LIB-A", (await start(cat, "LIB-A", body)).json()["id"])
        assert done["status"] == "succeeded", done
        assert done["rejected"] >= 1 and done["records_read"] == done["created"] + done["rejected"]
        assert len(done["errors"]) == min(done["rejected"], 100)
        assert all(e["reason"] for e in done["errors"])


async def test_who_may_import_and_see_imports(tmp_path: Path) -> None:
    body = b"".join(loc_records(2))
    async with catalog(tmp_path) as cat:
        assert (await start(cat, "LIB-A", body, token_for="LIB-B")).status_code == 403
        job = (await start(cat, "LIB-A", body)).json()
        other = await cat.client.get(f"/catalog/imports/{job['id']}", headers=cat.headers("LIB-B"))
        assert other.status_code == 403
        admin = cat.headers("PLATFORM", roles=("platform-admin",))
        assert (await cat.client.get(f"/catalog/imports/{job['id']}", headers=admin)).status_code == 200
        assert (await cat.client.get("/catalog/imports", params={"institution": "LIB-A"},
                                     headers=cat.headers("LIB-B"))).status_code == 403
        unknown = await cat.client.get("/catalog/imports/00000000-0000-0000-0000-000000000000",
                                       headers=cat.headers("LIB-A"))
        assert unknown.status_code == 404
        assert (await start(cat, "LIB-A", b"hello", "text/plain")).status_code == 415
        assert (await start(cat, "LIB-A", b"")).status_code == 400
        assert (await finished(cat, "LIB-A", job["id"]))["status"] == "succeeded"


async def test_a_file_over_the_import_limit_is_refused_and_leaves_nothing_behind(tmp_path: Path) -> None:
    body = b"".join(loc_records(20))
    limit = len(body) - 1

    async def pieces() -> Any:  # no Content-Length: the limit holds while the body streams in
        for start_at in range(0, len(body), 4096):
            yield body[start_at:start_at + 4096]

    async with catalog(tmp_path / "data", max_import_bytes=limit) as cat:
        for content in (body, pieces()):
            refused = await start(cat, "LIB-A", content)  # type: ignore[arg-type]
            assert refused.status_code == 413, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert str(limit) in refused.json()["detail"]
        assert not list((tmp_path / "data" / "imports").glob("import-*")), "the spool file is removed"
        listing = (await cat.client.get("/catalog/imports", headers=cat.headers("LIB-A"))).json()
        assert listing["imports"] == []
        fits = await start(cat, "LIB-A", b"".join(loc_records(19)))
        assert fits.status_code == 202, fits.text


async def test_imports_past_the_replicas_spool_budget_are_told_to_come_back(tmp_path: Path) -> None:
    body = b"".join(loc_records(20))
    gate = asyncio.Event()

    async def held_upload() -> Any:  # holds its share of the budget until the gate opens
        yield body[:4096]
        await gate.wait()
        yield body[4096:]

    def chunked() -> Any:
        async def pieces() -> Any:  # no Content-Length: it may use what is left, and no more
            for start_at in range(0, len(body), 4096):
                yield body[start_at:start_at + 4096]
        return pieces()

    spool_dir = tmp_path / "data" / "imports"
    async with catalog(tmp_path / "data", import_spool_bytes=len(body) + 1000) as cat:
        first = asyncio.create_task(cat.client.post(
            "/catalog/imports", params={"institution": "LIB-A"}, content=held_upload(),
            headers={**cat.headers("LIB-A"), "content-type": "application/marc", "content-length": str(len(body))}))
        for _ in range(200):
            if spool_dir.exists() and list(spool_dir.glob("import-*")):
                break
            await asyncio.sleep(0.02)

        for content in (body, chunked()):
            busy = await start(cat, "LIB-B", content)
            assert busy.status_code == 503, busy.text
            assert busy.headers["content-type"] == "application/problem+json"
            assert busy.headers["retry-after"] == "30"
        assert len(list(spool_dir.glob("import-*"))) == 1, "a refused upload leaves no file"

        gate.set()
        accepted = await first
        assert accepted.status_code == 202, accepted.text
        assert (await finished(cat, "LIB-A", accepted.json()["id"]))["status"] == "succeeded"
        later = await start(cat, "LIB-B", body)  # the first import ended: its share is free again
        assert later.status_code == 202, later.text
        assert (await finished(cat, "LIB-B", later.json()["id"]))["status"] == "succeeded"


async def test_spool_files_an_earlier_process_left_are_removed_at_start_and_live_ones_later_kept(
        tmp_path: Path) -> None:
    body = b"".join(loc_records(20))
    spool_dir = tmp_path / "data" / "imports"
    spool_dir.mkdir(parents=True)
    # What a container killed mid-import leaves on its emptyDir: a finished spool file and a partial upload, both
    # fresh, and more bytes together than the new process's whole budget.
    leftovers = [spool_dir / "import-finished.part", spool_dir / "import-partial.part"]
    for leftover in leftovers:
        leftover.write_bytes(b"x" * len(body))
    (spool_dir / "notes.txt").write_text("not a spool file")
    gate = asyncio.Event()

    async def held_upload() -> Any:
        yield body[:4096]
        await gate.wait()
        yield body[4096:]

    async with catalog(tmp_path / "data", import_spool_bytes=len(body) + 1000) as cat:
        assert (await cat.client.get("/catalog/imports", headers=cat.headers("LIB-A"))).status_code == 200
        assert not any(leftover.exists() for leftover in leftovers)
        assert (spool_dir / "notes.txt").exists()

        upload = asyncio.create_task(cat.client.post(
            "/catalog/imports", params={"institution": "LIB-A"}, content=held_upload(),
            headers={**cat.headers("LIB-A"), "content-type": "application/marc", "content-length": str(len(body))}))
        for _ in range(200):
            if list(spool_dir.glob("import-*.part")):
                break
            await asyncio.sleep(0.02)
        assert await recover_interrupted(cat.app.state.runtime) == []  # a later recovery leaves live files alone
        assert len(list(spool_dir.glob("import-*.part"))) == 1
        gate.set()
        accepted = await upload
        assert accepted.status_code == 202, accepted.text  # the leftovers took none of the budget
        assert (await finished(cat, "LIB-A", accepted.json()["id"]))["status"] == "succeeded"


def running_job(job_id: str, owner: str | None, expires: datetime | None) -> dict[str, Any]:
    return {"id": job_id, "institution": "LIB-A", "filename": "x.mrc", "media_type": "application/marc",
            "status": "running", "file_sha256": None, "bytes_total": 10, "bytes_read": 5, "records_read": 1,
            "created": 1, "updated": 0, "unchanged": 0, "rejected": 0, "errors": [], "created_by": "someone",
            "started_at": datetime.now(UTC), "finished_at": None, "lease_owner": owner, "lease_expires_at": expires}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_job_whose_heartbeat_stopped_is_failed_and_a_live_one_left_alone(tmp_path: Path, kind: str) -> None:
    now = datetime.now(UTC)
    async with AsyncExitStack() as stack:
        url = "" if kind == "sqlite" else await stack.enter_async_context(postgres_database("bm_imports"))
        cat = await stack.enter_async_context(catalog(tmp_path, database_url=url, harvest_scheduler=False))
        async with cat.app.state.runtime.engine.begin() as conn:
            await conn.execute(sa.insert(imports), [
                running_job("from-before-leases", None, None),
                running_job("dead-replica", "replica-that-died", now - timedelta(seconds=1)),
                running_job("live-elsewhere", "replica-still-working", now + timedelta(minutes=1))])
        assert sorted(await recover_interrupted(cat.app.state.runtime)) == ["dead-replica", "from-before-leases"]
        for job_id in ("dead-replica", "from-before-leases"):
            job = (await cat.client.get(f"/catalog/imports/{job_id}", headers=cat.headers("LIB-A"))).json()
            assert job["status"] == "failed" and "heartbeat ran out" in job["failure"] and job["finished_at"]
        live = (await cat.client.get("/catalog/imports/live-elsewhere", headers=cat.headers("LIB-A"))).json()
        assert live["status"] == "running" and live["failure"] is None
        assert await recover_interrupted(cat.app.state.runtime) == []


async def test_a_running_import_keeps_its_lease_by_heartbeat_and_releases_it(tmp_path: Path) -> None:
    runtime_lease = 2.0  # renewed every batch and every third of it; a loaded machine must not lose it
    async with catalog(tmp_path, job_lease_seconds=runtime_lease) as cat:
        job = (await start(cat, "LIB-A", b"".join(loc_records(6000)))).json()
        owner = await cat.scalar(sa.select(imports.c.lease_owner).where(imports.c.id == job["id"]))
        assert owner == replica_id(cat.app.state.runtime)
        expiries = set()
        while (await cat.scalar(sa.select(imports.c.status).where(imports.c.id == job["id"]))) == "running":
            expiries.add(await cat.scalar(sa.select(imports.c.lease_expires_at).where(imports.c.id == job["id"])))
            # What another replica's recovery does: it must never take a job whose heartbeat beats.
            async with cat.app.state.runtime.unit_of_work() as uow:
                assert await ImportRepository(uow.session).fail_running("stolen", datetime.now(UTC)) == []
                await uow.commit()
            await asyncio.sleep(0.05)
        done = await finished(cat, "LIB-A", job["id"])
        assert done["status"] == "succeeded" and done["records_read"] == 6000
        announced = [e["payload"] for e in await cat.events("catalog.import.finished")]
        assert [(a["job_id"], a["status"], a["records_read"]) for a in announced] == [(job["id"], "succeeded", 6000)]
        assert len(expiries - {None}) >= 2, "the lease was renewed while the import ran"
        assert await cat.scalar(sa.select(imports.c.lease_owner).where(imports.c.id == job["id"])) is None


async def test_an_import_whose_parsing_process_dies_fails_and_the_next_one_works(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        job = (await start(cat, "LIB-A", b"".join(loc_records(6000)))).json()
        worker = parsing_worker(cat.app.state.runtime)
        while not worker.pids():
            await asyncio.sleep(0.01)
        for pid in worker.pids():
            os.kill(pid, signal.SIGKILL)
        failed = await finished(cat, "LIB-A", job["id"])
        assert failed["status"] == "failed", failed
        assert "parsing process stopped" in failed["failure"] and failed["records_read"] < 6000

        again = await finished(cat, "LIB-A", (await start(cat, "LIB-A", b"".join(loc_records(300)))).json()["id"])
        assert again["status"] == "succeeded" and again["records_read"] == 300


async def test_records_prepared_in_the_parsing_process_are_stored_as_the_service_would_store_them(
        tmp_path: Path) -> None:
    chunks = loc_records(200)
    async with catalog(tmp_path) as cat:
        done = await finished(cat, "LIB-A", (await start(cat, "LIB-A", b"".join(chunks))).json()["id"])
        assert done["status"] == "succeeded" and done["rejected"] == 0, done
        async with cat.app.state.runtime.engine.connect() as conn:
            stored = {row.local_id: row for row in await conn.execute(
                sa.select(records.c.local_id, records.c.description, clusters.c.display)
                .join(clusters, clusters.c.id == records.c.cluster_id).where(records.c.institution == "LIB-A"))}
        for parsed in read_marc(io.BytesIO(b"".join(chunks))):
            assert isinstance(parsed, ParsedRecord)
            row = stored[parsed.local_id]
            assert row.description == parsed.description.as_dict()  # a dict, not a JSON string holding one
            if row.display["title"] == parsed.description.title:  # a cluster of its own
                assert row.display == single_display(parsed.description, parsed.description.format)
        title_word = next(iter(stored.values())).description["title"].split()[0]
        found = await cat.client.get("/catalog/search", params={"q": title_word})
        assert found.status_code == 200 and found.json()["total"] >= 1


async def test_marcxml_and_ndjson_files_import_through_the_parsing_process(tmp_path: Path) -> None:
    marcxml = testdata.pymarc_sample("batch.xml").read_bytes()
    expected_xml = len(list(read_marcxml(io.BytesIO(marcxml))))
    lines = "\n".join(json.dumps({"local_id": f"j{i}", "title": f"红楼梦 第{i}卷", "authors": ["曹雪芹"], "year": 1982,
                                  "holdings": [{"item_id": f"item-{i}", "status": "available"}]})
                      for i in range(1, 4)) + "\n" + json.dumps({"local_id": "no-title"})
    async with catalog(tmp_path) as cat:
        xml_job = await finished(cat, "LIB-A", (await start(cat, "LIB-A", marcxml, "application/marcxml+xml"))
                                 .json()["id"])
        assert xml_job["status"] == "succeeded" and xml_job["created"] == expected_xml > 0, xml_job
        json_job = await finished(cat, "LIB-B", (await start(cat, "LIB-B", lines.encode(), "application/x-ndjson"))
                                  .json()["id"])
        assert json_job["status"] == "succeeded", json_job
        assert (json_job["created"], json_job["rejected"]) == (3, 1)
        assert "title" in json_job["errors"][0]["reason"]
        found = (await cat.client.get("/catalog/search", params={"q": "红楼梦", "institution": "LIB-B"})).json()
        assert found["total"] == 3


async def test_a_json_file_nested_too_deeply_imports_the_records_before_it(tmp_path: Path) -> None:
    deep = "[" * 3000 + "]" * 3000
    lines = json.dumps({"local_id": "j1", "title": "Before the deep one"}) + "\n" + \
        json.dumps({"local_id": "j2", "title": "Deep", "notes": 0}).replace("0}", deep + "}")
    async with catalog(tmp_path) as cat:
        job = await finished(cat, "LIB-A", (await start(cat, "LIB-A", lines.encode(), "application/x-ndjson"))
                             .json()["id"])
        assert job["status"] == "succeeded", job
        assert (job["created"], job["rejected"]) == (1, 1)
        assert "nested too deeply" in job["errors"][0]["reason"]
