"""The CQL parser and its translation into search trees, including every way a query is refused."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bibliomesh_catalog.adapters.search.query import And, AndNot, ClusterIds, Field, Match, Or, YearRange
from bibliomesh_catalog.service_layer.cql import CqlSyntaxError, Diagnostic, parse, translate
from bibliomesh_catalog.service_layer.cql.parser import BooleanClause, Modifier, SearchClause, SortKey


def query_of(cql: str):  # type: ignore[no-untyped-def]
    return translate(parse(cql)).query


def diagnostic_code(cql: str) -> int:
    with pytest.raises(Diagnostic) as raised:
        translate(parse(cql))
    return raised.value.code


def test_bare_term_index_relation_term_and_quoted_terms() -> None:
    assert parse("dinosaur").root == SearchClause("dinosaur")
    assert parse('dc.title = "lord of the rings"').root == SearchClause("lord of the rings", "dc.title", "=")
    assert parse(r'"say \"hi\" \\ now"').root == SearchClause('say "hi" \\ now')
    assert parse("dc.title ANY fish").root == SearchClause("fish", "dc.title", "any")


def test_booleans_associate_left_to_right_without_precedence() -> None:
    root = parse("a or b and c").root
    assert root == BooleanClause("and", BooleanClause("or", SearchClause("a"), SearchClause("b")), SearchClause("c"))
    grouped = parse("a or (b and c)").root
    assert grouped == BooleanClause("or", SearchClause("a"), BooleanClause("and", SearchClause("b"), SearchClause("c")))


def test_modifiers_sortby_and_prefix_assignments_parse() -> None:
    parsed = parse('> d = "info:srw/cql-context-set/1/dc-v1.1" d.title =/stem cat prox/distance=1 dog '
                   "sortby dc.date/sort.descending dc.title")
    assert parsed.prefixes == {"d": "info:srw/cql-context-set/1/dc-v1.1"}
    assert parsed.root == BooleanClause("prox", SearchClause("cat", "d.title", "=", (Modifier("stem"),)),
                                        SearchClause("dog"), (Modifier("distance", "=", "1"),))
    assert parsed.sort_keys == (SortKey("dc.date", (Modifier("sort.descending"),)), SortKey("dc.title"))


@pytest.mark.parametrize("cql", ["", "   ", "a and", "(a or b", "a or b)", '"unterminated', "dc.title =",
                                 "a b", "dc.title = = x", "a sortby", "()"])
def test_malformed_queries_are_syntax_errors_with_a_position(cql: str) -> None:
    with pytest.raises(CqlSyntaxError) as raised:
        parse(cql)
    assert 0 <= raised.value.position <= len(cql)


@given(st.text(max_size=80))
def test_any_text_either_parses_or_is_a_syntax_error(text: str) -> None:
    with contextlib.suppress(CqlSyntaxError, Diagnostic):
        translate(parse(text))


def test_text_relations_map_to_words_phrases_and_alternatives() -> None:
    title = Field.TITLE
    assert query_of('dc.title all "war peace"') == And((Match(title, ("war",)), Match(title, ("peace",))))
    assert query_of('dc.title = "war peace"') == And((Match(title, ("war",)), Match(title, ("peace",))))
    assert query_of('dc.title any "war peace"') == Or((Match(title, ("war",)), Match(title, ("peace",))))
    assert query_of('dc.title adj "war and peace"') == Match(title, ("war", "and", "peace"))
    assert query_of('dc.title == "war and peace"') == Match(title, ("war", "and", "peace"))
    assert query_of("cql.anywhere = 人民共和国") == Match(Field.ANY, ("人民", "民共", "共和", "和国"))
    assert query_of("dc.creator=tolst*") == Match(Field.AUTHOR, ("tolst",), prefix=True)
    assert query_of("title=x and creator=y") == And((Match(title, ("x",)), Match(Field.AUTHOR, ("y",))))


def test_identifier_id_and_date_indexes() -> None:
    assert query_of("bath.isbn = 0-262-03384-4") == Match(Field.IDENTIFIER, ("isbn9780262033848",))
    assert query_of("bath.issn = 0028-0836") == Match(Field.IDENTIFIER, ("issn00280836",))
    assert query_of('rec.id any "3 5"') == ClusterIds((3, 5))
    assert query_of("dc.date >= 1990 and dc.date < 2000") == And((YearRange(1990, None), YearRange(None, 1999)))
    assert query_of("a not b") == AndNot(Match(Field.ANY, ("a",)), Match(Field.ANY, ("b",)))
    assert query_of("cql.allRecords = 1") is None
    assert translate(parse("x sortby dc.title")).sort == "title"


@pytest.mark.parametrize(("cql", "code"), [
    ("foo.title = x", 15),          # unknown context set
    ("dc.format = x", 16),          # unknown index of a known set
    ("colour = red", 16),           # unknown unqualified index
    ("dc.title within x", 19),      # unsupported relation
    ("dc.title < x", 19),
    ("dc.date any 1999", 19),
    ("dc.title =/stem x", 20),      # relation modifier
    ('dc.title = ""', 27),          # empty term
    ("dc.title = ...", 27),         # no words in the term
    ("dc.title = a*b", 28),         # masking inside a word
    ("dc.title = a?", 28),
    ("dc.title = ^start", 31),      # anchoring
    ("bath.isbn = 12345", 36),      # not an ISBN
    ("rec.id = abc", 36),
    ("dc.date = 19x9", 36),
    ("a prox b", 37),
    ("a and/rel.algorithm=cori b", 46),
    ("a sortby dc.subject", 80),
    ('> x = "urn:unknown" x.title = y', 15),
])
def test_unsupported_queries_yield_the_srw_diagnostic(cql: str, code: int) -> None:
    assert diagnostic_code(cql) == code


def test_diagnostics_carry_their_uri_and_message() -> None:
    diagnostic = Diagnostic(16, "dc.format")
    assert diagnostic.uri == "info:srw/diagnostic/1/16"
    assert diagnostic.message == "Unsupported index"
