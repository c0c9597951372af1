"""Notifications arrive live: the patron's open page hears of the shipment (notify's stream, relayed by the web
server with the patron's token) and the notifications page lists it."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.web.browsing import shoot, sign_in
from tests.web.conftest import new_context
from tests.web.live_platform import LivePlatform

BRANCH = "CN-DL-LHU-ENG"


def test_a_patron_sees_the_shipment_announced_live(browser: Browser, platform: LivePlatform) -> None:
    with platform.api(BRANCH, "patron") as patron:
        asked = {r["cluster_id"] for r in patron.get("/ill/requests", params={"side": "mine"}).json()}
        hits = patron.get("/catalog/search", params={"q": "revolution", "page_size": 50}).json()["results"]
        book = next(h for h in hits if BRANCH not in {x["institution"] for x in h["holdings"]}
                    and h["cluster_id"] not in asked)
        request = patron.post("/ill/requests", json={"cluster_id": book["cluster_id"],
                                                     "pickup_location": "Engineering Library Desk"}).json()
    context = new_context(browser, "en")
    page = context.new_page()
    sign_in(page, platform.url, BRANCH, "patron", "en")
    page.goto(f"{platform.url}/requests")
    expect(page.locator("body")).to_have_attribute("data-live-state", "open")
    with platform.api(request["lender"], "staff") as lender:
        for action in ("will_supply", "ship"):
            lender.post(f"/ill/requests/{request['id']}/actions/{action}").raise_for_status()
    toast = page.locator(f'.toast a[href="/requests/{request["id"]}"]').first
    expect(toast).to_be_visible(timeout=30_000)
    expect(page.locator("#unread")).to_be_visible()
    shoot(page, "en-live-notification")
    page.goto(f"{platform.url}/notifications")
    expect(page.locator(f'#notes a[href="/requests/{request["id"]}"]').first).to_be_visible()
    context.close()
