"""One search document per cluster, built from the union record (`clusters.display`) and the live holdings.

Titles in other scripts (`alt_titles`: the 880 parallels of 245, such as the Chinese title of a record catalogued
in pinyin) are indexed as titles too, so a reader searching in the original script finds the book.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search.identifiers import identifier_tokens
from bibliomesh_catalog.adapters.search.text import index_tokens, sort_key
from bibliomesh_catalog.adapters.tables import clusters, holders, holdings, records
from bibliomesh_catalog.domain.display import ClusterDisplay

AVAILABLE_STATUS = "available"
SUSPENDED = "suspended"


def is_available(status: str, format_: str, ill_copy_allowed: bool, suspended: bool = False) -> bool:
    """On the shelf, or an electronic copy whose licence allows interlibrary copies; never at a suspended
    institution (it neither lends nor borrows, so the broker skips it)."""
    return not suspended and (status == AVAILABLE_STATUS or (format_ == "electronic" and ill_copy_allowed))


def holder_suspended() -> sa.ColumnElement[bool]:
    """Whether the holder of a holdings row is suspended, for a query outer-joined to `holders` with
    `holder_join`: an institution the directory copy does not know yet counts as active."""
    return sa.func.coalesce(holders.c.status, "active") == SUSPENDED


def holder_join(left: sa.FromClause) -> sa.FromClause:
    """`left` (holdings, or a join including it) outer-joined to the holder of each holding."""
    return left.outerjoin(holders, holders.c.code == holdings.c.institution)


@dataclass(frozen=True)
class HoldingState:
    """What the index needs of one holding: who holds it and whether it can be had now."""

    institution: str
    available: bool


@dataclass(frozen=True)
class DocumentText:
    """Everything of a cluster's search document that comes from its union record alone (not its holdings):
    built once where the record was parsed, completed by `for_cluster` once the cluster exists."""

    title: list[str]
    alt_titles: list[str]
    authors: list[str]
    subjects: list[str]
    publisher: list[str]
    notes: list[str]
    identifiers: list[str]
    format: str
    language: str | None
    year: int | None
    title_sort: str

    def for_cluster(self, cluster_id: int, holding_states: Iterable[HoldingState]) -> SearchDocument:
        states = list(holding_states)
        return SearchDocument(**vars(self), cluster_id=cluster_id, available=any(s.available for s in states),
                              institutions=tuple(sorted({s.institution for s in states})))


@dataclass(frozen=True)
class SearchDocument(DocumentText):
    """The indexed form of a cluster: tokens per field (see text.py) and the filter/facet values."""

    cluster_id: int
    available: bool
    institutions: tuple[str, ...]


def document_text(format_: str, display: Mapping[str, Any]) -> DocumentText:
    """The union record's part of a cluster's search document."""
    union = ClusterDisplay.model_validate({"format": format_, **display})
    notes = [*union.notes, *(x for x in (union.series, union.edition) if x)]
    return DocumentText(
        title=index_tokens(union.title, limit=500),
        alt_titles=index_tokens(" ; ".join(display.get("alt_titles") or ()), limit=500),
        authors=index_tokens(" ; ".join(union.authors), limit=500),
        subjects=index_tokens(" ; ".join(union.subjects), limit=1000),
        publisher=index_tokens(" ".join(x for x in (union.publisher, union.place) if x), limit=200),
        notes=index_tokens(" ; ".join(notes), limit=2000),
        identifiers=identifier_tokens(isbns=union.isbns, issns=union.issns, oclc=union.oclc_numbers,
                                      lccns=union.lccns),
        format=format_,
        language=_language(union.language),
        year=union.year,
        title_sort=sort_key(union.title),
    )


def build_document(cluster_id: int, format_: str, display: Mapping[str, Any],
                   holding_states: Iterable[HoldingState]) -> SearchDocument:
    """The search document of one live cluster."""
    return document_text(format_, display).for_cluster(cluster_id, holding_states)


def _language(code: str | None) -> str | None:
    cleaned = (code or "").strip().lower()[:8]
    return cleaned or None


def select_clusters(ids: list[int]) -> sa.Select[Any]:
    """The live clusters among `ids`."""
    return (sa.select(clusters.c.id, clusters.c.format, clusters.c.display)
            .where(clusters.c.id.in_(ids), clusters.c.deleted_at.is_(None)))


def select_holdings(ids: list[int]) -> sa.Select[Any]:
    """The holdings of the live members of these clusters, with whether their holder is suspended."""
    return (sa.select(records.c.cluster_id, holdings.c.institution, holdings.c.status, holdings.c.format,
                      holdings.c.ill_copy_allowed, holder_suspended())
            .select_from(holder_join(holdings.join(records, records.c.id == holdings.c.record_id)))
            .where(records.c.cluster_id.in_(ids), records.c.deleted_at.is_(None)))


def holding_states(holding_rows: Iterable[Any]) -> dict[int, list[HoldingState]]:
    """The rows of `select_holdings` as the states of each cluster's holdings."""
    held: dict[int, list[HoldingState]] = defaultdict(list)
    for cluster_id, institution, status, format_, ill_copy, suspended in holding_rows:
        held[int(cluster_id)].append(HoldingState(institution, is_available(status, format_, bool(ill_copy),
                                                                            bool(suspended))))
    return held


def assemble(cluster_rows: Iterable[Any], holding_rows: Iterable[Any]) -> list[SearchDocument]:
    """Documents from the rows of `select_clusters` and `select_holdings`."""
    held = holding_states(holding_rows)
    return [build_document(int(row.id), row.format, row.display or {}, held.get(int(row.id), ()))
            for row in cluster_rows]


async def load_documents(session: AsyncSession, cluster_ids: Collection[int]) -> list[SearchDocument]:
    """Documents of the given clusters that are live; deleted or unknown ids yield nothing (they drop out)."""
    ids = sorted(set(cluster_ids))
    if not ids:
        return []
    cluster_rows = (await session.execute(select_clusters(ids))).all()
    return assemble(cluster_rows, (await session.execute(select_holdings(ids))).all())


def chunks(ids: Collection[int], size: int = 500) -> Iterable[list[int]]:
    """Ids in batches small enough for an IN list on both engines."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]
