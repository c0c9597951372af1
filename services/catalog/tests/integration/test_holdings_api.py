"""`PUT /catalog/holdings/...`: availability changes travel as versioned events."""

from __future__ import annotations

import json
from pathlib import Path

import pymarc

from services.catalog.tests.catalog_fixtures import catalog, marc_record


async def test_a_status_change_is_stored_announced_and_shown(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        report = await cat.upload("LIB-A", marc_record("h1", "Circulating", isbns=("0306406152",),
                                                      items=(("p", "H-1"), ("p", "H-2"))))
        cluster_id = report["results"][0]["cluster_id"]
        response = await cat.client.put("/catalog/holdings/LIB-A/H-1", headers=cat.headers("LIB-A"),
                                        json={"status": "on-loan", "due_date": "2031-01-15"})
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 2 and response.json()["status"] == "on-loan"
        event = (await cat.events("catalog.holdings.changed"))[-1]
        assert event["aggregate_version"] == 2 and event["institution"] == "LIB-A"
        payload = event["payload"]
        assert payload["change"] == "changed" and payload["available"] is False
        assert payload["due_date"] == "2031-01-15" and payload["cluster_id"] == cluster_id
        assert payload["isbns"] == ["9780306406157"] and payload["local_id"] == "h1"
        view = (await cat.client.get(f"/catalog/clusters/{cluster_id}")).json()
        assert view["holdings"][0]["available_count"] == 1

        same = await cat.client.put("/catalog/holdings/LIB-A/H-1", headers=cat.headers("LIB-A"),
                                    json={"status": "on-loan", "due_date": "2031-01-15"})
        assert same.json()["version"] == 2  # nothing changed, nothing announced
        assert len(await cat.events("catalog.holdings.changed")) == 3


async def test_bad_holdings_updates_are_refused(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("h1", "Circulating", items=(("p", "H-1"),)))
        headers = cat.headers("LIB-A")
        assert (await cat.client.put("/catalog/holdings/LIB-A/NOPE", headers=headers,
                                     json={"status": "missing"})).status_code == 404
        no_due_date = await cat.client.put("/catalog/holdings/LIB-A/H-1", headers=headers, json={"status": "on-loan"})
        assert no_due_date.status_code == 422
        assert no_due_date.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in no_due_date.json()["errors"]] == ["due_date"]
        assert "due_date" in no_due_date.json()["detail"]
        stray = await cat.client.put("/catalog/holdings/LIB-A/H-1", headers=headers,
                                     json={"status": "missing", "due_date": "2031-01-15"})
        assert stray.status_code == 422 and [e["field"] for e in stray.json()["errors"]] == ["due_date"]
        assert (await cat.client.put("/catalog/holdings/LIB-A/H-1", headers=headers,
                                     json={"status": "lost"})).status_code == 422


async def test_items_restated_with_a_record_are_reconciled(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("h1", "Circulating", items=(("p", "H-1"), ("p", "H-2"))))
        await cat.upload("LIB-A", marc_record("h1", "Circulating", items=(("p", "H-2"), ("p", "H-3"),
                                                                            ("p", "H-2x", "1", "1"))))
        changes = [(e["payload"]["item_id"], e["payload"]["change"], e["aggregate_version"])
                   for e in await cat.events("catalog.holdings.changed")]
        assert changes[:2] == [("H-1", "appeared", 1), ("H-2", "appeared", 1)]
        assert sorted(changes[2:]) == [("H-1", "withdrawn", 2), ("H-2", "changed", 2), ("H-2x", "appeared", 1),
                                       ("H-3", "appeared", 1)]


def _romanized_with_chinese_title(local_id: str) -> bytes:
    """A record catalogued in pinyin whose Chinese title is in an 880 paired with the 245, with one item."""
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data=local_id))
    record.add_field(pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"), subfields=[
        pymarc.Subfield("6", "880-01"), pymarc.Subfield("a", "Zhongguo fa lü si xiang shi /")]))
    record.add_field(pymarc.Field(tag="880", indicators=pymarc.Indicators("1", "0"), subfields=[
        pymarc.Subfield("6", "245-01/$1"), pymarc.Subfield("a", "中国法律思想史 /")]))
    record.add_field(pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "), subfields=[
        pymarc.Subfield("p", "Z-1")]))
    raw: bytes = record.as_marc21()
    return raw


async def test_holdings_events_carry_the_records_title_as_displayed(tmp_path: Path) -> None:
    async with catalog(tmp_path) as cat:
        await cat.upload("LIB-A", marc_record("t1", "Adam's curse :", subtitle="reflections on religion and "
                                              "literature /", author="Jacobs, Alan", items=(("p", "A-1"),)))
        await cat.upload("LIB-A", _romanized_with_chinese_title("t2"))
        first, second = [e["payload"] for e in await cat.events("catalog.holdings.changed")]
        assert (first["title"], first["alt_title"]) == ("Adam's curse : reflections on religion and literature", None)
        assert first["title_key"].startswith("adam s curse|")   # the match key stays what it was
        assert (second["title"], second["alt_title"]) == ("Zhongguo fa lü si xiang shi", "中国法律思想史")

        response = await cat.client.put("/catalog/holdings/LIB-A/A-1", headers=cat.headers("LIB-A"),
                                        json={"status": "missing"})
        assert response.status_code == 200, response.text
        assert (await cat.events("catalog.holdings.changed"))[-1]["payload"]["title"] == first["title"]

        renamed = {"local_id": "t1", "title": "Adam's curse", "subtitle": "reflections on religion",
                   "alt_titles": ["亚当的诅咒"], "holdings": [{"item_id": "A-1", "status": "missing"}]}
        await cat.upload("LIB-A", json.dumps([renamed]).encode(), "application/json")
        last = (await cat.events("catalog.holdings.changed"))[-1]["payload"]
        assert (last["item_id"], last["change"], last["title"], last["alt_title"]) == (
            "A-1", "changed", "Adam's curse : reflections on religion", "亚当的诅咒")
