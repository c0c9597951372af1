"""From a decoded pymarc `Record` to what the catalogue keeps: local id, description, MARC-in-JSON, items.

Items come from 852 or 952 fields, one item per field:

- 852 (MARC holdings location): item id `$p` (barcode, required), location `$b` (and `$c`), call number
  `$h` + `$i`; status `available` (852 carries no circulation status).
- 952 (Koha items): item id `$p` (barcode) or `$9` (item number), location `$c` (shelving location) or `$b`
  (holding branch), call number `$o`; status: `$q` (date due, ISO date) -> `on-loan`; `$1` (lost) non-zero ->
  `missing`; `$7` (not for loan) negative -> `in-process` (Koha uses negative values for "on order"),
  positive -> `not-for-loan`; `$0` (withdrawn) non-zero -> `not-for-loan`; otherwise `available`.

A record without item fields says nothing about holdings (`holdings=None`): existing ones are kept, or the
caller supplies them alongside.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from json.encoder import encode_basestring as _json
from typing import Any

from pymarc import Record

from bibliomesh_catalog.domain.identifiers import normalize_issn, normalize_lccn, normalize_oclc, parse_isbn, year_of
from bibliomesh_catalog.domain.records import (
    HoldingInput,
    ParsedRecord,
    RecordDescription,
    RejectedRecord,
    digest_of,
    edition_number,
    is_multivolume_extent,
    pages_of,
    series_number_of,
    volume_of,
)

Fields = dict[str, list[Any]]  # tag -> pymarc `Field`s or `MarcField`s, in record order
_TRAILING = " /:;,=+"
_SUBJECT_TAGS = ("600", "610", "611", "630", "650", "651")
_LIMIT_ID = 200


def clean(value: str | None) -> str:
    """A subfield without ISBD punctuation at its end (`Smith, John,` -> `Smith, John`); a final period goes
    unless it ends an initial (`Smith, J.`)."""
    if not value:
        return ""
    text = value.rstrip(_TRAILING).strip()
    if text[-1:] == "." and not (text[-2:-1].isupper() and text[-3:-2] in ("", " ", ",", ".")):
        text = text[:-1].rstrip(_TRAILING)
    return text


def light(value: str | None) -> str:
    """A subfield without trailing ISBD separators, keeping a final period (`121 p.`, `Richmond, Va.`)."""
    return value.rstrip(_TRAILING).strip() if value else ""


def record_from_marc(record: Record, position: int) -> ParsedRecord | RejectedRecord:
    """Extract a `ParsedRecord` from a decoded pymarc record, or say why it cannot be used."""
    return record_from_fields(record.fields, str(record.leader), position)


def record_from_fields(marc_fields: Sequence[Any], leader: str, position: int) -> ParsedRecord | RejectedRecord:
    """Extract a `ParsedRecord` from a record's fields (pymarc `Field`s or `MarcField`s) and leader."""
    fields: dict[str, list[Any]] = defaultdict(list)
    parts = []
    for marc_field in marc_fields:
        fields[marc_field.tag].append(marc_field)
        parts.append(_field_json(marc_field))
    control = fields.get("001")
    local_id = (control[0].data or "").strip() if control else ""
    if not local_id:
        return RejectedRecord(position, "no local id: the record has no 001 control number")
    if len(local_id) > _LIMIT_ID:
        return RejectedRecord(position, f"local id longer than {_LIMIT_ID} characters")
    description = describe(fields, leader)
    if description is None:
        return RejectedRecord(position, "no title: 245 $a (or $k) is missing or empty", local_id)
    # MARC-in-JSON, written directly (three times faster than pymarc's as_json); the text is Unicode now
    # whatever leader/09 said, so the stored leader says so.
    marc_json = f'{{"leader":{_json(leader[:9] + "a" + leader[10:])},"fields":[{",".join(parts)}]}}'
    return ParsedRecord(local_id=local_id, description=description, marc_json=marc_json,
                        holdings=items(fields), source_digest=digest_of(marc_json), position=position)


def _field_json(marc_field: Any) -> str:
    if marc_field.control_field:
        return f"{{{_json(marc_field.tag)}:{_json(marc_field.data or '')}}}"
    subfields = ",".join([f"{{{_json(code)}:{_json(value)}}}" for code, value in marc_field.subfields])
    return (f'{{{_json(marc_field.tag)}:{{"ind1":{_json(marc_field.indicator1)},'
            f'"ind2":{_json(marc_field.indicator2)},"subfields":[{subfields}]}}}}')


