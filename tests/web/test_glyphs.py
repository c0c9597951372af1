"""The tofu check itself: the CJK fonts are installed, and the check does see boxes when the browser cannot use
them (Chromium started with a fontconfig that only knows DejaVu, which has no Chinese)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Playwright

from tests.web.conftest import CHROMIUM, new_context
from tests.web.glyphs import assert_no_tofu, cjk_font_families, han_rendering, shows_tofu
from tests.web.live_platform import LivePlatform

LATIN_ONLY = """<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{cache}</cachedir></fontconfig>"""


def test_cjk_fonts_are_installed() -> None:
    assert any("CJK" in family for family in cjk_font_families()), "apt-get install fonts-noto-cjk (make browser)"


def test_the_check_sees_boxes_without_cjk_fonts_and_none_with_them(playwright: Playwright, browser: Browser,
                                                                  platform: LivePlatform, tmp_path: Path) -> None:
    config = tmp_path / "fonts.conf"
    config.write_text(LATIN_ONLY.format(cache=tmp_path / "cache"))
    blind = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"],
                                       env={**os.environ, "FONTCONFIG_FILE": str(config)})
    try:
        page = new_context(blind, "zh").new_page()
        page.goto(f"{platform.url}/")
        assert shows_tofu(han_rendering(page))
    finally:
        blind.close()
    page = new_context(browser, "zh").new_page()
    page.goto(f"{platform.url}/")
    assert_no_tofu(page)
    page.context.close()
