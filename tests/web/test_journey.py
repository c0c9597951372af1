"""The journey the issue's "done" is about, in English and in Chinese: the demo patron of a branch library signs
in through federated sign-in, finds a book held elsewhere, requests it in two clicks; the staff of the lender the
broker asked sign in, will supply and ship it; the patron comes back and sees it shipped."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.web.browsing import shoot, sign_in, sign_out
from tests.web.checks import assert_accessible_basics
from tests.web.conftest import new_context
from tests.web.glyphs import assert_no_tofu
from tests.web.live_platform import LivePlatform

BRANCH = "CN-DL-LHU-ENG"
QUERY = {"en": "history", "zh": "中华"}
WORDS = {"en": {"send": "Send request", "waiting": "Waiting for a lender", "shipped": "Shipped",
                "attention": "Waiting for your answer", "done": "Done: Ship."},
         "zh": {"send": "提交申请", "waiting": "等待出借馆答复", "shipped": "已寄出", "attention": "等待您答复",
                "done": "已完成：寄出。"}}  # noqa: RUF001 - a Chinese full-width colon


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_patron_borrows_a_book_held_elsewhere_and_sees_it_shipped(browser: Browser, platform: LivePlatform,
                                                                    lang: str) -> None:
    words = WORDS[lang]
    context = new_context(browser, lang)
    page = context.new_page()
    sign_in(page, platform.url, BRANCH, "patron", lang)
    shoot(page, f"{lang}-home-patron")

    page.fill("#q", QUERY[lang])
    page.press("#q", "Enter")
    held_elsewhere = (page.locator("li.result").filter(has=page.locator("details.request-box"))
                      .filter(has_not=page.locator(".tag")).first)
    expect(held_elsewhere).to_be_visible()
    assert_accessible_basics(page)
    shoot(page, f"{lang}-search")
    held_elsewhere.locator("summary").click()
    shoot(page, f"{lang}-request-form", readme=lang == "en")
    held_elsewhere.get_by_role("button", name=words["send"]).click()

    page.wait_for_url("**/requests/*")
    request_url = page.url
    request_id = request_url.rsplit("/", 1)[1]
    expect(page.locator(".summary .state")).to_have_text(words["waiting"])
    lender = page.locator("#lender").get_attribute("data-code")
    assert lender and lender != BRANCH
    sign_out(page)

    sign_in(page, platform.url, lender, "staff", lang)
    page.goto(f"{platform.url}/staff?side=lending")
    row = page.locator(f'.part-attention li[data-request="{request_id}"]')
    expect(row.locator(".attention")).to_contain_text(words["attention"])
    assert_accessible_basics(page)
    shoot(page, f"{lang}-staff-queue", readme=lang == "en")
    row.locator('button[data-action="will_supply"]').click()
    page.locator(f'li[data-request="{request_id}"] button[data-action="ship"]').click()
    expect(page.locator(".flash.ok")).to_have_text(words["done"])
    sign_out(page)

    sign_in(page, platform.url, BRANCH, "patron", lang)
    page.goto(request_url)
    expect(page.locator(".summary .state")).to_have_text(words["shipped"])
    expect(page.locator(".milestones li.current")).to_contain_text(words["shipped"])
    assert page.locator(".timeline li").count() >= 6
    assert_accessible_basics(page)
    shoot(page, f"{lang}-request-shipped", readme=lang == "zh", full_page=True)
    page.goto(f"{platform.url}/requests")
    expect(page.locator(f'a[href="/requests/{request_id}"]')).to_be_visible()
    if lang == "zh":
        assert_no_tofu(page)
    context.close()
