"""MARC21 transmission records as bytes, for the benchmarks' files: read them one by one, and replace or add a
field, with the directory, base address and record length recomputed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO


def records_of(stream: BinaryIO) -> Iterator[bytes]:
    """The raw records of a MARC file, each as its leader's record length says."""
    while head := stream.read(5):
        yield head + stream.read(int(head) - 5)


def _fields(chunk: bytes) -> list[tuple[bytes, bytes]]:
    """(tag, data with its field terminator) of every field, in directory order."""
    base = int(chunk[12:17])
    directory = chunk[24:base - 1]
    fields = []
    for start in range(0, len(directory), 12):
        length, offset = int(directory[start + 3:start + 7]), int(directory[start + 7:start + 12])
        fields.append((directory[start:start + 3], chunk[base + offset:base + offset + length]))
    return fields


def _record(leader: bytes, fields: list[tuple[bytes, bytes]]) -> bytes:
    entries, offset = [], 0
    for tag, data in fields:
        entries.append(tag + b"%04d%05d" % (len(data), offset))
        offset += len(data)
    base = 24 + 12 * len(entries) + 1
    leader = b"%05d" % (base + offset + 1) + leader[5:12] + b"%05d" % base + leader[17:24]
    return leader + b"".join(entries) + b"\x1e" + b"".join(data for _, data in fields) + b"\x1d"


def local_id_of(chunk: bytes) -> bytes:
    """The 001 of a record (empty if it has none)."""
    return next((data[:-1] for tag, data in _fields(chunk) if tag == b"001"), b"")


def with_local_id(chunk: bytes, local_id: bytes) -> bytes:
    """The record with its 001 replaced."""
    return _record(chunk, [(tag, local_id + b"\x1e" if tag == b"001" else data) for tag, data in _fields(chunk)])


def with_item(chunk: bytes, item_id: bytes, location: bytes = b"Main stacks") -> bytes:
    """The record with an 852 item field appended (`$b` location, `$p` item id), as a library's export has."""
    item = b"  \x1fb" + location + b"\x1fp" + item_id + b"\x1e"
    return _record(chunk, [*_fields(chunk), (b"852", item)])
