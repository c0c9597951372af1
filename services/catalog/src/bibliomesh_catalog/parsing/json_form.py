"""The documented JSON form of a record (`application/json`), read one record at a time from a stream.

A body is one record object, a JSON array of them, or newline-delimited records (`application/x-ndjson`). Records
are decoded one after the other from a bounded buffer, never the whole body at once. A record that fails
validation is rejected with the offending fields and the next one is read; text that is not JSON at all, or JSON
nested deeper than the decoder can follow, ends the stream with one rejection.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import date
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bibliomesh_catalog.domain.identifiers import normalize_issn, normalize_lccn, normalize_oclc, parse_isbn
from bibliomesh_catalog.domain.records import (
    HoldingInput,
    ParsedRecord,
    RecordDescription,
    RejectedRecord,
    canonical_json,
    digest_of,
    edition_number,
    is_multivolume_extent,
    pages_of,
    series_number_of,
    volume_of,
)

HoldingStatusName = Literal["available", "on-loan", "missing", "not-for-loan", "in-process"]
MAX_RECORD_CHARS = 1_000_000
_CHUNK = 1 << 16


class HoldingJson(BaseModel):
    """One item held by the contributing institution."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=200, description="The institution's item id (e.g. barcode).")
    status: HoldingStatusName = Field(default="available", description="Circulation status of the item.")
    due_date: date | None = Field(default=None, description="Due date; required when the status is `on-loan`.")
    location: str | None = Field(default=None, max_length=200, description="Holding branch or shelving location.")
    call_number: str | None = Field(default=None, max_length=200, description="Shelf mark.")
    format: Literal["print", "electronic"] | None = Field(
        default=None, description="Defaults to the record's format.")
    ill_copy_allowed: bool | None = Field(
        default=None, description="Whether the licence (electronic) or policy allows interlibrary copies; "
        "defaults to true for print and false for electronic items.")

    @model_validator(mode="after")
    def _due_date_with_loan(self) -> HoldingJson:
        if self.status == "on-loan" and self.due_date is None:
            raise ValueError("an on-loan item needs a due_date")
        if self.status != "on-loan" and self.due_date is not None:
            raise ValueError("only an on-loan item has a due_date")
        return self

    def to_input(self) -> HoldingInput:
        return HoldingInput(item_id=self.item_id.strip(), status=self.status, location=self.location,
                            call_number=self.call_number, due_date=self.due_date, format=self.format,
                            ill_copy_allowed=self.ill_copy_allowed)


class HoldingAlongside(HoldingJson):
    """An item sent next to MARC records that carry no item fields: `local_id` names its record."""

    local_id: str = Field(min_length=1, max_length=200, description="Local id (001) of the record it belongs to.")


class IdentifiersJson(BaseModel):
    """Identifiers as the library has them; they are normalized (invalid ISBNs are kept but not matched on)."""

    model_config = ConfigDict(extra="forbid")

    isbn: list[str] = Field(default_factory=list, description="ISBN-10 or -13, qualifiers such as `(pbk.)` allowed.")
    issn: list[str] = Field(default_factory=list)
    oclc: list[str] = Field(default_factory=list, description="OCLC numbers, with or without `(OCoLC)`/ocm/ocn.")
    lccn: list[str] = Field(default_factory=list, description="Library of Congress control numbers.")


