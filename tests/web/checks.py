"""Checks every main page should pass: landmarks, a label for every control, named charts, no sideways scrolling
on a phone."""

from __future__ import annotations

from playwright.sync_api import Page

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby'))
  .map((el) => el.outerHTML.slice(0, 120))"""
UNNAMED_CHARTS = """() => [...document.querySelectorAll('svg.chart')]
  .filter((svg) => svg.getAttribute('role') !== 'img' || !svg.querySelector('title')?.textContent.trim())
  .length"""


def assert_accessible_basics(page: Page) -> None:
    assert page.locator("header").count() >= 1 and page.locator("main#main").count() == 1
    assert page.locator("nav[aria-label]").count() >= 1
    assert page.evaluate("() => document.documentElement.lang") in ("en", "zh-Hans")
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(UNNAMED_CHARTS) == 0
    assert page.locator("h1").count() == 1


def assert_fits_the_screen(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px"
