"""The seam between ingest and what is derived from clusters: ingest calls `reindex_clusters` after it changed
clusters or holdings, and that rebuilds their search documents and their OAI-PMH set membership.

The search engines (SQLite FTS5, PostgreSQL full text) implement it in adapters/search/; the sets are kept by
`oai_sets`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.oai_sets import add_sets_of_new_clusters, refresh_sets

if TYPE_CHECKING:
    from bibliomesh_catalog.adapters.search.documents import SearchDocument


async def reindex_clusters(session: AsyncSession, cluster_ids: Collection[int]) -> None:
    """Rebuild the search documents of these clusters (deleted clusters drop out) and their OAI-PMH sets, in the
    caller's transaction."""
    from bibliomesh_catalog.adapters.search import engine_for

    if cluster_ids:
        await engine_for(session).reindex(session, cluster_ids)
        await refresh_sets(session, cluster_ids)


async def index_new_clusters(session: AsyncSession, documents: list[SearchDocument]) -> None:
    """Store the documents of clusters created in the caller's transaction (built by the caller, who has
    everything in memory; such clusters have no document yet), and their OAI-PMH sets."""
    from bibliomesh_catalog.adapters.search import engine_for

    if documents:
        await engine_for(session).store(session, documents)
        await add_sets_of_new_clusters(session, [(d.cluster_id, code) for d in documents for code in d.institutions])


async def refresh_availability(session: AsyncSession, cluster_ids: Sequence[int]) -> int:
    """Recompute whether these clusters can be had now (one batch of the clusters of an institution that was
    suspended or reinstated); only the availability of their documents is rewritten. Returns the documents
    changed."""
    from bibliomesh_catalog.adapters.search.availability import refresh_availability as refresh

    return await refresh(session, cluster_ids)
