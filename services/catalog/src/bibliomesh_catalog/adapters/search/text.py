"""Text preprocessing shared by both engines: SQLite FTS5 and PostgreSQL index exactly the tokens made here.

Chinese (and Japanese, Korean) is written without spaces, so a word inside a title is not a token of its own.
Runs of CJK characters are indexed as overlapping bigrams in place (中华人民 -> 中华 华人 人民), which any word of
two or more characters matches as a phrase of consecutive bigrams, plus each distinct character once at the end of
the field, so a one-character query matches too without breaking phrase adjacency. Other text is NFKC-normalized,
case-folded, stripped of diacritics and split on anything that is not a letter or digit. Queries go through the
same functions, so both engines see the same tokens on both sides.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CJK = (
    "\u3040-\u30ff"          # Hiragana, Katakana
    "\u3100-\u312f\u31a0-\u31bf"  # Bopomofo
    "\u3131-\u318e"          # Hangul compatibility jamo
    "\u31f0-\u31ff"          # Katakana phonetic extensions
    "\u3400-\u4dbf"          # CJK Extension A
    "\u4e00-\u9fff"          # CJK Unified Ideographs
    "\uac00-\ud7af"          # Hangul syllables
    "\uf900-\ufaff"          # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK Extensions B-G
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(r"[^\W_]+")
_ARTICLES = ("the ", "a ", "an ", "le ", "la ", "les ", "l ", "der ", "die ", "das ", "el ", "los ", "las ")


def _fold(segment: str) -> str:
    """Lower-case, without diacritics (é -> e): for text outside CJK runs only (NFKD would split Hangul)."""
    if segment.isascii():
        return segment.lower()
    decomposed = unicodedata.normalize("NFKD", segment.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c)[0] != "M")


def _pieces(text: str) -> list[tuple[bool, str]]:
    """(is_cjk, piece) in order: CJK runs kept whole, everything else folded."""
    text = unicodedata.normalize("NFKC", text)
    pieces: list[tuple[bool, str]] = []
    position = 0
    for run in _CJK_RUN.finditer(text):
        if run.start() > position:
            pieces.append((False, _fold(text[position:run.start()])))
        pieces.append((True, run.group()))
        position = run.end()
    if position < len(text):
        pieces.append((False, _fold(text[position:])))
    return pieces


MAX_TOKEN = 60  # longer "words" (URLs, garbage) are dropped on both sides


def _words(piece: str) -> list[str]:
    return [w for w in _WORD.findall(piece) if len(w) <= MAX_TOKEN]


def _in_place(is_cjk: bool, piece: str) -> list[str]:
    if not is_cjk:
        return _words(piece)
    if len(piece) == 1:
        return [piece]
    return [piece[i:i + 2] for i in range(len(piece) - 1)]


def index_tokens(text: str | None, limit: int = 2000) -> list[str]:
    """The tokens of one field, in order, CJK bigrams in place and the field's distinct CJK characters at the end."""
    if not text:
        return []
    if text.isascii():
        return _words(text.lower())[:limit]
    tokens: list[str] = []
    tail: dict[str, None] = {}
    for is_cjk, piece in _pieces(text):
        tokens.extend(_in_place(is_cjk, piece))
        if is_cjk and len(piece) > 1:
            tail.update(dict.fromkeys(piece))
    return (tokens + list(tail))[:limit]


def phrase_tokens(text: str) -> list[str]:
    """A query word or quoted phrase as the consecutive tokens it must match (CJK words become bigram phrases)."""
    tokens: list[str] = []
    for is_cjk, piece in _pieces(text):
        tokens.extend(_in_place(is_cjk, piece))
    return tokens


@dataclass(frozen=True)
class QueryPart:
    """One unit of a keyword query: a word (possibly several tokens, e.g. a CJK word) or a quoted phrase."""

    text: str
    quoted: bool
    prefix: bool = False


_QUERY_PART = re.compile(r'"([^"]*)"?|(\S+)')


def split_keywords(query: str) -> list[QueryPart]:
    """Split a keyword query into words and "quoted phrases"; a trailing `*` on a word asks for a prefix match."""
    parts: list[QueryPart] = []
    for match in _QUERY_PART.finditer(query):
        phrase, word = match.group(1), match.group(2)
        if phrase is not None:
            if phrase.strip():
                parts.append(QueryPart(phrase, quoted=True))
        elif word:
            prefix = word.endswith("*") and len(word.rstrip("*")) > 0
            parts.append(QueryPart(word.rstrip("*") if prefix else word, quoted=False, prefix=prefix))
    return parts


def sort_key(title: str) -> str:
    """A title for alphabetical sorting: folded, leading articles dropped, at most 200 characters."""
    folded = " ".join(phrase_tokens(title))
    for article in _ARTICLES:
        if folded.startswith(article) and len(folded) > len(article):
            folded = folded[len(article):]
            break
    return folded[:200]


def is_cjk_token(token: str) -> bool:
    """Whether a token came from a CJK run (prefix matching makes no sense on bigrams)."""
    return bool(_CJK_RUN.fullmatch(token))
