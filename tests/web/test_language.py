"""English and Chinese: the browser's language by default, a switch on every page (kept for the sign-in pages
too), Chinese drawn with real glyphs, and pages that fit a phone."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from bibliomesh_launcher.demo import DEMO_PASSWORD
from tests.web.browsing import shoot
from tests.web.checks import assert_accessible_basics, assert_fits_the_screen
from tests.web.conftest import new_context
from tests.web.glyphs import assert_no_tofu
from tests.web.live_platform import LivePlatform


def test_the_language_follows_the_browser_and_the_switch(browser: Browser, platform: LivePlatform) -> None:
    context = new_context(browser, "en")
    page = context.new_page()
    page.goto(f"{platform.url}/")
    expect(page.locator("h1")).to_have_text("Find a book in any library of the region")
    expect(page.locator("#demo-password")).to_have_text(DEMO_PASSWORD)
    shoot(page, "en-home", readme=True)
    page.click("#switch-language")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("h1")).to_have_text("在区域内任何一家图书馆找书")
    assert_no_tofu(page)
    page.click("#signin")
    expect(page.locator("h1")).to_have_text("选择您的机构")
    page.goto(f"{platform.url}/")
    page.click("#switch-language")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    context.close()

    chinese = new_context(browser, "zh")
    page = chinese.new_page()
    page.goto(f"{platform.url}/")
    expect(page.locator("h1")).to_have_text("在区域内任何一家图书馆找书")
    assert_accessible_basics(page)
    assert_no_tofu(page)
    shoot(page, "zh-home", readme=True)
    chinese.close()


def test_pages_fit_a_phone(browser: Browser, platform: LivePlatform) -> None:
    context = new_context(browser, "zh", phone=True)
    page = context.new_page()
    page.goto(f"{platform.url}/search?q=%E4%B8%AD%E5%8D%8E")
    expect(page.locator(".result").first).to_be_visible()
    assert_fits_the_screen(page)
    assert_no_tofu(page)
    shoot(page, "zh-phone-search", readme=True)
    page.goto(f"{platform.url}/")
    assert_fits_the_screen(page)
    context.close()


def test_each_browser_gets_a_session_of_its_own(browser: Browser, platform: LivePlatform) -> None:
    """Through the gateway too: nothing on the way keeps one browser's session cookie for the next caller."""
    sessions = []
    for _ in range(2):
        context = new_context(browser, "en")
        context.new_page().goto(f"{platform.url}/")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["bm_session"]["httpOnly"] and cookies["bm_session"]["sameSite"] == "Lax"
        sessions.append(cookies["bm_session"]["value"])
        context.close()
    assert sessions[0] != sessions[1]
