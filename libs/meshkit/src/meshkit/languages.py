"""Which of the platform's languages a page speaks to a visitor (the web front end and the sign-in pages alike)."""

from __future__ import annotations

LANGUAGES = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}


def choose_language(chosen: str | None, accept_language: str | None) -> str:
    """The explicit choice if we speak it; else the first of ours in Accept-Language by quality (ties in the
    order given); else English."""
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
