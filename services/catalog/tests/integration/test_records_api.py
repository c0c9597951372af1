"""`POST /catalog/records` and `DELETE /catalog/records/...`: formats, per-record outcomes, limits."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from lxml import etree

import meshkit.runtime
from bibliomesh_catalog.adapters.tables import records
from meshkit.db import create_engine
from services.catalog.tests.catalog_fixtures import Catalog, catalog, loc_records, marc_record

OAI = {"o": "http://www.openarchives.org/OAI/2.0/"}


async def test_a_bad_record_never_sinks_its_batch(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        good = loc_records(3)
        truncated = marc_record("broken", "Broken")[:-30]
        report = await cat.upload("LIB-A", good[0] + marc_record("untitled", "") + truncated + good[1] + good[2])
        statuses = [(r["status"], r["reason"]) for r in report["results"]]
        assert [s for s, _ in statuses] == ["created", "rejected", "rejected", "created", "created"]
        assert statuses[1][1].startswith("no title") and statuses[2][1]
        assert report["counts"] == {"created": 3, "rejected": 2}


async def test_updates_are_detected_by_content_and_announced(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("r1", "First title", isbns=("0306406152",)))
        same = await cat.upload("LIB-A", marc_record("r1", "First title", isbns=("0306406152",)))
        changed = await cat.upload("LIB-A", marc_record("r1", "First title, revised", isbns=("0306406152",)))
        assert same["results"][0]["status"] == "unchanged"
        assert changed["results"][0]["status"] == "updated"
        upserts = await cat.events("catalog.record.upserted")
        assert [(e["aggregate_version"], e["payload"]["created"]) for e in upserts] == [(1, True), (2, False)]
        assert upserts[1]["payload"]["title"] == "First title, revised"
        assert upserts[1]["payload"]["isbns"] == ["9780306406157"]


async def test_marcxml_and_json_bodies(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        xml = ('<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a2200000 a 4500</leader>'
               '<controlfield tag="001">x1</controlfield><datafield tag="245" ind1="0" ind2="0">'
               '<subfield code="a">From XML</subfield></datafield></record></collection>')
        report = await cat.upload("LIB-A", xml.encode(), "application/marcxml+xml")
        assert report["counts"] == {"created": 1}
        records = [{"local_id": "j1", "title": "红楼梦", "authors": ["曹雪芹"], "year": 1982,
                    "identifiers": {"isbn": ["7-02-000220-X"]},
                    "holdings": [{"item_id": "J-1", "status": "available", "location": "东区"}]},
                   {"local_id": "j2", "title": ""}]
        report = await cat.upload("LIB-A", json.dumps(records).encode(), "application/json")
        assert [r["status"] for r in report["results"]] == ["created", "rejected"]
        assert "title" in report["results"][1]["reason"]
        view = (await cat.client.get(f"/catalog/clusters/{report['results'][0]['cluster_id']}")).json()
        assert view["display"]["title"] == "红楼梦" and view["holdings"][0]["items"][0]["item_id"] == "J-1"


async def test_json_nested_too_deeply_is_a_rejection_not_a_server_error(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        alone = await cat.post("LIB-A", b"[" * 3000 + b"]" * 3000, "application/json")
        assert alone.status_code == 200, alone.text
        assert alone.json()["counts"] == {"rejected": 1}
        assert "nested too deeply" in alone.json()["results"][0]["reason"]
        inside = json.dumps([{"local_id": "n1", "title": "Kept"}, {"local_id": "n2", "title": "Deep", "notes": 0}])
        body = inside.replace('"notes": 0', '"notes": ' + "[" * 3000 + "]" * 3000).encode()
        report = await cat.upload("LIB-A", body, "application/json")
        assert [r["status"] for r in report["results"]] == ["created", "rejected"]
        assert "nested too deeply" in report["results"][1]["reason"]


async def test_duplicates_in_one_batch_are_rejected_after_the_first(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        report = await cat.upload("LIB-A", marc_record("d1", "One") + marc_record("d1", "One again"))
        assert [r["status"] for r in report["results"]] == ["created", "rejected"]
        assert "duplicate local id" in report["results"][1]["reason"]


async def test_oversized_bodies_are_refused_with_413_declared_or_streamed(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        big = b"0" * (20 * 1024 * 1024 + 1)
        declared = await cat.post("LIB-A", big)
        assert declared.status_code == 413
        assert declared.headers["content-type"].startswith("application/problem+json")

        async def chunks():  # no Content-Length: the limit applies while reading
            for start in range(0, len(big), 1 << 20):
                yield big[start:start + (1 << 20)]

        streamed = await cat.client.post("/catalog/records", content=chunks(),
                                         headers={**cat.headers("LIB-A"), "content-type": "application/marc"})
        assert streamed.status_code == 413


async def test_unsupported_and_empty_bodies(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        assert (await cat.post("LIB-A", b"hello", "text/plain")).status_code == 415
        assert (await cat.post("LIB-A", b"  ")).status_code == 400


async def test_holdings_sent_alongside_for_unknown_records_are_reported(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        response = await cat.client.post(
            "/catalog/records", headers=cat.headers("LIB-A"),
            files={"records": ("a.mrc", marc_record("m1", "Multipart"), "application/marc"),
                   "holdings": ("h.json", json.dumps([{"local_id": "m1", "item_id": "I1"},
                                                       {"local_id": "nope", "item_id": "I2"}]), "application/json")})
        assert response.status_code == 200, response.text
        assert response.json()["ignored_holdings"] == ["nope"]
        bad = await cat.client.post("/catalog/records", headers=cat.headers("LIB-A"),
                                    files={"records": ("a.mrc", marc_record("m1", "Multipart"), "application/marc"),
                                           "holdings": ("h.json", '[{"item_id": 1}]', "application/json")})
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {"holdings.0.item_id", "holdings.0.local_id"}
        for part, field in (('[{"local_id": "m1", "item_id": "I1", "status": "on-loan-ish"}]', "holdings.0.status"),
                            ('[{"local_id": "m1", "item_id": "I1", "status": "on-loan"}]', "holdings.0"),
                            ('[{"local_id": "m1", "item_id": ', "holdings"),
                            ('{"local_id": "m1"}', "holdings")):
            refused = await cat.client.post(
                "/catalog/records", headers=cat.headers("LIB-A"),
                files={"records": ("a.mrc", marc_record("m1", "Multipart"), "application/marc"),
                       "holdings": ("h.json", part, "application/json")})
            assert refused.status_code == 422, part
            assert [e["field"] for e in refused.json()["errors"]] == [field], part


async def test_delete_withdraws_the_record_and_its_holdings(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        report = await cat.upload("LIB-A", marc_record("del1", "To be deleted", items=(("p", "D-1"),)))
        cluster_id = report["results"][0]["cluster_id"]
        response = await cat.client.delete("/catalog/records/LIB-A/del1", headers=cat.headers("LIB-A"))
        assert response.status_code == 204
        assert (await cat.client.get(f"/catalog/clusters/{cluster_id}")).status_code == 404
        assert (await cat.client.delete("/catalog/records/LIB-A/del1", headers=cat.headers("LIB-A"))).status_code == 204
        never = await cat.client.delete("/catalog/records/LIB-A/never", headers=cat.headers("LIB-A"))
        assert never.status_code == 404
        withdrawn = (await cat.events("catalog.holdings.changed"))[-1]
        assert withdrawn["payload"]["change"] == "withdrawn" and withdrawn["aggregate_version"] == 2
        deleted = await cat.events("catalog.record.deleted")
        assert deleted[0]["payload"]["former_cluster_id"] == cluster_id
        gone = (await cat.events("catalog.cluster.changed"))[-1]
        assert gone["payload"]["status"] == "deleted" and gone["payload"]["cluster_id"] == cluster_id

        again = await cat.upload("LIB-A", marc_record("del1", "To be deleted", items=(("p", "D-1"),)))
        assert again["results"][0]["status"] == "created"
        back = (await cat.events("catalog.holdings.changed"))[-1]
        assert back["payload"]["change"] == "appeared" and back["aggregate_version"] == 3  # continues after withdrawal


async def test_deleting_one_member_updates_the_cluster_the_others_keep(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        isbn = {"isbns": ("9780306406157",)}
        first = await cat.upload("LIB-A", marc_record("a1", "Shared book", **isbn))
        await cat.upload("LIB-B", marc_record("b1", "Shared book", **isbn))
        cluster_id = first["results"][0]["cluster_id"]
        before = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
        assert len(before["members"]) == 2

        assert (await cat.client.delete("/catalog/records/LIB-B/b1", headers=cat.headers("LIB-B"))).status_code == 204
        after = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
        assert [m["institution"] for m in after["members"]] == ["LIB-A"]
        changed = [e for e in await cat.events("catalog.cluster.changed") if e["payload"]["cluster_id"] == cluster_id]
        assert len(changed[-1]["payload"]["members"]) == 1  # announced, so OAI harvesters and the broker see it


async def test_deleting_twice_emits_one_record_deleted_event_and_keeps_the_tombstones_datestamp(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        report = await cat.upload("LIB-A", marc_record("twice", "Deleted twice", items=(("p", "T-1"),)))
        cluster_id = report["results"][0]["cluster_id"]
        path, headers = "/catalog/records/LIB-A/twice", cat.headers("LIB-A")
        assert (await cat.client.delete(path, headers=headers)).status_code == 204
        tombstone, header, events = await _tombstone(cat), await _oai_header(cat, cluster_id), await cat.events()
        assert tombstone.deleted_at is not None and header[0] == "deleted"

        again = await cat.client.delete(path, headers=headers)

        assert again.status_code == 204  # a partner system retrying its delete sees no error
        assert await _tombstone(cat) == tombstone  # same deletion time, datestamp and version
        assert await _oai_header(cat, cluster_id) == header  # OAI-PMH keeps the deleted record as it was
        assert await cat.events() == events
        assert len(await cat.events("catalog.record.deleted")) == 1
        documented = (await cat.client.get("/catalog/openapi.json")).json()["paths"]
        assert "already deleted is a no-op answered 204" in \
            documented["/catalog/records/{institution}/{local_id}"]["delete"]["description"]


async def _tombstone(cat: Catalog) -> Any:
    async with cat.app.state.runtime.engine.connect() as conn:
        return (await conn.execute(sa.select(records.c.deleted_at, records.c.updated_at, records.c.version)
                                   .where(records.c.institution == "LIB-A", records.c.local_id == "twice"))).one()


async def _oai_header(cat: Catalog, cluster_id: int) -> tuple[str | None, str]:
    response = await cat.client.get("/catalog/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    root = etree.fromstring(response.content)
    for header in root.xpath("//o:header", namespaces=OAI):
        if header.findtext("o:identifier", namespaces=OAI).endswith(f"/{cluster_id}"):
            return header.get("status"), header.findtext("o:datestamp", namespaces=OAI)
    raise AssertionError(f"cluster {cluster_id} is not listed")


async def test_a_slow_upload_holds_no_database_connection_while_its_body_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One connection for the whole catalogue: an upload holding it while its body trickles in would stop every search
    # (as 20 slow uploads would exhaust a real pool).
    monkeypatch.setattr(meshkit.runtime, "create_engine",
                        functools.partial(create_engine, pool_size=1, max_overflow=0, pool_timeout=10))
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("early", "Quiet harbour", items=(("p", "Q-1"),)))
        record = marc_record("slow", "Slowly uploaded", items=(("p", "S-1"),))
        arriving, rest = asyncio.Event(), asyncio.Event()

        async def trickle() -> AsyncIterator[bytes]:
            yield record[:20]
            arriving.set()  # the catalogue has read the first bytes and waits for the others
            await rest.wait()
            yield record[20:]

        marc = {"content-type": "application/marc"}
        upload = asyncio.create_task(cat.client.post("/catalog/records", content=trickle(),
                                                     headers={**cat.headers("LIB-A"), **marc}))
        await asyncio.wait_for(arriving.wait(), timeout=20)
        found = await cat.client.get("/catalog/search", params={"q": "harbour"})
        assert found.status_code == 200, found.text
        assert [hit["title"] for hit in found.json()["results"]] == ["Quiet harbour"]
        assert not upload.done()
        rest.set()
        uploaded = await upload
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["counts"] == {"created": 1}

        # An institution the directory copy does not know is refused before a byte of the body is read.
        opened = asyncio.Event()

        async def unread() -> AsyncIterator[bytes]:
            opened.set()
            yield record

        refused = await cat.client.post(
            "/catalog/records", content=unread(), params={"institution": "CN-DL-NOBODY"},
            headers={**cat.headers("PLATFORM", roles=("platform-admin",)), **marc})
        assert refused.status_code == 409, refused.text
        assert not opened.is_set()
