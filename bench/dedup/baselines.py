"""The matching of two systems we compare with, re-implemented over the same parsed records:

- `reservoir`: FOLIO Reservoir clusters records that share any match key value, transitively and without
  vetoes; keys here are ISBN, ISSN, OCLC number, LCCN and its GoldRush-style key (title cut to 70 characters and
  padded, plus the first author cut to 20).
- `recordmanager`: VuFind's RecordManager (DedupHandler.matchRecords) takes candidates sharing a key and accepts
  them when the formats agree and then: a shared ISBN or other id is a match outright; otherwise ISSNs must not
  conflict, years must be equal, page counts within 10, series numbering equal, titles within 10 % Levenshtein
  distance and main authors within 20 %. Matches are joined transitively here.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pymarc import JSONReader

from bibliomesh_catalog.domain.identifiers import normalize_text
from bibliomesh_catalog.domain.records import ParsedRecord, RecordDescription
from bibliomesh_catalog.parsing.marc_binary import read_marc


def descriptions(labeled: dict[str, Any]) -> dict[str, RecordDescription]:
    """Record id -> description, through the same parser the catalogue uses."""
    found: dict[str, RecordDescription] = {}
    for item in labeled["records"]:
        record = next(iter(JSONReader(json.dumps([item["marc"]]))))
        (parsed,) = read_marc(io.BytesIO(record.as_marc21()))
        if isinstance(parsed, ParsedRecord):
            found[item["id"]] = parsed.description
    return found


def _goldrush(d: RecordDescription) -> str:
    title = normalize_text(d.title_proper or d.title).replace(" ", "_")[:70].ljust(70, "_")
    author = normalize_text(d.authors[0] if d.authors else "").replace(" ", "_")[:20].ljust(20, "_")
    return title + author


def _keys(d: RecordDescription) -> set[str]:
    keys = {f"isbn:{v}" for v in d.isbns} | {f"issn:{v}" for v in d.issns}
    keys |= {f"oclc:{v}" for v in d.oclc_numbers} | {f"lccn:{v}" for v in d.lccns}
    return keys | {f"gold:{_goldrush(d)}"}


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _recordmanager_match(a: RecordDescription, b: RecordDescription) -> bool:
    if a.format != b.format:
        return False
    if set(a.isbns) & set(b.isbns) or (set(a.oclc_numbers) & set(b.oclc_numbers)) or set(a.lccns) & set(b.lccns):
        return True
    if a.issns and b.issns and not set(a.issns) & set(b.issns):
        return False
    if a.year and b.year and a.year != b.year:
        return False
    if a.pages and b.pages and abs(a.pages - b.pages) > 10:
        return False
    if a.series_number != b.series_number:
        return False
    ta, tb = normalize_text(a.title)[:255], normalize_text(b.title)[:255]
    if not ta or not tb or _levenshtein(ta, tb) / len(ta) * 100 >= 10:
        return False
    aa = normalize_text(a.authors[0]) if a.authors else ""
    ab = normalize_text(b.authors[0]) if b.authors else ""
    if aa or ab:
        if not aa or not ab:
            return False
        if aa != ab and _levenshtein(aa, ab) / len(aa) * 100 > 20:
            return False
    return True


def cluster(records: dict[str, RecordDescription], accept: Callable[[RecordDescription, RecordDescription], bool]
            ) -> dict[str, int]:
    """Union of candidate pairs (sharing a key) that `accept` takes; record id -> cluster number."""
    parent = {r: r for r in records}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_key: dict[str, list[str]] = defaultdict(list)
    for record_id, description in records.items():
        for key in _keys(description):
            by_key[key].append(record_id)
    for ids in by_key.values():
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if find(a) != find(b) and accept(records[a], records[b]):
                    parent[find(a)] = find(b)
    roots = {root: n for n, root in enumerate(sorted({find(r) for r in records}))}
    return {r: roots[find(r)] for r in records}


def baselines(labeled: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Cluster assignments of the two baselines on the labeled set."""
    records = descriptions(labeled)
    return {"reservoir": cluster(records, lambda a, b: True),
            "recordmanager": cluster(records, _recordmanager_match)}
