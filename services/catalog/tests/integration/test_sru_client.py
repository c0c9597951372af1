"""A real SRU client (sruthi, from PyPI) reads the catalogue over HTTP, as an ILL peer or harvester would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sruthi
from sruthi.errors import SruError

from services.catalog.tests.oai_fixtures import serving
from services.catalog.tests.search_fixtures import Book, Item, catalog_client

BOOKS = {
    "history": Book("中华人民共和国史", authors=["胡绳"], year=1999, language="chi",
                    items=[Item("CN-DL-U1", "h1")]),
    **{f"war{i}": Book(f"War and peace, volume {i}", authors=["Tolstoy, Leo"], year=2000 + i,
                       items=[Item("CN-DL-U2", f"w{i}")]) for i in range(1, 13)},
}


async def test_sruthi_explains_searches_pages_and_reports_diagnostics(tmp_path: Path) -> None:
    async with catalog_client("sqlite", tmp_path, BOOKS) as catalog, serving(catalog.app, "/catalog/sru") as url:
        client = sruthi.Client(url=url, maximum_records=5, record_schema="dc", sru_version="1.2")

        info = await asyncio.to_thread(client.explain)
        assert info.sru_version == "1.2"
        assert {"title", "creator", "subject"} <= set(info.index["dc"])
        assert set(info.schema) == {"marcxml", "dc"}
        assert info.config["maximumRecords"] == 100

        def harvest(query: str) -> tuple[int, list[dict]]:
            records = client.searchretrieve(query)
            return records.count, list(records)  # iterating follows nextRecordPosition page by page

        count, records = await asyncio.to_thread(harvest, 'dc.title all "war peace" sortby dc.date')
        assert count == 12 and len(records) == 12
        assert records[0]["title"] == "War and peace, volume 1" and records[11]["title"].endswith("12")
        count, records = await asyncio.to_thread(harvest, "共和国")
        assert count == 1 and records[0]["title"] == "中华人民共和国史"

        with pytest.raises(SruError, match="info:srw/diagnostic/1/16"):
            await asyncio.to_thread(harvest, "dc.format = book")
