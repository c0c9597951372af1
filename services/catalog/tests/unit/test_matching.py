"""The matching rules on the cases that trip union catalogues up."""

from __future__ import annotations

import random
from typing import Any

from bibliomesh_catalog.domain.matching import MatchProfile, build_clusters, compare, profile_of
from bibliomesh_catalog.domain.records import RecordDescription


def book(node: int = 1, **fields: Any) -> MatchProfile:
    values: dict[str, Any] = {"title": "The pragmatic programmer : from journeyman to master", "nonfiling": 4,
                              "title_proper": "The pragmatic programmer", "authors": ["Hunt, Andrew"], "year": 1999,
                              "isbns": ["9780201616224"], "pages": 321}
    values.update(fields)
    return profile_of(node, RecordDescription(**values))


def test_the_same_edition_catalogued_differently_merges_on_its_isbn() -> None:
    other = book(2, title="Pragmatic programmer, from journeyman to master.", nonfiling=0,
                 title_proper="Pragmatic programmer", authors=["Hunt, A."], pages=320)
    decision = compare(book(), other)
    assert decision.merge and decision.key == "isbn:9780201616224"


def test_a_reused_isbn_on_another_book_does_not_merge() -> None:
    other = book(2, title="Cooking with herbs", title_proper="Cooking with herbs", nonfiling=0,
                 authors=["Jones, Mary"])
    decision = compare(book(), other)
    assert not decision.merge and decision.reason == "titles differ"


def test_volumes_of_a_set_never_merge_and_neither_do_a_volume_and_the_set() -> None:
    one = book(1, title="History of China. Vol. 1", volume="1", isbns=["9787020002207"])
    two = book(2, title="History of China. Vol. 2", volume="2", isbns=["9787020002207"])
    whole = book(3, title="History of China", is_set=True, isbns=["9787020002207"], pages=None)
    assert compare(one, two).reason == "different volumes"
    assert compare(one, whole).reason == "a single volume and the whole set"


def test_reprints_years_apart_stay_apart_but_a_year_of_cataloguing_difference_does_not_matter() -> None:
    assert compare(book(1, year=1990), book(2, year=2005)).reason == "publication years differ"
    assert compare(book(1, year=1999), book(2, year=2000)).merge


def test_different_editions_reusing_an_isbn_stay_apart() -> None:
    second = book(1, edition_number="2")
    third = book(2, edition_number="3")
    assert compare(second, third).reason == "different editions"


def test_print_and_electronic_are_separate_clusters_of_the_same_work() -> None:
    decision = compare(book(1), book(2, format="electronic"))
    assert not decision.merge and decision.same_work


def test_a_chinese_title_and_its_pinyin_merge_when_the_isbn_agrees() -> None:
    chinese = book(1, title="红楼梦", title_proper="红楼梦", nonfiling=0, authors=["曹雪芹"], isbns=["9787020002207"],
                   pages=None)
    pinyin = book(2, title="Hong lou meng", title_proper="Hong lou meng", nonfiling=0, authors=["Cao, Xueqin"],
                  isbns=["9787020002207"], alt_titles=["红楼梦"], pages=None)
    bare_pinyin = book(3, title="Hong lou meng", title_proper="Hong lou meng", nonfiling=0,
                       authors=["Cao, Xueqin"], isbns=["9787020002207"], pages=None)
    assert compare(chinese, pinyin).merge
    assert compare(chinese, bare_pinyin).merge  # not comparable: no veto when an identifier agrees
    assert not compare(chinese, book(4, title="Hong lou meng", title_proper="Hong lou meng", nonfiling=0,
                                     isbns=[], pages=None)).merge  # without an identifier there is no shared key


def test_records_without_identifiers_match_on_title_author_and_year() -> None:
    a = book(1, isbns=[], title="Annual report of the Board", title_proper="Annual report of the Board",
             nonfiling=0, authors=["Smith, John"], year=1902, pages=None)
    b = book(2, isbns=[], title="Annual report of the board.", title_proper="Annual report of the board",
             nonfiling=0, authors=["Smith, J."], year=1902, pages=None)
    different_author = book(3, isbns=[], title="Annual report of the Board", nonfiling=0,
                            title_proper="Annual report of the Board", authors=["Brown, Paul"], year=1902, pages=None)
    assert compare(a, b).key == "title:annual report of the board|smith j|1902"
    assert not compare(a, different_author).merge


def test_the_title_key_alone_does_not_override_different_isbns_or_numbers() -> None:
    a = book(1, isbns=["9780201616224"])
    b = book(2, isbns=["9780306406157"])
    assert compare(a, b).reason == "different ISBNs"
    fifth = book(3, isbns=[], title="Proceedings : 5 conference", title_proper="Proceedings", nonfiling=0)
    sixth = book(4, isbns=[], title="Proceedings : 6 conference", title_proper="Proceedings", nonfiling=0)
    assert compare(fifth, sixth).reason == "titles differ"


def test_a_much_longer_book_is_another_edition() -> None:
    assert compare(book(1, pages=200), book(2, pages=480)).reason == "page counts differ"


def test_a_set_record_cannot_chain_two_volumes_into_one_cluster() -> None:
    # Each volume alone agrees with the loosely catalogued record; the two volumes contradict each other.
    one = book(1, title="History of China", volume="1", isbns=["9787020002207"])
    two = book(2, title="History of China", volume="2", isbns=["9787020002214"])
    loose = book(3, title="History of China", isbns=["9787020002207", "9787020002214"])
    assert compare(one, loose).merge and compare(two, loose).merge
    plan = build_clusters({1: one, 2: two, 3: loose}, {(1, 3), (2, 3)})
    assert plan.components == [[1, 3], [2]]


def test_staff_overrides_win_over_the_rules() -> None:
    a, b = book(1), book(2, title="Something else entirely", title_proper="Something else entirely", nonfiling=0)
    assert build_clusters({1: a, 2: b}, {(1, 2)}).components == [[1], [2]]
    linked = build_clusters({1: a, 2: b}, {(1, 2)}, links={(1, 2)})
    assert linked.components == [[1, 2]] and linked.joined_by == {1: "override", 2: "override"}
    split = build_clusters({1: book(1), 2: book(2)}, {(1, 2)}, splits={frozenset((1, 2))})
    assert split.components == [[1], [2]]


def test_clustering_does_not_depend_on_the_order_records_arrive_in() -> None:
    profiles = {i: book(i, year=1999 + i % 2) for i in range(1, 8)}
    profiles[4] = book(4, format="electronic")
    pairs = {(a, b) for a in profiles for b in profiles if a < b}
    expected = build_clusters(profiles, pairs)
    shuffled = list(pairs)
    random.Random(7).shuffle(shuffled)
    again = build_clusters(dict(reversed(list(profiles.items()))), set(shuffled))
    assert again.components == expected.components
    assert expected.components == [[1, 2, 3, 5, 6, 7], [4]]
    assert expected.same_work == [(1, 4)]