def describe(fields: Fields, leader: str) -> RecordDescription | None:
    """The description of a record, None when it has no title."""
    title_fields = fields.get("245")
    if not title_fields:
        return None
    title_field = title_fields[0]
    main = clean(" ".join(title_field.get_subfields("a")) or " ".join(title_field.get_subfields("k")))
    if not main:
        return None
    subtitle = clean(" ".join(title_field.get_subfields("b")))
    parts = [clean(p) for p in title_field.get_subfields("n", "p") if clean(p)]
    title = main + (f" : {subtitle}" if subtitle else "") + "".join(f". {p}" for p in parts)
    ind2 = title_field.indicator2
    control = (fields["008"][0].data or "") if fields.get("008") else ""
    extent = light(_first(fields, "300", "a")) or None
    numbers = [n for n in (title_field.get_subfields("n")) if n.strip()]
    isbns, invalid, qualifiers = _isbns(fields)
    volumes = {v for v in (volume_of(q) for q in qualifiers) if v}
    volume = volume_of(numbers[0], bare=True) if numbers else (next(iter(volumes)) if len(volumes) == 1 else None)
    edition = clean(" ".join(_subfields(fields, "250", "ab"))) or None
    series = clean(_first(fields, "490", "a") or _first(fields, "830", "a")) or None
    return RecordDescription(
        title=title,
        title_proper=" ".join([main, *parts]),
        nonfiling=int(ind2) if ind2.isdigit() else 0,
        alt_titles=_vernacular_titles(fields),
        format=_format(fields, leader, control, title_field),
        authors=_authors(fields),
        year=_year(fields, control),
        publisher=light(_first(fields, "264", "b") or _first(fields, "260", "b")) or None,
        place=light(_first(fields, "264", "a") or _first(fields, "260", "a")) or None,
        language=_language(fields, control),
        edition=edition,
        extent=extent,
        series=series,
        subjects=_subjects(fields),
        notes=[clean(n)[:2000] for n in _subfields(fields, "500", "a")[:5] + _subfields(fields, "520", "a")[:3]],
        isbns=isbns,
        invalid_isbns=invalid,
        issns=list(dict.fromkeys(v for v in map(normalize_issn, _subfields(fields, "022", "a")) if v)),
        oclc_numbers=list(dict.fromkeys(v for v in map(normalize_oclc, _subfields(fields, "035", "a")) if v)),
        lccns=list(dict.fromkeys(v for v in map(normalize_lccn, _subfields(fields, "010", "a")) if v)),
        urls=list(dict.fromkeys(u.strip() for u in _subfields(fields, "856", "u")))[:5],
        volume=volume,
        is_set=is_multivolume_extent(extent) or len(volumes) > 1 or (
            volume is None and any("set" in q.casefold() for q in qualifiers)),
        edition_number=edition_number(edition),
        pages=pages_of(extent),
        series_number=series_number_of(_first(fields, "490", "v") or _first(fields, "830", "v")),
    )


def _first(fields: Fields, tag: str, code: str) -> str | None:
    for marc_field in fields.get(tag, ()):
        for subfield_code, value in marc_field.subfields:
            if subfield_code == code:
                return str(value)
    return None


def _subfields(fields: Fields, tag: str, codes: str) -> list[str]:
    return [value for f in fields.get(tag, ()) for code, value in f.subfields if code in codes and value]


def _isbns(fields: Fields) -> tuple[list[str], list[str], list[str]]:
    valid: list[str] = []
    invalid: list[str] = []
    qualifiers: list[str] = []
    for marc_field in fields.get("020", ()):
        for code, value in marc_field.subfields:
            if code == "q" and value:
                qualifiers.append(value)
            elif code in "az" and value:
                parsed = parse_isbn(value)
                if parsed is None:
                    continue
                if parsed.isbn13 and code == "a":
                    valid.append(parsed.isbn13)
                else:
                    invalid.append(parsed.given)
                if parsed.qualifier and code == "a":
                    qualifiers.append(parsed.qualifier)
    return list(dict.fromkeys(valid)), list(dict.fromkeys(invalid)), qualifiers


