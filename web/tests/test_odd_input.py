"""Numbers typed into a URL or a form by hand: what is not a plain whole number is page 1 where a page number is
asked for, and elsewhere the app's own 400 page; never a crash."""

from __future__ import annotations

from pathlib import Path

import httpx

from web.tests.web_fixtures import browser, platform_for_web, signed_in, signed_in_at, web_app

SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no
TOO_LONG = "9" * 5000  # past Python's 4300-digit limit of int()


async def test_a_page_number_that_is_not_one_shows_the_first_page() -> None:
    app = web_app()
    async with browser(app) as client:
        for page in (SUPERSCRIPT_TWO, TOO_LONG, "abc"):
            shown = await client.get("/search", params={"page": page}, headers={"accept": "text/html"})
            assert shown.status_code == 200, page[:10]


async def test_a_request_for_no_cluster_is_refused_with_the_error_page() -> None:
    app = web_app()
    person = signed_in(app)
    async with browser(app, person) as client:
        for cluster in ("abc", SUPERSCRIPT_TWO, TOO_LONG, "-1", ""):
            refused = await client.post("/requests", data={"csrf": person.csrf, "cluster_id": cluster,
                                                           "service_type": "loan"})
            assert refused.status_code == 400, cluster[:10]
            assert refused.headers["content-type"].startswith("text/html")
            assert "The request was not valid." in refused.text


async def test_a_policy_number_that_is_not_one_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    async with platform_for_web(tmp_path) as platform, httpx.AsyncClient(base_url=platform) as api:
        before = (await api.get("/auth/institutions/CN-DL-LHU")).json()["policy"]
        app = web_app(platform)
        admin = await signed_in_at(app, platform)
        async with browser(app, admin) as client:
            for days in (SUPERSCRIPT_TWO, TOO_LONG, "two"):
                refused = await client.post("/institutions/CN-DL-LHU/policy", data={
                    "csrf": admin.csrf, "loan_period_days": days, "answer_within_hours": "48",
                    "max_active_loans": "100", "lends_loans": "on"})
                assert refused.status_code == 400, days[:10]
                assert "Loan period (days)" in refused.text
            assert (await api.get("/auth/institutions/CN-DL-LHU")).json()["policy"] == before
            saved = await client.post("/institutions/CN-DL-LHU/policy", data={
                "csrf": admin.csrf, "loan_period_days": " 21 ", "answer_within_hours": "", "max_active_loans": "0",
                "lends_loans": "on"})
            assert saved.status_code == 303
        after = (await api.get("/auth/institutions/CN-DL-LHU")).json()["policy"]
        assert after == {**before, "loan_period_days": 21, "max_active_loans": 0, "lends_copies": False,
                         "lends_electronic_copies": False, "lends_loans": True}
