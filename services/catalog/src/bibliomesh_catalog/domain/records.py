"""A member record as the catalogue understands it, whatever format it arrived in, and its match keys."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from datetime import date
from functools import cached_property
from typing import Any, Literal

from bibliomesh_catalog.domain.identifiers import author_key, normalize_text, title_key

Format = Literal["print", "electronic"]
HoldingStatus = Literal["available", "on-loan", "missing", "not-for-loan", "in-process"]
HOLDING_STATUSES: tuple[str, ...] = ("available", "on-loan", "missing", "not-for-loan", "in-process")
KEY_KINDS = ("oclc", "lccn", "isbn", "issn", "title")


@dataclass
class RecordDescription:
    """What ingest extracts from a record: display fields (as in `ClusterDisplay`) plus what matching needs."""

    title: str
    format: str = "print"
    nonfiling: int = 0
    title_proper: str = ""
    alt_titles: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    publisher: str | None = None
    place: str | None = None
    language: str | None = None
    edition: str | None = None
    extent: str | None = None
    series: str | None = None
    subjects: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)
    invalid_isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)
    oclc_numbers: list[str] = field(default_factory=list)
    lccns: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    volume: str | None = None
    is_set: bool = False
    edition_number: str | None = None
    pages: int | None = None
    series_number: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (stored in `records.description`): the fields, without the cached keys."""
        data = dict(vars(self))
        data.pop("title_key", None)
        data.pop("author_key", None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordDescription:
        """Rebuild from `records.description`, ignoring keys this version does not know."""
        known = _FIELD_NAMES
        return cls(**{k: v for k, v in data.items() if k in known})

    # Cached (in the instance's __dict__, so a record prepared in the parsing process arrives with them): matching,
    # the record row and every holdings event need them.
    @cached_property
    def title_key(self) -> str:
        return title_key(self.title_proper or self.title, self.nonfiling)

    @cached_property
    def author_key(self) -> str:
        return author_key(self.authors[0] if self.authors else None)


_FIELD_NAMES = frozenset(f.name for f in fields(RecordDescription))


@dataclass(frozen=True, slots=True)
class HoldingInput:
    """One item as a library reports it."""

    item_id: str
    status: str = "available"
    location: str | None = None
    call_number: str | None = None
    due_date: date | None = None
    format: str | None = None
    ill_copy_allowed: bool | None = None

    def canonical(self) -> str:
        return "\x1f".join(str(v) for v in (self.item_id, self.status, self.location, self.call_number,
                                              self.due_date, self.format, self.ill_copy_allowed))


@dataclass(slots=True)
class ParsedRecord:
    """A record that parsed: its local id, description, MARC-in-JSON text (None for the JSON form) and holdings
    (None when the submission says nothing about holdings, so existing ones are kept)."""

    local_id: str
    description: RecordDescription
    marc_json: str | None
    holdings: list[HoldingInput] | None
    source_digest: str
    position: int = 0

    @property
    def content_hash(self) -> str:
        """Changes whenever the record or its stated holdings change: the basis of `unchanged`."""
        digest = hashlib.sha256(self.source_digest.encode())
        if self.holdings is not None:
            for holding in self.holdings:
                digest.update(b"\x1e" + holding.canonical().encode())
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record that could not be used; parsing went on with the next one. `position` counts from 1."""

    position: int
    reason: str
    local_id: str | None = None


def aggregate_id(kind: str, institution: str, local: str) -> str:
    """The outbox aggregate id of a record or holding (`record:CODE/local-id`), hashed when too long to store."""
    text = f"{kind}:{institution}/{local}"
    return text if len(text) <= 200 else f"{kind}:{institution[:64]}/sha256:{digest_of(local)}"


def digest_of(text: str | bytes) -> str:
    """sha256 hex digest of the record's canonical source."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def match_keys(description: RecordDescription) -> list[tuple[str, str]]:
    """The (kind, value) pairs stored in `record_keys` and used to find candidates. The title key is title +
    first author + year (also for parallel titles in other scripts); format is not part of it so that it also
    finds the other format to link as a work."""
    keys = [("oclc", v) for v in description.oclc_numbers]
    keys += [("lccn", v) for v in description.lccns]
    keys += [("isbn", v) for v in description.isbns]
    keys += [("issn", v) for v in description.issns]
    if description.year is not None:
        author = description.author_key
        titles = [description.title_key, *(title_key(t.split(" : ", 1)[0]) for t in description.alt_titles[:3])]
        keys += [("title", f"{t}|{author}|{description.year}"[:300]) for t in titles if t]
    return list(dict.fromkeys(keys))


# --- designations: volumes, editions, pages ------------------------------------------------------------------

_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_CJK_DIGITS = {"\u3007": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
               "九": 9, "十": 10}
_VOLUME_MARKER = re.compile(
    r"(?<![a-z])(?:v|vol|vols|volume|t|tome|tomo|bd|band|pt|part|teil|bk|book|fasc|heft|no|nr|kn|kniga|ch|chast)"
    r"\.?\s*([0-9]+|[ivxlcdm]+)(?![a-z0-9])")
_CJK_VOLUME = re.compile(r"第\s*([0-9\u3007零一二两三四五六七八九十百]+)\s*[卷册冊辑輯部集编編分篇]")
_CJK_HALVES = re.compile(r"([上中下])\s*[卷册冊编編]")
_SET = re.compile(r"^\s*[0-9]+\s*(?:v\b|v\.|vol|volumes|册|冊|卷)")
_EDITION = re.compile(r"([0-9]+)\s*(?:st|nd|rd|th|e|er|re|de|\.|ª|º|-?\u0435)?\.?\s*(?:[^\W\d]+\.?\s+){0,2}"
                      r"(?:ed\b|edition|aufl|auflage|éd|edición|edizione|utg|uppl|изд)")
_CJK_EDITION = re.compile(r"第\s*([0-9\u3007零一二两三四五六七八九十]+)\s*版")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12}
_PAGES = re.compile(r"([0-9]+)\s*(?:p\b|p\.|pages|leaves|s\.|页|頁)")


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if all(c in _ROMAN for c in text):
        total = 0
        for i, c in enumerate(text):
            value = _ROMAN[c]
            total += -value if i + 1 < len(text) and _ROMAN[text[i + 1]] > value else value
        return total
    if all(c in _CJK_DIGITS or c == "百" for c in text):
        total, current = 0, 0
        for c in text:
            if c == "十":
                total += (current or 1) * 10
                current = 0
            elif c == "百":
                total += (current or 1) * 100
                current = 0
            else:
                current = _CJK_DIGITS[c]
        return total + current
    return None


