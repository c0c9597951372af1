"""MARC21 transmission format: real files, every broken pymarc sample, and records built to break."""

from __future__ import annotations

import io
from pathlib import Path

import pymarc
import pytest

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing import parse_stream
from bibliomesh_catalog.parsing.marc_binary import read_marc
from tests.support import testdata


def parse(data: bytes) -> list[ParsedRecord | RejectedRecord]:
    return list(read_marc(io.BytesIO(data)))


def sample(name: str) -> list[ParsedRecord | RejectedRecord]:
    with testdata.pymarc_sample(name).open("rb") as stream:
        return list(read_marc(stream))


def marc(local_id: str = "rec1", title: str = "A title", leader9: str = "a", **subfields: str) -> bytes:
    record = pymarc.Record(force_utf8=leader9 == "a")
    record.leader = pymarc.Leader(f"00000nam {leader9}2200000 a 4500")
    record.add_field(pymarc.Field(tag="001", data=local_id))
    record.add_field(pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                  subfields=[pymarc.Subfield("a", title)]))
    for tag, value in subfields.items():
        record.add_field(pymarc.Field(tag=tag.lstrip("f"), indicators=pymarc.Indicators(" ", " "),
                                      subfields=[pymarc.Subfield("a", value)]))
    return record.as_marc21()


def test_library_of_congress_records_parse_one_by_one() -> None:
    with testdata.loc_books().open("rb") as stream:
        records = []
        for record in read_marc(stream):
            records.append(record)
            if len(records) == 2000:
                break
    parsed = [r for r in records if isinstance(r, ParsedRecord)]
    assert len(parsed) == 2000
    first = parsed[0]
    assert first.local_id and first.description.title and first.marc_json and first.marc_json.startswith('{"leader"')
    assert sum(1 for r in parsed if r.description.lccns) > 1900
    assert sum(1 for r in parsed if r.description.isbns) > 100


