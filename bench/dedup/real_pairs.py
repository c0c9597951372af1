"""Pairs found in the real LoC data (same title and year by different authors; ISBNs shared by different books)
and the Chinese-script version of a romanized record, for the labeled set."""

from __future__ import annotations

import copy
import itertools
import random
import re
from collections import defaultdict
from typing import Any

from pymarc import Record


def _isbn10(value: str) -> str | None:
    digits = re.sub(r"[^0-9Xx]", "", value.split(" ")[0]).upper()
    return digits if len(digits) == 10 else None


def _year(record: Record) -> int | None:
    f008 = record.get("008")
    text = f008.data[7:11] if f008 is not None and f008.data else ""
    return int(text) if text.isdigit() else None


def _isbns(record: Record) -> list[str]:
    return [v for f in record.get_fields("020") for v in f.get_subfields("a")]


def _words(record: Record) -> set[str]:
    title = record.get("245")
    text = " ".join(title.get_subfields("a", "b")) if title is not None else ""
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def real_pairs(b: Any, loc: list[Record], rng: random.Random) -> None:
    by_title: dict[tuple[str, int | None], list[Record]] = defaultdict(list)
    by_isbn: dict[str, list[Record]] = defaultdict(list)
    for record in loc:
        title = record.get("245")
        key = " ".join(re.findall(r"\w+", (title.get("a") or "").lower())) if title is not None else ""
        by_title[(key, _year(record))].append(record)
        for value in _isbns(record):
            isbn10 = _isbn10(value)
            if isbn10:
                by_isbn[isbn10].append(record)
    same_title = [(a, b_) for group in by_title.values() if len(group) > 1 for a, b_ in itertools.combinations(
        group[:2], 2) if a.get("100") and b_.get("100") and a["100"].get("a") != b_["100"].get("a")
        and not set(_isbns(a)) & set(_isbns(b_))]
    rng.shuffle(same_title)
    used = set(b.sources)

    def fresh(*pair: Record) -> bool:
        ids = [r["001"].data for r in pair]
        if used & set(ids) or len(set(ids)) < len(ids):
            return False
        used.update(ids)
        return True

    for a, other in [p for p in same_title if fresh(*p)][:50]:
        b.apart(b.add(copy.deepcopy(a), "LIB-A", b.group(), "same_title"),
                b.add(copy.deepcopy(other), "LIB-B", b.group(), "same_title"), "same_title")
    collisions = [(g[0], g[1]) for g in by_isbn.values() if len(g) > 1 and not _words(g[0]) & _words(g[1])]
    rng.shuffle(collisions)
    for a, other in [p for p in collisions if fresh(*p)][:50]:
        b.apart(b.add(copy.deepcopy(a), "LIB-A", b.group(), "isbn_collision"),
                b.add(copy.deepcopy(other), "LIB-B", b.group(), "isbn_collision"), "isbn_collision")


def vernacular(record: Record) -> Record:
    """The record as a Chinese-script catalogue has it: 245 and 100 in characters (from LoC's 880s)."""
    copy_ = copy.deepcopy(record)
    linked = {(f.get("6") or "")[:3]: f for f in copy_.get_fields("880")}
    for tag in ("245", "100"):
        vernacular = linked.get(tag)
        current = copy_.get(tag)
        if vernacular is not None and current is not None:
            current.subfields = [s for s in vernacular.subfields if s.code != "6"]
    for field in copy_.get_fields("880", "010", "035"):
        copy_.remove_field(field)
    return copy_
