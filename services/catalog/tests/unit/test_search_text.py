"""The preprocessing both engines index and query with: CJK bigrams, folding, keywords, identifiers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bibliomesh_catalog.adapters.search.identifiers import (
    identifier_tokens,
    normalize_isbn,
    normalize_issn,
    normalize_oclc,
)
from bibliomesh_catalog.adapters.search.text import (
    index_tokens,
    phrase_tokens,
    sort_key,
    split_keywords,
)


def _contains_phrase(tokens: list[str], phrase: list[str]) -> bool:
    return any(tokens[i:i + len(phrase)] == phrase for i in range(len(tokens)))


def test_chinese_runs_become_overlapping_bigrams_then_their_characters() -> None:
    tokens = index_tokens("中华人民共和国史")
    assert tokens[:7] == ["中华", "华人", "人民", "民共", "共和", "和国", "国史"]
    assert set(tokens[7:]) == set("中华人民共和国史")


def test_a_word_inside_a_chinese_title_is_a_phrase_of_its_bigrams() -> None:
    title = index_tokens("中华人民共和国史")
    for word in ("人民", "共和国", "人民共和国", "中华", "国史"):
        assert _contains_phrase(title, phrase_tokens(word)), word
    assert not _contains_phrase(title, phrase_tokens("民国"))  # characters present, but not as that word
    assert phrase_tokens("史") == ["史"] and "史" in title  # one character: matched by the tail


def test_mixed_scripts_keep_their_order_so_phrases_work_across_them() -> None:
    tokens = index_tokens("Python编程入门 第2版")
    assert tokens[:6] == ["python", "编程", "程入", "入门", "第", "2"]
    assert _contains_phrase(tokens, phrase_tokens("python编程"))


def test_latin_text_is_folded_and_split_on_punctuation() -> None:
    assert index_tokens("Œuvres complètes / Émile Zola ; éd. by O'Brien") == [  # œ is a letter, not a ligature
        "œuvres", "completes", "emile", "zola", "ed", "by", "o", "brien"]
    assert phrase_tokens("\uff21\uff22\uff23") == ["abc"]  # full-width Latin letters (common in CJK records) fold too


def test_keywords_split_into_words_and_quoted_phrases_with_prefixes() -> None:
    parts = split_keywords('war "and peace" tolst* 人民')
    assert [(p.text, p.quoted, p.prefix) for p in parts] == [
        ("war", False, False), ("and peace", True, False), ("tolst", False, True), ("人民", False, False)]
    assert [p.text for p in split_keywords('"unterminated phrase')] == ["unterminated phrase"]


def test_sort_key_drops_leading_articles() -> None:
    assert sort_key("The Art of Computer Programming") == "art of computer programming"
    assert sort_key("A") == "a"


def test_isbns_in_any_spelling_normalize_to_isbn13() -> None:
    assert normalize_isbn("0-262-03384-4 (pbk.)") == "9780262033848"
    assert normalize_isbn("ISBN 978-0-262-03384-8") == "9780262033848"
    assert normalize_isbn("080442957X") == "9780804429573"
    assert normalize_isbn("12345") is None
    assert normalize_issn("0028-0836") == "00280836"
    assert normalize_issn("1234-567x") == "1234567X"
    assert normalize_issn("12-34") is None
    assert normalize_oclc("(OCoLC)ocm00012345") == "12345"


def test_identifier_tokens_are_prefixed_and_the_bare_numbers_kept_for_keywords() -> None:
    tokens = identifier_tokens(isbns=["0262033844"], issns=["0028-0836"], oclc=["(OCoLC)42"], lccns=[])
    assert tokens == ["isbn9780262033848", "9780262033848", "issn00280836", "00280836", "oclc42"]


@given(st.text(max_size=200))
def test_tokens_are_letters_and_digits_only_so_both_engines_keep_them_whole(text: str) -> None:
    for token in index_tokens(text) + phrase_tokens(text):
        assert (token and all(c.isalnum() for c in token) and token == token.lower()) or not token.isascii()
        assert " " not in token and '"' not in token and "'" not in token