def _vernacular_titles(fields: Fields) -> list[str]:
    titles = []
    for marc_field in fields.get("880", ()):
        linkage = marc_field.get("6") or ""
        if linkage.startswith("245"):
            main = clean(" ".join(marc_field.get_subfields("a")))
            subtitle = clean(" ".join(marc_field.get_subfields("b")))
            if main:
                titles.append(main + (f" : {subtitle}" if subtitle else ""))
    return titles


def _authors(fields: Fields) -> list[str]:
    names = []
    for tag in ("100", "110", "111", "700", "710", "711"):
        for marc_field in fields.get(tag, ()):
            name = clean(" ".join(marc_field.get_subfields("a", "b") if tag.endswith("10") else
                                  marc_field.get_subfields("a")))
            if name:
                names.append(name)
    return list(dict.fromkeys(names))[:20]


def _year(fields: Fields, control: str) -> int | None:
    date1 = control[7:11]
    if len(date1) == 4 and date1.isdigit() and 1000 <= int(date1) <= 2099:
        return int(date1)
    return year_of(_first(fields, "264", "c") or _first(fields, "260", "c"))


def _language(fields: Fields, control: str) -> str | None:
    code = control[35:38].strip().lower()
    if len(code) == 3 and code.isalpha():
        return code
    other = (_first(fields, "041", "a") or "")[:3].lower()
    return other if len(other) == 3 and other.isalpha() else None


def _format(fields: Fields, leader: str, control: str, title: Any) -> str:
    form_position = 29 if leader[6:7] in ("e", "f", "g", "k", "o", "r") else 23
    if control[form_position:form_position + 1] in ("o", "q", "s"):
        return "electronic"
    if any("electronic" in (h or "").lower() for h in title.get_subfields("h")):
        return "electronic"
    if any((f.data or "").startswith("cr") for f in fields.get("007", ())):
        return "electronic"
    if any(v.strip().lower() in ("online resource", "cr") for v in _subfields(fields, "338", "ab")):
        return "electronic"
    return "print"


def _subjects(fields: Fields) -> list[str]:
    subjects = []
    for tag in _SUBJECT_TAGS:
        for marc_field in fields.get(tag, ()):
            parts = [value for code, value in marc_field.subfields if code in "abcdtxyzv" and value]
            text = " -- ".join(filter(None, map(clean, parts)))
            if text:
                subjects.append(text)
    return list(dict.fromkeys(subjects))[:25]


def items(fields: Fields) -> list[HoldingInput] | None:
    """Holdings from 852/952 item fields (see the module docstring); None when the record has none."""
    found: list[HoldingInput] = []
    for marc_field in fields.get("852", ()):
        item_id = (marc_field.get("p") or "").strip()
        if item_id:
            location = " / ".join(clean(v) for v in marc_field.get_subfields("b", "c") if clean(v)) or None
            call_number = " ".join(v.strip() for v in marc_field.get_subfields("h", "i") if v.strip()) or None
            found.append(HoldingInput(item_id=item_id[:_LIMIT_ID], location=_cut(location),
                                      call_number=_cut(call_number)))
    for marc_field in fields.get("952", ()):
        item_id = (marc_field.get("p") or marc_field.get("9") or "").strip()
        if item_id:
            status, due = _koha_status(marc_field)
            found.append(HoldingInput(item_id=item_id[:_LIMIT_ID], status=status, due_date=due,
                                      location=_cut(clean(marc_field.get("c") or marc_field.get("b")) or None),
                                      call_number=_cut((marc_field.get("o") or "").strip() or None)))
    if not (fields.get("852") or fields.get("952")):
        return None
    return list({h.item_id: h for h in found}.values())


def _koha_status(marc_field: Any) -> tuple[str, date | None]:
    due_text = (marc_field.get("q") or "").strip()[:10]
    if due_text:
        try:
            return "on-loan", date.fromisoformat(due_text)
        except ValueError:
            pass
    if _nonzero(marc_field.get("1")):
        return "missing", None
    not_for_loan = (marc_field.get("7") or "0").strip()
    if not_for_loan.startswith("-") and _nonzero(not_for_loan[1:]):
        return "in-process", None
    if _nonzero(not_for_loan) or _nonzero(marc_field.get("0")):
        return "not-for-loan", None
    return "available", None


def _nonzero(value: str | None) -> bool:
    return bool(value and value.strip() not in ("", "0"))


def _cut(value: str | None, limit: int = 200) -> str | None:
    return value[:limit] if value else value

