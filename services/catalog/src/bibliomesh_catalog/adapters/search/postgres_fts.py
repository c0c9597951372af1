"""The distributed engine: PostgreSQL full text on `search_fts_docs`, one row per cluster.

The tsvector is written as a literal built in Python (positions and weights included), and queries are tsquery
literals, so PostgreSQL's parser and dictionaries never touch the text: both engines index the same tokens.
Weights: A title (and titles in other scripts), B authors, C subjects, D publisher, notes and identifiers; ranking
is `ts_rank_cd`. A publisher-only match is checked against `publisher_tokens`, since D is shared with the notes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search.documents import SearchDocument, chunks, load_documents
from bibliomesh_catalog.adapters.search.query import (
    And,
    AndNot,
    EngineResult,
    FacetCounts,
    Field,
    Match,
    Node,
    Or,
    SearchRequest,
    all_of,
    conjuncts,
    positive_matches,
)
from bibliomesh_catalog.adapters.search.sql_conditions import SqlConditions, run_page

MAX_POSITION = 16383
_WEIGHTS = {Field.ANY: "", Field.TITLE: "A", Field.AUTHOR: "B", Field.SUBJECT: "C", Field.PUBLISHER: "D",
            Field.IDENTIFIER: ""}
COLUMNS = ("cluster_id", "tsv", "format", "language", "year", "available", "title_sort", "institutions",
           "publisher_tokens")


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(doc: SearchDocument) -> str:
    """The document's tsvector in PostgreSQL's text form; fields are a position apart so phrases never span them."""
    positions: dict[str, list[str]] = {}
    position = 1
    for weight, tokens in (("A", doc.title), ("A", doc.alt_titles), ("B", doc.authors), ("C", doc.subjects),
                           ("D", doc.publisher), ("D", doc.notes), ("D", doc.identifiers)):
        for token in tokens:
            if position > MAX_POSITION:
                break
            positions.setdefault(token, []).append(f"{position}{weight}")
            position += 1
        position += 1
    return " ".join(f"{_quote(token)}:{','.join(spots[:256])}" for token, spots in positions.items())


def copy_row(doc: SearchDocument) -> tuple[Any, ...]:
    """The document as a row of `COLUMNS` (tsvector and array in text form), for COPY or INSERT."""
    return (doc.cluster_id, tsvector_literal(doc), doc.format, doc.language, doc.year, doc.available,
            doc.title_sort, list(doc.institutions), f" {' '.join(doc.publisher)} ")


def render_tsquery(node: Node) -> str:
    """A pure-text subtree as a tsquery literal (weights restrict fielded matches)."""
    if isinstance(node, Match):
        weight = _WEIGHTS[node.field]
        last = len(node.tokens) - 1
        return " <-> ".join(
            f"{_quote(t)}:{weight}{'*' if node.prefix and i == last else ''}" if weight or (node.prefix and i == last)
            else _quote(t)
            for i, t in enumerate(node.tokens))
    if isinstance(node, And):
        return " & ".join(f"({render_tsquery(c)})" for c in node.children)
    if isinstance(node, Or):
        return " | ".join(f"({render_tsquery(c)})" for c in node.children)
    if isinstance(node, AndNot):
        return f"({render_tsquery(node.include)}) & !({render_tsquery(node.exclude)})"
    raise TypeError(f"not a text node: {node!r}")


def _is_tsquery(node: Node) -> bool:
    """Text that a tsquery alone answers (a publisher match also needs its recheck)."""
    if isinstance(node, Match):
        return node.field is not Field.PUBLISHER
    if isinstance(node, And | Or):
        return all(_is_tsquery(c) for c in node.children)
    if isinstance(node, AndNot):
        return _is_tsquery(node.include) and _is_tsquery(node.exclude)
    return False


class _Sql(SqlConditions):
    def text_condition(self, node: Node) -> str | None:
        if _is_tsquery(node):
            return f"d.tsv @@ CAST({self.bind(render_tsquery(node))} AS tsquery)"
        if isinstance(node, Match):  # publisher: the D-weighted lexemes, then the publisher text itself
            pattern = " " + " ".join(node.tokens) + ("%" if node.prefix else " ")
            return (f"d.tsv @@ CAST({self.bind(render_tsquery(node))} AS tsquery) "
                    f"AND d.publisher_tokens LIKE {self.bind('%' + pattern + ('' if node.prefix else '%'))}")
        return None


_ORDER = {
    "relevance": "rank DESC, d.year DESC NULLS LAST, d.title_sort, d.cluster_id",
    "year_desc": "d.year DESC NULLS LAST, rank DESC, d.title_sort, d.cluster_id",
    "year_asc": "d.year ASC NULLS LAST, rank DESC, d.title_sort, d.cluster_id",
    "title": "d.title_sort, d.year DESC NULLS LAST, d.cluster_id",
}
# One statement per batch: a column array each, unnested (the tsvector literals are parsed by the server).
INSERT = (
    "INSERT INTO search_fts_docs (cluster_id, tsv, format, language, year, available, title_sort, institutions, "
    "publisher_tokens) SELECT d.cluster_id, d.tsv::tsvector, d.format, d.language, d.year, d.available, "
    "d.title_sort, ARRAY(SELECT json_array_elements_text(d.institutions)), d.publisher_tokens "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bool[], $7::text[], "
    "$8::json[], $9::text[]) AS d(cluster_id, tsv, format, language, year, available, title_sort, institutions, "
    "publisher_tokens) ON CONFLICT (cluster_id) DO UPDATE SET tsv = EXCLUDED.tsv, format = EXCLUDED.format, "
    "language = EXCLUDED.language, year = EXCLUDED.year, available = EXCLUDED.available, "
    "title_sort = EXCLUDED.title_sort, institutions = EXCLUDED.institutions, "
    "publisher_tokens = EXCLUDED.publisher_tokens")  # two reindexes of one cluster racing: the last one wins


def insert_parameters(documents: list[SearchDocument]) -> tuple[list[Any], ...]:
    """`INSERT`'s parameters: one list per column (institutions as JSON: arrays of arrays must be rectangular)."""
    rows = [copy_row(d) for d in documents]
    columns = [list(column) for column in zip(*rows, strict=True)]
    columns[7] = [json.dumps(codes) for codes in columns[7]]
    return tuple(columns)


