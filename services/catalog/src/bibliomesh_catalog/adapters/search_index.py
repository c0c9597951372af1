"""The seam between ingest and search: ingest calls `reindex_clusters` after it changed clusters or holdings.

The search engines (SQLite FTS5, PostgreSQL full text) implement it in adapters/search/.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from bibliomesh_catalog.adapters.search.documents import SearchDocument


async def reindex_clusters(session: AsyncSession, cluster_ids: Collection[int]) -> None:
    """Rebuild the search documents of these clusters (deleted clusters drop out) in the caller's transaction."""
    from bibliomesh_catalog.adapters.search import engine_for

    if cluster_ids:
        await engine_for(session).reindex(session, cluster_ids)


async def index_new_clusters(session: AsyncSession, documents: list[SearchDocument]) -> None:
    """Store the documents of clusters created in the caller's transaction (built by the caller, who has
    everything in memory; such clusters have no document yet)."""
    from bibliomesh_catalog.adapters.search import engine_for

    if documents:
        await engine_for(session).store(session, documents)
