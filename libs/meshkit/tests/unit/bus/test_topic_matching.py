"""Topic patterns decide which consumers get an event; both transports route with the same rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshkit.bus.transport import topic_matches


@pytest.mark.parametrize(
    ("pattern", "routing_key"),
    [
        ("directory.institution.created", "directory.institution.created"),
        ("directory.*.created", "directory.institution.created"),
        ("directory.institution.*", "directory.institution.suspended"),
        ("*.*.*", "ill.request.shipped"),
        ("directory.#", "directory.institution.created"),
        ("directory.#", "directory"),  # `#` also matches zero words
        ("#", "ill.request.shipped"),
        ("#", "catalog"),
        ("#.shipped", "ill.request.shipped"),
        ("ill.#.shipped", "ill.shipped"),
        ("ill.#.shipped", "ill.request.item.shipped"),
        ("#.#", "catalog.holdings.changed"),
        ("*.#", "catalog"),
        ("#.*", "catalog"),
    ],
)
def test_pattern_matches(pattern: str, routing_key: str) -> None:
    assert topic_matches(pattern, routing_key)


@pytest.mark.parametrize(
    ("pattern", "routing_key"),
    [
        ("directory.institution.created", "directory.institution.updated"),
        ("directory.*", "directory.institution.created"),  # `*` is exactly one word, not several
        ("directory.*.created", "directory.created"),  # ... and not zero
        ("*", "directory.institution"),
        ("directory.#", "catalog.holdings.changed"),
        ("directory.#", "directoryx.institution"),  # words, not prefixes
        ("directory", "directory.institution"),
        ("#.shipped", "ill.request.shipped.late"),
        ("*.#.*", "catalog"),
        ("ill.#.shipped", "ill.request.received"),
    ],
)
def test_pattern_does_not_match(pattern: str, routing_key: str) -> None:
    assert not topic_matches(pattern, routing_key)


words = st.lists(st.text(alphabet="abcxyz-_", min_size=1, max_size=6), min_size=1, max_size=6)


@given(words)
def test_a_key_matches_itself_and_hash(key_words: list[str]) -> None:
    key = ".".join(key_words)
    assert topic_matches(key, key)
    assert topic_matches("#", key)


@given(words, st.data())
def test_star_stands_for_exactly_one_word(key_words: list[str], data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(key_words) - 1))
    pattern = [*key_words[:position], "*", *key_words[position + 1:]]
    assert topic_matches(".".join(pattern), ".".join(key_words))
    assert not topic_matches(".".join(pattern), ".".join([*key_words, "extra"]))


@given(words, st.data())
def test_hash_stands_for_any_run_of_words(key_words: list[str], data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(key_words)))
    end = data.draw(st.integers(start, len(key_words)))
    pattern = [*key_words[:start], "#", *key_words[end:]]
    assert topic_matches(".".join(pattern), ".".join(key_words))
