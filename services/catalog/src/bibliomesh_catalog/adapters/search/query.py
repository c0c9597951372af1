"""What a search asks and what an engine answers, independent of the engine.

The keyword search API and the CQL translator both build the same tree, so SRU and `/catalog/search` agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Field(StrEnum):
    """Which part of a document a text match looks in."""

    ANY = "any"
    TITLE = "title"
    AUTHOR = "author"
    SUBJECT = "subject"
    PUBLISHER = "publisher"
    IDENTIFIER = "identifier"


@dataclass(frozen=True)
class Match:
    """Tokens that must occur consecutively in `field`; `prefix` lets the last token match as a word beginning."""

    field: Field
    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class ClusterIds:
    """Exactly these clusters (`rec.id`)."""

    ids: tuple[int, ...]


@dataclass(frozen=True)
class YearRange:
    """Publication year within [low, high]; either end may be open."""

    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class And:
    """Every child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class AndNot:
    """`include` but not `exclude` (CQL's binary NOT)."""

    include: Node
    exclude: Node


Node = Match | ClusterIds | YearRange | And | Or | AndNot
Sort = Literal["relevance", "year_desc", "year_asc", "title"]


def is_text(node: Node) -> bool:
    """Whether the whole subtree is full-text matching (one MATCH / one tsquery can answer it)."""
    if isinstance(node, Match):
        return True
    if isinstance(node, And | Or):
        return all(is_text(child) for child in node.children)
    if isinstance(node, AndNot):
        return is_text(node.include) and is_text(node.exclude)
    return False


def conjuncts(node: Node) -> Iterator[Node]:
    """The top-level AND operands of a tree (the tree itself when it is not an AND)."""
    if isinstance(node, And):
        for child in node.children:
            yield from conjuncts(child)
    else:
        yield node


def positive_matches(node: Node) -> Iterator[Match]:
    """The text matches that make a document relevant (those under a NOT excluded): what ranking scores."""
    if isinstance(node, Match):
        yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from positive_matches(child)
    elif isinstance(node, AndNot):
        yield from positive_matches(node.include)


def all_of(nodes: list[Node]) -> Node | None:
    """AND of the nodes, or the single node, or None."""
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


@dataclass(frozen=True)
class Filters:
    """Restrictions that are not text: each holder set means "held by at least one of these institutions"."""

    formats: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    holder_sets: tuple[frozenset[str], ...] = ()
    available: bool | None = None


@dataclass(frozen=True)
class SearchRequest:
    """One search: the query tree (None: everything), filters, order and the page wanted."""

    query: Node | None
    filters: Filters = field(default_factory=Filters)
    sort: Sort = "relevance"
    offset: int = 0
    limit: int = 20
    facets: bool = True


@dataclass
class FacetCounts:
    """Raw counts over the whole result set; holder combinations are expanded into institutions and regions later."""

    format: dict[str, int] = field(default_factory=dict)
    language: dict[str, int] = field(default_factory=dict)
    available: dict[bool, int] = field(default_factory=dict)
    holder_combinations: dict[tuple[str, ...], int] = field(default_factory=dict)


@dataclass
class EngineResult:
    """Cluster ids of the requested page, best first, with the total and (if asked) the facet counts."""

    total: int
    cluster_ids: list[int]
    facets: FacetCounts | None = None
