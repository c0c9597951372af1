"""Full-text search over clusters behind one interface: SQLite FTS5 (embedded) or PostgreSQL (distributed)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search.documents import SearchDocument
from bibliomesh_catalog.adapters.search.postgres_fts import PostgresFtsEngine
from bibliomesh_catalog.adapters.search.query import EngineResult, SearchRequest
from bibliomesh_catalog.adapters.search.sqlite_fts import SqliteFtsEngine


class SearchEngine(Protocol):
    """What the service layer and ingest rely on; both engines implement it with the same tokens."""

    async def reindex(self, session: AsyncSession, cluster_ids: Collection[int]) -> None:
        """Rebuild these clusters' documents in the caller's transaction (deleted clusters drop out)."""

    async def store(self, session: AsyncSession, documents: list[SearchDocument]) -> None:
        """Insert the documents of clusters that have none yet (created in the caller's transaction)."""

    async def set_availability(self, session: AsyncSession, available: Mapping[int, bool]) -> None:
        """Rewrite only whether these clusters (which have documents) can be had now."""

    async def search(self, session: AsyncSession, request: SearchRequest) -> EngineResult:
        """The requested page of cluster ids, best first, with the total and facet counts."""


_SQLITE = SqliteFtsEngine()
_POSTGRES = PostgresFtsEngine()


def engine_for(session: AsyncSession) -> SearchEngine:
    """The engine for the session's database: FTS5 on SQLite, full text on PostgreSQL."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return _SQLITE
    if dialect == "postgresql":
        return _POSTGRES
    raise RuntimeError(f"no search engine for the {dialect} dialect")


__all__ = ["EngineResult", "SearchEngine", "SearchRequest", "engine_for"]
