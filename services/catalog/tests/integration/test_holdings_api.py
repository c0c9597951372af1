"""`PUT /catalog/holdings/...`: availability changes travel as versioned events."""

from __future__ import annotations

from pathlib import Path

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
        assert (await cat.client.put("/catalog/holdings/LIB-A/H-1", headers=headers,
                                     json={"status": "on-loan"})).status_code == 422
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
