"""A citation read from an OpenURL: 1.0 (Z39.88-2004 KEV, `rft.*` keys) or the older 0.1 style (`isbn=`).

Pure parsing, no I/O: the ILL broker can mirror it to read the citations patrons arrive with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Z39_88 = "Z39.88-2004"
_YEAR = re.compile(r"^\s*(\d{4})")
_FORMAT_PREFIX = "info:ofi/fmt:kev:mtx:"
SERIAL_GENRES = frozenset({"journal", "issue", "article", "preprint"})
PART_GENRES = frozenset({"article", "preprint", "bookitem", "proceeding"})
# rft_id / id values: identifier scheme -> the citation field it feeds
_ID_SCHEMES = (("info:oclcnum/", "oclc"), ("urn:isbn:", "isbn"), ("info:isbn/", "isbn"), ("isbn:", "isbn"),
               ("urn:issn:", "issn"), ("info:issn/", "issn"), ("issn:", "issn"), ("info:lccn/", "lccn"),
               ("oclcnum:", "oclc"), ("lccn:", "lccn"))


@dataclass(frozen=True)
class Citation:
    """What a citation identifies: identifiers first, else title, author and year."""

    version: str
    genre: str | None = None
    format: str | None = None
    isbns: tuple[str, ...] = ()
    issns: tuple[str, ...] = ()
    oclc_numbers: tuple[str, ...] = ()
    lccns: tuple[str, ...] = ()
    title: str | None = None
    article_title: str | None = None
    authors: tuple[str, ...] = ()
    year: int | None = None

    @property
    def has_identifiers(self) -> bool:
        """Whether the citation carries an identifier the catalogue indexes."""
        return bool(self.isbns or self.issns or self.oclc_numbers or self.lccns)

    @property
    def is_serial(self) -> bool:
        """A journal, or an issue or article of one: only a serial can be what it names."""
        return self.format == "journal" or (self.genre or "").lower() in SERIAL_GENRES

    @property
    def catalogue_title(self) -> str | None:
        """The title a catalogue record may carry: the journal's or book's, never that of an article or chapter
        (the article title counts only when nothing says it names a part)."""
        if self.is_serial or (self.genre or "").lower() in PART_GENRES:
            return self.title
        return self.title or self.article_title

    @property
    def is_empty(self) -> bool:
        """Nothing to look for: no identifier and no title."""
        return not self.has_identifiers and not (self.title or self.article_title)


def _values(params: Mapping[str, Sequence[str]], *keys: str) -> list[str]:
    found: list[str] = []
    for key in keys:
        found.extend(v.strip() for v in params.get(key, ()) if v and v.strip())
    return found


def _first(params: Mapping[str, Sequence[str]], *keys: str) -> str | None:
    values = _values(params, *keys)
    return values[0] if values else None


def is_openurl_1_0(params: Mapping[str, Sequence[str]]) -> bool:
    """A 1.0 KEV context object (`url_ver=Z39.88-2004`, or any `rft.`/`rft_id` key), rather than 0.1."""
    return Z39_88 in params.get("url_ver", ()) or any(k.startswith(("rft.", "rft_id")) for k in params)


def parse_citation(params: Mapping[str, Sequence[str]]) -> Citation:
    """The citation in an OpenURL's query parameters (each key with all its values, in order)."""
    modern = is_openurl_1_0(params)
    p = "rft." if modern else ""
    ids: dict[str, list[str]] = {"isbn": [], "issn": [], "oclc": [], "lccn": []}
    for value in _values(params, "rft_id" if modern else "id", *(("id",) if modern else ())):
        lowered = value.lower()
        for scheme, kind in _ID_SCHEMES:
            if lowered.startswith(scheme):
                ids[kind].append(value[len(scheme):])
                break
    authors = _values(params, f"{p}au")
    last = _first(params, f"{p}aulast")
    if last:
        first = _first(params, f"{p}aufirst", f"{p}auinit")
        authors.insert(0, f"{last}, {first}" if first else last)
    date = _first(params, f"{p}date")
    format_ = _first(params, "rft_val_fmt") if modern else None
    year = _YEAR.match(date) if date else None
    return Citation(
        version="1.0" if modern else "0.1",
        genre=_first(params, f"{p}genre"),
        format=format_.lower().removeprefix(_FORMAT_PREFIX) if format_ else None,
        isbns=tuple(_values(params, f"{p}isbn") + ids["isbn"]),
        issns=tuple(_values(params, f"{p}issn", f"{p}eissn") + ids["issn"]),
        oclc_numbers=tuple(ids["oclc"]),
        lccns=tuple(ids["lccn"]),
        title=_first(params, f"{p}btitle", f"{p}title", f"{p}jtitle", *(("stitle",) if not modern else ())),
        article_title=_first(params, f"{p}atitle"),
        authors=tuple(authors),
        year=int(year.group(1)) if year else None,
    )
