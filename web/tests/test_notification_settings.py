"""Notification settings in the web front end: a person's own (`/notifications/settings`) and their library's ILL
mailbox's (`/notifications/mailbox`), against the real notify of the embedded platform. The page shows notify's
current choices, saving sends exactly what was ticked (nothing ticked silences a kind), a form naming a kind or
channel the page does not offer is refused and changes nothing, only people with `notify:manage` reach the
mailbox, and a notify that is missing or failing never makes a 500."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx

from bibliomesh_notify.domain.messages import MESSAGE_KINDS
from bibliomesh_web.preferences_form import AUDIENCES
from bibliomesh_web.sessions import Session
from web.tests.web_fixtures import (
    NGINX_502,
    NOWHERE,
    PASSWORD,
    admin_headers,
    answering,
    browser,
    platform_for_web,
    signed_in,
    signed_in_at,
    web_app,
)

PATRON_KINDS = [kind for kind in MESSAGE_KINDS if kind.startswith("patron.")]
LIBRARY_KINDS = [kind for kind in MESSAGE_KINDS if kind.startswith(("lender.", "borrower."))]
BOX = re.compile(r'<input type="checkbox" id="c-([a-z_.]+)-(email|in_app)" name="\1" value="\2"( checked)?>')
HTML = {"accept": "text/html"}


def _boxes(page: str) -> dict[tuple[str, str], bool]:
    """Every channel checkbox of the page: (kind, channel) -> ticked."""
    return {(kind, channel): bool(ticked) for kind, channel, ticked in BOX.findall(page)}


def _digest_ticked(page: str) -> bool:
    found = re.search(r'<input type="checkbox" id="digest" name="digest" value="on"( checked)?>', page)
    assert found, "no digest checkbox"
    return bool(found.group(1))


async def _add_patron(api: httpx.AsyncClient) -> None:
    (await api.post("/auth/users/import", params={"institution": "CN-DL-LHU"}, headers=await admin_headers(api),
                    json=[{"username": "reader", "roles": ["patron"], "display_name": "Rea Der",
                           "email": "reader@lhu.example.edu", "password": PASSWORD}])).raise_for_status()


async def _stored(api: httpx.AsyncClient, person: Session, path: str = "/notify/preferences") -> dict[str, Any]:
    """What notify holds, asked with the person's own token."""
    assert person.tokens is not None
    answer = await api.get(path, headers={"authorization": f"Bearer {person.tokens.access_token}"})
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


async def test_the_page_shows_notify_s_choices_and_saves_exactly_what_was_ticked(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform) as api:
        await _add_patron(api)
        app = web_app(platform)
        patron = await signed_in_at(app, platform, username="reader")
        assert patron.tokens is not None
        bearer = {"authorization": f"Bearer {patron.tokens.access_token}"}
        (await api.put("/notify/preferences", headers=bearer, json={
            "channels": {"patron.shipped": ["email"], "patron.overdue": []}, "digest": True})).raise_for_status()
        async with browser(app, patron) as client:
            shown = await client.get("/notifications/settings")
            assert shown.status_code == 200
            boxes = _boxes(shown.text)
            assert set(boxes) == {(kind, channel) for kind in PATRON_KINDS for channel in ("email", "in_app")}
            assert boxes[("patron.shipped", "email")] and not boxes[("patron.shipped", "in_app")]
            assert not boxes[("patron.overdue", "email")] and not boxes[("patron.overdue", "in_app")]
            assert boxes[("patron.submitted", "email")] and boxes[("patron.submitted", "in_app")]
            assert _digest_ticked(shown.text)
            assert "On its way" in shown.text and "When a lending library sends the item to your library." in shown.text
            assert "A message with no box ticked is not sent to you at all." in shown.text
            assert 'href="/notifications/mailbox"' not in shown.text  # a patron has no mailbox to set
            assert 'href="/notifications/settings"' in (await client.get("/notifications")).text

            ticked = [(kind, channel) for kind in PATRON_KINDS for channel in ("email", "in_app")
                      if kind not in ("patron.routed", "patron.due_soon") and (kind, channel) != ("patron.cancelled",
                                                                                                 "email")]
            saved = await client.post("/notifications/settings", data={
                "csrf": patron.csrf, **_as_form(ticked)})
            assert saved.status_code == 303 and saved.headers["location"] == "/notifications/settings"
            again = await client.get("/notifications/settings")
            assert '<p class="flash ok" role="status">Your notification settings are saved.</p>' in again.text
            assert _boxes(again.text) == {box: box in ticked for box in boxes}
            assert not _digest_ticked(again.text)

            stored = await _stored(api, patron)
            assert stored["channels"]["patron.routed"] == [] and stored["channels"]["patron.due_soon"] == []
            assert stored["channels"]["patron.cancelled"] == ["in_app"]
            assert stored["channels"]["patron.shipped"] == ["email", "in_app"]
            assert stored["digest"] is False

            await client.post("/notifications/settings", data={"csrf": patron.csrf, "digest": "on",
                                                               **_as_form([("patron.unfilled", "email")])})
            stored = await _stored(api, patron)
            assert stored["digest"] is True and stored["channels"]["patron.unfilled"] == ["email"]
            assert {kind for kind in PATRON_KINDS if stored["channels"][kind]} == {"patron.unfilled"}


