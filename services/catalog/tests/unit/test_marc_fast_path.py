"""The fast UTF-8 decoder gives exactly what the careful pymarc path gives: the same records, the same rejections."""

from __future__ import annotations

import itertools
from dataclasses import asdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.marc_binary import decode, decode_carefully
from services.catalog.tests.unit.test_parser_fuzz import GOOD
from tests.support import testdata


def _same(chunk: bytes) -> None:
    fast, careful = decode(chunk, 1), decode_carefully(chunk, 1)
    if isinstance(careful, RejectedRecord):
        assert fast == careful
    else:
        assert isinstance(fast, ParsedRecord)
        assert asdict(fast) == asdict(careful)


def _records(data: bytes) -> list[bytes]:
    chunks, position = [], 0
    while position + 5 <= len(data) and data[position:position + 5].isdigit():
        length = int(data[position:position + 5])
        chunks.append(data[position:position + length])
        position += length
    return chunks


def test_real_records_decode_alike() -> None:
    with testdata.loc_books().open("rb") as stream:
        head = stream.read(3_000_000)
    for chunk in itertools.islice(_records(head), 2500):
        _same(chunk)


def test_pymarcs_odd_and_broken_samples_decode_alike() -> None:
    for name in ("bad_records.mrc", "utf8_invalid.mrc", "utf8_errors.dat", "bad_indicator.dat", "alphatag.dat",
                 "bad_subfield_code.dat", "utf8_with_leader_flag.dat", "utf8_without_leader_flag.dat", "marc8.dat",
                 "diacritic.dat", "regression45.dat", "test.dat"):
        for chunk in _records(testdata.pymarc_sample(name).read_bytes()):
            if len(chunk) >= 24:
                _same(chunk)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=4))
def test_damaged_records_decode_alike(changes: list[tuple[int, int]]) -> None:
    damaged = bytearray(GOOD)
    for index, value in changes:
        damaged[index] = value
    _same(bytes(damaged))
