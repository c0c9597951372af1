"""The harvesting page: library staff register their library's OAI-PMH server, ask for a harvest, see it with its
counts and stop harvesting; what the catalogue refuses comes back beside the field it is about, with nothing
registered; a platform admin manages another institution's source; people without `catalog:write`, other
institutions' staff and forged forms change nothing. The server harvested is a real OAI-PMH server on loopback
(the Caltech records of Debian's idzebra examples, served by the catalogue tests' `StaticProvider`)."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from typing import Any

import httpx
from starlette.responses import Response

from bibliomesh_web.sessions import Session
from services.catalog.tests.oai_fixtures import StaticProvider, caltech_records
from tests.support.serving import serving
from tests.support.waiting import wait_for
from web.tests.web_fixtures import (
    NGINX_502,
    PASSWORD,
    admin_headers,
    answering,
    browser,
    platform_for_web,
    signed_in,
    signed_in_at,
    web_app,
)

LHU = "CN-DL-LHU"
RPL = "CN-DL-RPL"
SOURCE_OF_LHU = f"/catalog/harvest-sources/{LHU}"
FORM = {"metadata_prefix": "oai_dc", "set_spec": "", "interval_minutes": "60"}  # `enabled` unticked: no schedule
NOWHERE_ON_LOOPBACK = "http://127.0.0.1:9/cgi-bin/koha/oai.pl"
HTML = {"accept": "text/html"}


def _field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


def _fields_in_error(page: str) -> list[str]:
    return re.findall(r'<p class="field-error" id="([a-z_]+)-error">', page)


def _fact(page: str, fact_id: str) -> str | None:
    found = re.search(rf'<dd id="{fact_id}">([^<]*)</dd>', page)
    return html.unescape(found.group(1)) if found else None


def _run_row(page: str, run_id: str) -> str:
    found = re.search(rf'<tr data-run="{run_id}">(.*?)</tr>', page, re.S)
    assert found, page
    return re.sub(r"\s+", " ", found.group(1))


def _main(page: str) -> str:
    return page[page.index("<main"):page.index("</main>")]


def _bearer(session: Session) -> dict[str, str]:
    assert session.tokens is not None
    return {"authorization": f"Bearer {session.tokens.access_token}"}


async def _add_person(api: httpx.AsyncClient, username: str, role: str, institution: str = LHU) -> None:
    answer = await api.post("/auth/users/import", params={"institution": institution},
                            headers=await admin_headers(api), json=[{
                                "username": username, "roles": [role], "display_name": username.title(),
                                "email": f"{username}@example.edu", "password": PASSWORD}])
    answer.raise_for_status()


async def _catalogue_knows_lhu(api: httpx.AsyncClient) -> None:
    """The catalogue refuses sources (409) until its copy of the directory has the institution."""
    await wait_for(lambda: api.get("/catalog/holders"), lambda answer: any(
        holder["code"] == LHU for holder in answer.json()), what="the catalogue to learn of CN-DL-LHU", timeout=60)


async def _source(api: httpx.AsyncClient, session: Session, institution: str = LHU) -> httpx.Response:
    return await api.get(f"/catalog/harvest-sources/{institution}", headers=_bearer(session))


async def test_staff_register_their_server_harvest_it_and_stop_harvesting(tmp_path: Path) -> None:
    provider = StaticProvider(caltech_records())
    async with (platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api,
                serving(provider.app(), "/oai") as oai):
        await _add_person(api, "cataloguer", "staff")
        app = web_app(platform)
        staff = await signed_in_at(app, platform, username="cataloguer")
        await _catalogue_knows_lhu(api)
        async with browser(app, staff) as client:
            first = await client.get("/harvest")
            assert first.status_code == 200 and "Register your OAI-PMH server" in first.text
            assert 'href="/harvest" aria-current="page"' in first.text

            for bad, reason in (("ftp://koha.example.edu/oai", "must be an http or https URL"),
                                ("http:///oai", "must name a host")):
                refused = await client.post("/harvest", data={**FORM, "csrf": staff.csrf, "base_url": bad})
                assert refused.status_code == 422, bad
                assert reason in (_field_error(refused.text, "base_url") or ""), refused.text
                assert _fields_in_error(refused.text) == ["base_url"]
                assert f'value="{bad}"' in refused.text and 'value="oai_dc"' in refused.text
                assert 'value="60"' in refused.text and f'name="csrf" value="{staff.csrf}"' in refused.text
            typo = await client.post("/harvest", data={**FORM, "csrf": staff.csrf, "base_url": oai,
                                                       "interval_minutes": "daily"})
            assert typo.status_code == 400 and _fields_in_error(typo.text) == ["interval_minutes"]
            assert "Give a whole number of minutes." in (_field_error(typo.text, "interval_minutes") or "")
            assert (await _source(api, staff)).status_code == 404

            registered = await client.post("/harvest", data={**FORM, "csrf": staff.csrf, "base_url": oai})
            assert registered.status_code == 303 and registered.headers["location"] == "/harvest"
            source = (await _source(api, staff)).json()
            assert (source["base_url"], source["metadata_prefix"], source["interval_minutes"], source["enabled"]) == (
                oai, "oai_dc", 60, False)
            shown = await client.get("/harvest")
            assert "The source is registered." in shown.text and f"<code>{oai}</code>" in shown.text

            asked = await client.post("/harvest/runs", data={"csrf": staff.csrf})
            assert asked.status_code == 303 and asked.headers["location"] == "/harvest"
            (run,) = (await api.get(f"{SOURCE_OF_LHU}/runs", headers=_bearer(staff))).json()["runs"]
            assert run["trigger"] == "request"
            shown = await client.get("/harvest")
            assert "A harvest is asked for" in shown.text and "On request" in _run_row(shown.text, run["id"])

            done = await wait_for(lambda: api.get(f"{SOURCE_OF_LHU}/runs/{run['id']}", headers=_bearer(staff)),
                                  lambda answer: answer.json()["status"] in ("succeeded", "failed"),
                                  what="the harvest to finish", timeout=120)
            assert done.json()["status"] == "succeeded", done.json()
            shown = await client.get("/harvest")
            row = _run_row(shown.text, run["id"])
            assert "Finished" in row and "100 records read" in row and "100 new, 0 updated" in row
            reached = (await _source(api, staff)).json()["last_datestamp"]
            assert reached and _fact(shown.text, "harvest-reached") == reached
            assert _fact(shown.text, "harvest-last-error") is None

            provider.faults = [Response("no such repository", status_code=404)]
            await client.post("/harvest/runs", data={"csrf": staff.csrf})
            latest = (await api.get(f"{SOURCE_OF_LHU}/runs", headers=_bearer(staff))).json()["runs"][0]
            failed = await wait_for(lambda: api.get(f"{SOURCE_OF_LHU}/runs/{latest['id']}", headers=_bearer(staff)),
                                    lambda answer: answer.json()["status"] in ("succeeded", "failed"),
                                    what="the second harvest to finish", timeout=120)
            assert failed.json()["status"] == "failed"
            shown = await client.get("/harvest")
            last_error = (await _source(api, staff)).json()["last_error"]
            assert last_error and _fact(shown.text, "harvest-last-error") == last_error
            assert "Failed" in _run_row(shown.text, latest["id"]) and "Finished" in _run_row(shown.text, run["id"])

            stopped = await client.post("/harvest/stop", data={"csrf": staff.csrf})
            assert stopped.status_code == 303 and stopped.headers["location"] == "/harvest"
            assert (await _source(api, staff)).status_code == 404
            shown = await client.get("/harvest")
            assert "The records already harvested stay in the union catalogue." in shown.text
            assert "Register your OAI-PMH server" in shown.text


async def test_an_address_inside_or_a_host_that_does_not_resolve_comes_back_beside_the_field(tmp_path: Path) -> None:
    async with (platform_for_web(tmp_path, harvest_allow_private=False) as platform,
                httpx.AsyncClient(base_url=platform, timeout=30) as api):
        app = web_app(platform)
        staff = await signed_in_at(app, platform)
        await _catalogue_knows_lhu(api)
        async with browser(app, staff) as client:
            for bad, reason in (("http://harvest.nowhere.invalid/oai", "does not resolve"),
                                ("http://127.0.0.1:8080/oai", "non-public address"),
                                ("http://169.254.169.254/latest/meta-data", "non-public address")):
                refused = await client.post("/harvest", data={**FORM, "csrf": staff.csrf, "base_url": bad})
                assert refused.status_code == 422, bad
                assert reason in (_field_error(refused.text, "base_url") or ""), refused.text
                assert f'value="{bad}"' in refused.text
        assert (await _source(api, staff)).status_code == 404


async def test_without_catalog_write_another_institution_or_the_forms_token_nothing_changes(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api:
        await _add_person(api, "reader", "patron")
        app = web_app(platform)
        staff = await signed_in_at(app, platform)
        patron = await signed_in_at(app, platform, username="reader")
        await _catalogue_knows_lhu(api)
        put = await api.put(SOURCE_OF_LHU, json={"base_url": NOWHERE_ON_LOOPBACK, "enabled": False},
                            headers=_bearer(staff))
        assert put.status_code == 201, put.text
        changes = (("/harvest", {**FORM, "base_url": "http://127.0.0.1:9/elsewhere"}), ("/harvest/runs", {}),
                   ("/harvest/stop", {}))

        async with browser(app, patron) as client:
            refused = await client.get("/harvest", headers=HTML)
            other_staff_page = await client.get("/staff/imports", headers=HTML)
            assert refused.status_code == other_staff_page.status_code == 403
            assert _main(refused.text) == _main(other_staff_page.text)  # the platform was not even asked
            assert 'href="/harvest"' not in refused.text
            for path, data in changes:
                assert (await client.post(path, data={**data, "csrf": patron.csrf})).status_code == 403, path

        async with browser(app, staff) as client:
            elsewhere = await client.get("/harvest", params={"institution": "CN-DL-ELSEWHERE"}, headers=HTML)
            assert elsewhere.status_code == 403
            for path, data in changes:
                for token in ({"csrf": "forged"}, {}):
                    forged = await client.post(path, data={**data, **token}, headers=HTML)
                    assert forged.status_code == 403 and "This form has expired" in forged.text, path
                mine_elsewhere = await client.post(path, data={**data, "csrf": staff.csrf,
                                                              "institution": "CN-DL-ELSEWHERE"})
                assert mine_elsewhere.status_code == 403, path

        source = (await _source(api, staff)).json()
        assert source["base_url"] == NOWHERE_ON_LOOPBACK and source["interval_minutes"] == 1440
        assert (await api.get(f"{SOURCE_OF_LHU}/runs", headers=_bearer(staff))).json()["runs"] == []


async def test_a_platform_admin_manages_another_institutions_source(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api:
        # The platform's operator sits at another library, as in the demo data.
        (await api.post("/auth/institutions", headers=await admin_headers(api), json={
            "code": RPL, "name_en": "Regional Public Library", "name_zh": "区域公共图书馆",
            "kind": "public-library"})).raise_for_status()
        await _add_person(api, "operator", "platform-admin", institution=RPL)
        app = web_app(platform)
        operator = await signed_in_at(app, platform, institution=RPL, username="operator")
        staff = await signed_in_at(app, platform)
        await _catalogue_knows_lhu(api)
        async with browser(app, operator) as client:
            page = await client.get("/harvest", params={"institution": LHU})
            assert page.status_code == 200 and "Harvesting (OAI-PMH): Liaohai University</h1>" in page.text
            assert f'<option value="{LHU}" selected>' in page.text
            saved = await client.post("/harvest", data={**FORM, "csrf": operator.csrf, "institution": LHU,
                                                        "base_url": NOWHERE_ON_LOOPBACK})
            assert saved.status_code == 303 and saved.headers["location"] == f"/harvest?institution={LHU}"
            shown = await client.get(saved.headers["location"])
            assert "The source is registered." in shown.text and f"<code>{NOWHERE_ON_LOOPBACK}</code>" in shown.text
        assert (await _source(api, staff)).json()["base_url"] == NOWHERE_ON_LOOPBACK
        assert (await _source(api, operator, RPL)).status_code == 404


def _cataloguer(app: Any) -> Session:
    session = signed_in(app)
    assert session.user is not None
    session.user = dataclasses.replace(session.user, roles=("staff",), scopes=frozenset({"catalog:write"}))
    return session


async def test_the_page_says_unavailable_when_the_catalogue_cannot_be_reached_or_fails() -> None:
    app = web_app()  # nothing listens behind it
    session = _cataloguer(app)
    async with browser(app, session) as client:
        page = await client.get("/harvest", headers=HTML)
        assert page.status_code == 503 and "A part of the platform is unavailable." in page.text
        saved = await client.post("/harvest", data={**FORM, "csrf": session.csrf, "base_url": NOWHERE_ON_LOOPBACK},
                                  headers=HTML)
        assert saved.status_code == 503
    with answering(502, NGINX_502, "text/html") as ingress:
        app = web_app(ingress)
        session = _cataloguer(app)
        async with browser(app, session) as client:
            page = await client.get("/harvest", headers=HTML)
            assert page.status_code == 502 and "A part of the platform answered with an error." in page.text
            asked = await client.post("/harvest/runs", data={"csrf": session.csrf})
            assert asked.status_code == 303
            assert "That did not work" in (await client.get("/", headers=HTML)).text
