"""Library staff at work: a lender says no with an ISO reason and the request moves on; the borrowing library
follows it with its rota and timeline and marks it received; a catalogue file is uploaded with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, expect

from bibliomesh_launcher.demo_catalog import _sample, marc_for
from tests.web.browsing import shoot, sign_in, sign_out
from tests.web.checks import assert_accessible_basics
from tests.web.conftest import new_context
from tests.web.live_platform import LivePlatform

BRANCH, SISTER, OPEN_PARTNER = "CN-DL-LHU-ENG", "CN-DL-LHU-MED", "CN-SH-OSL"


def _held_by_sister_region_and_open(patron: httpx.Client) -> dict[str, Any]:
    asked = {r["cluster_id"] for r in patron.get("/ill/requests", params={"side": "mine"}).json()}
    for page in range(1, 9):
        found = patron.get("/catalog/search", params={"institution": [SISTER, OPEN_PARTNER], "page": page,
                                                      "page_size": 50}).json()
        for hit in found["results"]:
            holders = {h["institution"] for h in hit["holdings"]}
            if {SISTER, "CN-DL-RPL", OPEN_PARTNER} <= holders and BRANCH not in holders and \
                    hit["cluster_id"] not in asked:
                return hit  # type: ignore[no-any-return]
    raise AssertionError("no book held by the sister branch, the region and the open partner")


def test_lending_staff_decline_with_a_reason_and_borrowing_staff_follow_and_receive(
        browser: Browser, platform: LivePlatform) -> None:
    with platform.api(BRANCH, "patron") as patron:
        book = _held_by_sister_region_and_open(patron)
        created = patron.post("/ill/requests", json={"cluster_id": book["cluster_id"], "service_type": "loan",
                                                     "pickup_location": "Engineering Library Desk"}).json()
    request_id, first = created["id"], created["lender"]
    assert first == SISTER
    context = new_context(browser, "en")
    page = context.new_page()

    sign_in(page, platform.url, SISTER, "staff", "en")
    page.goto(f"{platform.url}/staff?side=lending")
    page.locator(f'.part-attention li[data-request="{request_id}"] a.button').click()
    page.select_option("#reason", "NotOnShelf")
    page.locator('form[action$="/actions/cannot_supply"] button[type=submit]').click()
    page.wait_for_url("**/staff?side=lending")
    expect(page.locator(".flash.ok")).to_have_text("Done: Cannot supply.")
    expect(page.locator(f'li[data-request="{request_id}"]')).to_have_count(0)
    sign_out(page)

    sign_in(page, platform.url, BRANCH, "staff", "en")
    page.goto(f"{platform.url}/requests/{request_id}")
    sister_row = page.locator("table tr", has_text="Liaohai University Medical Library")
    expect(sister_row).to_contain_text("declined")
    expect(page.locator(".timeline")).to_contain_text("Not on shelf")
    lender = page.locator("#lender").get_attribute("data-code")
    assert lender not in (None, SISTER)
    assert_accessible_basics(page)
    shoot(page, "en-staff-request-rota", readme=True, full_page=True)

    with platform.api(str(lender), "staff") as lending:
        for action in ("will_supply", "ship"):
            assert lending.post(f"/ill/requests/{request_id}/actions/{action}").status_code == 200
    page.goto(f"{platform.url}/staff?side=borrowing")
    row = page.locator(f'.part-attention li[data-request="{request_id}"]')
    expect(row.locator(".attention")).to_have_text("Shipped to you: mark received")
    shoot(page, "en-staff-borrowing")
    row.locator('button[data-action="receive"]').click()
    expect(page.locator(".flash.ok")).to_have_text("Done: Received.")
    expect(page.locator(f'li[data-request="{request_id}"] .attention')).to_have_text(
        "Arrived: lend it to the reader")
    context.close()


def test_staff_upload_a_catalogue_file_and_watch_it_import(browser: Browser, platform: LivePlatform,
                                                           tmp_path: Path) -> None:
    upload = tmp_path / "new-acquisitions.mrc"
    upload.write_bytes(marc_for(BRANCH, _sample(), range(320, 360)))
    context = new_context(browser, "en")
    page = context.new_page()
    sign_in(page, platform.url, BRANCH, "staff", "en")
    page.goto(f"{platform.url}/staff/imports")
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator("#progress-text")).to_have_text("Finished", timeout=60_000)
    expect(page.locator("#progress-bar")).to_have_js_property("value", 100)
    expect(page.locator("#progress-counts")).to_contain_text("40 read: 40 new")
    assert_accessible_basics(page)
    shoot(page, "en-imports", readme=True)
    context.close()
