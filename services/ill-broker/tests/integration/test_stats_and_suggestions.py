"""What the region learns: statistics per institution and platform, purchase suggestions from repeated demand."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from broker_fixtures import broker, item, region

from bibliomesh_ill.adapters.tables import messaging


async def test_stats_show_fill_rate_turnaround_balance_and_reasons_to_the_right_people(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-U1-MED", "m1", 1), item("CN-PL", "p1", 1), item("CN-PL", "p2", 2)])
        first = (await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG"),
                                     json={"cluster_id": 1})).json()["id"]
        await b.act(first, "cannot_supply", b.staff("CN-U1-MED"), reason="NotOnShelf")
        await b.act(first, "will_supply", b.staff("CN-PL"))
        await b.act(first, "ship", b.staff("CN-PL"))
        await b.act(first, "receive", b.staff("CN-U1-ENG"))
        second = (await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG"),
                                      json={"cluster_id": 2})).json()["id"]
        await b.act(second, "cannot_supply", b.staff("CN-PL"), reason="Lost")

        mine = await b.client.get("/ill/stats", headers=b.staff("CN-U1-ENG"))
        assert mine.status_code == 200, mine.text
        numbers = mine.json()
        assert numbers["institution"] == "CN-U1-ENG"
        assert numbers["borrowing"]["requests"] == 2
        assert (numbers["borrowing"]["filled"], numbers["borrowing"]["unfilled"]) == (1, 1)
        assert numbers["borrowing"]["fill_rate"] == 0.5
        assert numbers["borrowing"]["hours_to_shipped"]["count"] == 1
        assert numbers["borrowing"]["hours_to_received"]["count"] == 1
        assert numbers["by_tier"]["region"]["filled"] == 1
        assert numbers["balance"] == {"lent": 0, "borrowed": 1}

        lender = (await b.client.get("/ill/stats", headers=b.staff("CN-PL"))).json()
        assert lender["lending"]["supplied"] == 1
        assert lender["unfilled_reasons"] == {"Lost": 1}

        admin = b.tokens.headers("PLATFORM", scopes=["ill:manage"], roles=["platform-admin"])
        platform = (await b.client.get("/ill/stats", headers=admin)).json()
        assert platform["institution"] is None
        assert platform["unfilled_reasons"] == {"NotOnShelf": 1, "Lost": 1}
        assert {r["institution"]: r["lent"] for r in platform["by_institution"]}["CN-PL"] == 1

        refused = await b.client.get("/ill/stats", headers=b.staff("CN-U1-ENG"), params={"institution": "CN-PL"})
        assert refused.status_code == 403
        assert (await b.client.get("/ill/stats", headers=b.patron("CN-U1-ENG"))).status_code == 403
        bad = await b.client.get("/ill/stats", headers=admin, params={"from": "2026-02-01", "to": "2026-01-01"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"
        metrics = (await b.client.get("/metrics")).text
        assert "ill_requests_30d" in metrics


async def test_repeated_requests_by_one_institution_become_a_purchase_suggestion(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 5)])
        staff = b.staff("CN-U1-ENG")
        threshold = await b.client.put("/ill/acquisition-suggestions/threshold/CN-U1-ENG", headers=staff,
                                       json={"threshold": 2, "window_days": 30})
        assert threshold.status_code == 200
        ids = []
        for reader in ("ann", "bo"):
            created = await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG", reader),
                                          json={"cluster_id": 5})
            ids.append(created.json()["id"])
        suggestions = (await b.client.get("/ill/acquisition-suggestions", headers=staff)).json()
        assert [(s["item_key"], s["request_count"], s["request_ids"]) for s in suggestions] == [
            ("cluster:5", 2, ids)]
        other = (await b.client.get("/ill/acquisition-suggestions", headers=b.staff("CN-PL"))).json()
        assert other == []
        assert (await b.client.put("/ill/acquisition-suggestions/threshold/CN-U1-ENG", headers=b.staff("CN-PL"),
                                   json={"threshold": 2, "window_days": 30})).status_code == 403

        async with b.runtime.engine.connect() as conn:
            events = list(await conn.scalars(sa.select(messaging.outbox.c.event_type).where(
                messaging.outbox.c.event_type == "ill.acquisition.suggested")))
        assert events == ["ill.acquisition.suggested"]


async def test_a_discovery_systems_openurl_previews_and_makes_a_request(tmp_path: Path) -> None:
    async with broker(tmp_path, catalog_url="http://127.0.0.1:9") as b:  # nothing listens: identifiers suffice
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 9, isbns=["9780306406157"])])
        patron = b.patron("CN-U1-ENG")
        link = {"url_ver": "Z39.88-2004", "rft.genre": "book", "rft.isbn": "0-306-40615-2",
                "rft.btitle": "Some book"}
        preview = await b.client.get("/ill/openurl", headers=patron, params=link)
        assert preview.status_code == 200, preview.text
        assert (preview.json()["holders"], preview.json()["service_type"]) == (["CN-PL"], "loan")
        created = await b.client.post("/ill/openurl", headers=patron, params=link)
        assert created.status_code == 201, created.text
        assert (created.json()["lender"], created.json()["item_key"]) == ("CN-PL", "cluster:9")
        article = await b.client.post("/ill/openurl", headers=patron, params={
            "rft.genre": "article", "rft.atitle": "On things", "rft.jtitle": "Journal of things"})
        assert article.status_code == 503  # the catalogue is down and there is no identifier to fall back on
        empty = await b.client.get("/ill/openurl", headers=patron, params={"foo": "bar"})
        assert empty.status_code == 422
        assert (await b.client.get("/ill/openurl", params=link)).status_code == 401
