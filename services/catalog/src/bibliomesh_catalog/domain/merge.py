"""The union record of a cluster: each field from the member that has the most complete version of it.

- Text fields (title, publisher, place, edition, extent, series, language): the longest value; ties go to the
  more complete member (more filled-in fields), then the older record.
- Lists of descriptive values (authors, subjects, notes, urls): the longest list.
- Identifiers (ISBNs, ISSNs, OCLC numbers, LCCNs): the union over all members, because a cluster must be
  found, and a citation routed, by any identifier any member carries.
- Year: the year most members state; ties go to the more complete member.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bibliomesh_catalog.domain.display import ClusterDisplay
from bibliomesh_catalog.domain.records import RecordDescription

_TEXT = ("title", "publisher", "place", "language", "edition", "extent", "series")
_LISTS = ("authors", "subjects", "notes", "urls")
_IDENTIFIERS = (("isbns", "isbns"), ("issns", "issns"), ("oclc_numbers", "oclc_numbers"), ("lccns", "lccns"))


def completeness(description: RecordDescription) -> int:
    """How many display fields a member fills in."""
    filled = sum(1 for name in _TEXT if getattr(description, name))
    filled += sum(1 for name in _LISTS if getattr(description, name))
    filled += sum(1 for name, _ in _IDENTIFIERS if getattr(description, name))
    return filled + (description.year is not None)


def merge_display(members: Sequence[tuple[int, RecordDescription]], format_: str) -> dict[str, Any]:
    """The `clusters.display` document of a cluster with these (record id, description) members.

    Besides the `ClusterDisplay` fields it carries `alt_titles` (titles in other scripts, such as the Chinese
    title of a romanized record), which `ClusterDisplay` ignores when it does not know them."""
    if len(members) == 1:
        return single_display(members[0][1], format_)
    ranked = sorted(members, key=lambda m: (-completeness(m[1]), m[0]))
    descriptions = [d for _, d in ranked]
    values: dict[str, Any] = {"format": format_}
    for name in _TEXT:
        values[name] = _longest([getattr(d, name) for d in descriptions])
    for name in _LISTS:
        values[name] = max((list(getattr(d, name)) for d in descriptions), key=len, default=[])
    for source, target in _IDENTIFIERS:
        values[target] = list(dict.fromkeys(v for d in descriptions for v in getattr(d, source)))
    years = Counter(d.year for d in descriptions if d.year is not None)
    if years:
        top = max(years.values())
        values["year"] = next(d.year for d in descriptions if d.year is not None and years[d.year] == top)
    display = ClusterDisplay.model_validate(values).model_dump(mode="json")
    display["alt_titles"] = list(dict.fromkeys(t for d in descriptions for t in d.alt_titles))
    return display


def single_display(description: RecordDescription, format_: str) -> dict[str, Any]:
    """The display of a cluster with one member: its own fields (what `merge_display` would give, faster)."""
    d = description
    return {"title": d.title, "authors": list(d.authors), "year": d.year, "publisher": d.publisher, "place": d.place,
            "language": d.language, "format": format_, "edition": d.edition, "extent": d.extent, "series": d.series,
            "subjects": list(d.subjects), "notes": list(d.notes), "isbns": list(d.isbns), "issns": list(d.issns),
            "oclc_numbers": list(d.oclc_numbers), "lccns": list(d.lccns), "urls": list(d.urls),
            "alt_titles": list(d.alt_titles)}


def _longest(values: list[str | None]) -> str | None:
    best: str | None = None
    for value in values:
        if value and (best is None or len(value) > len(best)):
            best = value
    return best
