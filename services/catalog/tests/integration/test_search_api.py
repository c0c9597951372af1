"""`GET /catalog/search` through the real app, on SQLite and PostgreSQL: results, holdings, facets, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.catalog.tests.search_fixtures import Book, Item, catalog_client

pytestmark = pytest.mark.integration

BOOKS = {
    "history": Book("中华人民共和国史", authors=["胡绳"], year=1999, language="chi", publisher="人民出版社",
                    items=[Item("CN-DL-U1", "h1"), Item("CN-SY-U1", "h2", status="on_loan")]),
    "english": Book("A history of China", authors=["Fairbank, John King"], year=1992, isbns=["9780674116702"],
                    items=[Item("CN-DL-U2", "c1", status="on_loan")]),
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    async with catalog_client(request.param, tmp_path, BOOKS) as catalog:
        yield catalog.http, catalog.ids


async def test_anyone_can_search_and_sees_holders_with_availability(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    response = await http.get("/catalog/search", params={"q": "共和国"})  # no token: public, like an OPAC
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1 and body["sort"] == "relevance"
    hit = body["results"][0]
    assert hit["cluster_id"] == ids["history"] and hit["title"] == "中华人民共和国史" and hit["available"] is True
    assert [(h["institution"], h["name_zh"], h["available"], h["items"]) for h in hit["holdings"]] == [
        ("CN-DL-U1", "大连大学图书馆", True, 1), ("CN-SY-U1", None, False, 1)]
    assert {f["value"]: f["count"] for f in body["facets"]["region"]} == {"CN-LN-DL": 1, "CN-LN-SY": 1}


async def test_an_english_title_by_a_word_and_facets_over_everything(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    body = (await http.get("/catalog/search", params={"q": "china"})).json()
    assert [r["cluster_id"] for r in body["results"]] == [ids["english"]]
    everything = (await http.get("/catalog/search")).json()
    assert everything["total"] == 2 and everything["sort"] == "title"
    assert {f["value"]: f["count"] for f in everything["facets"]["language"]} == {"chi": 1, "eng": 1}
    assert {f["value"]: f["count"] for f in everything["facets"]["available"]} == {"true": 1, "false": 1}
    held = (await http.get("/catalog/search", params=[("institution", "CN-DL-U2"), ("institution", "CN-SY-U1")]))
    assert held.json()["total"] == 2
    available = (await http.get("/catalog/search", params={"available": "true"})).json()
    assert [r["cluster_id"] for r in available["results"]] == [ids["history"]]
    by_isbn = (await http.get("/catalog/search", params={"isbn": "0-674-11670-2"})).json()
    assert [r["cluster_id"] for r in by_isbn["results"]] == [ids["english"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"page_size": "500"}, "query.page_size"),
    ({"page_size": "0"}, "query.page_size"),
    ({"page": "0"}, "query.page"),
    ({"page": "200", "page_size": "100"}, "query.page"),
    ({"year_from": "nineteen"}, "query.year_from"),
    ({"year_from": "2001", "year_to": "1990"}, "query.year_from"),
    ({"sort": "popularity"}, "query.sort"),
    ({"isbn": "not-an-isbn"}, "query.isbn"),
    ({"format": "vinyl"}, "query.format"),
    ({"q": "!!! ..."}, "query.q"),
    ({"author": "*"}, "query.author"),
])
async def test_bad_input_is_a_422_problem_naming_the_field(client: tuple[httpx.AsyncClient, dict],
                                                           params: dict[str, str], field: str) -> None:
    http, _ids = client
    response = await http.get("/catalog/search", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]] and field in problem["detail"]
