"""The seam between ingest and search: ingest calls `reindex_clusters` after it changed clusters or holdings.

The search engines (SQLite FTS5, PostgreSQL full text) implement it in adapters/search/.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession


async def reindex_clusters(session: AsyncSession, cluster_ids: Collection[int]) -> None:
    """Rebuild the search documents of these clusters (deleted clusters drop out) in the caller's transaction."""
    from bibliomesh_catalog.adapters.search import engine_for

    if cluster_ids:
        await engine_for(session).reindex(session, cluster_ids)