class RecordJson(BaseModel):
    """A bibliographic record in the JSON form."""

    model_config = ConfigDict(extra="forbid")

    local_id: str = Field(min_length=1, max_length=200, description="The institution's own record id.")
    title: str = Field(min_length=1, max_length=2000, description="Title proper.")
    subtitle: str | None = Field(default=None, max_length=2000)
    part: str | None = Field(default=None, max_length=200, description="Volume or part, e.g. `Vol. 2`, `第二卷`.")
    alt_titles: list[str] = Field(default_factory=list, description="Titles in other scripts (e.g. Chinese).")
    authors: list[str] = Field(default_factory=list, description="Names, main author first (`Surname, Forename`).")
    year: int | None = Field(default=None, ge=1000, le=2099)
    publisher: str | None = None
    place: str | None = None
    language: str | None = Field(default=None, max_length=8, description="MARC language code, e.g. `eng`, `chi`.")
    edition: str | None = None
    extent: str | None = Field(default=None, description="Physical description, e.g. `xii, 320 p.` or `3 v.`.")
    series: str | None = None
    series_number: str | None = None
    format: Literal["print", "electronic"] = "print"
    identifiers: IdentifiersJson = Field(default_factory=IdentifiersJson)
    subjects: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    holdings: list[HoldingJson] | None = Field(
        default=None, description="The institution's items; omitted means existing holdings are kept.")

    @field_validator("title", "local_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


def to_parsed(model: RecordJson, position: int) -> ParsedRecord:
    """The catalogue's view of a JSON-form record."""
    ids = model.identifiers
    parsed_isbns = [p for p in map(parse_isbn, ids.isbn) if p]
    qualifiers = [p.qualifier for p in parsed_isbns if p.qualifier]
    volumes = {v for v in (volume_of(q) for q in qualifiers) if v}
    volume = volume_of(model.part, bare=True) or (next(iter(volumes)) if len(volumes) == 1 else None)
    title = model.title + (f" : {model.subtitle}" if model.subtitle else "") + (f". {model.part}" if model.part else "")
    description = RecordDescription(
        title=title, title_proper=" ".join(filter(None, [model.title, model.part])), alt_titles=model.alt_titles,
        format=model.format, authors=model.authors, year=model.year, publisher=model.publisher, place=model.place,
        language=model.language, edition=model.edition, extent=model.extent, series=model.series,
        subjects=model.subjects, notes=model.notes, urls=model.urls,
        isbns=list(dict.fromkeys(p.isbn13 for p in parsed_isbns if p.isbn13)),
        invalid_isbns=[p.given for p in parsed_isbns if not p.isbn13],
        issns=list(dict.fromkeys(v for v in map(normalize_issn, ids.issn) if v)),
        oclc_numbers=list(dict.fromkeys(v for v in map(_oclc, ids.oclc) if v)),
        lccns=list(dict.fromkeys(v for v in map(normalize_lccn, ids.lccn) if v)),
        volume=volume, is_set=is_multivolume_extent(model.extent) or len(volumes) > 1,
        edition_number=edition_number(model.edition), pages=pages_of(model.extent),
        series_number=series_number_of(model.series_number),
    )
    source = canonical_json(model.model_dump(mode="json", exclude={"holdings"}))
    holdings = None if model.holdings is None else [h.to_input() for h in model.holdings]
    return ParsedRecord(local_id=model.local_id, description=description, marc_json=None, holdings=holdings,
                        source_digest=digest_of(source), position=position)


def _oclc(value: str) -> str | None:
    text = value.strip()
    return normalize_oclc(text if text.startswith("(") else f"(OCoLC){text}")


def read_json(stream: BinaryIO) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield each record of a JSON or NDJSON stream, parsed or rejected."""
    for position, item in enumerate(_values(stream), start=1):
        if isinstance(item, _Broken):
            yield RejectedRecord(position, item.reason)
            return
        local_id = item.get("local_id") if isinstance(item, dict) else None
        try:
            yield to_parsed(RecordJson.model_validate(item), position)
        except ValidationError as exc:
            yield RejectedRecord(position, validation_reason(exc), str(local_id)[:200] if local_id else None)


def validation_reason(exc: ValidationError) -> str:
    """`field: message; ...` for a rejected record."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:5]]
    return ("invalid record: " + "; ".join(parts))[:500]


class _Broken:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _values(stream: BinaryIO) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    buffer, index, in_array, started = "", 0, False, False
    eof: bool | _Broken = False
    while True:
        while True:
            while index < len(buffer) and (buffer[index].isspace() or (in_array and buffer[index] == ",")):
                index += 1
            if index < len(buffer) or eof:
                break
            buffer, index, eof = _more(stream, text_decoder, buffer, index)
            if isinstance(eof, _Broken):
                yield eof
                return
        if index >= len(buffer):
            return
        if not started:
            started = True
            if buffer[index] == "[":
                in_array, index = True, index + 1
                continue
        if in_array and buffer[index] == "]":
            return
        try:
            value, index = decoder.raw_decode(buffer, index)
        except json.JSONDecodeError as exc:
            if eof or len(buffer) - index > MAX_RECORD_CHARS:
                yield _Broken(f"malformed JSON, reading stopped: {exc.msg} (char {exc.pos})")
                return
            buffer, index, eof = _more(stream, text_decoder, buffer, index)
            if isinstance(eof, _Broken):
                yield eof
                return
            continue
        except RecursionError:
            # The decoder recurses once per level; past the interpreter's limit no record of ours could be valid.
            yield _Broken(f"malformed JSON, reading stopped: nested too deeply (char {index})")
            return
        yield value


def _more(stream: BinaryIO, decoder: codecs.IncrementalDecoder, buffer: str,
          index: int) -> tuple[str, int, bool | _Broken]:
    chunk = stream.read(_CHUNK)
    try:
        text = decoder.decode(chunk, final=not chunk)
    except UnicodeDecodeError as exc:
        return buffer, index, _Broken(f"invalid encoding: the JSON is not UTF-8 ({exc.reason})")
    return buffer[index:] + text, 0, not chunk
