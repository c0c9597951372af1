"""Record parsers: each reads a binary stream and yields one `ParsedRecord` or `RejectedRecord` at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.json_form import read_json
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.parsing.marcxml import read_marcxml

Parser = Callable[[BinaryIO], Iterator[ParsedRecord | RejectedRecord]]

PARSERS: dict[str, Parser] = {
    "application/marc": read_marc,
    "application/marc21": read_marc,
    "application/marcxml+xml": read_marcxml,
    "application/xml": read_marcxml,
    "text/xml": read_marcxml,
    "application/json": read_json,
    "application/x-ndjson": read_json,
}
"""Media type -> parser. `application/marc` is MARC21 transmission format (UTF-8 or MARC-8)."""


def parser_for(media_type: str) -> Parser | None:
    """The parser of a Content-Type value (parameters ignored), or None if the type is not supported."""
    return PARSERS.get(media_type.split(";", 1)[0].strip().lower())


def parse_stream(media_type: str, stream: BinaryIO) -> Iterator[ParsedRecord | RejectedRecord]:
    """Parse `stream` as `media_type`; raises LookupError for an unsupported type."""
    parser = parser_for(media_type)
    if parser is None:
        raise LookupError(f"unsupported media type {media_type!r}")
    return parser(stream)
