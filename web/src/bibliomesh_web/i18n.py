"""English and Simplified Chinese: one message catalogue per language (`messages/<lang>.json`), chosen by the
visitor's explicit choice (a cookie), else the browser's Accept-Language, else English."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from meshkit.languages import HTML_LANG

LANG_COOKIE = "bm_lang"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language; translators edit the JSON files."""
    loaded: dict[str, str] = json.loads((Path(__file__).parent / "messages" / f"{lang}.json").read_text("utf-8"))
    return loaded


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
