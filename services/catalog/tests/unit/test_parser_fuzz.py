"""Fuzzing the MARC and MARCXML parsers: whatever the bytes, each yields records or rejections, never raises."""

from __future__ import annotations

import io

import pymarc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.json_form import read_json
from bibliomesh_catalog.parsing.marc_binary import read_marc
from bibliomesh_catalog.parsing.marcxml import read_marcxml


def _good_record() -> bytes:
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="fuzz1"))
    record.add_field(pymarc.Field(tag="020", indicators=pymarc.Indicators(" ", " "),
                                  subfields=[pymarc.Subfield("a", "0306406152 (pbk.)")]))
    record.add_field(pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "4"),
                                  subfields=[pymarc.Subfield("a", "The fuzzed book :"),
                                             pymarc.Subfield("b", "über alles /")]))
    record.add_field(pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "),
                                  subfields=[pymarc.Subfield("p", "B1"), pymarc.Subfield("q", "2030-01-01")]))
    return record.as_marc21()


GOOD = _good_record()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(results: list[object]) -> None:
    assert all(isinstance(r, ParsedRecord | RejectedRecord) for r in results)


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash_the_marc_parser(data: bytes) -> None:
    _check(list(read_marc(io.BytesIO(data))))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=12),
       st.integers(0, len(GOOD)))
def test_mutated_records_never_crash_the_marc_parser(mutations: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(GOOD)
    for position, value in mutations:
        data[position] = value
    _check(list(read_marc(io.BytesIO(bytes(data[:cut]) + GOOD))))


@FUZZ
@given(st.text(max_size=500))
def test_random_text_never_crashes_the_marcxml_parser(text: str) -> None:
    body = f'<collection xmlns="http://www.loc.gov/MARC21/slim"><record>{text}</record></collection>'
    _check(list(read_marcxml(io.BytesIO(body.encode("utf-8", "surrogatepass")))))


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_marcxml_parser(data: bytes) -> None:
    _check(list(read_marcxml(io.BytesIO(data))))


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                               max_size=4), max_leaves=20))
def test_random_json_never_crashes_the_json_reader(value: object) -> None:
    import json

    _check(list(read_json(io.BytesIO(json.dumps(value).encode()))))
