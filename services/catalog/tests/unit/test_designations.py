"""Volumes, editions, pages and match keys derived from a description."""

from __future__ import annotations

import pytest

from bibliomesh_catalog.domain.records import (
    RecordDescription,
    aggregate_id,
    edition_number,
    is_multivolume_extent,
    match_keys,
    pages_of,
    volume_of,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("v. 2", "2"), ("Vol. II", "2"), ("Bd. 3", "3"), ("pt. 1", "1"), ("t. IV", "4"), ("第二卷", "2"),
    ("第12册", "12"), ("上册", "upper"), ("alk. paper", None), ("pbk", None),
])
def test_volume_designations(raw: str, expected: str | None) -> None:
    assert volume_of(raw) == expected


def test_a_bare_part_number_counts_only_where_it_must_be_a_part() -> None:
    assert volume_of("2", bare=True) == "2"
    assert volume_of("Part A", bare=True) == "part a"
    assert volume_of("2") is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("2nd ed.", "2"), ("Second edition.", "2"), ("3. Aufl.", "3"), ("第2版", "2"), ("Rev. ed.", "rev"),
    ("1st American ed.", "1"), ("Large print ed.", None), (None, None),
])
def test_edition_numbers(raw: str | None, expected: str | None) -> None:
    assert edition_number(raw) == expected


def test_pages_and_sets() -> None:
    assert pages_of("xii, 320 p. :") == 320
    assert pages_of("2 v. (xii, 900 p.)") == 900
    assert pages_of("1 online resource") is None
    assert is_multivolume_extent("3 v. ;") and not is_multivolume_extent("300 p.")


def test_match_keys_cover_identifiers_and_the_title_key() -> None:
    description = RecordDescription(title="The pragmatic programmer : from journeyman to master", nonfiling=4,
                                    title_proper="The pragmatic programmer", authors=["Hunt, Andrew."], year=1999,
                                    isbns=["9780201616224"], oclc_numbers=["42061052"], lccns=["99043581"])
    assert match_keys(description) == [("oclc", "42061052"), ("lccn", "99043581"), ("isbn", "9780201616224"),
                                       ("title", "pragmatic programmer|hunt a|1999")]
    assert all(kind != "title" for kind, _ in match_keys(RecordDescription(title="No year")))


def test_aggregate_ids_stay_within_the_outbox_column() -> None:
    assert aggregate_id("holding", "LIB", "b1") == "holding:LIB/b1"
    assert len(aggregate_id("holding", "LIB", "x" * 300)) <= 200
