"""A union record's own page (`/record/{cluster id}`), on the real embedded platform: two libraries contribute the
same editions (Library of Congress records at one, the Chinese library's own JSON records at the other), and the
page shows the merged description, both holders' items with live availability, the member records and the key
that joined each, links only where they are web addresses, and the request form exactly as search offers it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pymarc

from meshkit.testing import eventually
from tests.support import testdata
from tests.support.waiting import wait_for
from web.tests.web_fixtures import PASSWORD, admin_headers, browser, platform_for_web, signed_in_at, web_app

HTML = {"accept": "text/html"}
LIBRARY = {"code": "CN-SH-HDU", "name_en": "Huadong University", "name_zh": "华东大学", "kind": "university",
           "pickup_locations": ["Central Library Loans Desk"]}
# Two records of the Library of Congress file (by position, checked by their 001): an English book with 856
# links, and a Chinese one catalogued in pinyin with its Chinese title in an 880 field.
MOLES = (1821, "00008003")
MING = (34076, "00049916")
HOSTILE_LINK = "javascript:alert(document.cookie)"
HUADONG_RECORDS = [
    {"local_id": "hdu-77", "title": "What you really need to know about moles and melanoma", "year": 2000,
     "authors": ["Schofield, Jill R."], "identifiers": {"isbn": ["0801863945 (pbk.)"], "oclc": ["42603496"]},
     "holdings": [{"item_id": "HDU-9", "status": "on-loan", "due_date": "2031-06-15", "location": "Medical Library",
                   "call_number": "R730.264/S36"}]},
    {"local_id": "hdu-88", "title": "明代政治制度", "authors": ["张治安"], "year": 1999, "language": "chi",
     "identifiers": {"isbn": ["957-11-1784-6"]},
     "holdings": [{"item_id": "HDU-10", "location": "社科书库", "call_number": "D691.2/Z3"}]},
    {"local_id": "hdu-88e", "title": "明代政治制度", "authors": ["张治安"], "year": 1999, "language": "chi",
     "format": "electronic", "identifiers": {"isbn": ["9571117846"]}, "urls": ["https://ebooks.hdu.example.edu/88"],
     "holdings": [{"item_id": "HDU-E10", "location": "Airiti Library", "ill_copy_allowed": True},
                  {"item_id": "HDU-E11", "location": "Campus reader"}]},
]


def loc_record(position: int, control_number: str) -> pymarc.Record:
    """One record of the Library of Congress file, by its position."""
    with testdata.loc_books().open("rb") as stream:
        for _ in range(position):
            stream.seek(int(stream.read(5)) - 5, 1)
        head = stream.read(5)
        record = pymarc.Record(head + stream.read(int(head) - 5), force_utf8=True)
    assert record["001"].data.strip() == control_number
    return record


@asynccontextmanager
async def two_libraries(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """The platform with Liaohai University (LoC records, holdings sent alongside) and Huadong University (its own
    JSON records) holding the same books, a patron `reader` at each; yields its URL and the clusters by name."""
    moles, ming = loc_record(*MOLES), loc_record(*MING)
    moles.add_field(pymarc.Field(tag="856", indicators=pymarc.Indicators("4", "0"),
                                 subfields=[pymarc.Subfield("u", HOSTILE_LINK)]))
    liaohai_items = [
        {"local_id": "00008003", "item_id": "LHU-1", "location": "Main stacks", "call_number": "RC280.M37 S36 2000"},
        {"local_id": "00008003", "item_id": "LHU-2", "location": "Main stacks", "call_number": "RC280.M37 S36 2000 c.2",
         "status": "on-loan", "due_date": "2031-05-01"},
        {"local_id": "00049916", "item_id": "LHU-3", "location": "East Asian stacks",
         "call_number": "DS753 .Z444 1999"},
    ]
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api:
        admin = await admin_headers(api)
        (await api.post("/auth/institutions", headers=admin, json=LIBRARY)).raise_for_status()
        for code in ("CN-DL-LHU", "CN-SH-HDU"):
            (await api.post("/auth/users/import", params={"institution": code}, headers=admin, json=[{
                "username": "reader", "roles": ["patron"], "display_name": "A Reader", "password": PASSWORD}])
             ).raise_for_status()
        liaohai = await _contribute(api, admin, "CN-DL-LHU", files={
            "records": ("loc.mrc", moles.as_marc21() + ming.as_marc21(), "application/marc"),
            "holdings": (None, json.dumps(liaohai_items))})
        huadong = await _contribute(api, admin, "CN-SH-HDU", json=HUADONG_RECORDS)
        assert liaohai[:2] == huadong[:2]  # the same editions: one union record each
        yield platform, {"moles": liaohai[0], "ming": liaohai[1], "ming_online": huadong[2]}


async def _contribute(api: httpx.AsyncClient, admin: dict[str, str], institution: str, **body: Any) -> list[int]:
    """Post records as soon as the catalogue knows the library (409 until auth's directory event arrives); their
    clusters."""
    answer = await wait_for(lambda: api.post("/catalog/records", params={"institution": institution}, headers=admin,
                                             **body),
                            lambda response: response.status_code != 409, what=f"the catalogue to know {institution}")
    assert answer.status_code == 200, answer.text
    return [r["cluster_id"] for r in answer.json()["results"]]


def holder(page: str, code: str) -> str:
    """The part of the page about one holder's items."""
    found = re.search(rf'<section class="holding"[^>]*data-institution="{code}">(.*?)</section>', page, re.S)
    assert found, code
    return found.group(1)


def cells(part: str) -> list[list[str]]:
    """The text of each table row's cells."""
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", part, re.S) if "<td" in row]


def search_result(page: str, cluster: int) -> str:
    """The search result of one cluster (kept as the anchor `cluster-<id>`)."""
    start = page.index(f'<li class="result" id="cluster-{cluster}">')
    end = page.find('<li class="result"', start + 1)
    return page[start:end if end > 0 else None]


def request_box(page: str) -> str:
    """The request box without its `back` field (the page the form returns to differs)."""
    found = re.search(r'<details class="request-box">.*?</details>', page, re.S)
    assert found
    return re.sub(r'name="back" value="[^"]*"', "", found.group(0))


async def test_the_record_page_shows_the_union_record_its_holders_and_members(tmp_path: Path) -> None:
    async with two_libraries(tmp_path) as (platform, clusters), browser(web_app(platform)) as visitor:
        page = (await visitor.get(f"/record/{clusters['moles']}", headers=HTML)).text
        assert '<h1 id="record-title" lang="en">What you really need to know about moles and melanoma</h1>' in page
        assert '<a href="/search?q=Schofield%2C+Jill+R.">Schofield, Jill R.</a>' in page
        assert ">Robinson, William A.</a>" in page
        assert "Baltimore : Johns Hopkins University Press, 2000" in page and "xii, 213 p." in page
        assert '<a href="/search?q=Melanoma+--+Popular+works">Melanoma -- Popular works</a>' in page
        by_subject = await visitor.get("/search?q=Melanoma+--+Popular+works", headers=HTML)
        assert f'id="cluster-{clusters["moles"]}"' in by_subject.text
        assert "<li>Includes index</li>" in page
        for identifiers in ("9780801863936, 9780801863943", "42603496", "00008003"):  # ISBNs of both, OCLC, LCCN
            assert f"<dd>{identifiers}</dd>" in page, identifiers

        liaohai, huadong = holder(page, "CN-DL-LHU"), holder(page, "CN-SH-HDU")
        assert "Liaohai University" in liaohai and "Available now: 1" in liaohai
        assert cells(liaohai) == [["Main stacks", "RC280.M37 S36 2000", "On the shelf", ""],
                                  ["Main stacks", "RC280.M37 S36 2000 c.2", "On loan", "2031-05-01"]]
        assert "Huadong University" in huadong and "None available now" in huadong
        assert cells(huadong) == [["Medical Library", "R730.264/S36", "On loan", "2031-06-15"]]

        members = re.search(r'<details class="members" id="members">(.*?)</details>', page, re.S)
        assert members and "Records in this union record (2)" in members.group(1)
        assert [row[:2] for row in cells(members.group(1))] == [["Liaohai University", "00008003"],
                                                                ["Huadong University", "hdu-77"]]
        assert all(row[3].startswith("Same ISBN 97808018639") for row in cells(members.group(1)))

        links = re.findall(r'<a href="(http[^"]*)" rel="noopener noreferrer">', page)
        assert links == ["http://www.loc.gov/catdir/bios/jhu051/00008003.html",
                         "http://www.loc.gov/catdir/toc/jhu051/00008003.html",
                         "http://www.loc.gov/catdir/description/jhu051/00008003.html"]
        assert f"<code class=\"unlinked\">{HOSTILE_LINK}</code>" in page
        assert not [h for h in re.findall(r'href="([^"]*)"', page) if "javascript" in h.lower()]

        assert 'href="/signin?next=/record/' in page and "Sign in to request this" in page
        assert 'class="request-box"' not in page  # a visitor cannot ask


async def test_titles_in_other_scripts_other_formats_and_chinese_labels(tmp_path: Path) -> None:
    async with two_libraries(tmp_path) as (platform, clusters), browser(web_app(platform)) as visitor:
        page = (await visitor.get(f"/record/{clusters['ming']}", headers=HTML)).text
        assert '<h1 id="record-title" lang="zh-Latn">Ming dai zheng zhi zhi du' in page
        assert '<span lang="zh">明代政治制度 : 張治安著</span>' in page
        assert (f'<a href="/record/{clusters["ming_online"]}" lang="zh">明代政治制度</a> (Electronic)') in page
        assert cells(holder(page, "CN-SH-HDU")) == [["社科书库", "D691.2/Z3", "On the shelf", ""]]

        online = (await visitor.get(f"/record/{clusters['ming_online']}", headers=HTML)).text
        assert f'<a href="/record/{clusters["ming"]}" lang="zh-Latn">Ming dai zheng zhi zhi du' in online
        assert cells(holder(online, "CN-SH-HDU")) == [["Airiti Library", "", "Online", "", "Allowed"],
                                                      ["Campus reader", "", "Online", "", "Not allowed"]]
        assert 'href="https://ebooks.hdu.example.edu/88" rel="noopener noreferrer"' in online

        chinese = (await visitor.get(f"/record/{clusters['ming']}", headers={**HTML, "accept-language": "zh-CN"})).text
        assert '<html lang="zh-Hans">' in chinese
        for label in ("馆藏信息", "索书号", "在架", "华东大学", "辽海大学", "现可提供", "本联合记录包含的记录",
                      "ISBN 相同"):
            assert label in chinese, label


async def test_the_request_box_is_the_one_search_results_offer(tmp_path: Path) -> None:
    async with two_libraries(tmp_path) as (platform, clusters):
        app = web_app(platform)
        liaohai_reader = await signed_in_at(app, platform, "CN-DL-LHU", "reader")
        async with browser(app, liaohai_reader) as client:
            record = (await client.get(f"/record/{clusters['moles']}", headers=HTML)).text
            assert re.search(r'<span class="tag">your library</span>', holder(record, "CN-DL-LHU"))
            assert record.index('data-institution="CN-DL-LHU"') < record.index('data-institution="CN-SH-HDU"')
            assert "Your own library holds this too" in record
            found = (await client.get("/search", params={"q": "moles melanoma"}, headers=HTML)).text
            result = search_result(found, clusters["moles"])
            assert f'<a href="/record/{clusters["moles"]}">What you really need to know' in result
            assert request_box(record) == request_box(result)
            assert f'name="cluster_id" value="{clusters["moles"]}"' in request_box(record)

            online = (await client.get(f"/record/{clusters['ming_online']}", headers=HTML)).text
            assert 'class="request-box"' in online and "Your own library holds this too" not in online

        huadong_reader = await signed_in_at(app, platform, "CN-SH-HDU", "reader")
        async with browser(app, huadong_reader) as client:
            only_here = (await client.get(f"/record/{clusters['ming_online']}", headers=HTML)).text
            assert "Your own library holds this: ask at your desk." in only_here
            assert 'class="request-box"' not in only_here and "Sign in to request this" not in only_here


async def test_a_suspended_holder_is_marked_and_lends_nothing(tmp_path: Path) -> None:
    async with two_libraries(tmp_path) as (platform, clusters), httpx.AsyncClient(base_url=platform) as api:
        admin = await admin_headers(api)  # limited as itself, not as one of the anonymous callers
        suspended = await api.post("/auth/institutions/CN-SH-HDU/suspend", headers=admin, json={"reason": "audit"})
        assert suspended.status_code == 200, suspended.text

        async def catalogue_knows() -> bool:  # from auth's directory event
            cluster = (await api.get(f"/catalog/clusters/{clusters['ming']}", headers=admin)).json()
            return [h["suspended"] for h in cluster["holdings"]] == [False, True]

        await eventually(catalogue_knows)
        async with browser(web_app(platform)) as visitor:
            page = (await visitor.get(f"/record/{clusters['ming']}", headers=HTML)).text
        huadong = holder(page, "CN-SH-HDU")
        assert '<span class="tag warn">suspended: not lending now</span>' in huadong
        assert "None available now" in huadong and "Available now: 1" in holder(page, "CN-DL-LHU")


async def test_no_such_record_is_the_not_found_page(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, browser(web_app(platform)) as visitor:
        unknown = await visitor.get("/record/424242", headers=HTML)
        assert unknown.status_code == 404 and "There is nothing here." in unknown.text
    # Nothing listens behind this app: an id that reached the catalogue would be the "unavailable" page (503).
    async with browser(web_app()) as visitor:
        for junk in ("abc", "0", "-1", "1.5", "%C2%B2", "9" * 5000, "12abc", "%201%20"):
            answer = await visitor.get(f"/record/{junk}", headers=HTML)
            assert answer.status_code == 404 and "There is nothing here." in answer.text, junk[:10]
        down = await visitor.get("/record/7", headers=HTML)
        searched = await visitor.get("/search", params={"q": "melanoma"}, headers=HTML)
        assert down.status_code == searched.status_code == 503
        assert "A part of the platform is unavailable. Try again shortly." in down.text
