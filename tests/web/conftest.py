"""Browser tests: one embedded platform with the demo data for the whole session, and Debian's Chromium driven
headless by Playwright (its own browser download cannot work here; `make test` installs `chromium` and
`fonts-noto-cjk`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from tests.web.live_platform import LivePlatform, live_platform

CHROMIUM = os.environ.get("BIBLIOMESH_CHROMIUM", "/usr/bin/chromium")
LOCALES = {"en": "en-GB", "zh": "zh-CN"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.web)
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePlatform]:
    with live_platform(tmp_path_factory.mktemp("web-platform")) as running:
        yield running


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium and fonts-noto-cjk")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield launched
    launched.close()


def new_context(browser: Browser, lang: str, *, phone: bool = False) -> BrowserContext:
    """A fresh browser profile whose language is `lang` (its Accept-Language follows the locale)."""
    size: ViewportSize = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(locale=LOCALES[lang], viewport=size, device_scale_factor=1,
                                  is_mobile=phone, has_touch=phone)
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def page_en(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, "en")
    yield context.new_page()
    context.close()


@pytest.fixture
def page_zh(browser: Browser) -> Iterator[Page]:
    context = new_context(browser, "zh")
    yield context.new_page()
    context.close()
