"""Clusters follow their records: they split when the link goes, obey staff, link formats as one work."""

from __future__ import annotations

import json
from pathlib import Path

import pymarc

from services.catalog.tests.catalog_fixtures import Catalog, catalog, marc_record

ISBN_X = "0306406152"
ISBN_Y = "1566199093"


async def cluster_of(cat: Catalog, institution: str, local_id: str) -> int:
    events = [e for e in await cat.events("catalog.record.upserted")
              if e["institution"] == institution and e["payload"]["local_id"] == local_id]
    cluster_id: int = events[-1]["payload"]["cluster_id"]
    return cluster_id


async def members(cat: Catalog, cluster_id: int) -> list[tuple[str, str]]:
    view = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
    return sorted((m["institution"], m["local_id"]) for m in view["members"])


async def test_a_cluster_splits_when_the_shared_identifier_goes(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        a = await cat.upload("LIB-A", marc_record("a1", "Shared book", isbns=(ISBN_X,), items=(("p", "A-1"),)))
        b = await cat.upload("LIB-B", marc_record("b1", "Shared book", isbns=(ISBN_X,), items=(("p", "B-1"),)))
        together = a["results"][0]["cluster_id"]
        assert b["results"][0]["cluster_id"] == together
        assert await members(cat, together) == [("LIB-A", "a1"), ("LIB-B", "b1")]

        moved = await cat.upload("LIB-B", marc_record("b1", "Shared book", isbns=(ISBN_Y,), year=1990,
                                                      items=(("p", "B-1"),)))
        apart = moved["results"][0]["cluster_id"]
        assert apart != together
        assert await members(cat, together) == [("LIB-A", "a1")]
        assert await members(cat, apart) == [("LIB-B", "b1")]
        item = [e for e in await cat.events("catalog.holdings.changed") if e["payload"]["item_id"] == "B-1"][-1]
        assert item["payload"]["cluster_id"] == apart and item["aggregate_version"] == 2


async def test_deleting_the_record_that_bridged_two_others_splits_them(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("a1", "Bridged book", isbns=(ISBN_X,)))
        await cat.upload("LIB-C", marc_record("c1", "Bridged book", isbns=(ISBN_Y,)))
        await cat.upload("LIB-B", marc_record("b1", "Bridged book", isbns=(ISBN_X, ISBN_Y)))
        cluster = await cluster_of(cat, "LIB-B", "b1")
        assert len(await members(cat, cluster)) == 3
        assert (await cat.client.delete("/catalog/records/LIB-B/b1", headers=cat.headers("LIB-B"))).status_code == 204
        changed = [e["payload"] for e in await cat.events("catalog.cluster.changed")][-2:]
        clusters = {p["cluster_id"]: [m["local_id"] for m in p["members"]] for p in changed}
        assert sorted(clusters.values()) == [["a1"], ["c1"]]


async def test_staff_decisions_survive_re_ingest(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("a1", "Same book", isbns=(ISBN_X,)))
        await cat.upload("LIB-B", marc_record("b1", "Same book", isbns=(ISBN_X,)))
        await cat.upload("LIB-B", marc_record("b2", "Quite different title", year=1950))
        pair = {"a": {"institution": "LIB-A", "local_id": "a1"}, "b": {"institution": "LIB-B", "local_id": "b1"}}
        split = await cat.client.post("/catalog/clusters/split", json={**pair, "reason": "different printings"},
                                      headers=cat.headers("LIB-A"))
        assert split.status_code == 200 and split.json()["a_cluster_id"] != split.json()["b_cluster_id"]
        link = {"a": {"institution": "LIB-A", "local_id": "a1"}, "b": {"institution": "LIB-B", "local_id": "b2"}}
        linked = await cat.client.post("/catalog/clusters/link", json=link, headers=cat.headers("LIB-A"))
        assert linked.json()["a_cluster_id"] == linked.json()["b_cluster_id"]

        await cat.upload("LIB-B", marc_record("b1", "Same book", isbns=(ISBN_X,), subtitle="re-catalogued"))
        await cat.upload("LIB-B", marc_record("b2", "Quite different title", year=1950, subtitle="again"))
        a1 = await cluster_of(cat, "LIB-A", "a1")
        assert await cluster_of(cat, "LIB-B", "b1") != a1
        assert await cluster_of(cat, "LIB-B", "b2") == await cluster_of(cat, "LIB-B", "b2")
        view = (await cat.client.get(f"/catalog/clusters/{await cluster_of(cat, 'LIB-B', 'b2')}")).json()
        assert sorted(m["local_id"] for m in view["members"]) == ["a1", "b2"]
        assert {m["joined_by"] for m in view["members"]} == {"override"}


async def test_print_and_electronic_are_separate_clusters_linked_as_one_work(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        printed = await cat.upload("LIB-A", marc_record("p1", "Dual format book", isbns=(ISBN_X,)))
        online = await cat.upload("LIB-B", marc_record("e1", "Dual format book", isbns=(ISBN_X,), electronic=True))
        print_id, online_id = printed["results"][0]["cluster_id"], online["results"][0]["cluster_id"]
        assert print_id != online_id
        view = (await cat.client.get(f"/catalog/clusters/{online_id}")).json()
        assert view["format"] == "electronic" and view["work_id"] == print_id
        assert view["other_formats"] == [{"cluster_id": print_id, "format": "print", "title": "Dual format book"}]


async def test_volumes_of_a_set_sharing_the_set_isbn_stay_apart(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        one = await cat.upload("LIB-A", marc_record("v1", "Collected works", isbns=(f"{ISBN_X} (set)",), part="v. 1"))
        two = await cat.upload("LIB-B", marc_record("v2", "Collected works", isbns=(f"{ISBN_X} (set)",), part="v. 2"))
        same = await cat.upload("LIB-C", marc_record("v1c", "Collected works", isbns=(ISBN_X,), part="Vol. 1"))
        assert one["results"][0]["cluster_id"] != two["results"][0]["cluster_id"]
        assert same["results"][0]["cluster_id"] == one["results"][0]["cluster_id"]


async def test_a_chinese_record_and_a_romanized_one_with_the_same_isbn_merge(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        chinese = [{"local_id": "zh1", "title": "红楼梦", "authors": ["曹雪芹"], "year": 1982,
                    "identifiers": {"isbn": ["7-02-000220-X"]}}]
        zh = await cat.upload("LIB-A", json.dumps(chinese).encode(), "application/json")
        record = pymarc.Record(pymarc.Record(marc_record("py1", "Hong lou meng", isbns=("702000220X",),
                                                         author="Cao, Xueqin", year=1982)).as_marc21())
        record.add_field(pymarc.Field(tag="880", indicators=pymarc.Indicators("1", "0"), subfields=[
            pymarc.Subfield("6", "245-01/$1"), pymarc.Subfield("a", "红楼梦")]))
        romanized = await cat.upload("LIB-B", record.as_marc21())
        cluster_id = zh["results"][0]["cluster_id"]
        assert romanized["results"][0]["cluster_id"] == cluster_id
        view = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
        assert "红楼梦" in [view["display"]["title"], *view["alt_titles"]]
