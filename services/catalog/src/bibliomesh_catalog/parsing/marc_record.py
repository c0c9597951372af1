"""A light MARC field and a fast decoder for well-formed UTF-8 records.

pymarc builds a `Field`, an `Indicators` and a `Subfield` object for every field and subfield, which costs more
than everything the catalogue then does with them. `fast_fields` decodes the common case (leader/09 `a`, two
ASCII indicators per data field, valid UTF-8) straight into `MarcField`s with the same tags, indicators, subfield
codes and values pymarc would give, and returns None for anything else, which then goes through pymarc exactly
as before (MARC-8, odd indicators, bad bytes: the same results and the same rejections).
"""

from __future__ import annotations

import re

DIRECTORY = re.compile(rb"(?:[0-9A-Za-z]{3}[0-9]{9})*")
BAD_CODE = re.compile(rb"\x1f[\x80-\xff]")  # a subfield code that is not ASCII


class MarcField:
    """What the extraction reads of a field; pymarc's `Field` offers the same attributes (subfields are
    (code, value) pairs in both: pymarc's `Subfield` is a named tuple)."""

    __slots__ = ("control_field", "data", "indicator1", "indicator2", "subfields", "tag")

    def __init__(self, tag: str, indicator1: str, indicator2: str, subfields: list[tuple[str, str]],
                 data: str | None = None) -> None:
        self.tag = tag
        self.indicator1 = indicator1
        self.indicator2 = indicator2
        self.subfields = subfields
        self.data = data
        self.control_field = data is not None

    def get(self, code: str, default: str | None = None) -> str | None:
        """The first subfield `code`, like pymarc's `Field.get`."""
        for subfield_code, value in self.subfields:
            if subfield_code == code:
                return value
        return default

    def get_subfields(self, *codes: str) -> list[str]:
        """Every subfield with one of these codes, in order."""
        return [value for code, value in self.subfields if code in codes]


def fast_fields(chunk: bytes) -> list[MarcField] | None:
    """The fields of a framed UTF-8 record (leader/09 `a`), or None when it needs the careful path: any structural
    problem (`marc_binary.structure_problem` then says which), an encoding error, indicators that are not exactly
    two ASCII characters. The structure is checked here in the same pass that decodes."""
    leader = chunk[:24]
    base_text = leader[12:17]
    if not leader.isascii() or not base_text.isdigit() or not leader[:5].isdigit() or int(leader[:5]) > len(chunk):
        return None
    base = int(base_text)
    if base < 25 or base >= len(chunk) or chunk[base - 1] != 0x1E:
        return None
    directory = chunk[24:base - 1]
    if not directory or len(directory) % 12 or not DIRECTORY.fullmatch(directory) or BAD_CODE.search(chunk, base):
        return None
    end = len(chunk) - 1
    text_directory = directory.decode("ascii")
    fields: list[MarcField] = []
    append = fields.append
    try:
        for start in range(0, len(text_directory), 12):
            length = int(text_directory[start + 3:start + 7])
            offset = base + int(text_directory[start + 7:start + 12])
            last = offset + length - 1
            if length < 1 or last >= end or chunk[last] != 0x1E:
                return None
            tag = text_directory[start:start + 3]
            text = chunk[offset:last].decode("utf-8")
            if tag < "010" and tag.isdigit():
                append(MarcField(tag, "", "", [], text))
                continue
            parts = text.split("\x1f")
            head = parts[0]
            if len(head) != 2 or not head.isascii():
                return None
            append(MarcField(tag, head[0], head[1], [(part[0], part[1:]) for part in parts[1:] if part]))
    except UnicodeDecodeError:
        return None
    return fields
