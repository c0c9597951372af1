"""The ISO 18626 peers pages: a platform admin registers an outside peer, changes its ISO 18626 settings and issues
its credentials; the secret is shown once and really lets the peer's messages in at the broker, and issuing again
shuts the old one out. What the directory refuses comes back beside the field, with nothing registered; a change
over someone else's is a conflict showing the current settings; institution admins, patrons and forged forms
change nothing."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from bibliomesh_ill.iso18626 import AgencyId, Confirmation
from bibliomesh_ill.iso18626.peer_client import PeerRejected
from tests.support.iso18626_peer import Iso18626Peer, iso18626_peer
from tests.support.waiting import wait_for
from web.tests.web_fixtures import PASSWORD, admin_headers, browser, platform_for_web, signed_in_at, web_app

PEER = "US-KOHA"
LHU = "CN-DL-LHU"
REGISTRATION = {"code": PEER, "name_en": "Koha Public Library", "name_zh": "科哈公共图书馆",
                "endpoint_url": "https://koha.example.org/iso18626", "schema_version": "2021",
                "agency_id_type": "ISIL"}


def _field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


def _fields_in_error(page: str) -> list[str]:
    return re.findall(r'<p class="field-error" id="([a-z_]+)-error">', page)


def _current(page: str, name: str) -> str:
    found = re.search(rf'<dd id="current-{name}">(.*?)</dd>', page, re.S)
    assert found, page
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


async def _add_person(api: httpx.AsyncClient, username: str, role: str) -> None:
    answer = await api.post("/auth/users/import", params={"institution": LHU}, headers=await admin_headers(api),
                            json=[{"username": username, "roles": [role], "display_name": username.title(),
                                   "email": f"{username}@example.edu", "password": PASSWORD}])
    answer.raise_for_status()


async def _register(api: httpx.AsyncClient, endpoint: str = REGISTRATION["endpoint_url"]) -> dict[str, Any]:
    answer = await api.post("/auth/institutions", headers=await admin_headers(api), json={
        "code": PEER, "name_en": "Koha Public Library", "kind": "external-peer",
        "iso18626": {"endpoint_url": endpoint, "schema_version": "1.2"}})
    answer.raise_for_status()
    registered: dict[str, Any] = answer.json()
    return registered


async def _in_directory(api: httpx.AsyncClient, code: str = PEER) -> httpx.Response:
    return await api.get(f"/auth/institutions/{code}")


async def test_a_platform_admin_registers_a_peer_and_refusals_come_back_beside_the_field(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api:
        await _add_person(api, "operator", "platform-admin")
        app = web_app(platform)
        operator = await signed_in_at(app, platform, username="operator")
        async with browser(app, operator) as client:
            first = await client.get("/admin/peers")
            assert first.status_code == 200 and "No outside peers are registered yet." in first.text
            assert 'href="/admin/peers" aria-current="page"' in first.text
            assert "<caption>Outside peers in the directory</caption>" in first.text

            for name, bad, status, reason in (
                    ("endpoint_url", "ftp://koha.example.org/iso18626", 422, "must be an http:// or https:// URL"),
                    ("endpoint_url", "koha.example.org", 422, "must be an http:// or https:// URL"),
                    ("code", "koha", 422, "String should match pattern")):
                refused = await client.post("/admin/peers", data={**REGISTRATION, name: bad, "csrf": operator.csrf})
                assert refused.status_code == status, (bad, refused.text)
                assert _fields_in_error(refused.text) == [name], bad
                assert reason in (_field_error(refused.text, name) or ""), refused.text
                assert f'value="{bad}"' in refused.text and 'value="Koha Public Library"' in refused.text
                assert 'value="科哈公共图书馆"' in refused.text and 'value="2021" selected' in refused.text
            assert (await _in_directory(api)).status_code == 404
            assert (await api.get("/auth/institutions", params={"kind": "external-peer"})).json() == []

            registered = await client.post("/admin/peers", data={**REGISTRATION, "csrf": operator.csrf})
            assert registered.status_code == 303 and registered.headers["location"] == f"/admin/peers/{PEER}"
            shown = await client.get(registered.headers["location"])
            assert f"{PEER} is registered." in shown.text and _current(shown.text, "credentials") == "not issued yet"
            peer = (await _in_directory(api)).json()
            assert (peer["kind"], peer["name_en"], peer["name_zh"], peer["status"]) == (
                "external-peer", "Koha Public Library", "科哈公共图书馆", "active")
            assert peer["iso18626"] == {"endpoint_url": "https://koha.example.org/iso18626", "schema_version": "2021",
                                        "agency_id_type": "ISIL", "credential_hash": None}

            again = await client.post("/admin/peers", data={**REGISTRATION, "csrf": operator.csrf})
            assert again.status_code == 409 and "already exists" in (_field_error(again.text, "code") or "")
            listed = (await client.get("/admin/peers")).text
            row = re.search(rf'<tr data-peer="{PEER}">(.*?)</tr>', listed, re.S)
            assert row, listed
            cells = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row.group(1))))
            for shown_value in (PEER, "Koha Public Library", "科哈公共图书馆", "https://koha.example.org/iso18626",
                                "ISO 18626:2021", "not issued yet", "active"):
                assert shown_value in cells, cells


async def test_settings_change_and_a_change_over_someone_elses_is_a_conflict(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api:
        await _add_person(api, "operator", "platform-admin")
        registered = await _register(api)
        app = web_app(platform)
        operator = await signed_in_at(app, platform, username="operator")
        async with browser(app, operator) as client:
            page = (await client.get(f"/admin/peers/{PEER}")).text
            assert f'name="version" value="{registered["version"]}"' in page
            assert _current(page, "schema_version") == "ISO 18626:2017 (schema 1.2)"
            change = {"endpoint_url": "https://koha.example.org/ill/iso18626", "schema_version": "2021",
                      "agency_id_type": "OCLC", "version": str(registered["version"]), "csrf": operator.csrf}
            saved = await client.post(f"/admin/peers/{PEER}/settings", data=change)
            assert saved.status_code == 303 and saved.headers["location"] == f"/admin/peers/{PEER}"
            assert "The ISO 18626 settings are saved." in (await client.get(saved.headers["location"])).text
            now = (await _in_directory(api)).json()
            assert {k: now["iso18626"][k] for k in ("endpoint_url", "schema_version", "agency_id_type")} == {
                "endpoint_url": "https://koha.example.org/ill/iso18626", "schema_version": "2021",
                "agency_id_type": "OCLC"}

            stale = await client.post(f"/admin/peers/{PEER}/settings", data={
                **change, "endpoint_url": "https://stale.example.org/iso18626", "agency_id_type": "ISIL"})
            assert stale.status_code == 409
            assert "Someone else changed this peer after you opened the page." in stale.text
            assert _current(stale.text, "endpoint_url") == "https://koha.example.org/ill/iso18626"
            assert _current(stale.text, "agency_id_type") == "OCLC"
            assert 'value="https://stale.example.org/iso18626"' in stale.text  # the form as typed
            assert f'name="version" value="{now["version"]}"' in stale.text
            assert (await _in_directory(api)).json() == now

            bad = await client.post(f"/admin/peers/{PEER}/settings", data={
                **change, "version": str(now["version"]), "endpoint_url": "https://user:pw@koha.example.org/"})
            assert bad.status_code == 422 and _fields_in_error(bad.text) == ["endpoint_url"]
            assert "may not carry credentials" in (_field_error(bad.text, "endpoint_url") or "")
            assert (await _in_directory(api)).json() == now


async def _request(peer: Iso18626Peer, platform: str, secret: str) -> Confirmation | PeerRejected:
    """The broker's answer to a loan request from the peer to CN-DL-LHU, carrying `secret`."""
    peer.secret = secret
    try:
        _, confirmation = await peer.send_request(f"{platform}/ill/iso18626",
                                                  AgencyId(agency_id_type="ISIL", agency_id_value=LHU))
    except PeerRejected as refused:
        return refused
    return confirmation


