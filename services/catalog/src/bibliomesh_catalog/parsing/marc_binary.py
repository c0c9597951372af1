"""MARC21 transmission format (ISO 2709), one record at a time from a binary stream.

Records are framed by the length in their leader and checked before pymarc decodes them: the record must end
with the record terminator where its length says, its base address and directory must be well formed, and every
directory entry must point at a field ending in a field terminator. pymarc then decodes with `to_unicode=True`,
leader/09 deciding between UTF-8 (`a`) and MARC-8 (blank); well-formed UTF-8 records take a faster decoder giving
the same fields (`marc_record.fast_fields`). A record failing any check is rejected with the reason,
and reading resumes at the next plausible record start (a leader with `4500` at 20-23) or after the next record
terminator, so one broken record costs only itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from pymarc import Record
from pymarc.exceptions import PymarcException

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.marc_fields import record_from_fields, record_from_marc
from bibliomesh_catalog.parsing.marc_record import BAD_CODE, DIRECTORY, fast_fields

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
BLOCK = 1 << 16
MAX_RECORD = 99_999
# A plausible MARC21 leader: length, status, type, level, control, coding, "22", base address, ..., "4500".
_LEADER = re.compile(rb"[0-9]{5}[a-z][a-z][a-z ][ a][ a]22[0-9]{5}[ -~]{3}4500")
_SKIP = b"\r\n\x00\x1a\x1d\x1e "
# pymarc logs a warning for every field with odd indicators; the record is still usable, the noise is not.
logging.getLogger("pymarc").setLevel(logging.ERROR)


class InvalidMarc8(ValueError):
    """A MARC-8 record holds bytes that are not MARC-8."""


class _StrictMarc8:
    """Passed to pymarc as its `hide_utf8_warnings` flag: pymarc asks it whether to stay quiet about a byte it
    cannot map, and instead of printing and substituting a blank, the record is rejected."""

    def __bool__(self) -> bool:
        raise InvalidMarc8("a byte that is not valid MARC-8")


_STRICT_MARC8: Any = _StrictMarc8()


class _Buffer:
    """A window on the stream: enough bytes for one record, never the whole file."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = bytearray()
        self.pos = 0
        self.offset = 0  # stream offset of data[0]
        self.eof = False

    def fill(self, needed: int) -> int:
        """Read until `needed` bytes are available from `pos` (or the stream ends); return what is available."""
        while len(self.data) - self.pos < needed and not self.eof:
            chunk = self.stream.read(BLOCK)
            if not chunk:
                self.eof = True
                break
            if self.pos > BLOCK:
                del self.data[:self.pos]
                self.offset += self.pos
                self.pos = 0
            self.data += chunk
        return len(self.data) - self.pos

    def skip_separators(self) -> None:
        if self.pos < len(self.data) and self.data[self.pos] not in _SKIP:
            return
        while self.fill(1):
            if self.data[self.pos] not in _SKIP:
                return
            self.pos += 1

    def resync(self) -> None:
        """Move to the next plausible record start after the current position."""
        start = self.pos + 1
        while True:
            terminator = self.data.find(RECORD_TERMINATOR, start)
            end = terminator + 1 if terminator >= 0 else len(self.data)
            for leader in _LEADER.finditer(self.data, start, min(end + 24, len(self.data))):
                if leader.start() >= end:
                    break
                last = leader.start() + int(leader.group()[:5]) - 1
                if last >= len(self.data) or self.data[last] == RECORD_TERMINATOR:
                    self.pos = leader.start()
                    return
            if terminator >= 0:
                self.pos = end
                return
            if self.eof:
                self.pos = len(self.data)
                return
            start_offset = start - self.pos
            self.fill(len(self.data) - self.pos + BLOCK)
            start = self.pos + start_offset