def volume_of(text: str | None, *, bare: bool = False) -> str | None:
    """The volume a designation names (`v. 2`, `Vol. II`, `Bd. 3`, `第二卷`, `上册`) as a comparable token.
    With `bare` (245 $n), a designation without a marker (`2`, `Part A`) counts too."""
    if not text:
        return None
    lowered = text.casefold()
    for pattern in (_CJK_VOLUME, _VOLUME_MARKER):
        found = pattern.search(lowered)
        if found:
            number = _number(found.group(1))
            if number is not None:
                return str(number)
    halves = _CJK_HALVES.search(lowered)
    if halves:
        return {"上": "upper", "中": "middle", "下": "lower"}[halves.group(1)]
    if bare:
        plain = normalize_text(text)
        number = _number(plain) if plain else None
        return str(number) if number is not None else (plain[:40] or None)
    return None


def is_multivolume_extent(extent: str | None) -> bool:
    """`3 v.` or `2 v. (xii, 900 p.)`: the record describes a whole multi-volume set."""
    return bool(extent and _SET.match(extent.casefold()))


def edition_number(statement: str | None) -> str | None:
    """`2nd ed.`, `Second edition`, `3. Aufl.`, `第2版` -> `2`; `Rev. ed.` -> `rev`; else None."""
    if not statement:
        return None
    lowered = statement.casefold()
    for pattern in (_CJK_EDITION, _EDITION):
        found = pattern.search(lowered)
        if found:
            number = _number(found.group(1))
            if number is not None:
                return str(number)
    for word, number in _ORDINALS.items():
        if re.search(rf"\b{word}\b", lowered):
            return str(number)
    if re.search(r"\brev(?:ised|\.)", lowered):
        return "rev"
    return None


def pages_of(extent: str | None) -> int | None:
    """The largest page count in a physical description (`xii, 320 p.` -> 320)."""
    if not extent:
        return None
    counts = [int(n) for n in _PAGES.findall(extent.casefold())]
    return max(counts) if counts else None


def series_number_of(text: str | None) -> str | None:
    """The numbering in a series statement (`; v. 12`, `no. 5`, `12`) as digits."""
    if not text:
        return None
    found = re.search(r"[0-9]+", text)
    return found.group() if found else None


def canonical_json(data: Any) -> str:
    """Deterministic JSON used for hashing."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
