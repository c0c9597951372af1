"""`/catalog/imports`: streamed bulk imports run in the background and report their progress."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bibliomesh_catalog.adapters.tables import imports, records
from bibliomesh_catalog.service_layer.imports import recover_interrupted
from services.catalog.tests.catalog_fixtures import Catalog, catalog, loc_records
from tests.support import testdata


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


async def test_a_job_interrupted_by_a_restart_is_marked_failed(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        async with cat.app.state.runtime.engine.begin() as conn:
            await conn.execute(sa.insert(imports).values(
                id="stale", institution="LIB-A", filename="x.mrc", media_type="application/marc", status="running",
                file_sha256=None, bytes_total=10, bytes_read=5, records_read=1, created=1, updated=0, unchanged=0,
                rejected=0, errors=[], created_by="someone", started_at=datetime.now(UTC), finished_at=None))
        assert await recover_interrupted(cat.app.state.runtime) == ["stale"]
        job = (await cat.client.get("/catalog/imports/stale", headers=cat.headers("LIB-A"))).json()
        assert job["status"] == "failed" and "restart" in job["failure"] and job["finished_at"]
