"""`GET /catalog/openurl` resolving citations from discovery systems, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.catalog.tests.search_fixtures import Book, Item, catalog_client

pytestmark = pytest.mark.integration

BOOKS = {
    "taocp": Book("The art of computer programming : fundamental algorithms", authors=["Knuth, Donald E."],
                  year=1997, isbns=["9780201896831"], oclc_numbers=["35318343"], items=[Item("CN-DL-U1", "k1")]),
    "clrs": Book("Introduction to algorithms", authors=["Cormen, Thomas H."], year=2009, isbns=["9780262033848"],
                 items=[Item("CN-SY-U1", "c1", status="on_loan")]),
    "clrs_other": Book("Introduction to algorithms", authors=["Someone, Else"], year=1990,
                       items=[Item("CN-DL-U2", "c2")]),
    "reused_isbn": Book("A cookery book", year=2001, isbns=["9780262033848"], items=[Item("CN-DL-U2", "x1")]),
    "nature": Book("Nature", issns=["0028-0836"], format="print", items=[Item("CN-DL-U1", "n1")]),
    "malcolm": Book("Malcolm X", authors=["Haley, Alex"], year=1965, isbns=["9780345350688"],
                    items=[Item("CN-DL-U2", "m1")]),
    "nature_essay": Book("Nature", authors=["Emerson, Ralph Waldo"], year=1836, items=[Item("CN-SY-U1", "e1")]),
    "history": Book("中华人民共和国史", authors=["胡绳"], year=1999, language="chi", items=[Item("CN-DL-U1", "h1")]),
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    async with catalog_client(request.param, tmp_path, BOOKS, public_url="https://mesh.example.org") as catalog:
        yield catalog.http, catalog.ids


async def test_openurl_1_0_by_isbn_resolves_and_redirects_to_the_one_strong_match(
        client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    query = ("url_ver=Z39.88-2004&rft_val_fmt=info:ofi/fmt:kev:mtx:book&rft.btitle=The+art+of+computer+programming"
             "&rft.isbn=0-201-89683-4&rft.aulast=Knuth")
    listed = await http.get(f"/catalog/openurl?{query}")
    assert listed.status_code == 200
    [match] = listed.json()
    assert (match["cluster_id"], match["strength"], match["matched_on"]) == (ids["taocp"], "strong", "isbn")
    assert match["holdings"][0]["institution"] == "CN-DL-U1" and match["available"] is True
    redirected = await http.get(f"/catalog/openurl?{query}&redirect=true")
    assert redirected.status_code == 302
    assert redirected.headers["location"] == f"https://mesh.example.org/catalog/clusters/{ids['taocp']}"


async def test_a_reused_isbn_with_another_title_is_only_a_weak_match(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    response = await http.get("/catalog/openurl", params={"rft.isbn": "9780262033848",
                                                          "rft.btitle": "Introduction to algorithms"})
    found = [(m["cluster_id"], m["strength"]) for m in response.json()]
    assert found[0] == (ids["clrs"], "strong") and (ids["reused_isbn"], "weak") in found
    redirected = await http.get("/catalog/openurl", params={"rft.isbn": "9780262033848", "redirect": "true",
                                                            "rft.btitle": "Introduction to algorithms"})
    assert redirected.status_code == 302


async def test_other_identifiers_and_0_1_titles(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    by_oclc = (await http.get("/catalog/openurl", params={"rft_id": "info:oclcnum/35318343"})).json()
    assert [m["cluster_id"] for m in by_oclc] == [ids["taocp"]]
    by_issn = (await http.get("/catalog/openurl", params={"rft.jtitle": "Nature", "rft.issn": "00280836",
                                                          "rft.atitle": "An article"})).json()
    assert [(m["cluster_id"], m["matched_on"]) for m in by_issn] == [(ids["nature"], "issn")]
    by_title = (await http.get("/catalog/openurl", params={"title": "Introduction to algorithms",
                                                           "aulast": "Cormen", "date": "2009"})).json()
    assert [(m["cluster_id"], m["strength"], m["matched_on"]) for m in by_title] == [(ids["clrs"], "strong", "title")]
    chinese = (await http.get("/catalog/openurl", params={"rft.btitle": "中华人民共和国史"})).json()
    assert [(m["cluster_id"], m["strength"]) for m in chinese] == [(ids["history"], "strong")]


async def test_ambiguous_titles_are_listed_not_redirected(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    response = await http.get("/catalog/openurl", params={"title": "Introduction to algorithms", "redirect": "true"})
    assert response.status_code == 200
    assert {m["cluster_id"] for m in response.json()} == {ids["clrs"], ids["clrs_other"]}
    assert {m["strength"] for m in response.json()} == {"strong"}


async def test_an_openurl_with_nothing_to_look_for_is_a_422_problem(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    response = await http.get("/catalog/openurl", params={"rft.aulast": "Knuth"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert "query.rft.isbn" in [e["field"] for e in response.json()["errors"]]
    nothing = await http.get("/catalog/openurl", params={"rft.isbn": "12"})
    assert nothing.status_code == 200 and nothing.json() == []


ARTICLE = {"url_ver": "Z39.88-2004", "rft_val_fmt": "info:ofi/fmt:kev:mtx:journal", "rft.genre": "article",
           "rft.issn": "1476-4687"}  # an ISSN no cluster has


async def test_an_article_is_never_sent_to_a_book_by_its_title(client: tuple[httpx.AsyncClient, dict]) -> None:
    http, _ids = client
    for article in ({**ARTICLE, "rft.atitle": "Malcolm X"},
                    {**ARTICLE, "rft.genre": "unknown", "rft.atitle": "Malcolm X"},
                    {"genre": "article", "atitle": "Malcolm X"}):
        assert (await http.get("/catalog/openurl", params=article)).json() == []
        redirected = await http.get("/catalog/openurl", params={**article, "redirect": "true"})
        assert redirected.status_code == 200 and redirected.json() == []


async def test_an_article_resolves_to_its_journal_by_the_journal_title(
        client: tuple[httpx.AsyncClient, dict]) -> None:
    http, ids = client
    article = {**ARTICLE, "rft.jtitle": "Nature", "rft.atitle": "Malcolm X", "rft.aulast": "Smith",
               "rft.date": "2003"}
    found = (await http.get("/catalog/openurl", params=article)).json()
    assert [(m["cluster_id"], m["strength"], m["matched_on"]) for m in found] == [(ids["nature"], "strong", "title")]
    redirected = await http.get("/catalog/openurl", params={**article, "redirect": "true"})
    assert redirected.status_code == 302
    assert redirected.headers["location"].endswith(f"/catalog/clusters/{ids['nature']}")
