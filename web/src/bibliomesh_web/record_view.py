"""What the record page makes of a union record: which of its URLs may become links, and which language its titles
are in (for `lang`, so that a screen reader reads 明代政治制度 in Chinese on an English page)."""

from __future__ import annotations

import re

# Only what a browser opens as a web page: `javascript:`, `data:` and the like in a library's 856 $u stay text.
WEB_LINK = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f\"'<>\\]+", re.IGNORECASE)
# MARC language codes (008/35-37) to BCP 47: the languages the catalogues have labels for, and a few more.
LANGUAGE_TAGS = {"eng": "en", "chi": "zh", "jpn": "ja", "kor": "ko", "fre": "fr", "ger": "de", "rus": "ru",
                 "spa": "es", "ita": "it", "por": "pt", "ara": "ar", "lat": "la", "dut": "nl", "vie": "vi"}
EAST_ASIAN = ("zh", "ja", "ko")
HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff]")
HAN = re.compile("[\u2e80-\u2fdf\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def web_link(url: str) -> str | None:
    """The URL when it is a plain http(s) address a page may link to, else None (shown as text, never an href)."""
    text = url.strip()
    return text if WEB_LINK.fullmatch(text) else None


def title_lang(title: str, language: str | None) -> str | None:
    """The BCP 47 tag of a title as catalogued: the record's language, marked romanized (`zh-Latn`) when a
    Chinese, Japanese or Korean record's title is in Latin letters, as Western catalogues give it; for text in an
    East Asian script, that script's language. None when nothing is known."""
    tag = LANGUAGE_TAGS.get(language or "")
    if HANGUL.search(title):
        return "ko"
    if KANA.search(title):
        return "ja"
    if HAN.search(title):
        return tag if tag in EAST_ASIAN else "zh"
    return f"{tag}-Latn" if tag in EAST_ASIAN else tag
