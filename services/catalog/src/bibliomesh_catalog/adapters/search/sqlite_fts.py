"""The embedded engine: SQLite FTS5 (`search_fts`) beside a plain table of filter and sort values.

`search_fts` has one column per weighted field plus `facets`, whose tokens encode format, language, holding
institutions and availability so that filters are answered by the full-text index too (a browse by institution
needs no table scan). Its rowid is the cluster id, as is the primary key of `search_fts_docs`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
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
    Filters,
    Match,
    Node,
    Or,
    SearchRequest,
    conjuncts,
    is_text,
)
from bibliomesh_catalog.adapters.search.sql_conditions import SqlConditions, run_page

TEXT_COLUMNS = ("title", "authors", "subjects", "publisher", "notes", "identifiers")
# bm25 weights per column, in table order (facets last, weight 0): title and authors outrank notes.
BM25 = "bm25(search_fts, 10.0, 6.0, 3.0, 1.0, 1.0, 2.0, 0.0)"
_COLUMNS = {
    Field.ANY: "{" + " ".join(TEXT_COLUMNS) + "}",
    Field.TITLE: "{title}", Field.AUTHOR: "{authors}", Field.SUBJECT: "{subjects}",
    Field.PUBLISHER: "{publisher}", Field.IDENTIFIER: "{identifiers}",
}


def facet_token(kind: str, value: str) -> str:
    """A letters-and-digits token for a filter value (institution codes contain hyphens the tokenizer splits on)."""
    return f"{kind}{value.encode().hex()}"


def _facet_tokens(format_: str, language: str | None, institutions: Iterable[str], available: bool) -> str:
    tokens = [facet_token("fmt", format_)]
    if language:
        tokens.append(facet_token("lang", language))
    tokens.extend(facet_token("inst", code) for code in institutions)
    if available:
        tokens.append("availyes")
    return " ".join(tokens)


def fts_row(doc: SearchDocument) -> tuple[Any, ...]:
    """The `search_fts` row of a document, in `INSERT_FTS` order (text pre-tokenized, so FTS5's tokenizer only
    splits on spaces)."""
    return (doc.cluster_id, " ".join(doc.title + doc.alt_titles), " ".join(doc.authors), " ".join(doc.subjects),
            " ".join(doc.publisher), " ".join(doc.notes), " ".join(doc.identifiers),
            _facet_tokens(doc.format, doc.language, doc.institutions, doc.available))


def docs_row(doc: SearchDocument) -> tuple[Any, ...]:
    """The `search_fts_docs` row of a document, in `INSERT_DOCS` order."""
    return (doc.cluster_id, doc.format, doc.language, doc.year, int(doc.available), doc.title_sort,
            json.dumps(list(doc.institutions)))


# Plain driver statements: documents are written in one executemany each, without per-row statement work.
INSERT_FTS = ("INSERT INTO search_fts (rowid, title, authors, subjects, publisher, notes, identifiers, facets) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_DOCS = ("INSERT INTO search_fts_docs (cluster_id, format, language, year, available, title_sort, "
               "institutions) VALUES (?, ?, ?, ?, ?, ?, ?)")


def _phrase(match: Match) -> str:
    quoted = " + ".join('"' + token.replace('"', '""') + '"' for token in match.tokens)
    return f"{_COLUMNS[match.field]} : ({quoted}{' *' if match.prefix else ''})"


def render_match(node: Node) -> str:
    """A pure-text subtree as an FTS5 query expression."""
    if isinstance(node, Match):
        return _phrase(node)
    if isinstance(node, And):
        return " AND ".join(f"({render_match(c)})" for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(f"({render_match(c)})" for c in node.children)
    if isinstance(node, AndNot):
        return f"({render_match(node.include)}) NOT ({render_match(node.exclude)})"
    raise TypeError(f"not a text node: {node!r}")


def _filter_expressions(filters: Filters) -> list[str]:
    def any_of(kind: str, values: Iterable[str]) -> str:
        return "{facets} : (" + " OR ".join(f'"{facet_token(kind, v)}"' for v in sorted(values)) + ")"

    parts = []
    if filters.formats:
        parts.append(any_of("fmt", filters.formats))
    if filters.languages:
        parts.append(any_of("lang", filters.languages))
    parts.extend(any_of("inst", holders) if holders else '{facets} : "nobody"' for holders in filters.holder_sets)
    if filters.available:
        parts.append('{facets} : "availyes"')
    return parts


class _Sql(SqlConditions):
    def text_condition(self, node: Node) -> str | None:
        if not is_text(node):
            return None
        match = self.bind(render_match(node))
        return f"d.cluster_id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH {match})"  # noqa: S608


_ORDER = {
    "relevance": "rank, d.year DESC, d.title_sort, d.cluster_id",
    "year_desc": "d.year IS NULL, d.year DESC, rank, d.title_sort, d.cluster_id",
    "year_asc": "d.year IS NULL, d.year, rank, d.title_sort, d.cluster_id",
    "title": "d.title_sort, d.year DESC, d.cluster_id",
}


class SqliteFtsEngine:
    """Search and indexing on SQLite FTS5 (embedded mode)."""

    async def reindex(self, session: AsyncSession, cluster_ids: Collection[int]) -> None:
        """Replace the documents of these clusters; deleted clusters are removed."""
        for batch in chunks(cluster_ids):
            await self.remove(session, batch)
            await self.store(session, await load_documents(session, batch))

    async def remove(self, session: AsyncSession, cluster_ids: list[int]) -> None:
        """Remove these clusters' documents."""
        ids = ", ".join(str(int(i)) for i in cluster_ids)
        if ids:
            await session.execute(sa.text(f"DELETE FROM search_fts WHERE rowid IN ({ids})"))  # noqa: S608
            await session.execute(sa.text(f"DELETE FROM search_fts_docs WHERE cluster_id IN ({ids})"))  # noqa: S608

    async def store(self, session: AsyncSession, documents: list[SearchDocument]) -> None:
        """Insert documents (their clusters must have none yet)."""
        if documents:
            connection = await session.connection()
            await connection.exec_driver_sql(INSERT_FTS, [fts_row(d) for d in documents])
            await connection.exec_driver_sql(INSERT_DOCS, [docs_row(d) for d in documents])

    async def set_availability(self, session: AsyncSession, available: Mapping[int, bool]) -> None:
        """Rewrite only whether these clusters can be had now: the `available` value and its facet token."""
        if not available:
            return
        ids = ", ".join(str(int(i)) for i in available)
        rows = (await session.execute(sa.text(
            f"SELECT cluster_id, format, language, institutions FROM search_fts_docs "  # noqa: S608
            f"WHERE cluster_id IN ({ids})"))).all()
        if not rows:
            return
        connection = await session.connection()
        await connection.exec_driver_sql("UPDATE search_fts_docs SET available = ? WHERE cluster_id = ?",
                                         [(int(available[row[0]]), row[0]) for row in rows])
        await connection.exec_driver_sql("UPDATE search_fts SET facets = ? WHERE rowid = ?", [
            (_facet_tokens(format_, language, json.loads(institutions), available[cluster_id]), cluster_id)
            for cluster_id, format_, language, institutions in rows])

    async def search(self, session: AsyncSession, request: SearchRequest) -> EngineResult:
        """The page of cluster ids, the total and the facet counts."""
        sql = _Sql()
        parts = list(conjuncts(request.query)) if request.query is not None else []
        text = [p for p in parts if is_text(p)]
        match = [render_match(p) for p in text] + _filter_expressions(request.filters)
        where = [sql.condition(p) for p in parts if not is_text(p)]
        if match:
            source = "search_fts JOIN search_fts_docs d ON d.cluster_id = search_fts.rowid"
            where.insert(0, "search_fts MATCH " + sql.bind(" AND ".join(f"({m})" for m in match)))
        else:
            source = "search_fts_docs d"
        if request.filters.available is False:
            where.append("d.available = 0")
        rank = BM25 if text else "0"
        base = f"FROM {source} WHERE {' AND '.join(where) or '1'}"
        return await run_page(session, request, base=base, rank=rank, order=_ORDER[request.sort],
                              params=sql.params, facets=self._facets)

    async def _facets(self, session: AsyncSession, base: str, params: dict[str, Any]) -> FacetCounts:
        rows = await session.execute(sa.text(
            f"WITH m AS MATERIALIZED (SELECT d.format, d.language, d.available, d.institutions {base}) "  # noqa: S608
            "SELECT 'format', format, count(*) FROM m GROUP BY format "
            "UNION ALL SELECT 'language', language, count(*) FROM m GROUP BY language "
            "UNION ALL SELECT 'available', available, count(*) FROM m GROUP BY available "
            "UNION ALL SELECT 'holders', institutions, count(*) FROM m GROUP BY institutions"), params)
        counts = FacetCounts()
        for facet, value, count in rows:
            if facet == "format":
                counts.format[str(value)] = int(count)
            elif facet == "language":
                if value is not None:
                    counts.language[str(value)] = int(count)
            elif facet == "available":
                counts.available[bool(value)] = int(count)
            else:
                counts.holder_combinations[tuple(json.loads(value))] = int(count)
        return counts
