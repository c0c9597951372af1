"""Resolving an OpenURL citation to clusters, for the "Get it" links of discovery systems.

Identifiers are tried first (ISBN, ISSN, OCLC number, LCCN); a cluster found by one is a strong match unless its
title contradicts the citation's (identifiers are reused across books). Without an identifier match, the title
words are searched in titles (and the author's surname in authors); such a match is strong only when the title is
the same and neither author nor year disagrees. The title searched is the book's or journal's, never an article's
or chapter's, and a citation of a journal or its articles only matches clusters with an ISSN.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search import engine_for
from bibliomesh_catalog.adapters.search.holdings import load_holders
from bibliomesh_catalog.adapters.search.identifiers import (
    identifier_token,
    normalize_isbn,
    normalize_issn,
    normalize_lccn,
    normalize_oclc,
)
from bibliomesh_catalog.adapters.search.query import Field as IndexField
from bibliomesh_catalog.adapters.search.query import Match, Node, Or, SearchRequest, all_of
from bibliomesh_catalog.adapters.search.text import phrase_tokens
from bibliomesh_catalog.domain.citation import Citation
from bibliomesh_catalog.service_layer.search import keyword_matches
from bibliomesh_catalog.service_layer.search_results import ClusterHit, cluster_hits
from meshkit.problems import Problem

CANDIDATES = 10
Strength = Literal["strong", "weak"]


class ResolvedCluster(ClusterHit):
    """A cluster the citation may mean, with how sure the match is."""

    strength: Strength = Field(description="`strong`: identifier or exact title (+ author, year) match.")
    matched_on: str = Field(description="What matched: isbn, issn, oclc, lccn or title.")


class EmptyCitation(Problem):
    """422: nothing in the OpenURL to look for; names the parameters that would do."""

    status = 422

    def __init__(self) -> None:
        fields = ["rft.isbn", "rft.issn", "rft_id", "rft.btitle", "rft.title", "rft.jtitle", "rft.atitle",
                  "isbn", "issn", "title"]
        super().__init__("The OpenURL carries no identifier and no title to look for.",
                         errors=[{"field": f"query.{f}", "message": "one of these is needed"} for f in fields])


def _identifier_query(citation: Citation) -> list[tuple[str, Node]]:
    queries: list[tuple[str, Node]] = []
    for kind, values, normalize in (("isbn", citation.isbns, normalize_isbn), ("issn", citation.issns, normalize_issn),
                                    ("oclc", citation.oclc_numbers, normalize_oclc),
                                    ("lccn", citation.lccns, normalize_lccn)):
        tokens = {identifier_token(kind, n) for n in (normalize(v) for v in values) if n}
        if tokens:
            nodes: list[Node] = [Match(IndexField.IDENTIFIER, (t,)) for t in sorted(tokens)]
            queries.append((kind, nodes[0] if len(nodes) == 1 else Or(tuple(nodes))))
    return queries


def _words(text: str | None) -> list[str]:
    return phrase_tokens(text or "")


def _title_agrees(citation_title: str | None, cluster_title: str) -> bool:
    """No title given, or at least half of its words are in the cluster's title (a veto, not a proof)."""
    wanted = set(_words(citation_title))
    return not wanted or len(wanted & set(_words(cluster_title))) * 2 >= len(wanted)


def _surname(author: str) -> list[str]:
    return _words(author.split(",")[0])


def _same_title(citation_title: str, hit: ClusterHit) -> bool:
    wanted = _words(citation_title)
    return wanted in (_words(hit.title), _words(hit.title.split(" : ")[0]))


def _title_strength(citation: Citation, title: str, hit: ClusterHit) -> Strength:
    author_ok = not citation.authors or set(_surname(citation.authors[0])) <= set(_words(" ".join(hit.authors)))
    year_ok = citation.year is None or hit.year is None or citation.year == hit.year
    return "strong" if _same_title(title, hit) and author_ok and year_ok else "weak"


async def _find(session: AsyncSession, query: Node | None) -> list[int]:
    if query is None:
        return []
    found = await engine_for(session).search(session, SearchRequest(query=query, limit=CANDIDATES, facets=False))
    return found.cluster_ids


async def resolve_citation(session: AsyncSession, citation: Citation) -> list[ResolvedCluster]:
    """Clusters the citation may mean, strong matches first, then by relevance."""
    if citation.is_empty:
        raise EmptyCitation()
    if citation.is_serial:
        citation = replace(citation, authors=(), year=None)  # the article's, not the journal's
    holders = await load_holders(session)
    title = citation.catalogue_title
    resolved: dict[int, ResolvedCluster] = {}
    for kind, query in _identifier_query(citation):
        for hit in await cluster_hits(session, await _find(session, query), holders):
            if hit.cluster_id not in resolved:
                strength: Strength = "strong" if _title_agrees(title, hit.title) else "weak"
                resolved[hit.cluster_id] = ResolvedCluster(**hit.model_dump(), strength=strength, matched_on=kind)
    if not resolved and title:
        title_nodes = keyword_matches(title, IndexField.TITLE)
        author_nodes = [Match(IndexField.AUTHOR, tuple(_surname(citation.authors[0])))] if citation.authors and \
            _surname(citation.authors[0]) else []
        ids = await _find(session, all_of([*title_nodes, *author_nodes])) if title_nodes else []
        if not ids and author_nodes:
            ids = await _find(session, all_of(title_nodes))
        for hit in await cluster_hits(session, ids, holders):
            if citation.is_serial and not hit.issns:
                continue  # a book that happens to share the journal's title
            resolved[hit.cluster_id] = ResolvedCluster(**hit.model_dump(), matched_on="title",
                                                       strength=_title_strength(citation, title, hit))
    ranked = list(resolved.values())
    return sorted(ranked, key=lambda r: r.strength != "strong")  # stable: relevance order within each strength
