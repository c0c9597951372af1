"""The search page's request form: what it cannot have sent (a made-up service type, a date that is not one or
is past, a pickup location the library does not have, over-long citation fields) is not quietly replaced by a
default and sent; the form comes back (400) as filled in, saying what to correct, and nothing reaches the
platform. Nor is a lender's renewal answer that is neither yes nor no sent as a refusal."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from meshkit.dates import earliest_today
from web.tests.web_fixtures import browser, platform_for_web, signed_in, signed_in_at, web_app

NOT_SENT = "Your request was not sent."
VALID = {"cluster_id": "181", "service_type": "loan", "pickup_location": "Main Library Circulation Desk",
         "needed_by": "", "article_title": "", "pages": "", "back": "/search?q=history"}


def _field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{name}-error-181">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


async def _post(client: httpx.AsyncClient, csrf: str, **fields: str) -> httpx.Response:
    return await client.post("/requests", data={**VALID, "csrf": csrf, **fields}, headers={"accept": "text/html"})


async def test_a_form_the_page_cannot_have_sent_comes_back_with_what_to_correct() -> None:
    # No platform behind this app: had anything been sent, the answer would be the 503 page, not the form.
    app = web_app()
    person = signed_in(app)
    past_everywhere = (earliest_today() - timedelta(days=1)).isoformat()
    wrong: list[tuple[dict[str, str], str, str]] = [
        ({"service_type": "bogus"}, "service_type", "Choose whether you need a loan or a copy."),
        ({"service_type": ""}, "service_type", "Choose whether you need a loan or a copy."),
        ({"needed_by": "soon"}, "needed_by", "Give a date from"),
        ({"needed_by": "2031-02-30"}, "needed_by", "Give a date from"),
        ({"needed_by": "\uff12\uff10\uff13\uff11-01-01"}, "needed_by", "Give a date from"),  # full-width digits
        ({"needed_by": past_everywhere}, "needed_by", "Give a date from"),
        ({"article_title": "A" * 501, "service_type": "copy"}, "article_title", "At most 500 characters."),
        ({"pages": "1" * 41, "service_type": "copy"}, "pages", "At most 40 characters."),
    ]
    async with browser(app, person) as client:
        for fields, name, message in wrong:
            answer = await _post(client, person.csrf, **fields)
            assert answer.status_code == 400, fields
            assert answer.headers["content-type"].startswith("text/html")
            assert NOT_SENT in answer.text
            assert message in (_field_error(answer.text, name) or ""), (fields, answer.text)
            assert not [n for n in ("service_type", "pickup_location", "needed_by", "article_title", "pages")
                        if n != name and _field_error(answer.text, n)], fields
            assert f'name="csrf" value="{person.csrf}"' in answer.text  # the form, ready to send again
            assert 'href="/search?q=history"' in answer.text
        kept = await _post(client, person.csrf, service_type="copy", needed_by=past_everywhere,
                           article_title="On <em>bridges</em>", pages="12-19")
        assert 'value="On &lt;em&gt;bridges&lt;/em&gt;"' in kept.text and 'value="12-19"' in kept.text
        assert 'value="copy" checked' in kept.text and f'value="{past_everywhere}"' in kept.text


async def test_a_made_up_service_type_or_pickup_location_is_not_sent(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform:
        app = web_app(platform)
        person = await signed_in_at(app, platform)
        async with browser(app, person) as client, httpx.AsyncClient(base_url=platform) as api:
            refused = await client.post("/requests", data={"csrf": person.csrf, "cluster_id": "181",
                                                           "service_type": "bogus"})
            assert refused.status_code == 400 and NOT_SENT in refused.text
            assert "was sent" not in refused.text
            for pickup in ("Somewhere else", ""):  # the library lists one: Main Library Circulation Desk
                elsewhere = await _post(client, person.csrf, pickup_location=pickup)
                assert elsewhere.status_code == 400
                assert "Choose one of your library's pickup locations." in (
                    _field_error(elsewhere.text, "pickup_location") or "")
                assert '<option value="Main Library Circulation Desk">' in elsewhere.text
            # The platform refuses this one (the catalogue is empty): the same form, with its reason.
            unknown = await _post(client, person.csrf, article_title="Kept")
            assert unknown.status_code == 404  # the broker knows no holdings of it
            assert "The request could not be sent:" in unknown.text and 'value="Kept"' in unknown.text
            assert person.tokens is not None
            mine: list[dict[str, Any]] = (await api.get("/ill/requests", params={"side": "mine"}, headers={
                "authorization": f"Bearer {person.tokens.access_token}"})).json()
        assert mine == []


async def test_a_renewal_answer_that_is_neither_yes_nor_no_is_not_sent_as_a_refusal() -> None:
    app = web_app()  # no platform: had it been sent, the answer would be the 503 page
    person = signed_in(app)
    async with browser(app, person) as client:
        for approve in ("bogus", ""):
            answer = await client.post("/requests/abc/actions/answer_renewal",
                                       data={"csrf": person.csrf, "approve": approve, "back": "/"})
            assert answer.status_code == 303 and answer.headers["location"] == "/"
            shown = await client.get("/")
            assert "Grant or refuse the renewal: nothing was sent." in shown.text
