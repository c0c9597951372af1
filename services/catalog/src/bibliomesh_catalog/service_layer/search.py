"""Searching the union catalogue: keyword and fielded queries, filters, facets; one result per cluster."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search import engine_for
from bibliomesh_catalog.adapters.search.holdings import Holder, load_holders, region_members
from bibliomesh_catalog.adapters.search.identifiers import identifier_token, normalize_isbn, normalize_issn
from bibliomesh_catalog.adapters.search.query import (
    FacetCounts,
    Field,
    Filters,
    Match,
    Node,
    SearchRequest,
    Sort,
    YearRange,
    all_of,
)
from bibliomesh_catalog.adapters.search.text import is_cjk_token, phrase_tokens, split_keywords
from bibliomesh_catalog.service_layer.search_results import FacetValue, SearchResults, cluster_hits
from meshkit.problems import Problem

MAX_PAGE_SIZE = 100
MAX_RESULT_WINDOW = 10_000  # deep paging is what crawlers do; a person narrows the search instead
FORMATS = ("print", "electronic")


class InvalidSearch(Problem):
    """A parameter the search cannot use; names the field as request validation does."""

    status = 422

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"Invalid value for: query.{field_name}: {message}",
                         errors=[{"field": f"query.{field_name}", "message": message}])


@dataclass(frozen=True)
class SearchParams:
    """What `GET /catalog/search` accepts, already type-checked by the route."""

    q: str | None = None
    title: str | None = None
    author: str | None = None
    subject: str | None = None
    publisher: str | None = None
    isbn: str | None = None
    issn: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    formats: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    institutions: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    available: bool | None = None
    sort: Sort | None = None
    page: int = 1
    page_size: int = 20


def keyword_matches(text: str, field_: Field) -> list[Node]:
    """Words and "quoted phrases" of a keyword box, all required; a trailing `*` matches word beginnings."""
    nodes: list[Node] = []
    for part in split_keywords(text):
        tokens = tuple(phrase_tokens(part.text))
        if tokens:
            prefix = part.prefix and not is_cjk_token(tokens[-1])
            nodes.append(Match(field_, tokens, prefix=prefix))
    return nodes


def _identifier(kind: str, value: str, normalize: Callable[[str], str | None]) -> Node:
    normalized = normalize(value)
    if normalized is None:
        raise InvalidSearch(kind, f"{value!r} is not an {kind.upper()}")
    return Match(Field.IDENTIFIER, (identifier_token(kind, normalized),))


def build_query(params: SearchParams) -> Node | None:
    """The query tree of the keyword box and the fielded parameters (all must match)."""
    nodes: list[Node] = []
    for text, field_ in ((params.q, Field.ANY), (params.title, Field.TITLE), (params.author, Field.AUTHOR),
                         (params.subject, Field.SUBJECT), (params.publisher, Field.PUBLISHER)):
        if text and text.strip():
            matches = keyword_matches(text, field_)
            if not matches:
                raise InvalidSearch("q" if field_ is Field.ANY else field_.value, "has no words to search for")
            nodes.extend(matches)
    if params.isbn:
        nodes.append(_identifier("isbn", params.isbn, normalize_isbn))
    if params.issn:
        nodes.append(_identifier("issn", params.issn, normalize_issn))
    if params.year_from is not None or params.year_to is not None:
        if params.year_from is not None and params.year_to is not None and params.year_from > params.year_to:
            raise InvalidSearch("year_from", "must not be after year_to")
        nodes.append(YearRange(params.year_from, params.year_to))
    return all_of(nodes)


def build_filters(params: SearchParams, holders: dict[str, Holder]) -> Filters:
    """Filters, with each region turned into the institutions in it."""
    unknown = sorted(set(params.formats) - set(FORMATS))
    if unknown:
        raise InvalidSearch("format", f"{', '.join(unknown)} is not one of {', '.join(FORMATS)}")
    holder_sets = []
    if params.institutions:
        holder_sets.append(frozenset(params.institutions))
    if params.regions:
        holder_sets.append(frozenset().union(*(region_members(holders, r) for r in params.regions)))
    return Filters(formats=frozenset(params.formats), languages=frozenset(x.lower() for x in params.languages),
                   holder_sets=tuple(holder_sets), available=params.available)


def _window(params: SearchParams) -> tuple[int, int]:
    if not 1 <= params.page_size <= MAX_PAGE_SIZE:
        raise InvalidSearch("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    if params.page < 1:
        raise InvalidSearch("page", "must be 1 or more")
    if params.page * params.page_size > MAX_RESULT_WINDOW:
        raise InvalidSearch("page", f"only the first {MAX_RESULT_WINDOW:,} results can be paged through; "
                                    "narrow the search")
    return (params.page - 1) * params.page_size, params.page_size


async def search_catalog(session: AsyncSession, params: SearchParams) -> SearchResults:
    """One page of clusters matching the search, best first, with facet counts over the whole result."""
    offset, limit = _window(params)
    holders = await load_holders(session)
    query = build_query(params)
    sort: Sort = params.sort or ("relevance" if query is not None else "title")
    request = SearchRequest(query=query, filters=build_filters(params, holders), sort=sort, offset=offset,
                            limit=limit)
    found = await engine_for(session).search(session, request)
    return SearchResults(
        total=found.total, page=params.page, page_size=params.page_size, sort=sort,
        results=await cluster_hits(session, found.cluster_ids, holders),
        facets=facet_values(found.facets or FacetCounts(), holders),
    )


def facet_values(counts: FacetCounts, holders: dict[str, Holder]) -> dict[str, list[FacetValue]]:
    """Facet counts as shown: institutions and regions counted once per cluster, from holder combinations."""
    institutions: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    for combination, count in counts.holder_combinations.items():
        institutions.update(dict.fromkeys(combination, count))
        held_in = {r for code in combination if code in holders for r in holders[code].regions}
        regions.update(dict.fromkeys(held_in, count))

    def ordered(values: dict[Any, int], label: Callable[[str], str | None] = lambda _v: None,
                limit: int = 50) -> list[FacetValue]:
        items = sorted(((str(v).lower() if isinstance(v, bool) else str(v), c) for v, c in values.items() if c),
                       key=lambda vc: (-vc[1], vc[0]))
        return [FacetValue(value=v, label=label(v), count=c) for v, c in items[:limit]]

    return {
        "format": ordered(counts.format),
        "language": ordered(counts.language),
        "institution": ordered(dict(institutions), lambda code: holders[code].name_en if code in holders else None),
        "region": ordered(dict(regions)),
        "available": ordered(counts.available),
    }