class PostgresFtsEngine:
    """Search and indexing on PostgreSQL full text (distributed mode)."""

    async def reindex(self, session: AsyncSession, cluster_ids: Collection[int]) -> None:
        """Replace the documents of these clusters; deleted clusters are removed."""
        for batch in chunks(cluster_ids):
            await session.execute(sa.text("DELETE FROM search_fts_docs WHERE cluster_id = ANY(:ids)"),
                                  {"ids": batch})
            await self.store(session, await load_documents(session, batch))

    async def store(self, session: AsyncSession, documents: list[SearchDocument]) -> None:
        """Insert documents (their clusters must have none yet)."""
        if documents:
            connection = await session.connection()
            await connection.exec_driver_sql(INSERT, insert_parameters(documents))

    async def set_availability(self, session: AsyncSession, available: Mapping[int, bool]) -> None:
        """Rewrite only whether these clusters can be had now (one statement for the batch)."""
        if available:
            connection = await session.connection()
            await connection.exec_driver_sql(
                "UPDATE search_fts_docs d SET available = v.available FROM unnest($1::bigint[], $2::bool[]) "
                "AS v(cluster_id, available) WHERE d.cluster_id = v.cluster_id",
                (list(available), list(available.values())))

    async def search(self, session: AsyncSession, request: SearchRequest) -> EngineResult:
        """The page of cluster ids, the total and the facet counts."""
        sql = _Sql()
        parts = list(conjuncts(request.query)) if request.query is not None else []
        text = all_of([p for p in parts if _is_tsquery(p)])
        where = [sql.condition(text)] if text is not None else []
        where += [sql.condition(p) for p in parts if not _is_tsquery(p)]
        filters = request.filters
        if filters.formats:
            where.append(f"d.format = ANY({sql.bind(sorted(filters.formats))})")
        if filters.languages:
            where.append(f"d.language = ANY({sql.bind(sorted(filters.languages))})")
        where += [f"d.institutions && CAST({sql.bind(sorted(h))} AS text[])" for h in filters.holder_sets]
        if filters.available is not None:
            where.append(f"d.available = {sql.bind(filters.available)}")
        # Rank by any positive match: an AND would score 0 for rows that matched through an OR elsewhere.
        matches = list(positive_matches(request.query)) if request.query is not None else []
        ranked: Node | None = matches[0] if len(matches) == 1 else Or(tuple(matches)) if matches else None
        rank = (f"ts_rank_cd(d.tsv, CAST({sql.bind(render_tsquery(ranked))} AS tsquery), 1)"
                if ranked is not None else "0")
        base = f"FROM search_fts_docs d WHERE {' AND '.join(where) or 'true'}"
        return await run_page(session, request, base=base, rank=rank, order=_ORDER[request.sort],
                              params=sql.params, facets=_facets)


async def _facets(session: AsyncSession, base: str, params: dict[str, Any]) -> FacetCounts:
    rows = await session.execute(sa.text(
        "SELECT GROUPING(d.format, d.language, d.available, d.institutions) AS g, d.format, d.language, "
        f"d.available, d.institutions, count(*) {base} "
        "GROUP BY GROUPING SETS ((d.format), (d.language), (d.available), (d.institutions))"), params)
    counts = FacetCounts()
    for grouping, format_, language, available, institutions, count in rows:
        if grouping == 0b0111:
            counts.format[format_] = int(count)
        elif grouping == 0b1011:
            if language is not None:
                counts.language[language] = int(count)
        elif grouping == 0b1101:
            counts.available[bool(available)] = int(count)
        else:
            counts.holder_combinations[tuple(institutions)] = int(count)
    return counts
