"""The sign-in pages' words in English and Simplified Chinese, and how a language is chosen."""

from __future__ import annotations

import json
from pathlib import Path

LANGUAGES = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}

MESSAGES: dict[str, dict[str, str]] = json.loads((Path(__file__).parent / "messages.json").read_text("utf-8"))
"""Keyed by language, then by message; translators edit the JSON file."""


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """`lang` if it is one we speak; otherwise the first of ours in Accept-Language by quality; English at last."""
    if requested in LANGUAGES:
        return str(requested)
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
