"""Simple Dublin Core (`oai_dc`, as OAI-PMH sources without MARC offer it) read into the catalogue's JSON form.

The mapping is deliberately plain: the first `title` is the title (`Title : subtitle` split as MARC would), the
others alternative titles; `creator` then `contributor` are the authors; the first year in `date` is the year;
`identifier` gives ISBNs (`urn:isbn:`, `ISBN ...`), ISSNs and URLs; `format` `electronic` or a media type such as
`application/pdf` makes the record electronic, otherwise it is print. A record without a title is rejected. Dublin
Core carries no items, so holdings are left as they are (`holdings` None).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError

from bibliomesh_catalog.domain.identifiers import normalize_issn, parse_isbn, year_of
from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.json_form import IdentifiersJson, RecordJson, to_parsed, validation_reason

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
_LANGUAGES = {"en": "eng", "zh": "chi", "fr": "fre", "de": "ger", "es": "spa", "ja": "jpn", "ko": "kor",
              "ru": "rus", "it": "ita", "pt": "por", "nl": "dut", "ar": "ara"}
_NOTE_CHARS = 1000


def _values(element: Any, name: str) -> list[str]:
    found = (" ".join((child.text or "").split()) for child in element.iterfind(f"{{{DC_NS}}}{name}"))
    return [text for text in found if text]


def _identifiers(values: list[str]) -> tuple[IdentifiersJson, list[str]]:
    isbns, issns, urls = [], [], []
    for value in values:
        lowered = value.casefold()
        if lowered.startswith(("http://", "https://")):
            urls.append(value)
        elif lowered.startswith(("urn:issn:", "issn")) and normalize_issn(value):
            issns.append(value)
        elif lowered.startswith(("urn:isbn:", "isbn")) and parse_isbn(value):
            isbns.append(value)
    return IdentifiersJson(isbn=isbns, issn=issns), urls


def _format(formats: list[str], types: list[str]) -> Literal["print", "electronic"]:
    lowered = [f.casefold() for f in formats]
    if "print" in lowered:
        return "print"
    electronic = "electronic" in lowered or any("/" in f for f in lowered)
    return "electronic" if electronic or any("electronic" in t.casefold() for t in types) else "print"


def _language(values: list[str]) -> str | None:
    if not values:
        return None
    code = values[0].casefold().split("-")[0][:8]
    return _LANGUAGES.get(code, code)


def read_dublin_core(element: Any, local_id: str, position: int) -> ParsedRecord | RejectedRecord:
    """The `oai_dc:dc` element as a record with `local_id`, or why it cannot be used."""
    titles = _values(element, "title")
    if not titles:
        return RejectedRecord(position, "no title: the Dublin Core record has no dc:title", local_id)
    title, _, subtitle = titles[0][:2000].partition(" : ")
    identifiers, urls = _identifiers(_values(element, "identifier"))
    year = next((y for y in map(year_of, _values(element, "date")) if y), None)
    try:
        model = RecordJson(
            local_id=local_id, title=title, subtitle=subtitle or None, alt_titles=titles[1:5],
            authors=_values(element, "creator") + _values(element, "contributor"), year=year,
            publisher=next(iter(_values(element, "publisher")), None), language=_language(_values(element, "language")),
            format=_format(_values(element, "format"), _values(element, "type")), identifiers=identifiers,
            subjects=_values(element, "subject")[:25],
            notes=[note[:_NOTE_CHARS] for note in _values(element, "description")[:3]], urls=urls[:10])
    except ValidationError as exc:
        return RejectedRecord(position, validation_reason(exc), local_id)
    return to_parsed(model, position)
