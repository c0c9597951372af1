"""Dashboards draw charts from the broker's statistics; the platform admin and an institution admin find their
pages (institutions and policies, API clients, signing keys, dead letters, webhooks)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.web.browsing import shoot, sign_in
from tests.web.checks import assert_accessible_basics
from tests.web.conftest import new_context
from tests.web.glyphs import assert_no_tofu
from tests.web.live_platform import LivePlatform

OPERATOR_AT, MEDICAL = "CN-DL-RPL", "CN-DL-LHU-MED"


def _book_not_held_by(client: httpx.Client, institution: str, query: str, skip: set[int]) -> int:
    hits = client.get("/catalog/search", params={"q": query, "page_size": 50}).json()["results"]
    return next(int(h["cluster_id"]) for h in hits
                if h["cluster_id"] not in skip and institution not in {x["institution"] for x in h["holdings"]})


def _lending_activity(platform: LivePlatform) -> None:
    """Requests from four libraries: lenders decline with three reasons, others ship; two requests of the medical
    library for one book, at a threshold of two, make a purchase suggestion."""
    with platform.api(MEDICAL, "staff") as staff:
        staff.put(f"/ill/acquisition-suggestions/threshold/{MEDICAL}",
                  json={"threshold": 2, "window_days": 365}).raise_for_status()
    used: set[int] = set()
    plan = [(MEDICAL, "patron", "NotHeld"), (MEDICAL, "staff", "ship"), ("CN-DL-BNU", "patron", "OnLoan"),
            ("CN-DL-RPL", "patron", "ship"), ("CN-DL-LHU", "patron", "NotOnShelf")]
    book = 0
    for borrower, person, outcome in plan:
        with platform.api(borrower, person) as client:
            if person == "patron":
                book = _book_not_held_by(client, borrower, "history", used)
                used.add(book)
            pickup = client.get(f"/auth/institutions/{borrower}").json()["pickup_locations"][0]
            request = client.post("/ill/requests", json={"cluster_id": book, "pickup_location": pickup,
                                                         "allow_duplicate": person == "staff"}).json()
        if outcome != "ship" and request.get("lender"):
            with platform.api(request["lender"], "staff") as lender:
                request = lender.post(f"/ill/requests/{request['id']}/actions/cannot_supply",
                                      json={"reason": outcome}).json()
        if request.get("lender") and request.get("requester_state") == "sent_to_supplier":
            with platform.api(request["lender"], "staff") as lender:
                for action in ("will_supply", "ship"):
                    lender.post(f"/ill/requests/{request['id']}/actions/{action}").raise_for_status()


def test_the_dashboard_draws_fill_rate_turnaround_balance_and_reasons(browser: Browser,
                                                                       platform: LivePlatform) -> None:
    _lending_activity(platform)
    for lang in ("en", "zh"):
        context = new_context(browser, lang)
        page = context.new_page()
        sign_in(page, platform.url, OPERATOR_AT, "operator", lang)
        page.goto(f"{platform.url}/dashboard")
        titles = page.locator("svg.chart > title").all_inner_texts()
        assert len(titles) >= 4, titles
        assert page.locator("#c-why + svg.chart rect").count() == 3
        assert page.locator("#c-buy + svg.chart rect").count() == 1
        assert page.locator("#c-bal + svg.chart rect").count() >= 6
        assert_accessible_basics(page)
        if lang == "zh":
            assert_no_tofu(page)
        shoot(page, f"{lang}-dashboard", readme=lang == "en", full_page=True)
        context.close()


def test_the_platform_admin_sees_institutions_clients_keys_and_dead_letters(browser: Browser,
                                                                           platform: LivePlatform) -> None:
    context = new_context(browser, "en")
    page = context.new_page()
    sign_in(page, platform.url, OPERATOR_AT, "operator", "en")
    page.goto(f"{platform.url}/admin")
    expect(page.locator("#institutions tbody tr")).to_have_count(6)
    expect(page.locator("#institutions")).to_contain_text("answers within 48 h")
    assert_accessible_basics(page)
    shoot(page, "en-admin-institutions", readme=True, full_page=True)
    page.get_by_role("link", name="Binhai Normal University").click()
    page.fill("#answer_within_hours", "36")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.ok")).to_have_text("Saved.")
    expect(page.locator("#answer_within_hours")).to_have_value("36")
    page.goto(f"{platform.url}/clients")
    expect(page.locator("table")).to_contain_text("bibliomesh-web")
    page.goto(f"{platform.url}/admin/keys")
    before = page.locator("main table tbody tr").count()
    assert before >= 1
    page.get_by_role("button", name="Rotate now").click()
    expect(page.locator(".flash.ok")).to_have_text("Saved.")
    expect(page.locator("main table tbody tr")).to_have_count(before + 1)
    expect(page.locator("main table")).to_contain_text("pending")
    page.goto(f"{platform.url}/admin/dead-letters")
    expect(page.locator("#dead-ill")).to_be_visible()
    expect(page.locator("main")).to_contain_text("No dead letters.")
    context.close()


def test_an_institution_admin_registers_an_api_client_and_a_webhook_and_sees_their_secrets_once(browser: Browser,
                                                                                platform: LivePlatform) -> None:
    context = new_context(browser, "en")
    page = context.new_page()
    sign_in(page, platform.url, "CN-DL-BNU", "admin", "en")
    page.goto(f"{platform.url}/clients")
    page.fill("#client-name", "Koha at BNU")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#new-secret code")).to_be_visible()
    secret = page.locator("#new-secret code").inner_text()
    page.goto(f"{platform.url}/clients")
    expect(page.locator("table")).to_contain_text("Koha at BNU")
    assert secret not in page.content()
    page.goto(f"{platform.url}/webhooks")
    page.fill("#hook-url", "https://koha.bnu.example/bibliomesh-events")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".secret code")).to_contain_text("whsec_")
    expect(page.locator("table")).to_contain_text("https://koha.bnu.example/bibliomesh-events")
    context.close()