def _refusal(answer: Confirmation | PeerRejected) -> str:
    return " ".join(error.error_value or "" for error in answer.errors) if isinstance(answer, PeerRejected) else ""


def _accepted(answer: Confirmation | PeerRejected) -> bool:
    return isinstance(answer, Confirmation) and answer.ok


async def test_issued_credentials_are_shown_once_and_let_the_peer_in_at_the_broker(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with (platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api,
                iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER)) as peer):
        await _add_person(api, "operator", "platform-admin")
        await _register(api, peer.url)
        app = web_app(platform)
        operator = await signed_in_at(app, platform, username="operator")
        async with browser(app, operator) as client:
            issued = await client.post(f"/admin/peers/{PEER}/credentials", data={"csrf": operator.csrf})
            assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
            found = re.search(r'<div class="secret" role="alert" id="new-secret">.*?<code>([^<]+)</code>', issued.text,
                              re.S)
            assert found, issued.text
            secret = found.group(1)
            assert "it is not shown again" in issued.text and _current(issued.text, "credentials").startswith("issued")
            assert secret not in str(issued.url) and secret not in issued.headers.get("set-cookie", "")

            reloaded = await client.get(f"/admin/peers/{PEER}")
            assert secret not in reloaded.text and 'id="new-secret"' not in reloaded.text
            assert _current(reloaded.text, "credentials").startswith("issued")
            listed = (await client.get("/admin/peers")).text
            assert secret not in listed and "not issued yet" not in listed

            # The broker learns of the credential from the directory's event; until then it refuses the peer.
            await wait_for(lambda: _request(peer, platform, secret), _accepted,
                           what="the broker to accept the peer's request with the secret shown")
            assert "wrong credentials" in _refusal(await _request(peer, platform, "not-the-secret"))

            replaced = await client.post(f"/admin/peers/{PEER}/credentials", data={"csrf": operator.csrf})
            newer = re.search(r'id="new-secret">.*?<code>([^<]+)</code>', replaced.text, re.S)
            assert newer and newer.group(1) != secret
            await wait_for(lambda: _request(peer, platform, secret),
                           lambda a: "wrong credentials" in _refusal(a), what="the old secret to stop working")
            assert _accepted(await _request(peer, platform, newer.group(1)))
    assert secret not in caplog.text and newer.group(1) not in caplog.text


