"""English and Simplified Chinese: one message catalogue per language (`messages/<lang>.json`), chosen by the
visitor's explicit choice (a cookie), else the browser's Accept-Language, else English."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LANG_COOKIE = "bm_lang"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language; translators edit the JSON files."""
    loaded: dict[str, str] = json.loads((Path(__file__).parent / "messages" / f"{lang}.json").read_text("utf-8"))
    return loaded


def choose_language(chosen: str | None, accept_language: str | None) -> str:
    """The explicit choice if we speak it; else the first of ours in Accept-Language by quality; else English."""
    if chosen in LANGUAGES:
        return str(chosen)
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else "en"


class Translator:
    """`t("key", name=...)` in templates; a key missing in Chinese falls back to English, then to the key."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.html_lang = HTML_LANG[lang]
        self._own = catalogue(lang)
        self._english = catalogue("en")

    def __call__(self, key: str, **values: Any) -> str:
        text = self._own.get(key) or self._english.get(key) or key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._own or key in self._english

    def label(self, group: str, value: str | None) -> str:
        """A code's label (`state.shipped`, `reason.NotOnShelf`), or the code made readable if we have none."""
        if not value:
            return ""
        key = f"{group}.{value}"
        return self(key) if self.has(key) else value.replace("_", " ")

    def name(self, names: dict[str, str | None] | None, code: str | None) -> str:
        """An institution's name in this language (Chinese name when there is one), else its code."""
        if not code:
            return ""
        entry = (names or {}).get(code)
        return entry or code