# Every deliberately broken pymarc sample, and what it must come out as.
BROKEN = {
    "bad_records.mrc": "no local id",  # the first is a good record without 001; the rest have bad leaders
    "bad_indicator.dat": "bad directory",
    "bad_subfield_code.dat": "invalid encoding",
    "utf8_invalid.mrc": "invalid encoding",
    "bad_eacc_encoding.dat": "invalid encoding",
    "1251.dat": "invalid encoding",  # Windows-1251 bytes in a record whose leader promises MARC-8
    "utf8_without_leader_flag.dat": "invalid encoding",  # UTF-8 bytes, leader/09 blank (MARC-8)
    "testunimarc.dat": "no title",  # UNIMARC has its title in 200, not 245
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_every_broken_sample_is_rejected_with_a_reason_and_nothing_escapes(name: str) -> None:
    results = sample(name)
    rejected = [r for r in results if isinstance(r, RejectedRecord)]
    assert rejected, name
    assert all(r.reason for r in rejected)
    assert rejected[0].reason.startswith(BROKEN[name])


def test_bad_records_mrc_rejects_each_record_for_its_own_fault() -> None:
    reasons = [r.reason for r in sample("bad_records.mrc") if isinstance(r, RejectedRecord)]
    assert len(reasons) == 9
    assert any(r.startswith("bad leader: base address") for r in reasons)
    assert any(r.startswith("bad directory") for r in reasons)


@pytest.mark.parametrize("name", ["marc8.dat", "marc8-to-unicode.dat", "diacritic.dat", "test.dat", "marc.dat",
                                  "utf8_with_leader_flag.dat", "regression45.dat", "bad_marc8_escape.dat",
                                  "utf8_errors.dat", "one.dat", "multi_isbn.dat", "alphatag.dat"])
def test_good_samples_parse(name: str) -> None:
    results = sample(name)
    assert results and all(isinstance(r, ParsedRecord) for r in results), [getattr(r, "reason", None)
                                                                          for r in results]


def test_marc8_is_decoded_to_unicode_as_leader_09_says() -> None:
    records = [r for r in sample("marc8-to-unicode.dat") if isinstance(r, ParsedRecord)]
    assert records and all(r.marc_json and "\x1b" not in r.marc_json for r in records)
    text = " ".join(r.marc_json or "" for r in sample("marc8.dat") if isinstance(r, ParsedRecord))
    assert any(ord(c) > 127 for c in text)


def test_a_truncated_record_is_rejected_and_the_next_one_still_parses() -> None:
    good = marc("r2", "Second")
    results = parse(marc("r1", "First")[:-40] + good)
    assert isinstance(results[0], RejectedRecord)
    assert [r.local_id for r in results if isinstance(r, ParsedRecord)] == ["r2"]


def test_a_truncated_last_record_is_reported_as_truncated() -> None:
    results = parse(marc("r1", "First") + marc("r2", "Second")[:-10])
    assert isinstance(results[-1], RejectedRecord) and results[-1].reason.startswith("truncated")


def test_wrong_directory_lengths_and_garbage_between_records() -> None:
    broken = bytearray(marc("r1", "First"))
    entry = broken.index(b"245")
    broken[entry + 3:entry + 7] = b"0099"  # the 245 field claims more bytes than it has
    results = parse(marc("r0", "Zero") + b"\r\n" + bytes(broken) + b"garbage!!" + marc("r2", "Second"))
    assert [r.local_id for r in results if isinstance(r, ParsedRecord)] == ["r0", "r2"]
    reasons = [r.reason for r in results if isinstance(r, RejectedRecord)]
    assert reasons and reasons[0].startswith("bad directory")


def test_invalid_utf8_and_missing_title_are_rejected() -> None:
    bad = marc("r1", "Caf\u00e9").replace("Café".encode(), b"Caf\xe9\xe9")  # same length, not UTF-8
    results = parse(bad + marc("r2", ""))
    assert isinstance(results[0], RejectedRecord) and results[0].reason.startswith("invalid encoding")
    assert isinstance(results[1], RejectedRecord) and results[1].reason.startswith("no title")


def test_items_in_952_fields_become_holdings() -> None:
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="k1"))
    record.add_field(pymarc.Field(tag="245", indicators=pymarc.Indicators("0", "0"),
                                  subfields=[pymarc.Subfield("a", "Koha book")]))
    for subfields in ([("p", "B1"), ("c", "STACKS"), ("o", "QA76 .K6")], [("p", "B2"), ("q", "2031-05-01")],
                      [("p", "B3"), ("1", "1")], [("p", "B4"), ("7", "-1")], [("9", "77"), ("7", "2")]):
        record.add_field(pymarc.Field(tag="952", indicators=pymarc.Indicators(" ", " "),
                                      subfields=[pymarc.Subfield(c, v) for c, v in subfields]))
    (parsed,) = parse(record.as_marc21())
    assert isinstance(parsed, ParsedRecord) and parsed.holdings is not None
    states = {h.item_id: (h.status, str(h.due_date) if h.due_date else None) for h in parsed.holdings}
    assert states == {"B1": ("available", None), "B2": ("on-loan", "2031-05-01"), "B3": ("missing", None),
                      "B4": ("in-process", None), "77": ("not-for-loan", None)}
    assert parsed.holdings[0].location == "STACKS" and parsed.holdings[0].call_number == "QA76 .K6"


def test_records_without_item_fields_say_nothing_about_holdings() -> None:
    (parsed,) = parse(marc("r1", "Plain"))
    assert isinstance(parsed, ParsedRecord) and parsed.holdings is None


def test_parse_stream_dispatches_on_the_media_type(tmp_path: Path) -> None:
    assert [r.local_id for r in parse_stream("application/marc; charset=utf-8", io.BytesIO(marc("x", "T")))] == ["x"]
    with pytest.raises(LookupError):
        parse_stream("text/plain", io.BytesIO(b""))
