"""Done means: two libraries upload overlapping real MARC files; the overlap forms clusters holding both."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import sqlalchemy as sa

from bibliomesh_catalog.adapters.tables import clusters
from bibliomesh_contracts import EventEnvelope, payload_model
from services.catalog.tests.catalog_fixtures import catalog, loc_records, local_id_of


async def test_overlapping_uploads_form_clusters_with_both_libraries_holdings(tmp_path: Path) -> None:
    library_a = loc_records(300)
    library_b = loc_records(300, skip=200)  # records 200-299 are in both files
    async with catalog(tmp_path) as cat:
        report_a = await cat.upload("LIB-A", b"".join(library_a))
        holdings_b = [{"local_id": local_id_of(raw), "item_id": f"B-{n}", "location": "Main library",
                       "status": "on-loan" if n % 2 else "available",
                       **({"due_date": "2030-06-30"} if n % 2 else {})} for n, raw in enumerate(library_b)]
        response = await cat.client.post(
            "/catalog/records", headers=cat.headers("LIB-B"),
            files={"records": ("b.mrc", b"".join(library_b), "application/marc"),
                   "holdings": ("items.json", json.dumps(holdings_b), "application/json")})
        assert response.status_code == 200, response.text
        report_b = response.json()
        assert report_a["counts"] == {"created": 300} and report_b["counts"] == {"created": 300}
        assert report_b["ignored_holdings"] == []

        shared = report_b["results"][:100]
        by_local_a = {r["local_id"]: r["cluster_id"] for r in report_a["results"]}
        assert all(by_local_a[r["local_id"]] == r["cluster_id"] for r in shared)
        live = await cat.scalar(sa.select(sa.func.count()).select_from(clusters).where(clusters.c.deleted_at.is_(None)))
        assert live == 500  # 300 + 300 records, 100 of them the same editions

        view = (await cat.client.get(f"/catalog/clusters/{shared[1]['cluster_id']}")).json()
        assert sorted(m["institution"] for m in view["members"]) == ["LIB-A", "LIB-B"]
        assert all(m["joined_by"] and m["joined_by"].split(":")[0] in ("oclc", "lccn", "isbn") for m in view["members"])
        holders = {h["institution"]: h for h in view["holdings"]}
        assert holders["LIB-B"]["items"][0]["status"] == "on-loan" and holders["LIB-B"]["available_count"] == 0
        assert "LIB-A" not in holders  # LIB-A sent no items: a member, not a holder (as in search and OAI sets)

        appeared = await cat.events("catalog.holdings.changed")
        assert len(appeared) == 300
        event = next(e for e in appeared if e["payload"]["item_id"] == "B-1")
        assert event["payload"]["cluster_id"] == shared[1]["cluster_id"]
        assert event["payload"]["oclc_numbers"] == view["display"]["oclc_numbers"]
        assert event["payload"]["change"] == "appeared" and event["payload"]["due_date"] == "2030-06-30"
        assert event["payload"]["title_key"] and event["aggregate_version"] == 1

        for envelope in await cat.events():  # every event is a valid, registered contract
            payload_model(envelope["type"], envelope["version"]).model_validate(envelope["payload"])
            EventEnvelope.model_validate(envelope)

        again = await cat.upload("LIB-A", b"".join(library_a))
        assert again["counts"] == {"unchanged": 300}
        assert len(await cat.events("catalog.record.upserted")) == 600


async def test_simultaneous_uploads_of_the_same_books_share_clusters(tmp_path: Path) -> None:
    books = b"".join(loc_records(80))
    async with catalog(tmp_path) as cat:
        reports = await asyncio.gather(*(cat.upload(code, books) for code in ("LIB-A", "LIB-B", "LIB-C")))
        by_record = [{r["local_id"]: r["cluster_id"] for r in report["results"]} for report in reports]
        assert by_record[0] == by_record[1] == by_record[2]
        live = await cat.scalar(sa.select(sa.func.count()).select_from(clusters).where(clusters.c.deleted_at.is_(None)))
        assert live == 80