async def test_institution_admins_patrons_and_forged_forms_change_nothing(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform, timeout=30) as api:
        await _add_person(api, "reader", "patron")
        await _add_person(api, "operator", "platform-admin")
        before = await _register(api)
        app = web_app(platform)
        operator = await signed_in_at(app, platform, username="operator")
        others = [await signed_in_at(app, platform), await signed_in_at(app, platform, username="reader")]
        settings = {"endpoint_url": "https://evil.example.org/iso18626", "schema_version": "2021",
                    "agency_id_type": "ISIL", "version": str(before["version"])}
        for session in others:
            async with browser(app, session) as client:
                for path in ("/admin/peers", f"/admin/peers/{PEER}"):
                    refused = await client.get(path)
                    assert refused.status_code == 403 and "This page is not for your account." in refused.text
                for path, data in (("/admin/peers", {**REGISTRATION, "code": "US-EVIL"}),
                                   (f"/admin/peers/{PEER}/settings", settings),
                                   (f"/admin/peers/{PEER}/credentials", {})):
                    refused = await client.post(path, data={**data, "csrf": session.csrf})
                    assert refused.status_code == 403, path
                    assert "This page is not for your account." in refused.text and "new-secret" not in refused.text
        async with browser(app, operator) as client:
            for path, data in (("/admin/peers", {**REGISTRATION, "code": "US-EVIL"}),
                               (f"/admin/peers/{PEER}/settings", settings),
                               (f"/admin/peers/{PEER}/credentials", {})):
                for forged in ({}, {"csrf": "forged"}):
                    refused = await client.post(path, data={**data, **forged})
                    assert refused.status_code == 403 and "This form has expired." in refused.text, path
        assert (await _in_directory(api)).json() == before
        assert (await _in_directory(api, "US-EVIL")).status_code == 404
        audit = await api.get("/auth/audit", params={"action": "peer-credentials-issued"},
                              headers=await admin_headers(api))
        assert audit.json()["items"] == []