def _as_form(boxes: list[tuple[str, str]]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for kind, channel in boxes:
        form.setdefault(kind, []).append(channel)
    return form


async def test_a_form_the_page_cannot_have_sent_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform) as api:
        await _add_patron(api)
        app = web_app(platform)
        patron = await signed_in_at(app, platform, username="reader")
        async with browser(app, patron) as client:
            await client.post("/notifications/settings", data={"csrf": patron.csrf, "patron.shipped": "in_app"})
            before = await _stored(api, patron)
            assert before["channels"]["patron.shipped"] == ["in_app"] and before["channels"]["patron.overdue"] == []
            forged: list[tuple[dict[str, Any], str]] = [
                ({"patron.bogus": "email"}, "patron.bogus=email"),
                ({"patron.shipped": ["in_app", "sms"]}, "patron.shipped=sms"),
                ({"lender.new_request": "in_app"}, "lender.new_request=in_app"),  # not a patron's to choose
                ({"digest": "yes"}, "digest=yes"),
            ]
            for fields, named in forged:
                refused = await client.post("/notifications/settings", data={"csrf": patron.csrf,
                                                                             "patron.overdue": "email", **fields})
                assert refused.status_code == 400, fields
                assert "Nothing was saved" in refused.text and named in refused.text, fields
                assert f'name="csrf" value="{patron.csrf}"' in refused.text  # the form, ready to send again
                assert _boxes(refused.text)[("patron.overdue", "email")]  # as it was filled in
                assert await _stored(api, patron) == before, fields
            for csrf in ({}, {"csrf": "forged"}):
                refused = await client.post("/notifications/settings", data={**csrf, "patron.overdue": "email"})
                assert refused.status_code == 403
                assert await _stored(api, patron) == before


