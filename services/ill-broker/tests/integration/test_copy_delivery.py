"""A copy delivered as a file completes the request and only its patron and borrowing library can fetch it."""

from __future__ import annotations

from pathlib import Path

from broker_fixtures import broker, item, region, statements

PDF = b"%PDF-1.4\n" + b"0" * 5000 + b"\n%%EOF\n"


async def test_a_lender_uploads_a_copy_and_the_patron_downloads_it(tmp_path: Path) -> None:
    async with broker(tmp_path, delivery_max_bytes=10_000) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 3)])
        patron = b.patron("CN-U1-ENG")
        created = await b.client.post("/ill/requests", headers=patron, json={
            "cluster_id": 3, "service_type": "copy", "citation": {"article_title": "Chapter 2", "pages": "10-30"}})
        rid = created.json()["id"]
        lender = b.staff("CN-PL")
        url = f"/ill/requests/{rid}/delivery"
        early = await b.client.post(url, headers={**lender, "Content-Type": "application/pdf"}, content=PDF,
                                    params={"filename": "chapter2.pdf"})
        assert early.status_code == 409  # not before will_supply
        await b.act(rid, "will_supply", lender)
        outsider = await b.client.post(url, headers={**b.staff("CN-FAR"), "Content-Type": "application/pdf"},
                                       content=PDF, params={"filename": "x.pdf"})
        assert outsider.status_code == 403
        too_big = await b.client.post(url, headers={**lender, "Content-Type": "application/pdf"},
                                      content=PDF * 3, params={"filename": "big.pdf"})
        assert too_big.status_code == 413
        done = await b.client.post(url, headers={**lender, "Content-Type": "application/pdf"}, content=PDF,
                                   params={"filename": "../../chapter 2.pdf"})
        assert done.status_code == 200, done.text
        assert (done.json()["requester_state"], done.json()["supplier_state"]) == ("completed", "copy_delivered")
        assert done.json()["delivery"]["file"] == "chapter 2.pdf"

        fetched = await b.client.get(url, headers=patron)
        assert fetched.status_code == 200 and fetched.content == PDF
        assert fetched.headers["content-type"] == "application/pdf"
        assert (await b.client.get(url, headers=b.staff("CN-U1-ENG"))).status_code == 200
        assert (await b.client.get(url, headers=b.patron("CN-U1-ENG", "someone-else"))).status_code == 403
        assert (await b.client.get(url, headers=b.staff("CN-FAR"))).status_code == 403




async def test_a_head_of_the_delivered_file_has_its_headers_without_reading_the_file(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        await b.add_holdings([item("CN-PL", "p1", 3)])
        patron = b.patron("CN-U1-ENG")
        created = await b.client.post("/ill/requests", headers=patron, json={
            "cluster_id": 3, "service_type": "copy", "citation": {"article_title": "Chapter 2"}})
        rid = created.json()["id"]
        lender = b.staff("CN-PL")
        await b.act(rid, "will_supply", lender)
        url = f"/ill/requests/{rid}/delivery"
        done = await b.client.post(url, headers={**lender, "Content-Type": "application/pdf"}, content=PDF,
                                   params={"filename": "chapter2.pdf"})
        assert done.status_code == 200, done.text

        with statements(b) as by_get:
            fetched = await b.client.get(url, headers=patron)
        with statements(b) as by_head:
            head = await b.client.head(url, headers=patron)
        assert head.status_code == 200 and head.content == b""
        compared = ("content-type", "content-length", "content-disposition", "x-content-sha256",
                    "x-content-type-options")
        assert {k: head.headers.get(k) for k in compared} == {k: fetched.headers.get(k) for k in compared}
        assert head.headers["content-length"] == str(len(PDF))
        assert head.headers["content-disposition"] == 'attachment; filename="chapter2.pdf"'

        def read_the_file(sent: list[str]) -> bool:
            return any("delivered_files.content" in statement for statement in sent)

        assert read_the_file(by_get) and not read_the_file(by_head)
        # and a HEAD is refused as its GET is
        assert (await b.client.head(url, headers=b.staff("CN-FAR"))).status_code == 403


async def test_ids_beyond_the_database_range_are_refused_as_bad_input(tmp_path: Path) -> None:
    async with broker(tmp_path) as b:
        await b.add_institutions(region())
        huge = 2**64
        staff = b.staff("CN-U1-ENG")
        assert (await b.client.get(f"/ill/holdings/{huge}", headers=staff)).status_code == 422
        created = await b.client.post("/ill/requests", headers=b.patron("CN-U1-ENG"), json={"cluster_id": huge})
        assert created.status_code == 422 and created.json()["errors"][0]["field"] == "cluster_id"