def read_marc(stream: BinaryIO) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield each record of a MARC21 stream, parsed or rejected with its reason."""
    buffer = _Buffer(stream)
    position = 0
    while True:
        buffer.skip_separators()
        available = buffer.fill(5)
        if not available:
            return
        position += 1
        head = bytes(buffer.data[buffer.pos:buffer.pos + 5])
        if not head.isdigit():
            yield RejectedRecord(position, "bad leader: the record length is not five digits")
            buffer.resync()
            continue
        length = int(head)
        available = buffer.fill(length)
        end = buffer.pos + length
        if length < 26 or available < length or buffer.data[end - 1] != RECORD_TERMINATOR:
            truncated = available < length and buffer.eof
            yield RejectedRecord(position, "truncated record: the stream ends inside it" if truncated else
                                 "bad leader: the record length does not end at a record terminator")
            buffer.resync()
            continue
        chunk = bytes(buffer.data[buffer.pos:end])
        buffer.pos = end
        yield decode(chunk, position)


def decode(chunk: bytes, position: int) -> ParsedRecord | RejectedRecord:
    """Check one framed record's structure, decode it and extract it: well-formed UTF-8 records through
    `fast_fields`, everything else through `decode_carefully`, with the same results."""
    fields = fast_fields(chunk) if chunk[9] == 0x61 else None  # leader/09 `a`: UTF-8
    if fields is None:
        return decode_carefully(chunk, position)
    try:
        return record_from_fields(fields, chunk[:24].decode("ascii"), position)
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        return RejectedRecord(position, f"unusable record: {type(exc).__name__} {exc}"[:300])


def decode_carefully(chunk: bytes, position: int) -> ParsedRecord | RejectedRecord:
    """Check one framed record's structure, decode it with pymarc (MARC-8 or UTF-8) and extract it."""
    problem = structure_problem(chunk)
    if problem:
        return RejectedRecord(position, problem)
    try:
        # Non-ASCII subfield codes, pymarc's only warning, were rejected above.
        record = Record(chunk, to_unicode=True, utf8_handling="strict", hide_utf8_warnings=_STRICT_MARC8)
    except InvalidMarc8:
        return RejectedRecord(position, "invalid encoding: bytes that are not MARC-8 in a MARC-8 record")
    except UnicodeDecodeError as exc:
        return RejectedRecord(position, f"invalid encoding: not valid UTF-8 although leader/09 says so ({exc.reason})")
    except (PymarcException, ValueError, IndexError, KeyError, TypeError) as exc:
        return RejectedRecord(position, f"undecodable record: {type(exc).__name__} {exc}".strip()[:300])
    try:
        return record_from_marc(record, position)
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        return RejectedRecord(position, f"unusable record: {type(exc).__name__} {exc}"[:300])


def structure_problem(chunk: bytes) -> str | None:
    """Why a framed record is malformed (leader, base address, directory), or None."""
    leader = chunk[:24]
    if not leader.isascii():
        return "bad leader: non-ASCII bytes in the leader"
    if leader[9:10] not in (b" ", b"a"):
        return f"bad leader: unknown character coding scheme {leader[9:10]!r} at leader/09"
    base_text = leader[12:17]
    if not base_text.isdigit():
        return "bad leader: base address of data is not numeric"
    base = int(base_text)
    if base < 25 or base >= len(chunk) or chunk[base - 1] != FIELD_TERMINATOR:
        return "bad leader: base address does not follow the directory"
    directory = chunk[24:base - 1]
    if len(directory) % 12 or not DIRECTORY.fullmatch(directory):
        return "bad directory: entries are not 12 characters of tag, length and offset"
    if not directory:
        return "bad directory: the record has no fields"
    if BAD_CODE.search(chunk, base):
        return "invalid encoding: a subfield code that is not ASCII"
    data_length = len(chunk) - 1 - base
    for start in range(0, len(directory), 12):
        length = int(directory[start + 3:start + 7])
        offset = int(directory[start + 7:start + 12])
        last = offset + length - 1
        if length < 1 or last >= data_length or chunk[base + last] != FIELD_TERMINATOR:
            tag = directory[start:start + 3].decode("ascii")
            return f"bad directory: the length or offset of field {tag} does not match its data"
    return None
