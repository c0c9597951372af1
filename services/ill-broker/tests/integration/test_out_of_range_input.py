"""Malformed or out-of-range input to the request API is a 422 naming the field (or simply not what it claims to
be), never a 500."""

from __future__ import annotations

from pathlib import Path

from broker_fixtures import broker, item, region

from meshkit.web import MAX_ID

HOME = "CN-U1-ENG"


def refused(response: object, field: str) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert field in [e["field"] for e in response.json()["errors"]], response.json()  # type: ignore[attr-defined]


async def test_an_isbn_with_an_x_before_the_check_digit_is_no_isbn(tmp_path: Path) -> None:
    async with broker(tmp_path, catalog_url="http://127.0.0.1:9") as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 9, isbns=["9780306406157"])])
        patron = b.patron(HOME)
        refused(await b.submit(patron, citation={"isbn": "X123456789"}), "citation")
        refused(await b.client.get("/ill/openurl", headers=patron, params={"rft.isbn": "X123456789"}), "citation")
        refused(await b.client.post("/ill/openurl", headers=patron, params={"rft.isbn": "03064X6152"}), "citation")
        # a well-formed ISBN-10 ending in X is still one
        created = await b.submit(patron, citation={"isbn": "0-306-40615-2 (pbk.)"})
        assert (created.status_code, created.json()["item_key"]) == (201, "cluster:9"), created.text  # its holder's


async def test_statistics_for_a_window_at_the_edge_of_the_calendar(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        staff = b.staff(HOME)
        for to in ("0001-01-01T00:00:00Z", "0001-02-01T00:00:00Z"):   # the default 90 days start before year 1
            early = await b.client.get("/ill/stats", headers=staff, params={"to": to})
            assert early.status_code == 200, early.text
            assert (early.json()["from"], early.json()["borrowing"]["requests"]) == ("0001-01-01T00:00:00Z", 0)
        refused(await b.client.get("/ill/stats", headers=staff, params={"to": "0001-01-01T00:00:00+05:00"}), "to")
        refused(await b.client.get("/ill/stats", headers=staff, params={"from": "9999-12-31T23:59:59-05:00"}),
                "from")


async def test_a_listing_offset_beyond_any_id_is_refused(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        patron = b.patron(HOME)
        refused(await b.client.get("/ill/requests", headers=patron, params={"offset": 2**64}), "query.offset")
        last = await b.client.get("/ill/requests", headers=patron, params={"offset": MAX_ID})
        assert (last.status_code, last.json()) == (200, [])


async def test_a_listing_filter_that_is_no_state_is_refused(tmp_path: Path) -> None:
    async with broker(tmp_path, catalog_url="http://127.0.0.1:9") as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 9)])
        patron = b.patron(HOME)
        rid = (await b.submit(patron, cluster_id=9)).json()["id"]
        for side, headers in (("mine", patron), ("borrowing", b.staff(HOME)), ("lending", b.staff("CN-PL"))):
            listed = await b.client.get("/ill/requests", headers=headers,
                                        params={"side": side, "state": ["sent_to_supplier", "shipped"]})
            assert [r["id"] for r in listed.json()] == [rid], listed.text
            none = await b.client.get("/ill/requests", headers=headers, params={"side": side, "state": "shipped"})
            assert none.json() == [], none.text
            refused(await b.client.get("/ill/requests", headers=headers, params={"side": side, "state": "bogus"}),
                    "query.state.0")
            refused(await b.client.get("/ill/requests", headers=headers,
                                       params={"side": side, "state": ["shipped", "Shipped"]}), "query.state.1")
        refused(await b.client.get("/ill/requests", headers=patron, params={"side": "everyone"}), "query.side")
        refused(await b.client.get("/ill/stats", headers=b.staff(HOME), params={"period": "year"}), "query.period")
