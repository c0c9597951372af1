"""Normalizing identifiers and text keys with the messy values real catalogues carry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bibliomesh_catalog.domain.identifiers import (
    author_key,
    isbn10_to_13,
    isbn13_is_valid,
    normalize_isbn,
    normalize_issn,
    normalize_lccn,
    normalize_oclc,
    normalize_text,
    parse_isbn,
    title_key,
    year_of,
)


@pytest.mark.parametrize(("raw", "expected", "qualifier"), [
    ("0306406152", "9780306406157", None),
    ("0-306-40615-2 (pbk.)", "9780306406157", "pbk"),
    ("9780306406157 :", "9780306406157", None),
    ("978-0-306-40615-7 (alk. paper)", "9780306406157", "alk. paper"),
    ("ISBN 0 306 40615 2", "9780306406157", None),
    ("1566199093 (v. 2 : alk. paper)", "9781566199094", "v. 2 : alk. paper"),
    ("080442957x", "9780804429573", None),
    ("9787020002207", "9787020002207", None),
    ("0306406152 (set) ", "9780306406157", "set"),
])
def test_isbns_are_isbn13_with_the_qualifier_split_off(raw: str, expected: str, qualifier: str | None) -> None:
    parsed = parse_isbn(raw)
    assert parsed is not None
    assert parsed.isbn13 == expected
    assert parsed.qualifier == qualifier


@pytest.mark.parametrize("raw", ["0306406153", "978-0-306-40615-8 (ebook)", "9770306406157", "12345"])
def test_isbns_with_a_wrong_check_digit_or_prefix_are_not_used(raw: str) -> None:
    assert normalize_isbn(raw) is None


def test_an_invalid_isbn_is_kept_as_given() -> None:
    parsed = parse_isbn("0-306-40615-3 (pbk.)")
    assert parsed is not None and parsed.isbn13 is None and parsed.given == "0306406153"


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_converted_isbn10_is_a_valid_isbn13(core: str) -> None:
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(core)) % 11) % 11
    isbn10 = core + ("X" if check == 10 else str(check))
    assert isbn13_is_valid(isbn10_to_13(isbn10))
    assert normalize_isbn(isbn10) == isbn10_to_13(isbn10)


@pytest.mark.parametrize(("raw", "expected"), [
    ("0317-8471", "0317-8471"), ("0378 5955", "0378-5955"), ("ISSN 2049-3630", "2049-3630"),
    ("2434-561x", "2434-561X"), ("0378-5956", None), ("1234", None),
])
def test_issns_are_checked(raw: str, expected: str | None) -> None:
    assert normalize_issn(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("(OCoLC)ocm00012345", "12345"), ("(OCoLC)ocn123456789", "123456789"), ("(OCoLC)on1234567890", "1234567890"),
    ("(OCoLC)12345678 ", "12345678"), ("(ocolc) 0042", "42"), ("(DLC)   85153773", None), ("(OCoLC)abc", None),
])
def test_oclc_numbers_come_from_ocolc_prefixed_035s(raw: str, expected: str | None) -> None:
    assert normalize_oclc(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("   85153773 ", "85153773"), ("n 79021164 ", "n79021164"), ("89-456", "89000456"),
    ("2001-1114", "2001001114"), ("   85153773 //r86", "85153773"), ("sn 88012345 ", "sn88012345"),
    ("agr25000003", "agr25000003"), ("abc-de", None), ("85-1234567", None),
])
def test_lccns_follow_the_library_of_congress_rules(raw: str, expected: str | None) -> None:
    assert normalize_lccn(raw) == expected


def test_text_keys_ignore_case_diacritics_punctuation_and_leading_articles() -> None:
    assert title_key("The Adventures of Tom Sawyer /") == title_key("adventures of Tom Sawyer.")
    assert title_key("Ḥadīth al-ṣaḥīḥ") == "hadith al sahih"
    assert title_key("Der Prozess", nonfiling=4) == "prozess"
    assert title_key("A is for apple") == "is for apple"
    assert normalize_text("Müller & Söhne: Geschichte.") == "muller and sohne geschichte"


def test_chinese_text_is_kept_and_spacing_between_characters_does_not_matter() -> None:
    assert title_key("中国 历史 \uff1a 上册") == title_key("中国历史上册") == "中国历史上册"  # fullwidth colon
    assert normalize_text("\uff21\uff22\uff23\u3000全角") == "abc全角"  # fullwidth ABC, ideographic space


def test_author_keys_are_surname_and_initial() -> None:
    assert author_key("Smith, John, 1950-") == author_key("Smith, J.") == "smith j"
    assert author_key("毛泽东") == "毛泽东"
    assert author_key("United States. Congress.") == "united states congress"
    assert author_key(None) == ""


@pytest.mark.parametrize(("raw", "expected"), [("c1999.", 1999), ("[2003?]", 2003), ("19--", None), (None, None)])
def test_years_come_from_date_strings(raw: str | None, expected: int | None) -> None:
    assert year_of(raw) == expected
