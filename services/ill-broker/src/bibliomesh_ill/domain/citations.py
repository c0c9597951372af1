"""A citation as patrons and discovery systems give it, and the OpenURL the catalogue resolves it with."""

from __future__ import annotations

import re
from typing import Any

_OPENURL_KEYS = {"title": "rft.btitle", "article_title": "rft.atitle", "journal_title": "rft.jtitle",
                 "author": "rft.au", "isbn": "rft.isbn", "issn": "rft.issn", "year": "rft.date",
                 "publisher": "rft.pub", "volume": "rft.volume", "issue": "rft.issue", "pages": "rft.pages",
                 "edition": "rft.edition"}
_FROM_OPENURL = {**{v: k for k, v in _OPENURL_KEYS.items()}, "rft.title": "journal_title", "title": "title",
                 "isbn": "isbn", "issn": "issn", "aulast": "author", "rft.aulast": "author", "date": "year",
                 "atitle": "article_title", "rft.spage": "pages"}


def citation_from_openurl(params: dict[str, list[str]]) -> dict[str, Any]:
    """The citation fields an OpenURL (1.0 KEV or 0.1) carries."""
    citation: dict[str, Any] = {}
    for key, values in params.items():
        name = _FROM_OPENURL.get(key)
        if name and values and values[0].strip() and name not in citation:
            citation[name] = values[0].strip()
    for value in params.get("rft_id", []):
        if value.startswith("info:oclcnum/"):
            citation["oclc"] = value.removeprefix("info:oclcnum/")
        elif value.lower().startswith("urn:isbn:"):
            citation.setdefault("isbn", value[9:])
    return citation


def openurl_of(citation: dict[str, Any]) -> dict[str, list[str]]:
    params = {"url_ver": ["Z39.88-2004"]}
    for name, key in _OPENURL_KEYS.items():
        if citation.get(name):
            params[key] = [str(citation[name])]
    if citation.get("oclc"):
        params["rft_id"] = [f"info:oclcnum/{citation['oclc']}"]
    return params


def isbn13(value: str) -> str | None:
    """ISBN-13 digits of an ISBN-10 or -13 as typed (hyphens, qualifiers), or None if it is not one."""
    digits = re.sub(r"[^0-9Xx]", "", value.split("(")[0]).upper()
    if len(digits) == 10 and digits[:9].isdigit():   # X only as the ISBN-10 check digit
        core = "978" + digits[:9]
    elif len(digits) == 13 and digits.isdigit():
        core = digits[:12]
    else:
        return None
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core)) % 10) % 10
    return core + str(check)


def identifiers_of(citation: dict[str, Any]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    if citation.get("isbn") and (isbn := isbn13(str(citation["isbn"]))):
        keys.add(("isbn", isbn))
    if citation.get("issn"):
        found = re.search(r"([0-9]{4})-?([0-9]{3}[0-9Xx])", str(citation["issn"]))
        if found:
            keys.add(("issn", f"{found.group(1)}-{found.group(2).upper()}"))
    if citation.get("oclc"):
        keys.add(("oclc", str(citation["oclc"]).lstrip("0")))
    return keys