async def test_an_institution_admin_sets_the_library_s_ill_mailbox_and_a_patron_may_not(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform) as api:
        await _add_patron(api)
        app = web_app(platform)
        admin = await signed_in_at(app, platform)
        mailbox = "/notify/mailboxes/CN-DL-LHU/preferences"
        async with browser(app, admin) as client:
            own = await client.get("/notifications/settings")
            assert 'href="/notifications/mailbox"' in own.text
            # Staff hear of their library's requests in the app; by e-mail only the mailbox does.
            assert ("lender.new_request", "in_app") in _boxes(own.text)
            assert ("lender.new_request", "email") not in _boxes(own.text) and "to the ILL mailbox" in own.text
            assert ("admin.import_finished", "email") in _boxes(own.text)

            shown = await client.get("/notifications/mailbox")
            assert shown.status_code == 200 and "ill@lhu.example.edu" in shown.text
            assert set(_boxes(shown.text)) == {(kind, "email") for kind in LIBRARY_KINDS}
            assert all(_boxes(shown.text).values()) and not _digest_ticked(shown.text)

            ticked = [(kind, "email") for kind in LIBRARY_KINDS if kind != "lender.item_returned"]
            saved = await client.post("/notifications/mailbox", data={"csrf": admin.csrf, "digest": "on",
                                                                      **_as_form(ticked)})
            if saved.status_code == 409:  # notify has not had the directory's news of the library yet
                saved = await _when_notify_knows_the_library(client, admin, ticked)
            assert saved.status_code == 303 and saved.headers["location"] == "/notifications/mailbox"
            again = await client.get("/notifications/mailbox")
            assert "The ILL mailbox&#39;s settings are saved." in again.text and _digest_ticked(again.text)
            stored = await _stored(api, admin, mailbox)
            assert stored["channels"]["lender.item_returned"] == ["in_app"]  # e-mail off; in-app untouched
            assert stored["channels"]["lender.new_request"] == ["email", "in_app"] and stored["digest"] is True
            assert (await _stored(api, admin))["digest"] is False  # the admin's own settings are their own

            forged = await client.post("/notifications/mailbox", data={"csrf": admin.csrf,
                                                                       "lender.new_request": "in_app"})
            assert forged.status_code == 400 and await _stored(api, admin, mailbox) == stored

        patron = await signed_in_at(app, platform, username="reader")
        async with browser(app, patron) as client:
            assert 'href="/notifications/mailbox"' not in (await client.get("/search")).text
            refused = await client.get("/notifications/mailbox")
            assert refused.status_code == 403 and "This page is not for your account." in refused.text
            assert "Details:" not in refused.text  # refused here, not asked of notify
            posted = await client.post("/notifications/mailbox", data={"csrf": patron.csrf})
            assert posted.status_code == 403
        assert await _stored(api, admin, mailbox) == stored


async def _when_notify_knows_the_library(client: httpx.AsyncClient, admin: Session,
                                         ticked: list[tuple[str, str]]) -> httpx.Response:
    for _ in range(100):
        saved = await client.post("/notifications/mailbox", data={"csrf": admin.csrf, "digest": "on",
                                                                  **_as_form(ticked)})
        if saved.status_code != 409:
            return saved
        await asyncio.sleep(0.2)
    return saved


async def test_signed_out_visitors_are_sent_to_sign_in() -> None:
    async with browser(web_app()) as client:
        for path in ("/notifications/settings", "/notifications/mailbox"):
            answer = await client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/signin?next={path.replace('/', '%2F')}"


async def test_a_missing_or_failing_notify_never_makes_a_500() -> None:
    with answering(502, NGINX_502, "text/html") as ingress:
        app = web_app(ingress)
        person = signed_in(app)
        async with browser(app, person) as client:
            shown = await client.get("/notifications/settings", headers=HTML)
            assert shown.status_code == 200
            assert "Notification settings are not available on this platform yet." in shown.text
            assert 'name="digest"' not in shown.text
            posted = await client.post("/notifications/settings", data={"csrf": person.csrf, "digest": "on"})
            assert posted.status_code == 503 and "not available" in posted.text
    failing = b'{"type": "about:blank", "title": "Internal Server Error", "status": 500, "detail": "boom"}'
    with answering(500, failing, "application/problem+json") as gateway:
        app = web_app(gateway)
        async with browser(app, signed_in(app)) as client:
            shown = await client.get("/notifications/settings", headers=HTML)
            assert shown.status_code == 502 and "answered with an error" in shown.text
    app = web_app(NOWHERE)
    async with browser(app, signed_in(app)) as client:
        assert (await client.get("/notifications/settings", headers=HTML)).status_code == 503


def test_the_pages_know_the_audience_of_every_message_kind() -> None:
    # Which rows a person's page offers, and on which channels, follows from the audience a kind's name tells.
    for kind, audience in MESSAGE_KINDS.items():
        assert AUDIENCES.get(kind.split(".", 1)[0]) == audience.value, kind
