"""What a person does in the browser, as the tests need it: sign in through the auth service's own pages, sign
out, and screenshots (all kept under test-artifacts/, a chosen few also as the README's under docs/screenshots/
when UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Page

from bibliomesh_launcher.demo import DEMO_INSTITUTIONS, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"
NAMES = {i["code"]: {"en": i["name_en"], "zh": i["name_zh"]} for i in DEMO_INSTITUTIONS}
SIGN_IN = {"en": "Sign in", "zh": "登录"}


def sign_in(page: Page, base: str, institution: str, username: str, lang: str) -> None:
    """From any page of ours: Sign in, choose the institution on auth's page, then its login form."""
    page.goto(f"{base}/")
    page.click("#signin")
    page.get_by_role("link", name=NAMES[institution][lang], exact=True).click()
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name=SIGN_IN[lang]).click()
    page.wait_for_selector("#signout")


def sign_out(page: Page) -> None:
    page.click("#signout")
    page.wait_for_selector("#signin")


def shoot(page: Page, name: str, *, readme: bool = False, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if readme and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SHOTS / path.name)
    return path
